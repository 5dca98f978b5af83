package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/pgtest"
)

// servedAPI is `notifyql serve` run in-process as production runs it (DATABASE_URL,
// REDIS_URL, both secrets) over a database with the fixture, every line it logs captured.
type servedAPI struct {
	// url is the GraphQL endpoint, http://127.0.0.1:port/graphql.
	url string
	// metricsURL is its /metrics, on a port of its own as production serves it (but for
	// development, which serves it beside the API).
	metricsURL     string
	pool           *pgxpool.Pool
	stdout, stderr *syncBuffer
	// stop ends serve and waits for it; the test's cleanup calls it too.
	stop func()
}

// startServe runs serve with the variables given added to (or replacing) its own.
func startServe(t *testing.T, extra map[string]string) *servedAPI {
	t.Helper()
	databaseURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, fixtureSQL); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	vars := map[string]string{
		"DATABASE_URL": databaseURL, "REDIS_URL": "redis://" + machineRedisAddr + "/0",
		"NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret,
		"NOTIFYQL_DATA_DIR": t.TempDir(),
	}
	for k, v := range extra {
		vars[k] = v
	}
	serveCtx, cancel := context.WithCancel(ctx)
	api := &servedAPI{pool: pool, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- run(serveCtx, []string{"notifyql", "serve", "--addr", "127.0.0.1:0", "--metrics-addr", metricsAddr(vars)}, envOf(vars), api.stdout, api.stderr)
	}()
	stopped := false
	api.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop within 30 s of cancel")
		}
	}
	t.Cleanup(api.stop)
	api.url, api.metricsURL = waitForServeURL(t, api.stdout, api.stderr, done)
	return api
}

// metricsAddr is the --metrics-addr for serve with vars: NOTIFYQL_METRICS_ADDR when vars
// set it, else a free port of its own in
// production, whose default (127.0.0.1:9090) several servers at once cannot share; beside
// the API in development, as there by default.
func metricsAddr(vars map[string]string) string {
	if addr, set := vars["NOTIFYQL_METRICS_ADDR"]; set {
		return addr
	}
	if vars["NOTIFYQL_ENV"] == envDevelopment {
		return ""
	}
	return "127.0.0.1:0"
}
