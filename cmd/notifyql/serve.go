package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/postgres"
	"notifyql/postgres/seed"
	"notifyql/redis"
	"notifyql/server"
	"notifyql/web"
)

// demoAdminEmail is the platform admin the demo data creates, for the sign-in hint when
// the demo viewer is missing.
const demoAdminEmail = "admin@notifyql.example"

// serve runs the API until ctx is done. Shutdown runs in the reverse order of start: the
// HTTP server drains first, then Redis, then the pool, and the private PostgreSQL last.
func serve(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("serve", "serve [--addr host:port] [--metrics-addr host:port]")
	addr := fs.String("addr", e.cfg.Addr, "`host:port` to listen on; port 0 picks a free port (env NOTIFYQL_ADDR)")
	metricsAddr := fs.String("metrics-addr", e.cfg.MetricsAddr, "`host:port` to serve /metrics on; port 0 picks a free port, empty serves it beside the API (env NOTIFYQL_METRICS_ADDR)")
	simulateRate := fs.Float64("simulate", 0, "also play the sending pipeline at this many new notifications a `second` (demos; 0: off)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *simulateRate < 0 {
		return usagef("serve: --simulate must be 0 or more, got %v", *simulateRate)
	}
	if *metricsAddr != "" {
		if err := checkListenAddr(*metricsAddr); err != nil {
			return usagef("serve: --metrics-addr %v", err)
		}
	}
	if e.cfg.Profiling && *metricsAddr == "" {
		// Beside the API, the profiles would be anyone's to read.
		return usagef("serve: NOTIFYQL_PPROF needs /metrics on a listener of its own (NOTIFYQL_METRICS_ADDR or --metrics-addr)")
	}
	// A stop signal during start-up is a stop, not a failure.
	defer func() {
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			e.logger.Info("stopped during start-up", "error", err)
			err = nil
		}
	}()
	e.cfg.Addr, e.cfg.MetricsAddr = *addr, *metricsAddr
	if e.cfg.GCPercent > 0 {
		debug.SetGCPercent(e.cfg.GCPercent)
		tunerCtx, stopTuner := context.WithCancel(ctx)
		tuned := make(chan struct{})
		go func() {
			defer close(tuned)
			newGCTuner(e.cfg.GCPercent, max(serveBusyGCPercent, e.cfg.GCPercent), e.logger).run(tunerCtx)
		}()
		defer func() {
			stopTuner()
			<-tuned
		}()
	}
	if e.cfg.GODEBUG != "" {
		// The runtime reads GODEBUG again whenever it changes.
		if err := os.Setenv("GODEBUG", e.cfg.GODEBUG); err != nil {
			return fmt.Errorf("set GODEBUG: %w", err)
		}
	}
	e.logger.Info("starting", "config", e.cfg)
	raiseOpenFileLimit(e.logger)
	if e.cfg.DatabaseURL == "" {
		if err := refuseSecondServe(ctx, e.cfg.DataDir); err != nil {
			return err
		}
	}
	// Started first and stopped last, so that the spans of everything else's shutdown
	// are flushed too.
	tracing, stopTracing, err := startTracing(ctx, e.cfg.Tracing, e.logger)
	if err != nil {
		return err
	}
	defer stopTracing(ctx)
	e.tracing = tracing
	// Refuse missing secrets before starting anything slow, the signing secret's first.
	if e.cfg.DatabaseURL != "" {
		for _, secret := range []func(config, bool) ([]byte, error){signingSecret, searchSecret} {
			if _, err := secret(e.cfg, false); err != nil {
				return err
			}
		}
	}
	api, err := openAPIDatabase(ctx, e, false)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, api.Close(ctx)) }()
	db, pool := api.db, api.pool
	searchKey, err := searchSecret(e.cfg, db.Private)
	if err != nil {
		return err
	}

	rdb, err := openRedis(ctx, e.cfg, e.logger)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if e.tracing != nil {
		redis.TraceCalls(rdb.Client, e.tracing)
	}

	london, err := notifyql.LoadLondon()
	if err != nil {
		return err
	}
	access := postgres.NewAccessStore(pool)
	liveUpdates, err := startLive(ctx, e, pool, rdb, london, "")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, liveUpdates.stop()) }()
	links, err := server.NewLinkSigner(api.secret, downloadLinkPurpose, 0)
	if err != nil {
		return err
	}
	engines, stopEngines, err := startLetterEngines(ctx, e.cfg.Letters, e.logger)
	if err != nil {
		return err
	}
	defer stopEngines()
	letters, err := newLetters(pool, rdb.Client, "", api.secret, engines, e.cfg.Letters, e.logger)
	if err != nil {
		return err
	}
	deps := schemaDeps{Pool: pool, Access: access, Redis: rdb.Client, SearchSecret: searchKey,
		London: london, Logger: e.logger, Live: liveUpdates.hub, Links: links, ReportsPerDay: e.cfg.ReportsPerDay, Letters: letters,
		Tracing: e.tracing}
	schema, extensions, err := newSchema(deps)
	if err != nil {
		return fmt.Errorf("build GraphQL schema: %w", err)
	}
	trusted, err := withPageDocuments(e.cfg.TrustedDocuments)
	if err != nil {
		return err
	}
	if trusted.Mode == server.TrustedDocumentsEnforce && e.cfg.Development() {
		e.logger.Warn("trusted documents are enforced, but development lets operations sent as plain text run (GraphiQL sends those), counted as under audit; production refuses them")
	}
	// The metrics read the server's open WebSockets, and the server serves the metrics.
	var srv *server.Server
	requests := server.NewRequestMetrics()
	metrics := newMetrics(liveUpdates, func() int { return srv.OpenWebSockets() }, requests,
		map[string]*pgxpool.Pool{"api": pool, "live": liveUpdates.pool})
	srv = server.New(server.Config{
		Addr:             *addr,
		Logger:           e.logger,
		Limits:           e.cfg.Limits,
		Development:      e.cfg.Development(),
		Extensions:       extensions,
		WebSocket:        e.cfg.WebSocketLimits.apply(server.WebSocketConfig{AllowedOrigins: e.cfg.AllowedOrigins}),
		Metrics:          metrics,
		MetricsAddr:      *metricsAddr,
		Profiling:        e.cfg.Profiling,
		Connections:      e.cfg.Connections,
		TrustedProxies:   e.cfg.TrustedProxies,
		RequestMetrics:   requests,
		APQCache:         redis.NewAPQCache(rdb.Client),
		TrustedDocuments: trusted,
		RateLimiter:      redis.NewRateLimiter(rdb.Client, ""),
		RateLimits:       e.cfg.RateLimits,
		InboxCSV:         newInboxCSV(deps),
		Downloads:        newDownloads(pool, links, london, nil),
		Reports:          newReportDownloads(pool, links),
		LetterFiles:      letters.letterFiles(pool, london, nil),
		DownloadLimits:   e.cfg.DownloadLimits,
		CodeBackendError: postgres.Unavailable,
		Readiness:        readinessChecks(pool, rdb.Client, liveUpdates.hub),
		DrainDelay:       e.cfg.DrainDelay,
		Pages:            web.Pages(),
		Home:             web.Home,
		Tracing:          e.tracing,
	}, schema, server.NewAuthenticator(api.secret, access).WithTokenPolicy(e.cfg.Tokens).WithLogger(e.logger).WithPrincipalCache())
	// The access changes that re-check subscriptions also drop the principals they name
	// from the cache and close the sockets of users who were deleted or deactivated,
	// whatever those sockets run.
	liveUpdates.hub.OnAccessChange(srv.AccessChanged)
	if err := srv.Listen(); err != nil {
		return err
	}
	if db.Private {
		dataDir, err := filepath.Abs(e.cfg.DataDir)
		if err != nil {
			return fmt.Errorf("resolve data folder: %w", err)
		}
		remove, err := recordRunningDatabase(dataDir, db.URL, srv.URL())
		if err != nil {
			return err
		}
		defer remove()
	}

	b := banner{graphql: srv.URL(), metrics: srv.MetricsURL(), program: e.program,
		signInEmail: signInEmail(ctx, access)}
	if hasUsers, err := seed.HasUsers(ctx, pool); err == nil {
		b.hasUsers = hasUsers
	}
	if db.Private {
		b.database = maskURL(db.URL)
	}
	if rdb.Private {
		b.redis = maskURL(rdb.URL)
	}
	caughtUp := make(chan struct{})
	stopChores := startChores(ctx, e, pool, london, *simulateRate, func() { close(caughtUp) })
	defer func() { err = errors.Join(err, stopChores()) }()
	// The banner waits for the start-up jobs, so that it is the last thing a person sees,
	// but not for long: on a large database the catch-up may take minutes, and the server
	// serves meanwhile.
	printed := make(chan struct{})
	bannerCtx, stopBanner := context.WithCancel(ctx)
	go func() {
		defer close(printed)
		select {
		case <-caughtUp:
		case <-time.After(bannerWait):
		case <-bannerCtx.Done():
			return
		}
		b.print(e.stdout)
	}()
	defer func() {
		stopBanner()
		<-printed
	}()
	return srv.Run(ctx)
}

