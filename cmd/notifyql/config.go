package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	DatabaseURL string
	RedisURL    string
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
	// burst (NOTIFYQL_WS_MESSAGE_RATE, NOTIFYQL_WS_MESSAGE_BURST); 4429 past them.
	WebSocketLimits websocketLimits
	// TrustedProxies are the load balancers whose X-Forwarded-For names the client's address
	// (NOTIFYQL_TRUSTED_PROXIES: comma-separated addresses and CIDR prefixes).
	TrustedProxies server.TrustedProxies
	// RateLimits are the HTTP operations a user and an address may send a minute
	// (NOTIFYQL_RATE_LIMIT_PER_USER, NOTIFYQL_RATE_LIMIT_PER_IP; 0 switches one off),
	// counted in Redis across instances.
	RateLimits server.RateLimits
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
}

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

// loadConfig reads the configuration from the environment, filling in defaults.
func loadConfig(getenv func(string) string) (config, error) {
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
	}
	cfg.DownloadLimits = server.DefaultDownloadLimits()
	defaults := server.DefaultWebSocketConfig()
	cfg.WebSocketLimits = websocketLimits{MaxPerUser: defaults.MaxConnectionsPerUser,
		MessageRate: int(defaults.MessageRate), MessageBurst: defaults.MessageBurst}
	if getenv("GOGC") == "" {
		cfg.GCPercent = serveGCPercent
	}
	if godebug := getenv("GODEBUG"); !strings.Contains(godebug, "adaptivestackstart=") {
		cfg.GODEBUG = strings.TrimPrefix(godebug+","+serveStackStart, ",")
	}
	if v := getenv("NOTIFYQL_ADDR"); v != "" {
		cfg.Addr = v
	}
	if v := getenv("NOTIFYQL_DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			return config{}, fmt.Errorf("NOTIFYQL_DRAIN_DELAY must be a duration from 0s to 1m, such as 5s; got %q", v)
		}
		cfg.DrainDelay = d
	}
	if v := getenv("NOTIFYQL_REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return config{}, fmt.Errorf("NOTIFYQL_REQUEST_TIMEOUT must be a duration from 1s to 10m, such as 10s; got %q", v)
		}
		cfg.Limits.RequestTimeout = d
	}
	if v := getenv("NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return config{}, fmt.Errorf("NOTIFYQL_DOWNLOAD_WRITE_TIMEOUT must be a duration from 1s to 10m, such as 30s; got %q", v)
		}
		cfg.DownloadLimits.WriteTimeout = d
	}
	if v := getenv("NOTIFYQL_DATA_DIR"); v != "" {
		cfg.DataDir = v
	}
	switch v := getenv("NOTIFYQL_ENV"); v {
	case "":
	case envDevelopment, envProduction:
		cfg.Env = v
	default:
		return config{}, fmt.Errorf("NOTIFYQL_ENV must be %q or %q, got %q", envDevelopment, envProduction, v)
	}
	if v := getenv("NOTIFYQL_TRUSTED_PROXIES"); v != "" {
		proxies, err := server.ParseTrustedProxies(v)
		if err != nil {
			return config{}, fmt.Errorf("NOTIFYQL_TRUSTED_PROXIES: %w", err)
		}
		cfg.TrustedProxies = proxies
	}
	if v := getenv("NOTIFYQL_ALLOWED_ORIGINS"); v != "" {
		origins, err := parseOrigins(v)
		if err != nil {
			return config{}, fmt.Errorf("NOTIFYQL_ALLOWED_ORIGINS: %w", err)
		}
		cfg.AllowedOrigins = origins
	}
	if cfg.JWTSecret != "" && len(cfg.JWTSecret) < minSecretBytes {
		return config{}, fmt.Errorf("NOTIFYQL_JWT_SECRET must be at least %d bytes long, it has %d", minSecretBytes, len(cfg.JWTSecret))
	}
	if cfg.SearchSecret != "" {
		if _, err := decodeSearchSecret(cfg.SearchSecret); err != nil {
			return config{}, fmt.Errorf("NOTIFYQL_SEARCH_SECRET %w", err)
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
		{"NOTIFYQL_MAX_BODY_BYTES", &cfg.Limits.MaxBodyBytes},
		{"NOTIFYQL_WS_MAX_PER_USER", &cfg.WebSocketLimits.MaxPerUser},
		{"NOTIFYQL_WS_MESSAGE_RATE", &cfg.WebSocketLimits.MessageRate},
		{"NOTIFYQL_WS_MESSAGE_BURST", &cfg.WebSocketLimits.MessageBurst},
		{"NOTIFYQL_MAX_DOWNLOADS_PER_USER", &cfg.DownloadLimits.MaxPerUser},
	} {
		v := getenv(limit.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return config{}, fmt.Errorf("%s must be a positive whole number, got %q", limit.name, v)
		}
		*limit.dest = n
	}
	for _, limit := range []struct {
		name string
		dest *int
	}{
		{"NOTIFYQL_RATE_LIMIT_PER_USER", &cfg.RateLimits.PerUser},
		{"NOTIFYQL_RATE_LIMIT_PER_IP", &cfg.RateLimits.PerIP},
	} {
		v := getenv(limit.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return config{}, fmt.Errorf("%s must be a whole number of requests a minute, 0 for no limit; got %q", limit.name, v)
		}
		*limit.dest = n
	}
	return cfg, nil
}

// websocketLimits are the per-socket and per-user limits of WebSocketConfig that
// configuration sets.
type websocketLimits struct{ MaxPerUser, MessageRate, MessageBurst int }

// apply sets the limits on c.
func (l websocketLimits) apply(c server.WebSocketConfig) server.WebSocketConfig {
	c.MaxConnectionsPerUser, c.MessageRate, c.MessageBurst = l.MaxPerUser, float64(l.MessageRate), l.MessageBurst
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
		slog.Int("max_body_bytes", c.Limits.MaxBodyBytes),
		slog.String("request_timeout", c.Limits.RequestTimeout.String()),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Int("ws_max_per_user", c.WebSocketLimits.MaxPerUser),
		slog.Int("ws_message_rate", c.WebSocketLimits.MessageRate),
		slog.Int("ws_message_burst", c.WebSocketLimits.MessageBurst),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Int("rate_limit_per_user", c.RateLimits.PerUser),
		slog.Int("rate_limit_per_ip", c.RateLimits.PerIP),
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
	// Passwords can also travel as a query parameter (libpq's password=...).
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
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
