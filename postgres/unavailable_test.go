package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/pgtest"
)

// Unavailable codes what real failures of reaching PostgreSQL return, and nothing else.
func TestUnavailableCodesOnlyAnUnreachableDatabase(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedPort := listener.Addr().(*net.TCPAddr).Port
	listener.Close()
	_, refused := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", refusedPort))

	victim, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, victim.PgConn().PID()); err != nil {
		t.Fatal(err)
	}
	_, terminated := victim.Exec(ctx, `SELECT 1`)

	timeoutCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, timedOut := pool.Exec(timeoutCtx, `SELECT pg_sleep(5)`)

	_, badSQL := pool.Exec(ctx, `SELEC 1`)
	_, missingTable := pool.Exec(ctx, `SELECT * FROM no_such_table`)

	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"session terminated", terminated, true},
		{"deadline passed waiting on the server", fmt.Errorf("load services: %w", timedOut), true},
		{"syntax error", badSQL, false},
		{"missing table", missingTable, false},
		{"a domain error", notifyql.Errorf(notifyql.ENOTFOUND, "service not found"), false},
		{"any other error", errors.New("boom"), false},
		{"no error", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.err == nil) != (tt.name == "no error") {
				t.Fatalf("the case's error is %v", tt.err)
			}
			coded := Unavailable(tt.err)
			if got := coded != nil; got != tt.want {
				t.Fatalf("Unavailable(%v) = %v, want coded: %v", tt.err, coded, tt.want)
			}
			if coded != nil && (coded.Code != notifyql.EUNAVAILABLE || coded.Message != "the database is unavailable right now: try again shortly") {
				t.Errorf("Unavailable(%v) = %+v", tt.err, coded)
			}
		})
	}
}
