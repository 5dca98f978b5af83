package main

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql/live"
	"notifyql/pgtest"
	"notifyql/postgres"
)

// serve's readiness checks against the real services: ready while PostgreSQL and Redis
// answer, unready when either does not.
func TestReadinessChecks(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	rdb := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	hub := live.NewHub(nil, nil, nil, live.Options{})
	states := func(pool *pgxpool.Pool, rdb *goredis.Client) map[string]string {
		got := map[string]string{}
		for _, c := range readinessChecks(pool, rdb, hub) {
			state, err := c.Probe(ctx)
			if err != nil {
				state = "error"
			}
			got[c.Name] = state
		}
		return got
	}
	if got := states(pool, rdb); got["postgres"] != "ok" || got["redis"] != "ok" || got["relay"] != "another instance" {
		t.Errorf("with both up: %v", got)
	}
	hub.SetRelay(true)
	if got := states(pool, rdb); got["relay"] != "this instance" {
		t.Errorf("as the relay: %v", got)
	}

	closed := goredis.NewClient(&goredis.Options{Addr: freeAddr(t), MaxRetries: -1})
	t.Cleanup(func() { _ = closed.Close() })
	if got := states(pool, closed); got["redis"] != "error" || got["postgres"] != "ok" {
		t.Errorf("with Redis unreachable: %v", got)
	}

	// The database going away (dropped, its connections ended) makes PostgreSQL unready.
	var name string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	admin, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if got := states(pool, rdb); got["postgres"] != "error" || got["redis"] != "ok" {
		t.Errorf("with the database gone: %v", got)
	}
}

// PostgreSQL itself stopping makes the instance unready: on a private PostgreSQL this test
// starts and stops, never the machine's.
func TestReadinessWhenPostgreSQLStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL")
	}
	ctx := context.Background()
	dataDir := privateDataDir(t)
	local, err := postgres.StartLocal(ctx, dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = local.Stop(ctx)
		}
	})
	pool, err := pgxpool.New(ctx, local.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	rdb := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	postgresState := func() error {
		for _, c := range readinessChecks(pool, rdb, live.NewHub(nil, nil, nil, live.Options{})) {
			if c.Name == "postgres" {
				_, err := c.Probe(ctx)
				return err
			}
		}
		t.Fatal("no postgres check")
		return nil
	}
	if err := postgresState(); err != nil {
		t.Fatalf("with PostgreSQL running: %v", err)
	}
	if err := local.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := postgresState(); err == nil {
		t.Fatal("ready with PostgreSQL stopped")
	}
}

// freeAddr is an address nothing listens on: connections to it are refused.
func freeAddr(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

// freeAddrPort is freeAddr's port, for a server the test starts there.
func freeAddrPort(t *testing.T) int {
	t.Helper()
	return portOf(t, freeAddr(t))
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, hostPort string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
