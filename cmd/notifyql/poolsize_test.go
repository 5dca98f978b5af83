package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"notifyql/pgtest"
)

func TestDefaultPoolSize(t *testing.T) {
	// livePathConns is 7 (4 relay workers, 2 spare, the change listener).
	tests := []struct {
		name   string
		procs  int
		limits serverConnLimits
		want   int
	}{
		// PostgreSQL's defaults: 100 slots, 3 for superusers; (100-3-7)/4 = 22.
		{"1 CPU, default server", 1, serverConnLimits{100, 3}, 10},
		{"2 CPUs, default server", 2, serverConnLimits{100, 3}, 10},
		{"3 CPUs, default server", 3, serverConnLimits{100, 3}, 12},
		{"4 CPUs, default server", 4, serverConnLimits{100, 3}, 16},
		{"8 CPUs, default server: a quarter of its slots", 8, serverConnLimits{100, 3}, 22},
		{"64 CPUs, default server", 64, serverConnLimits{100, 3}, 22},
		{"64 CPUs, a large server", 64, serverConnLimits{1000, 3}, 247},
		{"16 CPUs, a large server: the CPUs bound it", 16, serverConnLimits{1000, 3}, 64},
		{"reserved_connections count too", 8, serverConnLimits{100, 3 + 20}, 17},
		{"a small server", 4, serverConnLimits{30, 3}, 5},
		{"a server with no room left", 4, serverConnLimits{10, 3}, 2},
		{"a server smaller than its reserve", 2, serverConnLimits{5, 10}, 2},
	}
	for _, tt := range tests {
		if got := defaultPoolSize(tt.procs, tt.limits); got != tt.want {
			t.Errorf("%s: defaultPoolSize(%d, %+v) = %d, want %d", tt.name, tt.procs, tt.limits, got, tt.want)
		}
	}
}

func TestURLSetsPoolMaxConns(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://app@db/notifyql":                                    false,
		"postgres://app@db/notifyql?pool_max_conns=5":                   true,
		"postgresql://app@db/notifyql?sslmode=disable&pool_max_conns=5": true,
		"postgres://app@db/notifyql?pool_max_conn_lifetime=1h":          false,
		"host=db user=app dbname=notifyql":                              false,
		"host=db user=app pool_max_conns=5":                             true,
	} {
		if got := urlSetsPoolMaxConns(url); got != want {
			t.Errorf("urlSetsPoolMaxConns(%q) = %v, want %v", url, got, want)
		}
	}
}

// The pool that openPool makes, as serve and the commands open theirs, against the real
// server: sized by the rule from the server's own limits, or by what the operator set, the
// setting winning over the URL.
func TestOpenPoolSize(t *testing.T) {
	databaseURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	probe, _, err := openPool(ctx, databaseURL, 3)
	if err != nil {
		t.Fatal(err)
	}
	limits, err := readConnLimits(ctx, probe.Config().ConnConfig)
	probe.Close()
	if err != nil {
		t.Fatal(err)
	}
	if limits.MaxConnections < 1 || limits.Reserved < 0 {
		t.Fatalf("server limits %+v", limits)
	}
	auto := int32(defaultPoolSize(runtime.GOMAXPROCS(0), limits))
	withURLSize := databaseURL + separator(databaseURL) + "pool_max_conns=5"
	tests := []struct {
		name    string
		url     string
		setting int
		want    int32
		sizedBy string
	}{
		{"by default", databaseURL, 0, auto, poolSizeAuto},
		{"the setting", databaseURL, 7, 7, poolSizeSetting},
		{"the URL's pool_max_conns", withURLSize, 0, 5, poolSizeURL},
		{"the setting over the URL's", withURLSize, 9, 9, poolSizeSetting},
	}
	for _, tt := range tests {
		pool, sizedBy, err := openPool(ctx, tt.url, tt.setting)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := pool.Stat().MaxConns(); got != tt.want || sizedBy != tt.sizedBy {
			t.Errorf("%s: pool of %d sized by %q, want %d by %q", tt.name, got, sizedBy, tt.want, tt.sizedBy)
		}
		pool.Close()
	}
}

// serve's API pool has the computed size, and /metrics reports it as before.
func TestServePoolSizedToTheMachine(t *testing.T) {
	api := startServe(t, nil)
	limits, err := readConnLimits(context.Background(), api.pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(defaultPoolSize(runtime.GOMAXPROCS(0), limits))
	m := scrapeMetrics(t, api.metricsURL)
	if got := m[`notifyql_db_pool_max_connections{pool="api"}`]; got != want {
		t.Errorf("the API pool's max connections = %v, want %v (server %+v, %d procs)", got, want, limits, runtime.GOMAXPROCS(0))
	}
	if got := m[`notifyql_db_pool_max_connections{pool="live"}`]; got != float64(livePathConns-1) {
		t.Errorf("the live pool's max connections = %v, want %d", got, livePathConns-1)
	}
	if log := api.stderr.String() + api.stdout.String(); !strings.Contains(log, fmt.Sprintf(`"max_conns":%v,`, want)) {
		t.Errorf("serve did not log its pool's size %v:\n%s", want, log)
	}

	set := startServe(t, map[string]string{"NOTIFYQL_DB_MAX_CONNS": "13"})
	if got := scrapeMetrics(t, set.metricsURL)[`notifyql_db_pool_max_connections{pool="api"}`]; got != 13 {
		t.Errorf("with NOTIFYQL_DB_MAX_CONNS=13, the API pool's max connections = %v", got)
	}
}

func separator(url string) string {
	if strings.Contains(url, "?") {
		return "&"
	}
	return "?"
}
