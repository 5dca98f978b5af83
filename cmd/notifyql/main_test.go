package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql/pgtest"
	"notifyql/postgres"
	"notifyql/server"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// testSearchSecret is a NOTIFYQL_SEARCH_SECRET: 32 bytes, hex-encoded.
const testSearchSecret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// envOf returns a getenv over a fixed environment, so tests never read the real one.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// runCommand runs the command and returns its stdout and stderr.
func runCommand(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"notifyql"}, args...), envOf(vars), &out, &errOut)
	return out.String(), errOut.String(), err
}

// commandDatabase returns a fresh, migrated database's URL, for a command's DATABASE_URL,
// and a pool on it opened as the commands open theirs, for the test's fixtures and checks.
// The pool is closed when the test ends.
func commandDatabase(t *testing.T) (databaseURL string, pool *pgxpool.Pool) {
	t.Helper()
	databaseURL = pgtest.NewDatabase(t)
	pool, _, err := openPool(context.Background(), databaseURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return databaseURL, pool
}

func TestRunRefusesBadCommandLines(t *testing.T) {
	urlMode := map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "NOTIFYQL_JWT_SECRET": testSecret}
	tests := []struct {
		name    string
		vars    map[string]string
		args    []string
		wantErr string
		usage   bool // a command-line mistake (exit 2) rather than a failure
	}{
		{name: "no command", args: nil, wantErr: "no command given", usage: true},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`, usage: true},
		{name: "serve stray argument", args: []string{"serve", "now"}, wantErr: `notifyql serve: unexpected argument "now"`, usage: true},
		{name: "serve negative simulate rate", args: []string{"serve", "--simulate", "-1"}, wantErr: "serve: --simulate must be 0 or more, got -1", usage: true},
		{name: "serve unknown flag", args: []string{"serve", "--port", "80"}, wantErr: "notifyql serve: flag provided but not defined: -port", usage: true},
		{name: "migrate without action", args: []string{"migrate"}, wantErr: "migrate: say up, down or status", usage: true},
		{name: "migrate unknown action", args: []string{"migrate", "sideways"}, wantErr: `migrate: unknown action "sideways" (want up, down or status)`, usage: true},
		{name: "migrate two actions", args: []string{"migrate", "up", "down"}, wantErr: `notifyql migrate: unexpected argument "down"`, usage: true},
		{name: "seed without profile", args: []string{"seed"}, wantErr: "seed: --profile must be demo or bench", usage: true},
		{name: "seed unknown profile", args: []string{"seed", "--profile", "huge"}, wantErr: "seed: --profile must be demo or bench", usage: true},
		{name: "seed bad seed", args: []string{"seed", "--profile", "demo", "--seed", "x"}, wantErr: `notifyql seed: invalid value "x" for flag -seed: parse error`, usage: true},
		{name: "token without email", args: []string{"token"}, wantErr: "token: --email is required", usage: true},
		{name: "token negative ttl", args: []string{"token", "--email", "a@b.example", "--ttl", "-1h"}, wantErr: "token: --ttl must be positive, got -1h0m0s", usage: true},
		{name: "token bad ttl", args: []string{"token", "--email", "a@b.example", "--ttl", "soon"}, wantErr: `notifyql token: invalid value "soon" for flag -ttl: parse error`, usage: true},
		{name: "schema stray argument", args: []string{"schema", "x"}, wantErr: `notifyql schema: unexpected argument "x"`, usage: true},
		{name: "short JWT secret", vars: map[string]string{"NOTIFYQL_JWT_SECRET": "short"}, args: []string{"serve"},
			wantErr: "configuration: NOTIFYQL_JWT_SECRET must be at least 32 bytes long, it has 5"},
		{name: "bad limit", vars: map[string]string{"NOTIFYQL_MAX_DEPTH": "deep"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_DEPTH must be a positive whole number, got "deep"`},
		{name: "zero alias limit", vars: map[string]string{"NOTIFYQL_MAX_ALIASES": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_ALIASES must be a positive whole number, got "0"`},
		{name: "negative directive limit", vars: map[string]string{"NOTIFYQL_MAX_DIRECTIVES": "-5"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_DIRECTIVES must be a positive whole number, got "-5"`},
		{name: "fractional alias limit", vars: map[string]string{"NOTIFYQL_MAX_ALIASES": "1.5"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_ALIASES must be a positive whole number, got "1.5"`},
		{name: "zero validation step limit", vars: map[string]string{"NOTIFYQL_MAX_VALIDATION_STEPS": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_VALIDATION_STEPS must be a positive whole number, got "0"`},
		{name: "validation step limit in words", vars: map[string]string{"NOTIFYQL_MAX_VALIDATION_STEPS": "lots"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_VALIDATION_STEPS must be a positive whole number, got "lots"`},
		{name: "zero sockets per user", vars: map[string]string{"NOTIFYQL_WS_MAX_PER_USER": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_WS_MAX_PER_USER must be a positive whole number, got "0"`},
		{name: "fractional message rate", vars: map[string]string{"NOTIFYQL_WS_MESSAGE_RATE": "2.5"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_WS_MESSAGE_RATE must be a positive whole number, got "2.5"`},
		{name: "zero subscriptions per socket", vars: map[string]string{"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_SOCKET": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_SOCKET must be a positive whole number, got "0"`},
		{name: "subscriptions per user in words", vars: map[string]string{"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER": "many"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER must be a positive whole number, got "many"`},
		{name: "negative subscriptions per user", vars: map[string]string{"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER": "-100"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER must be a positive whole number, got "-100"`},
		{name: "no reports a day", vars: map[string]string{"NOTIFYQL_MAX_REPORTS_PER_DAY": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_REPORTS_PER_DAY must be a positive whole number, got "0"`},
		{name: "reports a day with a unit", vars: map[string]string{"NOTIFYQL_MAX_REPORTS_PER_DAY": "20/day"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_REPORTS_PER_DAY must be a positive whole number, got "20/day"`},
		{name: "a host name as a trusted proxy", vars: map[string]string{"NOTIFYQL_TRUSTED_PROXIES": "10.0.0.0/8,lb.internal"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_TRUSTED_PROXIES: "lb.internal" is neither an IP address nor a CIDR prefix such as 10.0.0.0/8`},
		{name: "negative rate limit", vars: map[string]string{"NOTIFYQL_RATE_LIMIT_PER_USER": "-1"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_RATE_LIMIT_PER_USER must be a whole number of requests a minute, 0 for no limit; got "-1"`},
		{name: "rate limit with a unit", vars: map[string]string{"NOTIFYQL_RATE_LIMIT_PER_IP": "100/m"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_RATE_LIMIT_PER_IP must be a whole number of requests a minute, 0 for no limit; got "100/m"`},
		{name: "bad drain delay", vars: map[string]string{"NOTIFYQL_DRAIN_DELAY": "5"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DRAIN_DELAY must be a duration from 0s to 1m, such as 5s; got "5"`},
		{name: "negative drain delay", vars: map[string]string{"NOTIFYQL_DRAIN_DELAY": "-1s"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DRAIN_DELAY must be a duration from 0s to 1m, such as 5s; got "-1s"`},
		{name: "long drain delay", vars: map[string]string{"NOTIFYQL_DRAIN_DELAY": "2h"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DRAIN_DELAY must be a duration from 0s to 1m, such as 5s; got "2h"`},
		{name: "bad request timeout", vars: map[string]string{"NOTIFYQL_REQUEST_TIMEOUT": "10"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_REQUEST_TIMEOUT must be a duration from 1s to 10m, such as 10s; got "10"`},
		{name: "zero request timeout", vars: map[string]string{"NOTIFYQL_REQUEST_TIMEOUT": "0s"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_REQUEST_TIMEOUT must be a duration from 1s to 10m, such as 10s; got "0s"`},
		{name: "long request timeout", vars: map[string]string{"NOTIFYQL_REQUEST_TIMEOUT": "1h"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_REQUEST_TIMEOUT must be a duration from 1s to 10m, such as 10s; got "1h"`},
		{name: "idle timeout without a unit", vars: map[string]string{"NOTIFYQL_IDLE_TIMEOUT": "120"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_IDLE_TIMEOUT must be a duration from 1s to 1h, such as 2m; got "120"`},
		{name: "zero idle timeout", vars: map[string]string{"NOTIFYQL_IDLE_TIMEOUT": "0s"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_IDLE_TIMEOUT must be a duration from 1s to 1h, such as 2m; got "0s"`},
		{name: "day-long idle timeout", vars: map[string]string{"NOTIFYQL_IDLE_TIMEOUT": "24h"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_IDLE_TIMEOUT must be a duration from 1s to 1h, such as 2m; got "24h"`},
		{name: "negative body timeout", vars: map[string]string{"NOTIFYQL_BODY_TIMEOUT": "-30s"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_BODY_TIMEOUT must be a duration from 1s to 10m, such as 30s; got "-30s"`},
		{name: "sub-second body timeout", vars: map[string]string{"NOTIFYQL_BODY_TIMEOUT": "500ms"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_BODY_TIMEOUT must be a duration from 1s to 10m, such as 30s; got "500ms"`},
		{name: "hour-long body timeout", vars: map[string]string{"NOTIFYQL_BODY_TIMEOUT": "1h"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_BODY_TIMEOUT must be a duration from 1s to 10m, such as 30s; got "1h"`},
		{name: "negative connections per address", vars: map[string]string{"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS": "-1"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS must be a whole number of connections, 0 for no limit; got "-1"`},
		{name: "connections per proxy in thousands", vars: map[string]string{"NOTIFYQL_MAX_CONNECTIONS_PER_PROXY": "20k"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_CONNECTIONS_PER_PROXY must be a whole number of connections, 0 for no limit; got "20k"`},
		{name: "metrics address without a port", vars: map[string]string{"NOTIFYQL_METRICS_ADDR": "127.0.0.1"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_METRICS_ADDR must be host:port, such as 127.0.0.1:9090 (port 0 picks a free one); got "127.0.0.1"`},
		{name: "metrics address as a URL", vars: map[string]string{"NOTIFYQL_METRICS_ADDR": "http://127.0.0.1:9090/metrics"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_METRICS_ADDR must be host:port, such as 127.0.0.1:9090 (port 0 picks a free one); got "http://127.0.0.1:9090/metrics"`},
		{name: "metrics port out of range", vars: map[string]string{"NOTIFYQL_METRICS_ADDR": ":70000"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_METRICS_ADDR must be host:port, such as 127.0.0.1:9090 (port 0 picks a free one); got ":70000"`},
		{name: "metrics flag without a port", args: []string{"serve", "--metrics-addr", "localhost"},
			wantErr: `serve: --metrics-addr must be host:port, such as 127.0.0.1:9090 (port 0 picks a free one); got "localhost"`, usage: true},
		{name: "profiles in words", vars: map[string]string{"NOTIFYQL_PPROF": "yes please"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_PPROF must be true or false, got "yes please"`},
		{name: "profiles beside the API", vars: map[string]string{"NOTIFYQL_PPROF": "true"}, args: []string{"serve", "--metrics-addr", ""},
			wantErr: "serve: NOTIFYQL_PPROF needs /metrics on a listener of its own (NOTIFYQL_METRICS_ADDR or --metrics-addr)", usage: true},
		{name: "no query cache", vars: map[string]string{"NOTIFYQL_QUERY_CACHE_BYTES": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_QUERY_CACHE_BYTES must be a positive whole number, got "0"`},
		{name: "query cache in megabytes", vars: map[string]string{"NOTIFYQL_QUERY_CACHE_BYTES": "1MB"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_QUERY_CACHE_BYTES must be a positive whole number, got "1MB"`},
		{name: "zero downloads per user", vars: map[string]string{"NOTIFYQL_MAX_DOWNLOADS_PER_USER": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_DOWNLOADS_PER_USER must be a positive whole number, got "0"`},
		{name: "downloads per user in words", vars: map[string]string{"NOTIFYQL_MAX_DOWNLOADS_PER_USER": "three"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_MAX_DOWNLOADS_PER_USER must be a positive whole number, got "three"`},
		{name: "no letter renderers", vars: map[string]string{"NOTIFYQL_LETTER_RENDERERS": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_LETTER_RENDERERS must be a whole number from 1 to 64; got "0"`},
		{name: "too many letter renderers", vars: map[string]string{"NOTIFYQL_LETTER_RENDERERS": "65"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_LETTER_RENDERERS must be a whole number from 1 to 64; got "65"`},
		{name: "an empty database pool", vars: map[string]string{"NOTIFYQL_DB_MAX_CONNS": "0"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DB_MAX_CONNS must be a whole number from 1 to 1000; got "0"`},
		{name: "a database pool past its bound", vars: map[string]string{"NOTIFYQL_DB_MAX_CONNS": "1001"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DB_MAX_CONNS must be a whole number from 1 to 1000; got "1001"`},
		{name: "a database pool in words", vars: map[string]string{"NOTIFYQL_DB_MAX_CONNS": "auto"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DB_MAX_CONNS must be a whole number from 1 to 1000; got "auto"`},
		{name: "a negative database pool", vars: map[string]string{"NOTIFYQL_DB_MAX_CONNS": "-4"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DB_MAX_CONNS must be a whole number from 1 to 1000; got "-4"`},
		{name: "negative letter cache", vars: map[string]string{"NOTIFYQL_LETTER_CACHE_BYTES": "-1"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_LETTER_CACHE_BYTES must be a whole number from 0 (no cache) to 4294967296; got "-1"`},
		{name: "letter cache in words", vars: map[string]string{"NOTIFYQL_LETTER_CACHE_BYTES": "64MB"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_LETTER_CACHE_BYTES must be a whole number from 0 (no cache) to 4294967296; got "64MB"`},
		{name: "letter cache kept past 10 minutes", vars: map[string]string{"NOTIFYQL_LETTER_CACHE_TTL": "11m"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_LETTER_CACHE_TTL must be a duration from 1s to 10m, such as 10m; got "11m"`},
		{name: "download write timeout without a unit", vars: map[string]string{"NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT": "30"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT must be a duration from 1s to 10m, such as 30s; got "30"`},
		{name: "short download write timeout", vars: map[string]string{"NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT": "500ms"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT must be a duration from 1s to 10m, such as 30s; got "500ms"`},
		{name: "long download write timeout", vars: map[string]string{"NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT": "1h"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT must be a duration from 1s to 10m, such as 30s; got "1h"`},
		{name: "bad env", vars: map[string]string{"NOTIFYQL_ENV": "staging"}, args: []string{"serve"},
			wantErr: `configuration: NOTIFYQL_ENV must be "development" or "production", got "staging"`},
		{name: "database URL without secrets", vars: map[string]string{"DATABASE_URL": urlMode["DATABASE_URL"]}, args: []string{"serve"},
			wantErr: "configuration: 2 problems:\n  NOTIFYQL_JWT_SECRET is required when DATABASE_URL is set (at least 32 bytes, e.g. from `openssl rand -hex 32`)" +
				"\n  NOTIFYQL_SEARCH_SECRET is required when DATABASE_URL is set (hex-encoded, at least 32 bytes, e.g. from `openssl rand -hex 32`)"},
		{name: "database URL without search secret", vars: urlMode, args: []string{"serve"},
			wantErr: "configuration: NOTIFYQL_SEARCH_SECRET is required when DATABASE_URL is set (hex-encoded, at least 32 bytes, e.g. from `openssl rand -hex 32`)"},
		{name: "search secret not hex", vars: map[string]string{"NOTIFYQL_SEARCH_SECRET": "not hex, but long enough to be a secret of 32 bytes"}, args: []string{"serve"},
			wantErr: "configuration: NOTIFYQL_SEARCH_SECRET must be hex-encoded (e.g. from `openssl rand -hex 32`)"},
		{name: "short search secret", vars: map[string]string{"NOTIFYQL_SEARCH_SECRET": "00112233"}, args: []string{"serve"},
			wantErr: "configuration: NOTIFYQL_SEARCH_SECRET must hold at least 32 bytes (64 hex digits), it holds 4"},
		{name: "JWT-sized search secret that is 16 bytes in hex", vars: map[string]string{"NOTIFYQL_SEARCH_SECRET": testSecret}, args: []string{"serve"},
			wantErr: "configuration: NOTIFYQL_SEARCH_SECRET must hold at least 32 bytes (64 hex digits), it holds 16"},
		{name: "token with database URL without secret", vars: map[string]string{"DATABASE_URL": urlMode["DATABASE_URL"]}, args: []string{"token", "--email", "a@b.example"},
			wantErr: "configuration: NOTIFYQL_JWT_SECRET is required when DATABASE_URL is set (at least 32 bytes, e.g. from `openssl rand -hex 32`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCommand(t, tt.vars, tt.args...)
			if err == nil {
				t.Fatalf("run succeeded, want error %q", tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var usage *usageError
			if got := errors.As(err, &usage); got != tt.usage {
				t.Errorf("usage error = %v, want %v", got, tt.usage)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	stdout, _, err := runCommand(t, nil, "help")
	if err != nil {
		t.Fatalf("help: %v", err)
	}
	if !strings.Contains(stdout, "token --email ADDRESS") {
		t.Errorf("help output lacks the token command:\n%s", stdout)
	}
	if _, _, err := runCommand(t, nil, "token", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("token -h: error = %v, want flag.ErrHelp", err)
	}
}

func TestLoadConfig(t *testing.T) {
	defaults := config{Addr: ":8080", Env: envProduction, DataDir: ".notifyql", Limits: server.DefaultLimits(), RateLimits: server.DefaultRateLimits(),
		WebSocketLimits: websocketLimits{MaxPerUser: 20, MessageRate: 10, MessageBurst: 50, MaxSubscriptionsPerSocket: 25, MaxSubscriptionsPerUser: 100},
		GCPercent:       serveGCPercent, GODEBUG: "adaptivestackstart=0",
		MetricsAddr: "127.0.0.1:9090", Connections: server.ConnectionLimits{IdleTimeout: 2 * time.Minute, BodyTimeout: 30 * time.Second, MaxPerAddress: 256, MaxPerProxy: 20000}}
	defaults.Tokens = server.DefaultTokenPolicy()
	defaults.ReportsPerDay = 20
	defaults.DownloadLimits = server.DownloadLimits{WriteTimeout: 30 * time.Second, MaxPerUser: 3}
	defaults.Letters = letterSettings{Renderers: runtime.NumCPU(), CacheBytes: 64 << 20, CacheTTL: 10 * time.Minute}
	custom := defaults
	custom.Addr = "127.0.0.1:9000"
	custom.Env = envDevelopment
	custom.DataDir = "/var/lib/notifyql"
	custom.DatabaseURL = "postgres://app:pw@db/notifyql"
	custom.RedisURL = "redis://cache:6379/0"
	custom.JWTSecret = testSecret
	custom.SearchSecret = testSearchSecret
	custom.Limits.MaxDepth, custom.Limits.MaxComplexity, custom.Limits.MaxTokens = 5, 50, 500
	custom.Limits.MaxAliases, custom.Limits.MaxDirectives = 3, 2
	custom.Limits.MaxBodyBytes = 1024
	custom.Limits.MaxCachedQueryBytes = 4096
	custom.Limits.RequestTimeout = 3 * time.Second
	custom.AllowedOrigins = []string{"https://dashboard.example.gov.uk", "http://localhost:3000"}
	custom.DrainDelay = 5 * time.Second
	custom.RateLimits = server.RateLimits{PerUser: 0, PerIP: 90}
	custom.TrustedProxies = server.TrustedProxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	custom.WebSocketLimits = websocketLimits{MaxPerUser: 3, MessageRate: 4, MessageBurst: 8, MaxSubscriptionsPerSocket: 5, MaxSubscriptionsPerUser: 12}
	custom.MetricsAddr = "10.1.2.3:0"
	custom.Connections = server.ConnectionLimits{IdleTimeout: 75 * time.Second, BodyTimeout: 5 * time.Second, MaxPerAddress: 0, MaxPerProxy: 900}
	custom.ReportsPerDay = 50
	custom.DownloadLimits = server.DownloadLimits{WriteTimeout: 45 * time.Second, MaxPerUser: 5}
	custom.Letters = letterSettings{Renderers: 3, CacheBytes: 1 << 20, CacheTTL: 90 * time.Second}
	custom.DBMaxConns = 24
	smallestPool, largestPool := defaults, defaults
	smallestPool.DBMaxConns, largestPool.DBMaxConns = 1, 1000
	noLetterCache := defaults
	noLetterCache.Letters.CacheBytes = 0
	development := defaults
	development.Env = envDevelopment
	development.MetricsAddr = ""
	goGC := defaults
	goGC.GCPercent = 0
	otherGodebug := defaults
	otherGodebug.GODEBUG = "http2client=0,adaptivestackstart=0"
	ownStackStart := defaults
	ownStackStart.GODEBUG = ""

	tests := []struct {
		name string
		vars map[string]string
		want config
	}{
		{"defaults", nil, defaults},
		{"development allows the local origin", map[string]string{"NOTIFYQL_ENV": "development"}, development},
		{"GOGC set leaves the collector to Go", map[string]string{"GOGC": "200"}, goGC},
		{"GODEBUG's other settings are kept", map[string]string{"GODEBUG": "http2client=0"}, otherGodebug},
		{"GODEBUG's own stack start stands", map[string]string{"GODEBUG": "adaptivestackstart=1"}, ownStackStart},
		{"everything set", map[string]string{
			"NOTIFYQL_ADDR": "127.0.0.1:9000", "NOTIFYQL_ENV": "development", "NOTIFYQL_DATA_DIR": "/var/lib/notifyql",
			"DATABASE_URL": "postgres://app:pw@db/notifyql", "REDIS_URL": "redis://cache:6379/0",
			"NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret, "NOTIFYQL_MAX_DEPTH": "5", "NOTIFYQL_MAX_COMPLEXITY": "50",
			"NOTIFYQL_MAX_TOKENS": "500", "NOTIFYQL_MAX_ALIASES": "3", "NOTIFYQL_MAX_DIRECTIVES": "2", "NOTIFYQL_MAX_BODY_BYTES": "1024", "NOTIFYQL_DRAIN_DELAY": "5s",
			"NOTIFYQL_QUERY_CACHE_BYTES":   "4096",
			"NOTIFYQL_REQUEST_TIMEOUT":     "3s",
			"NOTIFYQL_RATE_LIMIT_PER_USER": "0", "NOTIFYQL_RATE_LIMIT_PER_IP": "90", "NOTIFYQL_TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.7",
			"NOTIFYQL_WS_MAX_PER_USER": "3", "NOTIFYQL_WS_MESSAGE_RATE": "4", "NOTIFYQL_WS_MESSAGE_BURST": "8",
			"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_SOCKET": "5", "NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER": "12",
			"NOTIFYQL_MAX_REPORTS_PER_DAY": "50",
			"NOTIFYQL_ALLOWED_ORIGINS":     " https://dashboard.example.gov.uk, http://localhost:3000,",
			"NOTIFYQL_METRICS_ADDR":        "10.1.2.3:0", "NOTIFYQL_IDLE_TIMEOUT": "75s", "NOTIFYQL_BODY_TIMEOUT": "5s",
			"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS": "0", "NOTIFYQL_MAX_CONNECTIONS_PER_PROXY": "900",
			"NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT": "45s", "NOTIFYQL_MAX_DOWNLOADS_PER_USER": "5",
			"NOTIFYQL_LETTER_RENDERERS": "3", "NOTIFYQL_LETTER_CACHE_BYTES": "1048576", "NOTIFYQL_LETTER_CACHE_TTL": "90s",
			"NOTIFYQL_DB_MAX_CONNS": "24",
		}, custom},
		{"the smallest database pool", map[string]string{"NOTIFYQL_DB_MAX_CONNS": "1"}, smallestPool},
		{"the largest database pool", map[string]string{"NOTIFYQL_DB_MAX_CONNS": "1000"}, largestPool},
		{"a letter cache of 0 bytes is none", map[string]string{"NOTIFYQL_LETTER_CACHE_BYTES": "0"}, noLetterCache},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(envOf(tt.vars))
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	cfg := config{
		DatabaseURL:  "postgres://app:hunter2hunter2@db/notifyql?sslmode=require",
		RedisURL:     "redis://:s3cretpass@cache:6379/0",
		JWTSecret:    testSecret,
		SearchSecret: testSearchSecret,
	}
	logged := cfg.LogValue().String()
	for _, secret := range []string{"hunter2hunter2", "s3cretpass", testSecret, testSearchSecret} {
		if strings.Contains(logged, secret) {
			t.Errorf("logged config %s shows a secret", logged)
		}
	}
}

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"postgres://postgres@127.0.0.1:5432/notifyql?sslmode=disable", "postgres://postgres@127.0.0.1:5432/notifyql?sslmode=disable"},
		{"postgres://app:pw@db:5432/notifyql", "postgres://app:xxxxx@db:5432/notifyql"},
		{"postgres://app@db/notifyql?password=pw", "postgres://app@db/notifyql?password=xxxxx"},
		{"redis://:pw@cache:6379/0", "redis://:xxxxx@cache:6379/0"},
		{"postgres://app:pw@db:bad port/x", "(unparsable, hidden)"},
	}
	for _, tt := range tests {
		if got := maskURL(tt.in); got != tt.want {
			t.Errorf("maskURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPoolConfigDefaults(t *testing.T) {
	tests := []struct {
		url              string
		connectTimeout   time.Duration
		descriptionCache int
	}{
		// The default mode caches prepared statements: the description cache is unused.
		{"postgres://app@db/notifyql", databaseConnectTimeout, 0},
		{"postgres://app@db/notifyql?connect_timeout=2&description_cache_capacity=64", 2 * time.Second, 0},
		// The one mode that reads it keeps it.
		{"postgres://app@db/notifyql?default_query_exec_mode=cache_describe", databaseConnectTimeout, 512},
		{"postgres://app@db/notifyql?default_query_exec_mode=cache_describe&description_cache_capacity=64", databaseConnectTimeout, 64},
	}
	for _, tt := range tests {
		cfg, err := poolConfig(tt.url)
		if err != nil {
			t.Fatalf("poolConfig(%q): %v", tt.url, err)
		}
		if got := cfg.ConnConfig.ConnectTimeout; got != tt.connectTimeout {
			t.Errorf("poolConfig(%q): connect timeout %v, want %v", tt.url, got, tt.connectTimeout)
		}
		if got := cfg.ConnConfig.DescriptionCacheCapacity; got != tt.descriptionCache {
			t.Errorf("poolConfig(%q): description cache capacity %d, want %d", tt.url, got, tt.descriptionCache)
		}
	}
	for _, url := range []string{"postgres://app@db:bad port/notifyql", "postgres://app@db/notifyql?default_query_exec_mode=sometimes"} {
		if _, err := poolConfig(url); err == nil {
			t.Errorf("poolConfig(%q) accepted a malformed URL", url)
		}
	}
}

func TestDataDirSecretIsCreatedOnceAndKept(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	first, err := dataDirSecret(dataDir, jwtSecretFile)
	if err != nil {
		t.Fatalf("first: %v", err)
	}
	if len(first) < minSecretBytes {
		t.Errorf("secret has %d bytes, want at least %d", len(first), minSecretBytes)
	}
	info, err := os.Stat(filepath.Join(dataDir, jwtSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("secret file mode = %o, want 600", perm)
	}
	second, err := dataDirSecret(dataDir, jwtSecretFile)
	if err != nil {
		t.Fatalf("second: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("the secret changed between runs")
	}
	entries, _ := os.ReadDir(dataDir)
	if len(entries) != 1 {
		t.Errorf("data folder holds %d entries, want only the secret (temporary files removed)", len(entries))
	}

	if err := os.WriteFile(filepath.Join(dataDir, jwtSecretFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dataDirSecret(dataDir, jwtSecretFile); err == nil {
		t.Errorf("a short stored secret was accepted")
	}
}

func TestSigningSecret(t *testing.T) {
	fromEnv, err := signingSecret(config{JWTSecret: testSecret}, false)
	if err != nil || string(fromEnv) != testSecret {
		t.Errorf("signingSecret with NOTIFYQL_JWT_SECRET = %q, %v; want the variable", fromEnv, err)
	}
	if _, err := signingSecret(config{DataDir: t.TempDir()}, false); err == nil {
		t.Errorf("URL mode without NOTIFYQL_JWT_SECRET: want an error")
	}
	if _, err := signingSecret(config{DataDir: t.TempDir()}, true); err != nil {
		t.Errorf("private mode without NOTIFYQL_JWT_SECRET: %v", err)
	}
}

func TestSearchSecret(t *testing.T) {
	fromEnv, err := searchSecret(config{SearchSecret: testSearchSecret}, false)
	if err != nil || hex.EncodeToString(fromEnv) != testSearchSecret {
		t.Errorf("searchSecret with NOTIFYQL_SEARCH_SECRET = %x, %v; want the variable decoded", fromEnv, err)
	}
	if _, err := searchSecret(config{DataDir: t.TempDir()}, false); err == nil {
		t.Errorf("URL mode without NOTIFYQL_SEARCH_SECRET: want an error")
	}
	// Private mode generates one into the data folder and keeps it, apart from the JWT
	// secret.
	dataDir := t.TempDir()
	first, err := searchSecret(config{DataDir: dataDir}, true)
	if err != nil || len(first) < minSecretBytes {
		t.Fatalf("private mode without NOTIFYQL_SEARCH_SECRET = %d bytes, %v; want a generated key of %d", len(first), err, minSecretBytes)
	}
	second, err := searchSecret(config{DataDir: dataDir}, true)
	if err != nil || !bytes.Equal(first, second) {
		t.Errorf("the generated key changed between runs: %v", err)
	}
	jwt, err := signingSecret(config{DataDir: dataDir}, true)
	if err != nil || bytes.Contains(jwt, []byte(hex.EncodeToString(first))) {
		t.Errorf("the JWT secret is the search key, or failed: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, searchSecretFile), []byte(strings.Repeat("zz", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := searchSecret(config{DataDir: dataDir}, true); err == nil {
		t.Errorf("a stored search secret that is not hex was accepted")
	}
}

func TestTokenIsAcceptedByTheAuthenticator(t *testing.T) {
	databaseURL, pool := commandDatabase(t)
	ctx := context.Background()
	const userID = "7e57e000-0000-4000-8000-000000000001"
	_, err := pool.Exec(ctx, `
		INSERT INTO users (id, name, email_address, state) VALUES
		  ($1, 'Token User', 'token.user@notifyql.example', 'active'),
		  ('7e57e000-0000-4000-8000-000000000002', 'Gone User', 'gone@notifyql.example', 'inactive')`, userID)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"DATABASE_URL": databaseURL, "NOTIFYQL_JWT_SECRET": testSecret}

	stdout, stderr, err := runCommand(t, vars, "token", "--email", "Token.User@NotifyQL.example", "--ttl", "1h")
	if err != nil {
		t.Fatalf("token: %v\nstderr: %s", err, stderr)
	}
	if strings.Contains(stderr, "token.user@") || strings.Contains(stderr, strings.TrimSpace(stdout)) {
		t.Errorf("logs show the email address or the token:\n%s", stderr)
	}
	auth := server.NewAuthenticator([]byte(testSecret), postgres.NewAccessStore(pool))
	principal, err := auth.Authenticate(ctx, "Bearer "+strings.TrimSpace(stdout))
	if err != nil {
		t.Fatalf("Authenticate the printed token: %v", err)
	}
	if principal.User.ID != userID {
		t.Errorf("token signs in user %s, want %s", principal.User.ID, userID)
	}

	tests := []struct {
		name, email, wantErr string
	}{
		{"unknown email", "nobody@notifyql.example", "token: no user has that email address"},
		{"inactive user", "gone@notifyql.example", "token: user 7e57e000-0000-4000-8000-000000000002 is inactive, not active: the API would refuse the token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runCommand(t, vars, "token", "--email", tt.email)
			if err == nil {
				t.Fatalf("token printed %q, want error", stdout)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeRefusesADatabaseWithoutSchema(t *testing.T) {
	vars := map[string]string{"DATABASE_URL": pgtest.NewEmptyDatabase(t), "NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"notifyql", "serve", "--addr", "127.0.0.1:0"}, envOf(vars), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "notifyql migrate up") {
		t.Errorf("serve on an unmigrated database: error = %v, want advice to migrate", err)
	}
}

// privateDataDir returns a data folder the private PostgreSQL can use: when the tests run as
// root the server runs as postgres, which must be able to reach the folder.
func privateDataDir(t *testing.T) string {
	t.Helper()
	temp := t.TempDir()
	// t.TempDir makes a private parent folder too.
	for _, dir := range []string{filepath.Dir(temp), temp} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(temp, "notifyql")
}

func TestMigrateInPrivateMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL")
	}
	vars := map[string]string{"NOTIFYQL_DATA_DIR": privateDataDir(t)}
	if _, stderr, err := runCommand(t, vars, "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\nstderr: %s", err, stderr)
	}
	// A second command finds the folder initialised and the schema current.
	stdout, stderr, err := runCommand(t, vars, "migrate", "status")
	if err != nil {
		t.Fatalf("migrate status: %v\nstderr: %s", err, stderr)
	}
	if !strings.Contains(stderr, "starting a private PostgreSQL") {
		t.Errorf("private mode is not logged:\n%s", stderr)
	}
	if stdout == "" {
		t.Errorf("migrate status printed nothing")
	}
}

// Every request limit is in the logged configuration, so an operator can see what a
// refusal was measured against.
func TestConfigLogValueShowsLimits(t *testing.T) {
	cfg := config{Limits: server.Limits{MaxDepth: 11, MaxComplexity: 4321, MaxTokens: 1234, MaxAliases: 14, MaxDirectives: 4, MaxBodyBytes: 5678},
		DownloadLimits: server.DownloadLimits{WriteTimeout: 45 * time.Second, MaxPerUser: 4}}
	logged := cfg.LogValue().String()
	for _, want := range []string{"max_depth=11", "max_complexity=4321", "max_tokens=1234", "max_aliases=14", "max_directives=4", "max_body_bytes=5678",
		"download_write_timeout=45s", "max_downloads_per_user=4"} {
		if !strings.Contains(logged, want) {
			t.Errorf("logged config %s lacks %s", logged, want)
		}
	}
}

// The Redis client keeps a few idle connections per CPU unless the URL says otherwise, and
// closes the rest as a burst ends: 40 calls at once widen the pool to 40 connections, and
// once they are answered no more than the bound stay open.
func TestRedisClientClosesABurstsConnections(t *testing.T) {
	topology, err := redisOptions("redis://" + machineRedisAddr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	opts := topology.single
	bound := redisIdleConnsPerCPU * runtime.GOMAXPROCS(0)
	if opts.MaxIdleConns != bound || !opts.ContextTimeoutEnabled {
		t.Fatalf("max idle %d, context timeouts %v; want %d, true", opts.MaxIdleConns, opts.ContextTimeoutEnabled, bound)
	}
	if own, err := redisOptions("redis://" + machineRedisAddr + "/0?max_idle_conns=9"); err != nil || own.single.MaxIdleConns != 9 {
		t.Fatalf("the URL's max_idle_conns: %v, %v", own, err)
	}
	if _, err := redisOptions("redis://" + machineRedisAddr + "/0?max_idle_conns=many"); err == nil {
		t.Fatal("a malformed max_idle_conns was accepted")
	}
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	const burst = 40
	var wg sync.WaitGroup
	key := "notifyql-test-burst-" + t.Name()
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each call holds its connection for 200 ms, so the burst needs one each.
			if err := client.BLPop(t.Context(), 200*time.Millisecond, key).Err(); err != nil && !errors.Is(err, goredis.Nil) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	stats := client.PoolStats()
	if stats.Misses < burst/2 {
		t.Fatalf("the burst opened only %d connections: it did not widen the pool", stats.Misses)
	}
	if stats.TotalConns > uint32(bound) {
		t.Errorf("%d connections stay open after the burst, want at most %d", stats.TotalConns, bound)
	}
}
