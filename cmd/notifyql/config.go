package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"notifyql"
	"notifyql/redis"
	"notifyql/server"
)

// Environments: development switches on GraphQL introspection, "did you mean" suggestions
// and debug logs.
const (
	envDevelopment = "development"
	envProduction  = "production"
)

// minSecretBytes is the shortest JWT signing secret accepted: HS256 keys shorter than the
// hash output (RFC 7518 §3.2) make tokens easier to forge.
const minSecretBytes = 32

// jwtSecretFile holds the generated signing secret in private mode, so that tokens survive
// restarts. It is hex text: `export NOTIFYQL_JWT_SECRET=$(cat .notifyql/jwt-secret)` gives the
// same secret to another process.
const jwtSecretFile = "jwt-secret"

// searchSecretFile holds the generated search-hash key in private mode, hex text like the
// JWT secret's file, so that remembered searches' hashes survive restarts.
const searchSecretFile = "search-secret"

// config is everything the commands read from the environment, read once with defaults.
type config struct {
	// Addr is where serve listens (NOTIFYQL_ADDR, overridden by --addr).
	Addr string
	// Env is development or production (NOTIFYQL_ENV).
	Env string
	// DataDir holds the private PostgreSQL and the generated JWT secret when DatabaseURL is
	// empty (NOTIFYQL_DATA_DIR).
	DataDir string
	// DatabaseURL and RedisURL may carry passwords; empty means start a private server.
	// RedisURL is REDIS_URL, or the redis-sentinel:// URL the NOTIFYQL_REDIS_SENTINEL_*
	// variables amount to.
	DatabaseURL string
	RedisURL    string
	// DBMaxConns is the API pool's size (NOTIFYQL_DB_MAX_CONNS); 0, unset, means the URL's
	// pool_max_conns or else defaultPoolSize.
	DBMaxConns int
	// JWTSecret signs and checks tokens (NOTIFYQL_JWT_SECRET); empty in private mode means
	// the generated one in DataDir.
	JWTSecret string
	// SearchSecret keys the HMAC of remembered search terms (NOTIFYQL_SEARCH_SECRET,
	// hex-encoded, at least 32 bytes once decoded); empty in private mode means the
	// generated one in DataDir.
	SearchSecret string
	Limits       server.Limits
	// WebSocketLimits bound each socket: the signed-in sockets a user may hold
	// (NOTIFYQL_WS_MAX_PER_USER) and the messages a second a socket may send after a
	// burst (NOTIFYQL_WS_MESSAGE_RATE, NOTIFYQL_WS_MESSAGE_BURST), 4429 past them; and the
	// subscriptions a socket and a user may run (NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
	// NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER), SUBSCRIPTION_LIMIT past them.
	WebSocketLimits websocketLimits
	// TrustedProxies are the load balancers whose X-Forwarded-For names the client's address
	// (NOTIFYQL_TRUSTED_PROXIES: comma-separated addresses and CIDR prefixes).
	TrustedProxies server.TrustedProxies
	// RateLimits are the HTTP operations a user and an address may send a minute
	// (NOTIFYQL_RATE_LIMIT_PER_USER, NOTIFYQL_RATE_LIMIT_PER_IP; 0 switches one off),
	// counted in Redis across instances.
	RateLimits server.RateLimits
	// ReportsPerDay is how many report requests a user may make in any 24 hours
	// (NOTIFYQL_MAX_REPORTS_PER_DAY); RATE_LIMITED past it.
	ReportsPerDay int
	// DownloadLimits bound the CSV downloads: how long a client has to take each batch
	// (NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT) and how many a user may have at once on an instance
	// (NOTIFYQL_MAX_DOWNLOADS_PER_USER).
	DownloadLimits server.DownloadLimits
	// AllowedOrigins are the exact browser origins, besides the API's own (where GraphiQL
	// and the dashboard are served), that may open a WebSocket (NOTIFYQL_ALLOWED_ORIGINS,
	// comma-separated): the origins of frontends served elsewhere. None by default.
	AllowedOrigins []string
	// GCPercent is the garbage collector's target that serve sets, 0 when GOGC is set and
	// Go's own reading of it stands.
	GCPercent int
	// DrainDelay is how long serve answers /readyz with "shutting down" before it stops
	// accepting requests (NOTIFYQL_DRAIN_DELAY, a Go duration; none by default).
	DrainDelay time.Duration
	// GODEBUG is the runtime's GODEBUG that serve sets: the environment's with
	// adaptivestackstart=0 added, or "" when the environment already sets that.
	GODEBUG string
	// MetricsAddr is where serve answers GET /metrics, on a listener of its own
	// (NOTIFYQL_METRICS_ADDR, overridden by --metrics-addr): 127.0.0.1:9090 in production;
	// "" in development, which serves /metrics beside the API.
	MetricsAddr string
	// Profiling serves the runtime's profiles beside /metrics on its own listener
	// (NOTIFYQL_PPROF; off by default).
	Profiling bool
	// Connections bound each client address's open connections and how long a connection
	// may idle or take to send a request (NOTIFYQL_IDLE_TIMEOUT, NOTIFYQL_BODY_TIMEOUT,
	// NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS, NOTIFYQL_MAX_CONNECTIONS_PER_PROXY).
	Connections server.ConnectionLimits
	// Tokens is what a token must say to sign in, and what `notifyql token` mints: a
	// lifetime of at most NOTIFYQL_TOKEN_MAX_TTL, and NOTIFYQL_TOKEN_AUDIENCE and
	// NOTIFYQL_TOKEN_ISSUER as its aud and iss when they are set.
	Tokens server.TokenPolicy
	// Letters are the letter renderer's settings (NOTIFYQL_LETTER_RENDERERS,
	// NOTIFYQL_LETTER_CACHE_BYTES, NOTIFYQL_LETTER_CACHE_TTL).
	Letters letterSettings
}

