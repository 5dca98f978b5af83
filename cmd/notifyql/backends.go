package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql/postgres"
	"notifyql/redis"
)

// runningDatabaseFile records, while serve runs in private mode, the URL of its private
// PostgreSQL and, on a second line, the URL it serves GraphQL at, so that token, migrate
// and seed run from another terminal use that server rather than failing to start a second
// one on the same data folder, and a second serve says that one is running.
const runningDatabaseFile = "running-database-url"

// stopTimeout bounds each step of shutting down a backend.
const stopTimeout = 15 * time.Second

// database is the PostgreSQL a command works against: the configured DATABASE_URL, or in
// private mode a server of our own (or that of a running serve).
type database struct {
	URL string
	// Private is true when no DATABASE_URL was configured.
	Private bool
	// local is the server this process started; nil when it did not start one.
	local *postgres.LocalServer
}

// openDatabase returns the configured database, or in private mode starts one (or, when
// attach is set and a serve is running in private mode, uses its server).
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger, attach bool) (*database, error) {
	if cfg.DatabaseURL != "" {
		return &database{URL: cfg.DatabaseURL}, nil
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data folder: %w", err)
	}
	if attach {
		if url, _, ok := runningPrivateDatabase(ctx, dataDir); ok {
			logger.Info("using the private PostgreSQL of a running notifyql serve (no DATABASE_URL set)",
				"data_dir", dataDir)
			return &database{URL: url, Private: true}, nil
		}
	}
	logger.Info("no DATABASE_URL set: starting a private PostgreSQL", "data_dir", dataDir)
	// The server outlives ctx on purpose: it is stopped last, by Close, after everything
	// that uses it.
	local, err := postgres.StartLocal(context.WithoutCancel(ctx), dataDir, logger)
	if err != nil {
		return nil, fmt.Errorf("start private PostgreSQL (or set DATABASE_URL): %w", err)
	}
	return &database{URL: local.URL(), Private: true, local: local}, nil
}

// Close stops the private server this process started, if any.
func (d *database) Close(ctx context.Context) error {
	if d.local == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	if err := d.local.Stop(ctx); err != nil {
		return fmt.Errorf("stop private PostgreSQL: %w", err)
	}
	return nil
}

// openCommandPool opens the database a one-off command works on (DATABASE_URL, a running
// serve's private server, or a private server of its own) with its schema current, and
// returns a pool on it with the function that closes both.
func openCommandPool(ctx context.Context, e env) (*pgxpool.Pool, func() error, error) {
	db, err := openDatabase(ctx, e.cfg, e.logger, true)
	if err != nil {
		return nil, nil, err
	}
	pool, _, err := prepareDatabase(ctx, e, db, false)
	if err != nil {
		return nil, nil, errors.Join(err, db.Close(ctx))
	}
	return pool, func() error {
		pool.Close()
		return db.Close(ctx)
	}, nil
}

// runningPrivateDatabase returns the database URL recorded by a serve running on dataDir,
// and the URL that serve serves GraphQL at, if that database answers.
func runningPrivateDatabase(ctx context.Context, dataDir string) (databaseURL, graphqlURL string, ok bool) {
	content, err := os.ReadFile(filepath.Join(dataDir, runningDatabaseFile))
	if err != nil {
		return "", "", false
	}
	databaseURL, graphqlURL, _ = strings.Cut(strings.TrimSpace(string(content)), "\n")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return "", "", false // a file left by a serve that was killed
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return databaseURL, strings.TrimSpace(graphqlURL), conn.Ping(ctx) == nil
}

// refuseSecondServe fails when a serve already runs on the private database in dataDir:
// a second one would find its PostgreSQL's data folder in use, and its port too.
func refuseSecondServe(ctx context.Context, dataDir string) error {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("resolve data folder: %w", err)
	}
	_, graphqlURL, running := runningPrivateDatabase(ctx, dir)
	if !running {
		return nil
	}
	at := ""
	if graphqlURL != "" {
		at = " at " + graphqlURL
	}
	return fmt.Errorf("notifyql serve is already running%s, on the private database in %s: use that one, "+
		"or stop it first (Ctrl-C in its terminal); to run a second server beside it, give this one "+
		"its own NOTIFYQL_DATA_DIR and --addr (or NOTIFYQL_ADDR)", at, dir)
}