// bannerWait is the longest the banner waits for the start-up jobs.
const bannerWait = 10 * time.Second

// banner is what serve prints once it has started: where it serves, how to sign in, and
// the private backends it started.
type banner struct {
	graphql, metrics string
	// program is the command that runs this binary, for the token command line.
	program string
	// signInEmail is a demo user to mint a token for; "" when the database has none.
	signInEmail string
	// hasUsers says the database has any user at all; without, seed is the way in.
	hasUsers bool
	// database and redis are the private servers' URLs (passwords masked), "" for none.
	database, redis string
}

// print writes the banner in one write, so that it is not interleaved with log lines
// where stdout and stderr share a terminal.
func (b banner) print(out io.Writer) {
	w := &strings.Builder{}
	defer func() { _, _ = io.WriteString(out, w.String()) }()
	base := strings.TrimSuffix(b.graphql, "/graphql")
	fmt.Fprintf(w, "\nnotifyql is serving GraphQL at %s\n", b.graphql)
	fmt.Fprintf(w, "  GraphiQL:  %s/graphiql\n", base)
	fmt.Fprintf(w, "  dashboard: %s/dashboard\n", base)
	fmt.Fprintf(w, "notifyql is serving metrics at %s\n", b.metrics)
	if b.database != "" {
		fmt.Fprintf(w, "private PostgreSQL: DATABASE_URL=%s\n", b.database)
	}
	if b.redis != "" {
		fmt.Fprintf(w, "in-process Redis: REDIS_URL=%s\n", b.redis)
	}
	if !b.hasUsers {
		fmt.Fprintf(w, "the database has no users yet: load the demo data with %s seed --profile demo\n", b.program)
		return
	}
	email := b.signInEmail
	if email == "" {
		email = "ADDRESS" // not the demo data: the operator knows their users
	}
	fmt.Fprintf(w, "sign in with a token (paste it into GraphiQL's Headers as {\"Authorization\": \"Bearer <token>\"}):\n")
	fmt.Fprintf(w, "  %s token --email %s\n", b.program, email)
}