// maxTokenTTL is the most NOTIFYQL_TOKEN_MAX_TTL may be: a longer-lived token is a
// password that cannot be changed.
const maxTokenTTL = 30 * 24 * time.Hour

// productionMetricsAddr is where production serves /metrics unless configured otherwise:
// the loopback interface, which only the machine's own scraper reaches.
const productionMetricsAddr = "127.0.0.1:9090"

// serveGCPercent is serve's GOGC unless the environment sets one. A server holding
// thousands of idle sockets has a heap made mostly of their long-lived state; half Go's
// default headroom over it makes each socket cost about a tenth less memory, for a few
// percent more CPU under load (make bench-live).
const serveGCPercent = 50

// serveStackStart is the GODEBUG setting serve adds unless the environment has its own. By
// default Go starts each new goroutine with the average stack size it has seen, and an idle
// WebSocket keeps three goroutines (reader, subscription, and gqlgen's close watcher) that
// mostly need far less than the deep request work that sets that average. Starting them
// small, to grow on demand, makes each idle connection cost about 1.5 KiB less (make
// bench-live) for a few stack copies when a goroutine first goes deep.
const serveStackStart = "adaptivestackstart=0"

// loadConfig reads the configuration from the environment, filling in defaults. Every
// variable is checked, and all that are wrong are reported together (see configError), so
// that one run shows a user everything to fix.
func loadConfig(getenv func(string) string) (config, error) {
	cfg, problems := readConfig(getenv)
	if len(problems) > 0 {
		return config{}, configError(problems)
	}
	return cfg, nil
}