// recordRunningDatabase writes the running-database file and returns the function that
// removes it.
func recordRunningDatabase(dataDir, url, graphqlURL string) (remove func(), err error) {
	path := filepath.Join(dataDir, runningDatabaseFile)
	if err := os.WriteFile(path, []byte(url+"\n"+graphqlURL+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("record private database address: %w", err)
	}
	// A file left behind does no harm: the next command finds the server gone and starts
	// its own.
	return func() { _ = os.Remove(path) }, nil
}

// databaseConnectTimeout bounds opening one database connection (TCP, TLS, startup and
// authentication) where the URL sets no connect_timeout: a PostgreSQL that accepts
// connections but does not answer (frozen, overloaded) must not keep a request, or the
// pool's reconnecting, waiting for good. A healthy server answers in milliseconds.
const databaseConnectTimeout = 5 * time.Second

// openPool connects to url and checks the server answers. The pool holds maxConns
// connections (NOTIFYQL_DB_MAX_CONNS), or when that is 0 the URL's pool_max_conns, or
// defaultPoolSize; sizedBy says which.
func openPool(ctx context.Context, url string, maxConns int) (pool *pgxpool.Pool, sizedBy string, err error) {
	cfg, err := poolConfig(url)
	if err != nil {
		return nil, "", err
	}
	sizedBy, err = sizePool(ctx, cfg, url, maxConns)
	if err != nil {
		return nil, "", fmt.Errorf("connect to database %s: %w", maskURL(url), err)
	}
	pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("configure database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, "", fmt.Errorf("connect to database %s: %w", maskURL(url), err)
	}
	return pool, sizedBy, nil
}

// poolConfig is the database pool's configuration from url, with notifyql's defaults
// where url sets none.
func poolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("configure database pool: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = databaseConnectTimeout
	}
	// Only the cache_describe mode reads the description cache. In any other, each
	// connection would hold the cache's map, made for 512 statements (about 30 KB),
	// empty for as long as it lives.
	if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheDescribe {
		cfg.ConnConfig.DescriptionCacheCapacity = 0
	}
	return cfg, nil
}

// redisBackend is the Redis serve works against: the configured REDIS_URL, or an
// in-process server.
type redisBackend struct {
	URL     string
	Private bool
	Client  goredis.UniversalClient
	// Sentinel is set when REDIS_URL names a primary that Sentinel manages.
	Sentinel bool
	inProc   *redis.InProcess
}

// openRedis connects to REDIS_URL, or starts an in-process server when it is unset.
func openRedis(ctx context.Context, cfg config, logger *slog.Logger) (*redisBackend, error) {
	redis.RouteClientLogs(logger)
	b := &redisBackend{URL: cfg.RedisURL}
	if b.URL == "" {
		inProc, err := redis.StartInProcess()
		if err != nil {
			return nil, err
		}
		b.inProc, b.URL, b.Private = inProc, inProc.URL(), true
		logger.Info("no REDIS_URL set: using an in-process Redis-compatible server", "addr", inProc.Addr())
	}
	topology, err := redisOptions(b.URL)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.Client, b.Sentinel = topology.newClient(), topology.sentinel != nil
	if err := b.Client.Ping(ctx).Err(); err != nil {
		b.Close()
		if b.Private || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to redis %s: %w", maskURL(b.URL), err)
		}
		return nil, fmt.Errorf("connect to Redis at REDIS_URL %s: %w: is that Redis running and reachable? "+
			"Unset REDIS_URL to use an in-process Redis-compatible server instead (one instance only)", maskURL(b.URL), err)
	}
	return b, nil
}

// Close closes the client, then the in-process server if there is one.
func (b *redisBackend) Close() {
	if b.Client != nil {
		_ = b.Client.Close() // closing only fails for a client already closed
	}
	if b.inProc != nil {
		b.inProc.Close()
	}
}