// Demo users the banner offers a token for, in order: one who may view a service, and the
// platform admin.
const demoViewerEmail = "viewer@notifyql.example"

// signInEmail is the first demo user that exists and is active, or "".
func signInEmail(ctx context.Context, access *postgres.AccessStore) string {
	for _, email := range []string{demoViewerEmail, demoAdminEmail} {
		if u, err := access.UserByEmail(ctx, email); err == nil && u.State == "active" {
			return email
		}
	}
	return ""
}

// choreTick is how often the scheduler looks for due jobs.
const choreTick = time.Minute

// workerName names this process in the report worker's leases: host and process id.
func workerName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// startChores runs the scheduled rollups, retention moves and report cleanup, and the
// report worker, in the background, and the simulator when simulateRate is above 0; the returned function stops them and waits,
// before the pool closes.
//
// caughtUp is called once the scheduler's start-up pass is over.
func startChores(ctx context.Context, e env, pool *pgxpool.Pool, london *time.Location, simulateRate float64, caughtUp func()) (stop func() error) {
	jobs := append(postgres.NewRollup(pool, london, e.logger).Jobs(time.Now),
		postgres.NewRetentionMover(pool, london, e.logger).Jobs(time.Now)...)
	jobs = append(jobs, postgres.NewReportStore(pool).Jobs(time.Now)...)
	reports := postgres.NewReportWorker(pool, postgres.NewExportStore(pool), london, e.logger,
		postgres.ReportWorkerOptions{Name: workerName()})
	ctx, cancel := context.WithCancel(ctx)
	chores := []func() error{
		func() error { return postgres.RunScheduler(ctx, pool, e.logger, jobs, time.Now, choreTick, caughtUp) },
		func() error { return reports.Run(ctx) },
	}
	if simulateRate > 0 {
		e.logger.Info("simulating the sending pipeline", "rate", simulateRate)
		simulator := seed.NewSimulator(pool, london, e.logger, seed.SimulatorOptions{Rate: simulateRate, Seed: time.Now().UnixNano()})
		chores = append(chores, func() error { return simulator.Run(ctx) })
	}
	done := make(chan error, len(chores))
	for _, chore := range chores {
		go func() { done <- chore() }()
	}
	return func() error {
		cancel()
		var errs []error
		for range chores {
			errs = append(errs, <-done)
		}
		return errors.Join(errs...)
	}
}