// readConfig is loadConfig's work: the configuration, and every problem found in it.
func readConfig(getenv func(string) string) (config, []error) {
	var problems []error
	// bad records a problem; a joined error counts as the problems it joins.
	bad := func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			problems = append(problems, joined.Unwrap()...)
			return
		}
		problems = append(problems, err)
	}
	cfg := config{
		Addr:         ":8080",
		Env:          envProduction,
		DataDir:      ".notifyql",
		DatabaseURL:  getenv("DATABASE_URL"),
		RedisURL:     getenv("REDIS_URL"),
		JWTSecret:    getenv("NOTIFYQL_JWT_SECRET"),
		SearchSecret: getenv("NOTIFYQL_SEARCH_SECRET"),
		Limits:       server.DefaultLimits(),
		RateLimits:   server.DefaultRateLimits(),
		Connections:  server.DefaultConnectionLimits(),
		Tokens:       server.DefaultTokenPolicy(),
	}
	cfg.ReportsPerDay = notifyql.DefaultReportsPerDay
	cfg.DownloadLimits = server.DefaultDownloadLimits()
	cfg.Letters = defaultLetterSettings()
	defaults := server.DefaultWebSocketConfig()
	cfg.WebSocketLimits = websocketLimits{MaxPerUser: defaults.MaxConnectionsPerUser,
		MessageRate: int(defaults.MessageRate), MessageBurst: defaults.MessageBurst,
		MaxSubscriptionsPerSocket: defaults.MaxSubscriptionsPerSocket, MaxSubscriptionsPerUser: defaults.MaxSubscriptionsPerUser}
	if getenv("GOGC") == "" {
		cfg.GCPercent = serveGCPercent
	}
	if godebug := getenv("GODEBUG"); !strings.Contains(godebug, "adaptivestackstart=") {
		cfg.GODEBUG = strings.TrimPrefix(godebug+","+serveStackStart, ",")
	}
	if v := getenv("NOTIFYQL_ADDR"); v != "" {
		cfg.Addr = v
	}
	if sentinelURL, err := sentinelURLFromVariables(getenv); err != nil {
		bad(err)
	} else if sentinelURL != "" {
		cfg.RedisURL = sentinelURL
	}
	if cfg.RedisURL != "" {
		if _, err := redisOptions(cfg.RedisURL); err != nil {
			bad(err)
		}
	}
	for _, duration := range []struct {
		name     string
		min, max time.Duration
		// bounds is min and max as the error message writes them.
		bounds string
		dest   *time.Duration
	}{
		{"NOTIFYQL_DRAIN_DELAY", 0, time.Minute, "from 0s to 1m, such as 5s", &cfg.DrainDelay},
		{"NOTIFYQL_REQUEST_TIMEOUT", time.Second, 10 * time.Minute, "from 1s to 10m, such as 10s", &cfg.Limits.RequestTimeout},
		{"NOTIFYQL_TOKEN_MAX_TTL", time.Minute, maxTokenTTL, fmt.Sprintf("from 1m to %s, such as 24h", maxTokenTTL), &cfg.Tokens.MaxTTL},
		{"NOTIFYQL_IDLE_TIMEOUT", time.Second, time.Hour, "from 1s to 1h, such as 2m", &cfg.Connections.IdleTimeout},
		{"NOTIFYQL_BODY_TIMEOUT", time.Second, 10 * time.Minute, "from 1s to 10m, such as 30s", &cfg.Connections.BodyTimeout},
		{"NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT", time.Second, 10 * time.Minute, "from 1s to 10m, such as 30s", &cfg.DownloadLimits.WriteTimeout},
		{"NOTIFYQL_LETTER_CACHE_TTL", time.Second, redis.MaxLetterRenderTTL, "from 1s to 10m, such as 10m", &cfg.Letters.CacheTTL},
	} {
		v := getenv(duration.name)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < duration.min || d > duration.max {
			bad(fmt.Errorf("%s must be a duration %s; got %q", duration.name, duration.bounds, v))
			continue
		}
		*duration.dest = d
	}
	if err := loadTokenPolicy(getenv, &cfg.Tokens); err != nil {
		bad(err)
	}
	if v := getenv("NOTIFYQL_DATA_DIR"); v != "" {
		cfg.DataDir = v
	}
	switch v := getenv("NOTIFYQL_ENV"); v {
	case "":
	case envDevelopment, envProduction:
		cfg.Env = v
	default:
		bad(fmt.Errorf("NOTIFYQL_ENV must be %q or %q, got %q", envDevelopment, envProduction, v))
	}
	if !cfg.Development() {
		cfg.MetricsAddr = productionMetricsAddr
	}
	if v := getenv("NOTIFYQL_METRICS_ADDR"); v != "" {
		if err := checkListenAddr(v); err != nil {
			bad(fmt.Errorf("NOTIFYQL_METRICS_ADDR %w", err))
		} else {
			cfg.MetricsAddr = v
		}
	}
	if v := getenv("NOTIFYQL_PPROF"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			bad(fmt.Errorf("NOTIFYQL_PPROF must be true or false, got %q", v))
		}
		cfg.Profiling = on
	}
	if v := getenv("NOTIFYQL_TRUSTED_PROXIES"); v != "" {
		proxies, err := server.ParseTrustedProxies(v)
		if err != nil {
			bad(fmt.Errorf("NOTIFYQL_TRUSTED_PROXIES: %w", err))
		}
		cfg.TrustedProxies = proxies
	}
	if v := getenv("NOTIFYQL_ALLOWED_ORIGINS"); v != "" {
		origins, err := parseOrigins(v)
		if err != nil {
			bad(fmt.Errorf("NOTIFYQL_ALLOWED_ORIGINS: %w", err))
		}
		cfg.AllowedOrigins = origins
	}
	if cfg.JWTSecret != "" && len(cfg.JWTSecret) < minSecretBytes {
		bad(fmt.Errorf("NOTIFYQL_JWT_SECRET must be at least %d bytes long, it has %d", minSecretBytes, len(cfg.JWTSecret)))
	}
	if cfg.SearchSecret != "" {
		if _, err := decodeSearchSecret(cfg.SearchSecret); err != nil {
			bad(fmt.Errorf("NOTIFYQL_SEARCH_SECRET %w", err))
		}
	}
	for _, limit := range []struct {
		name string
		dest *int
	}{
		{"NOTIFYQL_MAX_DEPTH", &cfg.Limits.MaxDepth},
		{"NOTIFYQL_MAX_COMPLEXITY", &cfg.Limits.MaxComplexity},
		{"NOTIFYQL_MAX_TOKENS", &cfg.Limits.MaxTokens},
		{"NOTIFYQL_MAX_ALIASES", &cfg.Limits.MaxAliases},
		{"NOTIFYQL_MAX_DIRECTIVES", &cfg.Limits.MaxDirectives},
		{"NOTIFYQL_MAX_VALIDATION_STEPS", &cfg.Limits.MaxValidationSteps},
		{"NOTIFYQL_MAX_BODY_BYTES", &cfg.Limits.MaxBodyBytes},
		{"NOTIFYQL_QUERY_CACHE_BYTES", &cfg.Limits.MaxCachedQueryBytes},
		{"NOTIFYQL_WS_MAX_PER_USER", &cfg.WebSocketLimits.MaxPerUser},
		{"NOTIFYQL_WS_MESSAGE_RATE", &cfg.WebSocketLimits.MessageRate},
		{"NOTIFYQL_WS_MESSAGE_BURST", &cfg.WebSocketLimits.MessageBurst},
		{"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_SOCKET", &cfg.WebSocketLimits.MaxSubscriptionsPerSocket},
		{"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER", &cfg.WebSocketLimits.MaxSubscriptionsPerUser},
		{"NOTIFYQL_MAX_REPORTS_PER_DAY", &cfg.ReportsPerDay},
		{"NOTIFYQL_MAX_DOWNLOADS_PER_USER", &cfg.DownloadLimits.MaxPerUser},
	} {
		v := getenv(limit.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad(fmt.Errorf("%s must be a positive whole number, got %q", limit.name, v))
			continue
		}
		*limit.dest = n
	}
	for _, limit := range []struct {
		name, unit string
		dest       *int
	}{
		{"NOTIFYQL_RATE_LIMIT_PER_USER", "requests a minute", &cfg.RateLimits.PerUser},
		{"NOTIFYQL_RATE_LIMIT_PER_IP", "requests a minute", &cfg.RateLimits.PerIP},
		{"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS", "connections", &cfg.Connections.MaxPerAddress},
		{"NOTIFYQL_MAX_CONNECTIONS_PER_PROXY", "connections", &cfg.Connections.MaxPerProxy},
	} {
		v := getenv(limit.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad(fmt.Errorf("%s must be a whole number of %s, 0 for no limit; got %q", limit.name, limit.unit, v))
			continue
		}
		*limit.dest = n
	}
	// Settings with bounds of their own: a pool of renderers beyond a few per CPU only
	// queues in memory, the cache's budget is Redis memory, and a pool's connections are
	// PostgreSQL's.
	for _, setting := range []struct {
		name     string
		min, max int
		bounds   string
		dest     *int
	}{
		{"NOTIFYQL_LETTER_RENDERERS", 1, 64, "from 1 to 64", &cfg.Letters.Renderers},
		{"NOTIFYQL_LETTER_CACHE_BYTES", 0, 4 << 30, "from 0 (no cache) to 4294967296", &cfg.Letters.CacheBytes},
		{"NOTIFYQL_DB_MAX_CONNS", 1, maxPoolConnsSetting, fmt.Sprintf("from 1 to %d", maxPoolConnsSetting), &cfg.DBMaxConns},
	} {
		v := getenv(setting.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < setting.min || n > setting.max {
			bad(fmt.Errorf("%s must be a whole number %s; got %q", setting.name, setting.bounds, v))
			continue
		}
		*setting.dest = n
	}
	return cfg, problems
}

