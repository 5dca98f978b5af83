package main

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/live"
)

// Sizing the API's pool. pgxpool's own default, max(4, CPUs), made almost every acquire wait
// at 64 clients on two cores (issue 17): a request spends much of its time waiting on the
// network and the database, not on this process's CPU, so the pool needs several
// connections per CPU. It must also fit in the server's max_connections beside other
// instances, the live pools and whoever else connects (migrations, psql).
const (
	// poolConnsPerCPU and minAutoPoolConns give the pool's size from the CPU count:
	// 4 × GOMAXPROCS, at least 10.
	poolConnsPerCPU  = 4
	minAutoPoolConns = 10
	// poolShareOfServer is the share of the server's free connections one instance's API
	// pool may take by default: a quarter leaves room for three more instances like it.
	poolShareOfServer = 4
	// minPoolConns is the smallest default, however full the server.
	minPoolConns = 2
	// maxPoolConnsSetting bounds NOTIFYQL_DB_MAX_CONNS.
	maxPoolConnsSetting = 1000
)

// livePathConns is what one instance's live path holds besides the API pool: its pool and
// its change listener's connection.
const livePathConns = live.DefaultWorkers + liveSpareConns + 1

// serverConnLimits is what the server says about its connection slots.
type serverConnLimits struct {
	// MaxConnections is max_connections.
	MaxConnections int
	// Reserved is superuser_reserved_connections plus reserved_connections (PostgreSQL 16+):
	// slots ordinary roles cannot use.
	Reserved int
}

// defaultPoolSize is the API pool's size when neither NOTIFYQL_DB_MAX_CONNS nor the URL's
// pool_max_conns sets it: 4 connections per CPU (at least 10), but no more than a quarter of
// the slots the server leaves for ordinary roles once this instance's live path has its own,
// and never fewer than 2.
func defaultPoolSize(procs int, server serverConnLimits) int {
	byCPU := max(poolConnsPerCPU*procs, minAutoPoolConns)
	free := server.MaxConnections - server.Reserved - livePathConns
	return max(min(byCPU, free/poolShareOfServer), minPoolConns)
}

// readConnLimits asks the server for its connection limits on one connection of its own,
// opened and closed before the pool exists (a pool's size is fixed when it is made).
func readConnLimits(ctx context.Context, cfg *pgx.ConnConfig) (serverConnLimits, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return serverConnLimits{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var limits serverConnLimits
	// reserved_connections is new in PostgreSQL 16: missing_ok reads NULL before it.
	err = conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int
		+ coalesce(current_setting('reserved_connections', true), '0')::int`).
		Scan(&limits.MaxConnections, &limits.Reserved)
	return limits, err
}

// Where the pool's size came from, for the log.
const (
	poolSizeSetting = "NOTIFYQL_DB_MAX_CONNS"
	poolSizeURL     = "pool_max_conns in DATABASE_URL"
	poolSizeAuto    = "CPUs and max_connections"
)

// sizePool sets cfg.MaxConns: NOTIFYQL_DB_MAX_CONNS (setting, 0 when unset) wins, then the
// URL's pool_max_conns, then defaultPoolSize from the server's limits. It returns where the
// size came from.
func sizePool(ctx context.Context, cfg *pgxpool.Config, connString string, setting int) (string, error) {
	source := poolSizeSetting
	switch {
	case setting > 0:
		cfg.MaxConns = int32(setting)
	case urlSetsPoolMaxConns(connString):
		source = poolSizeURL // pgxpool.ParseConfig has read it already
	default:
		limits, err := readConnLimits(ctx, cfg.ConnConfig)
		if err != nil {
			return "", fmt.Errorf("read the database's max_connections: %w", err)
		}
		cfg.MaxConns = int32(defaultPoolSize(runtime.GOMAXPROCS(0), limits))
		source = poolSizeAuto
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	cfg.MinIdleConns = min(cfg.MinIdleConns, cfg.MaxConns)
	return source, nil
}

// urlSetsPoolMaxConns reports whether a connection string, URL or keyword/value, sets
// pool_max_conns.
func urlSetsPoolMaxConns(connString string) bool {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		return err == nil && u.Query().Has("pool_max_conns")
	}
	for _, field := range strings.Fields(connString) {
		if key, _, _ := strings.Cut(field, "="); strings.TrimSpace(key) == "pool_max_conns" {
			return true
		}
	}
	return false
}