// apiDatabase is what the commands that serve or sign for the API need: the database, a
// pool on its current schema, and the JWT signing secret.
type apiDatabase struct {
	db     *database
	pool   *pgxpool.Pool
	secret []byte
	// seeded is the demo data loaded on this start, or nil.
	seeded *seed.Report
}

// openAPIDatabase opens the database (attaching to a running serve's private server when
// attach is set), reads the signing secret, and makes the schema current as
// prepareDatabase says, seeding demo data into an empty private database.
func openAPIDatabase(ctx context.Context, e env, attach bool) (*apiDatabase, error) {
	// Refuse a bad secret before starting anything slow.
	if e.cfg.DatabaseURL != "" {
		if _, err := signingSecret(e.cfg, false); err != nil {
			return nil, err
		}
	}
	db, err := openDatabase(ctx, e.cfg, e.logger, attach)
	if err != nil {
		return nil, err
	}
	secret, err := signingSecret(e.cfg, db.Private)
	if err != nil {
		return nil, errors.Join(err, db.Close(ctx))
	}
	pool, report, err := prepareDatabase(ctx, e, db, true)
	if err != nil {
		return nil, errors.Join(err, db.Close(ctx))
	}
	return &apiDatabase{db: db, pool: pool, secret: secret, seeded: report}, nil
}

// Close closes the pool, then stops a private server this process started.
func (a *apiDatabase) Close(ctx context.Context) error {
	a.pool.Close()
	return a.db.Close(ctx)
}

// prepareDatabase opens a pool on db and makes its schema current: in private mode it
// migrates up (and, when seedDemo is set, seeds demo data into an empty database); with a
// DATABASE_URL it only checks, since migrating a shared database is an operator's decision.
// The report is nil unless it seeded.
func prepareDatabase(ctx context.Context, e env, db *database, seedDemo bool) (*pgxpool.Pool, *seed.Report, error) {
	if db.Private {
		if err := postgres.MigrateUp(ctx, db.URL); err != nil {
			return nil, nil, fmt.Errorf("migrate private database: %w", err)
		}
	}
	pool, sizedBy, err := openTracedPool(ctx, db.URL, e.cfg.DBMaxConns, statementTracer(e.tracing))
	if err != nil {
		return nil, nil, err
	}
	e.logger.Info("database pool", "max_conns", pool.Config().MaxConns, "sized_by", sizedBy)
	if !db.Private {
		if err := postgres.CheckSchema(ctx, pool); err != nil {
			pool.Close()
			return nil, nil, err
		}
		return pool, nil, nil
	}
	if !seedDemo {
		return pool, nil, nil
	}
	empty, err := seed.IsEmpty(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	if !empty {
		return pool, nil, nil
	}
	e.logger.Info("private database is empty: loading demo data")
	report, err := seed.Load(ctx, pool, seed.Options{
		Profile: seed.Demo, Seed: 1, Now: time.Now().UTC(), Logger: e.logger,
	})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("seed demo data: %w", err)
	}
	return pool, report, nil
}

// withPageDocuments is trusted with the operations of the pages served beside the API
// listed too: the dashboard sends its operations by hash alone, so they are listed
// whatever the mode, beside the operator's manifest.
func withPageDocuments(trusted server.TrustedDocuments) (server.TrustedDocuments, error) {
	if err := trusted.AddManifest(web.DashboardDocuments()); err != nil {
		return trusted, fmt.Errorf("the dashboard's trusted documents: %w", err)
	}
	return trusted, nil
}