// missingSecrets are the problems of a configuration that names a shared database
// (DATABASE_URL) but not the secrets command needs with one (in private mode the data
// folder keeps generated ones): serve needs both, token the signing secret. A secret that
// is set but malformed is readConfig's to report.
func missingSecrets(cfg config, command string) []error {
	if cfg.DatabaseURL == "" || (command != "serve" && command != "token") {
		return nil
	}
	var problems []error
	if cfg.JWTSecret == "" {
		_, err := signingSecret(cfg, false)
		problems = append(problems, err)
	}
	if command == "serve" && cfg.SearchSecret == "" {
		_, err := searchSecret(cfg, false)
		problems = append(problems, err)
	}
	return problems
}

// configError is every problem found in the configuration, in one error: one on its own,
// several as a count and a list, one to a line.
func configError(problems []error) error {
	if len(problems) == 1 {
		return problems[0]
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = "\n  " + p.Error()
	}
	return fmt.Errorf("%d problems:%s", len(problems), strings.Join(lines, ""))
}

// checkListenAddr checks that addr is a host:port to listen on; port 0 picks a free one.
// Its error reads after the name of what was given.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("must be host:port, such as 127.0.0.1:9090 (port 0 picks a free one); got %q", addr)
	}
	return nil
}

// loadTokenPolicy reads NOTIFYQL_TOKEN_AUDIENCE and NOTIFYQL_TOKEN_ISSUER into policy (its
// NOTIFYQL_TOKEN_MAX_TTL is read with the other durations), joining the problems of both.
func loadTokenPolicy(getenv func(string) string, policy *server.TokenPolicy) error {
	var problems []error
	for _, claim := range []struct {
		name string
		dest *string
	}{{"NOTIFYQL_TOKEN_AUDIENCE", &policy.Audience}, {"NOTIFYQL_TOKEN_ISSUER", &policy.Issuer}} {
		v := getenv(claim.name)
		if v == "" {
			continue
		}
		if strings.TrimSpace(v) != v || strings.ContainsFunc(v, unicode.IsControl) {
			problems = append(problems, fmt.Errorf("%s must be a name such as https://api.example.gov.uk, without surrounding spaces or control characters; got %q", claim.name, v))
			continue
		}
		*claim.dest = v
	}
	return errors.Join(problems...)
}

// websocketLimits are the per-socket and per-user limits of WebSocketConfig that
// configuration sets.
type websocketLimits struct {
	MaxPerUser, MessageRate, MessageBurst              int
	MaxSubscriptionsPerSocket, MaxSubscriptionsPerUser int
}

// apply sets the limits on c.
func (l websocketLimits) apply(c server.WebSocketConfig) server.WebSocketConfig {
	c.MaxConnectionsPerUser, c.MessageRate, c.MessageBurst = l.MaxPerUser, float64(l.MessageRate), l.MessageBurst
	c.MaxSubscriptionsPerSocket, c.MaxSubscriptionsPerUser = l.MaxSubscriptionsPerSocket, l.MaxSubscriptionsPerUser
	return c
}

// parseOrigins reads a comma-separated list of origins. Browsers send an origin as
// scheme://host[:port] in lower case with no path, and the server compares exactly, so any
// other spelling (a trailing slash, capitals) is refused here rather than never matching.
func parseOrigins(list string) ([]string, error) {
	var origins []string
	for _, origin := range strings.Split(list, ",") {
		origin = strings.TrimSpace(origin)
		if origin == "" {
			continue
		}
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || origin != strings.ToLower(origin) {
			return nil, fmt.Errorf("%q is not an origin: write scheme://host[:port] in lower case, with no path", origin)
		}
		origins = append(origins, origin)
	}
	if len(origins) == 0 {
		return nil, errors.New("no origin given")
	}
	return origins, nil
}

// Development reports whether the developer conveniences are on.
func (c config) Development() bool { return c.Env == envDevelopment }

// LogValue shows the configuration with passwords masked and the secret reduced to
// whether it is set.
func (c config) LogValue() slog.Value {
	isSet := func(secret string) string {
		if secret == "" {
			return "unset"
		}
		return "set"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("env", c.Env),
		slog.String("data_dir", c.DataDir),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("redis_url", maskURL(c.RedisURL)),
		slog.String("jwt_secret", isSet(c.JWTSecret)),
		slog.String("search_secret", isSet(c.SearchSecret)),
		slog.Int("max_depth", c.Limits.MaxDepth),
		slog.Int("max_complexity", c.Limits.MaxComplexity),
		slog.Int("max_tokens", c.Limits.MaxTokens),
		slog.Int("max_aliases", c.Limits.MaxAliases),
		slog.Int("max_directives", c.Limits.MaxDirectives),
		slog.Int("max_validation_steps", c.Limits.MaxValidationSteps),
		slog.Int("max_body_bytes", c.Limits.MaxBodyBytes),
		slog.Int("query_cache_bytes", c.Limits.MaxCachedQueryBytes),
		slog.String("request_timeout", c.Limits.RequestTimeout.String()),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Int("ws_max_per_user", c.WebSocketLimits.MaxPerUser),
		slog.Int("ws_message_rate", c.WebSocketLimits.MessageRate),
		slog.Int("ws_message_burst", c.WebSocketLimits.MessageBurst),
		slog.Int("ws_max_subscriptions_per_socket", c.WebSocketLimits.MaxSubscriptionsPerSocket),
		slog.Int("ws_max_subscriptions_per_user", c.WebSocketLimits.MaxSubscriptionsPerUser),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Int("rate_limit_per_user", c.RateLimits.PerUser),
		slog.Int("rate_limit_per_ip", c.RateLimits.PerIP),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Bool("pprof", c.Profiling),
		slog.String("idle_timeout", c.Connections.IdleTimeout.String()),
		slog.String("body_timeout", c.Connections.BodyTimeout.String()),
		slog.Int("max_connections_per_address", c.Connections.MaxPerAddress),
		slog.Int("max_connections_per_proxy", c.Connections.MaxPerProxy),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.String("token_max_ttl", c.Tokens.MaxTTL.String()),
		slog.String("token_audience", c.Tokens.Audience),
		slog.String("token_issuer", c.Tokens.Issuer),
		slog.Int("letter_renderers", c.Letters.Renderers),
		slog.Int("letter_cache_bytes", c.Letters.CacheBytes),
		slog.String("letter_cache_ttl", c.Letters.CacheTTL.String()),
		slog.String("download_write_timeout", c.DownloadLimits.WriteTimeout.String()),
		slog.Int("max_downloads_per_user", c.DownloadLimits.MaxPerUser),
	)
}

// maskURL hides the password of a URL. A value that does not parse is hidden whole, as it
// may be a password pasted in the wrong place.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable, hidden)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	// Passwords can also travel as a query parameter (libpq's password=..., a Sentinel's
	// sentinel_password=...).
	if q := u.Query(); q.Has("password") || q.Has("sentinel_password") {
		for _, key := range []string{"password", "sentinel_password"} {
			if q.Has(key) {
				q.Set(key, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// signingSecret returns the JWT signing secret: NOTIFYQL_JWT_SECRET when set; otherwise, in
// private mode only, the one kept in the data folder, generated on first use.
func signingSecret(cfg config, private bool) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	if !private {
		return nil, errors.New("NOTIFYQL_JWT_SECRET is required when DATABASE_URL is set " +
			"(at least 32 bytes, e.g. from `openssl rand -hex 32`)")
	}
	return dataDirSecret(cfg.DataDir, jwtSecretFile)
}

// searchSecret returns the key of the search-term hash (DOMAIN.md §6.4): NOTIFYQL_SEARCH_SECRET
// decoded when set; otherwise, in private mode only, the one kept in the data folder,
// generated on first use. Like the JWT secret, it is required once DATABASE_URL is set.
func searchSecret(cfg config, private bool) ([]byte, error) {
	if cfg.SearchSecret != "" {
		return decodeSearchSecret(cfg.SearchSecret)
	}
	if !private {
		return nil, errors.New("NOTIFYQL_SEARCH_SECRET is required when DATABASE_URL is set " +
			"(hex-encoded, at least 32 bytes, e.g. from `openssl rand -hex 32`)")
	}
	stored, err := dataDirSecret(cfg.DataDir, searchSecretFile)
	if err != nil {
		return nil, err
	}
	key, err := decodeSearchSecret(string(stored))
	if err != nil {
		return nil, fmt.Errorf("%s %w: delete it to generate a new one (remembered searches expire)",
			filepath.Join(cfg.DataDir, searchSecretFile), err)
	}
	return key, nil
}

// decodeSearchSecret decodes a hex-encoded search secret of at least 32 bytes. Its errors
// never show the value.
func decodeSearchSecret(hexText string) ([]byte, error) {
	key, err := hex.DecodeString(hexText)
	if err != nil {
		return nil, errors.New("must be hex-encoded (e.g. from `openssl rand -hex 32`)")
	}
	if len(key) < minSecretBytes {
		return nil, fmt.Errorf("must hold at least %d bytes (%d hex digits), it holds %d", minSecretBytes, 2*minSecretBytes, len(key))
	}
	return key, nil
}

// dataDirSecret reads dataDir/name, creating it with 32 random bytes (hex) if absent.
func dataDirSecret(dataDir, name string) ([]byte, error) {
	path := filepath.Join(dataDir, name)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	random := make([]byte, minSecretBytes)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("generate %s: %w", name, err)
	}
	// The secret is written whole to a temporary file and then linked into place: link
	// fails if the name exists, so when two commands start at once one secret wins and
	// neither reads a half-written file.
	tmp, err := os.CreateTemp(dataDir, name+".*")
	if err != nil {
		return nil, fmt.Errorf("create %s file: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	secret := []byte(hex.EncodeToString(random))
	_, err = tmp.Write(append(secret, '\n'))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("write %s file: %w", name, err)
	}
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		return secret, nil
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	existing := []byte(strings.TrimSpace(string(content)))
	if len(existing) < minSecretBytes {
		return nil, fmt.Errorf("%s holds a secret shorter than %d bytes: delete it to generate a new one "+
			"(what was signed or hashed with the old one stops working)", path, minSecretBytes)
	}
	return existing, nil
}
