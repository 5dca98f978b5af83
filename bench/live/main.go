// Command live is issue 4's live-updates benchmark, `make bench-live`: it is a program,
// not a test, and it prints a table of figures and whether each target is met.
//
// It builds notifyql and runs one `notifyql serve` against the bench database
// (NOTIFYQL_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/notifyql_bench)
// and a private redis-server on a free port. For each scenario it starts a fresh server,
// opens N dashboardTotals(days: 0) subscriptions over graphql-transport-ws connections from
// this process (spread round-robin over the bench profile's services, signed in as the
// platform admin): one a connection, or where N connections would not fit the descriptor
// limit (a server process and this one each hold one a connection, and neither may raise
// its hard limit), the fewest a connection that fit (--per-socket sets it). It measures
// the server's VmRSS before and after connecting while idle (the growth per subscription;
// and across the runs of one subscription a connection, the marginal cost of one more:
// the difference of the idle RSS of the largest and smallest runs over their difference
// in subscriptions, free of the costs paid once), then starts `notifyql simulate` against the same database and, after a warm-up, measures over a
// steady window:
//
//   - commit-to-client latency: a probe writer commits one email INSERT every 75-225 ms to one
//     of a few probed services that the simulator leaves alone, so that only probes move
//     those services' email.requested; each subscriber of a probed service records the
//     arrival of the first snapshot whose requested reaches the probe's value, minus the
//     time the probe's commit returned;
//   - CPU: the server's utime+stime from /proc/<pid>/stat over the window, in cores;
//   - database queries per second spent on live updates, exactly: the server runs the live
//     path (first snapshots, relay recomputes, the change listener) on a database pool of
//     its own whose tracer counts every statement, and serves the count on /metrics
//     (notifyql_live_db_queries_total); the bench scrapes it at the start and the end of the
//     window. As a cross-check, PostgreSQL's transaction counter (pg_stat_database
//     xact_commit + xact_rollback; every statement outside an explicit transaction is one)
//     over the window is printed too, whole and less the same count measured with the
//     simulator, the probe and an idle server alone (no subscriber, no poller). That
//     figure is rough: besides statements it counts transactions that run none, and some
//     backends' counts reach pg_stat_database in lumps (sampled every 0.5 s under --rate
//     500: a steady ~60 a second with a jump of ~300-500 about every 10 s and when a
//     run's processes exit; the size fits the relay's LISTEN connection, which reads each
//     notifying commit's notifications in a transaction of its own and runs no statement
//     that would report them sooner), so over a short window it can be off by far more
//     than the relay's batched queries. It is still the only figure polling has, whose
//     queries run through the API, so the "a fifth of polling's" target compares the live
//     run's exact figure with it. The server's own count of snapshot recomputes
//     (its `live updates stopped` log line) is printed beside them.
//   - status changes per second: notification_status_history inserts less notifications
//     inserts (pg_stat_user_tables), i.e. the rows the status-update trigger writes.
//
// Polling replaces the subscriptions with N HTTP clients each POSTing the same totals query
// every 2 s (staggered). Flags choose the sizes and durations.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
	"notifyql/server"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/notifyql_bench?sslmode=disable"

// benchSecret signs the tokens the clients present; the server is started with it.
const benchSecret = "bench-live-secret-at-least-32-bytes-long!!"

// benchSearchSecret keys the search-term hashes: hex, 32 bytes.
const benchSearchSecret = "62656e63682d6c6976652d7365617263682d7365637265742d33322d62797465"

const totalsSelection = `{ email { requested delivered failed sending failurePercentage showWarning }
  sms { requested delivered failed sending failurePercentage showWarning }
  letter { requested delivered failed sending failurePercentage showWarning } }`

const subscriptionQuery = `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) ` + totalsSelection + ` }`
const pollingQuery = `query($id: ID!) { service(id: $id) { totals(days: 0) ` + totalsSelection + ` } }`

type options struct {
	databaseURL  string
	sizes        []int
	rate         float64
	warmup       time.Duration
	window       time.Duration
	pollInterval time.Duration
	probes       int
	probeEvery   time.Duration
	polling      bool
	// profiles is where each live run's server profiles go ("" takes none).
	profiles string
	// perSocket is how many subscriptions a connection carries; 0 takes one, or the
	// fewest that keep a run's connections within the descriptor limit (socketsFor).
	perSocket int
	// fileLimit is the descriptor limit this process and the server run with.
	fileLimit int
}

func main() { harness.Main("bench-live", run) }

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-live", flag.ContinueOnError)
	sizes := fs.String("subscribers", "50000,10000,1000", "comma-separated numbers of concurrent clients, one run each")
	o := options{}
	fs.Float64Var(&o.rate, "rate", 500, "simulate --rate: new notifications a second (status changes come to ~3x)")
	fs.DurationVar(&o.warmup, "warmup", 15*time.Second, "load before measuring")
	fs.DurationVar(&o.window, "window", 40*time.Second, "steady load measured")
	fs.DurationVar(&o.pollInterval, "poll-interval", 2*time.Second, "how often a polling client re-queries")
	fs.IntVar(&o.probes, "probed-services", 8, "services the probe writer marks (left out of the simulator)")
	fs.DurationVar(&o.probeEvery, "probe-every", 150*time.Millisecond, "how often the probe writer commits, on average (each pause is 0.5x to 1.5x this)")
	fs.BoolVar(&o.polling, "polling", true, "also run the polling comparison")
	fs.IntVar(&o.perSocket, "per-socket", 0, "subscriptions each connection carries; 0: one, or the fewest that keep the connections within the descriptor limit, which this process and the server share")
	fs.StringVar(&o.profiles, "profile", "", "`folder` to write each live run's server profiles to: the heap with the subscribers idle, and the CPU over the measured window (the server serves them with NOTIFYQL_PPROF)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("--subscribers: %q is not a positive number", s)
		}
		o.sizes = append(o.sizes, n)
	}
	o.databaseURL = os.Getenv("NOTIFYQL_BENCH_DATABASE_URL")
	if o.databaseURL == "" {
		o.databaseURL = defaultDatabaseURL
	}
	limit, err := harness.RaiseFileLimit()
	if err != nil {
		return err
	}
	o.fileLimit = limit
	b, err := newBench(ctx, o)
	if err != nil {
		return err
	}
	defer b.close()
	return b.runAll(ctx)
}

type bench struct {
	o        options
	tmp      string
	binary   string
	pool     *pgxpool.Pool
	redis    *harness.Redis
	token    string
	services []string // all active services, the subscriptions' spread
	probed   []probedService
	simulate []string // services the simulator writes to: all but the probed
}

type probedService struct {
	id, templateID string
	version        int
}

func newBench(ctx context.Context, o options) (*bench, error) {
	b := &bench{o: o}
	var err error
	if b.tmp, err = os.MkdirTemp("", "bench-live-"); err != nil {
		return nil, err
	}
	fmt.Println("building notifyql ...")
	if b.binary, err = harness.Build(ctx, b.tmp); err != nil {
		b.close()
		return nil, err
	}
	// serve refuses a database whose schema is behind the binary's migrations.
	migrate := exec.CommandContext(ctx, b.binary, "migrate", "up")
	migrate.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + o.databaseURL}
	if out, err := migrate.CombinedOutput(); err != nil {
		b.close()
		return nil, fmt.Errorf("migrate the bench database: %w\n%s", err, out)
	}
	if b.pool, err = pgxpool.New(ctx, o.databaseURL); err != nil {
		b.close()
		return nil, fmt.Errorf("connect to the bench database: %w", err)
	}
	if err := b.loadFixture(ctx); err != nil {
		b.close()
		return nil, err
	}
	if b.redis, err = harness.StartRedis(ctx, b.tmp); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	if b.redis != nil {
		b.redis.Stop()
	}
	if b.pool != nil {
		b.pool.Close()
	}
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
}

func (b *bench) loadFixture(ctx context.Context) error {
	var admin string
	if err := b.pool.QueryRow(ctx, `SELECT id FROM users WHERE platform_admin AND state = 'active' ORDER BY email_address LIMIT 1`).Scan(&admin); err != nil {
		return fmt.Errorf("find a platform admin in the bench database (seed it: notifyql seed --profile bench): %w", err)
	}
	token, err := server.MintToken([]byte(benchSecret), admin, 12*time.Hour, time.Now())
	if err != nil {
		return err
	}
	b.token = token
	rows, err := b.pool.Query(ctx, `SELECT id FROM services WHERE active ORDER BY id`)
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		b.services = append(b.services, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	// Probed services: small ones with an email template, so that their snapshots cost what
	// a typical service's do.
	rows, err = b.pool.Query(ctx, `SELECT DISTINCT ON (t.service_id) t.service_id, t.id, t.version
		FROM templates t JOIN services s ON s.id = t.service_id
		WHERE s.active AND t.template_type = 'email' AND NOT t.archived
		ORDER BY t.service_id, t.id LIMIT $1`, b.o.probes)
	if err != nil {
		return fmt.Errorf("choose probed services: %w", err)
	}
	for rows.Next() {
		var p probedService
		if err := rows.Scan(&p.id, &p.templateID, &p.version); err != nil {
			return err
		}
		b.probed = append(b.probed, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("choose probed services: %w", err)
	}
	if len(b.probed) == 0 {
		return errors.New("no service with an email template to probe")
	}
	for _, s := range b.services {
		if !slices.ContainsFunc(b.probed, func(p probedService) bool { return p.id == s }) {
			b.simulate = append(b.simulate, s)
		}
	}
	return nil
}

func (b *bench) startServer(ctx context.Context, name string) (*harness.Server, error) {
	// Every client signs in as the same admin from one address: the per-user socket and
	// subscription caps must admit them all (and the warm-up's one), and the HTTP rate limits, which would
	// refuse polling's thousands of requests a minute, and the bound on an address's
	// connections, which would refuse its thousands of sockets, are off. The benchmark
	// measures the live path against polling, not the limits.
	return harness.StartServer(ctx, b.binary, filepath.Join(b.tmp, name+".log"), []string{
		"NOTIFYQL_WS_MAX_PER_USER=" + strconv.Itoa(slices.Max(b.o.sizes)+1),
		"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER=" + strconv.Itoa(slices.Max(b.o.sizes)+1),
		"NOTIFYQL_RATE_LIMIT_PER_USER=0",
		"NOTIFYQL_RATE_LIMIT_PER_IP=0",
		"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS=0",
		"DATABASE_URL=" + b.o.databaseURL,
		"REDIS_URL=" + b.redis.URL,
		"NOTIFYQL_JWT_SECRET=" + benchSecret,
		"NOTIFYQL_SEARCH_SECRET=" + benchSearchSecret,
		"NOTIFYQL_ENV=development",
		"NOTIFYQL_DATA_DIR=" + b.tmp,
		"NOTIFYQL_PPROF=" + strconv.FormatBool(b.o.profiles != ""),
	})
}

// liveCount is the server's count of the live path's database statements at a moment,
// and whether it was the relay then.
type liveCount struct {
	at      time.Time
	queries int64
	relay   bool
}

// liveQueries scrapes the server's /metrics (at metricsURL) for
// notifyql_live_db_queries_total and notifyql_live_relay.
func liveQueries(ctx context.Context, metricsURL string) (liveCount, error) {
	m, err := harness.ScrapeMetrics(ctx, http.DefaultClient, metricsURL)
	if err != nil {
		return liveCount{}, err
	}
	v, err := m.Value("notifyql_live_db_queries_total")
	if err != nil {
		return liveCount{}, err
	}
	relay, err := m.Value("notifyql_live_relay")
	return liveCount{at: m.At, queries: int64(v), relay: relay == 1}, err
}

// withServerState adds to err, a failure to reach the server, whether the server has
// exited and the end of its log.
func withServerState(err error, srv *harness.Server) error {
	exited, waitErr := srv.Exited()
	return fmt.Errorf("%w (server exited: %t %v); its log ends:\n%s", err, exited, waitErr, srv.LogTail(4000))
}

// loadProcess is the simulator and the probe writer: the write load every scenario shares.
type loadProcess struct {
	sim       *harness.Simulator
	cancel    context.CancelFunc
	probeDone chan struct{}
	probes    *probeLog
}

// probeLog holds when each probe's commit returned, per probed service and requested value.
type probeLog struct {
	mu        sync.Mutex
	committed map[string]map[int64]time.Time
	next      map[string]int64 // the requested value the next probe produces
}

func (b *bench) startLoad(ctx context.Context, base map[string]int64) (*loadProcess, error) {
	l := &loadProcess{probeDone: make(chan struct{}),
		probes: &probeLog{committed: map[string]map[int64]time.Time{}, next: map[string]int64{}}}
	for _, p := range b.probed {
		l.probes.committed[p.id] = map[int64]time.Time{}
		l.probes.next[p.id] = base[p.id] + 1
	}
	var err error
	if l.sim, err = harness.StartSimulator(b.binary, b.o.databaseURL, b.o.rate, b.simulate); err != nil {
		return nil, err
	}
	probeCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	go func() {
		defer close(l.probeDone)
		// Spaced at random around probeEvery: at a fixed period the probes would keep one
		// phase against the simulator's rounds for a whole run, and whether they share the
		// relay's steps with them would differ from run to run rather than average out.
		timer := time.NewTimer(b.o.probeEvery)
		defer timer.Stop()
		for i := 0; ; i++ {
			select {
			case <-probeCtx.Done():
				return
			case <-timer.C:
			}
			timer.Reset(b.o.probeEvery/2 + rand.N(b.o.probeEvery))
			p := b.probed[i%len(b.probed)]
			// Probes stay in 'created' so that the simulator, which is not told about these
			// services, never moves them; only probes change the probed services' totals.
			_, err := b.pool.Exec(probeCtx, `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
				VALUES ($1, $2, $3, 'email', 'probe@bench.example', 'probe@bench.example', 'normal', 'created', $4)`,
				p.id, p.templateID, p.version, time.Now().UTC())
			committed := time.Now()
			if err != nil {
				if probeCtx.Err() == nil {
					fmt.Fprintln(os.Stderr, "probe:", err)
				}
				continue
			}
			l.probes.mu.Lock()
			v := l.probes.next[p.id]
			l.probes.committed[p.id][v] = committed
			l.probes.next[p.id] = v + 1
			l.probes.mu.Unlock()
		}
	}()
	return l, nil
}

// stop ends the probe writer and the simulator, returning the simulator's summary line.
func (l *loadProcess) stop() string {
	l.cancel()
	<-l.probeDone
	return l.sim.Stop()
}

// latencies collects commit-to-client delays from every subscriber of a probed service.
type latencies struct {
	mu       sync.Mutex
	measure  atomic.Bool
	samples  []time.Duration
	unmarked int64 // snapshots of probed services that reached no unseen probe
}

func (l *latencies) add(d time.Duration) {
	if !l.measure.Load() {
		return
	}
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

// result is one scenario's figures.
type result struct {
	name         string
	clients      int
	connected    int
	memPerConn   float64 // bytes, idle, a subscription (RSS growth over subscriptions)
	sockets      int     // the connections carrying the subscriptions
	rssIdle      int64   // the server's RSS with its subscribers connected and idle
	p50, p99     time.Duration
	deliveries   int
	cpuCores     float64
	liveQPS      float64 // the live path's statements a second (notifyql_live_db_queries_total)
	xactPerSec   float64 // all database transactions during the window (pg_stat_database)
	xactOverBase float64 // xactPerSec less the baseline run's
	recomputes   float64 // the server's snapshot recomputes a second over the load
	statusPerS   float64
	requestsPS   float64 // polling: answered requests a second
	pollErrors   int64
	closed       int64 // subscriptions that ended during the run
	load         string
	simSummary   string
	serverStats  map[string]any
}

func (b *bench) runAll(ctx context.Context) error {
	fmt.Printf("bench database: %d services (%d probed, %d simulated), simulate --rate %g, warm-up %s, window %s\n",
		len(b.services), len(b.probed), len(b.simulate), b.o.rate, b.o.warmup, b.o.window)
	baseline, err := b.runScenario(ctx, "baseline (simulator+probe, idle server)", 0, modeNone)
	if err != nil {
		return err
	}
	results := []result{baseline}
	for _, n := range b.o.sizes {
		r, err := b.runScenario(ctx, fmt.Sprintf("live, %d subscribers", n), n, modeLive)
		if err != nil {
			return err
		}
		r.xactOverBase = r.xactPerSec - baseline.xactPerSec
		results = append(results, r)
	}
	if b.o.polling {
		for _, n := range b.o.sizes {
			if socketsFor(n, b.o) > 1 {
				// A polling client holds an HTTP connection of its own.
				fmt.Printf("\n== polling, %d clients: skipped, %d connections would not fit the descriptor limit (%d)\n", n, n, b.o.fileLimit)
				continue
			}
			r, err := b.runScenario(ctx, fmt.Sprintf("polling, %d clients / %s", n, b.o.pollInterval), n, modePolling)
			if err != nil {
				return err
			}
			r.xactOverBase = r.xactPerSec - baseline.xactPerSec
			results = append(results, r)
		}
	}
	report(results, b.o)
	return nil
}

// saveProfile writes the server's profile at /debug/pprof/<query> to the profiles folder
// as <name>-<clients>.pprof, when the run takes profiles.
func (b *bench) saveProfile(ctx context.Context, srv *harness.Server, name string, clients int, query string) error {
	if b.o.profiles == "" {
		return nil
	}
	url := strings.TrimSuffix(srv.MetricsURL, "/metrics") + "/debug/pprof/" + query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("take the server's %s profile: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("take the server's %s profile: %s", name, resp.Status)
	}
	if err := os.MkdirAll(b.o.profiles, 0o755); err != nil {
		return err
	}
	path := filepath.Join(b.o.profiles, fmt.Sprintf("%s-%d.pprof", name, clients))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("take the server's %s profile: %w", name, err)
	}
	fmt.Printf("server %s profile: %s\n", name, path)
	return f.Close()
}

// idleSettle is how long the idle server's RSS is left to settle, past the 3 s after the
// last subscription connected, before it is measured: serve's collector tuner returns a
// burst's garbage to the system after 3 s of calm allocation, sampled every second.
const idleSettle = 7 * time.Second

type mode int

const (
	modeNone mode = iota
	modeLive
	modePolling
)

func (b *bench) runScenario(ctx context.Context, name string, clients int, m mode) (result, error) {
	fmt.Printf("\n== %s\n", name)
	r := result{name: name, clients: clients}
	// The watched-topic registry outlives a server in Redis; a previous run's registrations
	// would have this run's relay recompute topics nobody here watches.
	if err := b.redis.Flush(ctx); err != nil {
		return r, err
	}
	srv, err := b.startServer(ctx, fmt.Sprintf("serve-%d-%d", m, clients))
	if err != nil {
		return r, err
	}
	stopped := false
	stopServer := func() {
		if !stopped {
			stopped = true
			r.serverStats = srv.Stop()
		}
	}
	defer stopServer()
	clientCtx, cancelClients := context.WithCancel(ctx)
	defer cancelClients()

	// Warm the server (pool, statement caches) so that the idle RSS is not a cold start's.
	if err := warmUp(ctx, srv.URL, b.token, b.services[0]); err != nil {
		return r, err
	}
	// The live path too: its database pool and its Redis subscription are the instance's,
	// paid once, not any connection's.
	warmCtx, stopWarm := context.WithCancel(ctx)
	warm := newSubscribers(b, &latencies{})
	err = warm.connect(warmCtx, srv.URL, 1, 1)
	stopWarm()
	warm.wait()
	if err != nil {
		return r, fmt.Errorf("warm-up subscription: %w", err)
	}
	time.Sleep(time.Second)
	rssBefore := harness.VmRSS(srv.PID())

	lat := &latencies{}
	var subs *subscribers
	base := map[string]int64{}
	var pollers *pollers
	switch m {
	case modeLive:
		subs = newSubscribers(b, lat)
		start := time.Now()
		if err := subs.connect(clientCtx, srv.URL, clients, socketsFor(clients, b.o)); err != nil {
			return r, err
		}
		r.connected, r.sockets = int(subs.connected.Load()), int(subs.sockets.Load())
		fmt.Printf("connected %d subscriptions on %d connections in %s\n", r.connected, r.sockets, time.Since(start).Round(time.Millisecond))
		time.Sleep(3 * time.Second)
		rssEarly := harness.VmRSS(srv.PID())
		// serve returns what a burst of connections left to the system once allocation
		// has been calm for a few seconds (its collector tuner): the idle figure is the
		// one it settles at.
		time.Sleep(idleSettle)
		rssAfter := harness.VmRSS(srv.PID())
		r.memPerConn = float64(rssAfter-rssBefore) / float64(max(r.connected, 1))
		r.rssIdle = rssAfter
		fmt.Printf("server VmRSS %d KiB idle before, %d KiB with %d idle subscriptions (%d KiB 3 s after the last connected, %.1f KiB a subscription then)\n",
			rssBefore>>10, rssAfter>>10, r.connected, rssEarly>>10, float64(rssEarly-rssBefore)/float64(max(r.connected, 1))/1024)
		base = subs.baseRequested()
		if err := b.saveProfile(ctx, srv, "heap", clients, "heap?gc=1"); err != nil {
			return r, err
		}
	default:
		base, err = b.currentRequested(ctx, srv.URL)
		if err != nil {
			return r, err
		}
	}

	load, err := b.startLoad(ctx, base)
	if err != nil {
		return r, err
	}
	if subs != nil {
		subs.probesMu.Lock()
		subs.probes = load.probes
		subs.probesMu.Unlock()
	}
	loadStart := time.Now()
	if m == modePolling {
		pollers = startPollers(clientCtx, srv.URL, b.token, b.services, clients, b.o.pollInterval)
	}
	select {
	case <-time.After(b.o.warmup):
	case <-ctx.Done():
		load.stop()
		return r, ctx.Err()
	}
	before, err := harness.ReadCounters(ctx, b.pool)
	if err != nil {
		load.stop()
		return r, err
	}
	liveBefore, err := liveQueries(ctx, srv.MetricsURL)
	if err == nil && m == modeLive && !liveBefore.relay {
		// Another serve on the bench database holds the relay's lock: this run's
		// subscribers would get nothing pushed, and its figures would mean nothing.
		err = errors.New("this run's server is not the relay after the warm-up: another notifyql serve on the bench database holds the relay's lock; stop it and run again")
	}
	if err != nil {
		load.stop()
		return r, withServerState(err, srv)
	}
	cpuBefore := harness.CPUTicks(srv.PID())
	var requestsBefore int64
	if pollers != nil {
		requestsBefore = pollers.answered.Load()
	}
	lat.measure.Store(true)
	cpuProfile := make(chan error, 1)
	if m == modeLive {
		go func() {
			cpuProfile <- b.saveProfile(ctx, srv, "cpu", clients, fmt.Sprintf("profile?seconds=%d", int(b.o.window.Seconds())-2))
		}()
	} else {
		cpuProfile <- nil
	}
	select {
	case <-time.After(b.o.window):
	case <-ctx.Done():
		load.stop()
		return r, ctx.Err()
	}
	lat.measure.Store(false)
	if err := <-cpuProfile; err != nil {
		load.stop()
		return r, err
	}
	after, err := harness.ReadCounters(ctx, b.pool)
	if err != nil {
		load.stop()
		return r, err
	}
	liveAfter, err := liveQueries(ctx, srv.MetricsURL)
	if err != nil {
		load.stop()
		return r, withServerState(err, srv)
	}
	cpuAfter := harness.CPUTicks(srv.PID())
	seconds := after.At.Sub(before.At).Seconds()
	r.cpuCores = float64(cpuAfter-cpuBefore) / harness.ClockTicks / seconds
	r.xactPerSec = float64(after.Transactions-before.Transactions) / seconds
	r.liveQPS = float64(liveAfter.queries-liveBefore.queries) / liveAfter.at.Sub(liveBefore.at).Seconds()
	r.statusPerS = float64(after.StatusChanges()-before.StatusChanges()) / seconds
	r.load = harness.LoadAverage()
	if pollers != nil {
		r.requestsPS = float64(pollers.answered.Load()-requestsBefore) / seconds
		r.pollErrors = pollers.failed.Load()
	}
	r.simSummary = load.stop()
	loadSeconds := time.Since(loadStart).Seconds()
	if subs != nil {
		r.closed = subs.ended.Load()
	}
	cancelClients()
	if subs != nil {
		subs.wait()
	}
	if pollers != nil {
		pollers.wg.Wait()
	}
	stopServer()
	if v, ok := r.serverStats["Recomputed"].(float64); ok {
		r.recomputes = v / loadSeconds
	}
	lat.mu.Lock()
	slices.Sort(lat.samples)
	r.deliveries = len(lat.samples)
	r.p50, r.p99 = percentile(lat.samples, 0.50), percentile(lat.samples, 0.99)
	lat.mu.Unlock()
	fmt.Printf("window %.1fs: %.0f status changes/s, server CPU %.2f cores, %.1f live db queries/s (exact), %.1f db transactions/s (pg_stat_database), load %s\n",
		seconds, r.statusPerS, r.cpuCores, r.liveQPS, r.xactPerSec, r.load)
	if m == modeLive {
		fmt.Printf("latency over %d probed deliveries: p50 %s, p99 %s; subscriptions ended early: %d\n",
			r.deliveries, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.closed)
	}
	if m == modePolling {
		fmt.Printf("polling: %.0f answered requests/s (want %.0f), %d failed\n", r.requestsPS, float64(clients)/b.o.pollInterval.Seconds(), r.pollErrors)
	}
	fmt.Printf("simulator: %s\nserver live stats at shutdown: %v\n", r.simSummary, r.serverStats)
	return r, nil
}

func warmUp(ctx context.Context, url, token, service string) error {
	for range 5 {
		if _, err := postQuery(ctx, http.DefaultClient, url, token, service); err != nil {
			return fmt.Errorf("warm-up query: %w", err)
		}
	}
	return nil
}

// currentRequested asks each probed service's email.requested by query, for the runs
// without subscribers.
func (b *bench) currentRequested(ctx context.Context, url string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, p := range b.probed {
		body, err := postQuery(ctx, http.DefaultClient, url, b.token, p.id)
		if err != nil {
			return nil, err
		}
		var resp struct {
			Data struct {
				Service struct {
					Totals struct {
						Email struct{ Requested int64 }
					}
				}
			}
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return nil, err
		}
		out[p.id] = resp.Data.Service.Totals.Email.Requested
	}
	return out, nil
}

func postQuery(ctx context.Context, client *http.Client, url, token, service string) ([]byte, error) {
	return harness.PostQuery(ctx, client, url, token, pollingQuery, map[string]any{"id": service})
}

// subscribers are the WebSocket clients of a live run.
type subscribers struct {
	b         *bench
	lat       *latencies
	probes    *probeLog // set when the load starts; nil before
	probesMu  sync.Mutex
	connected atomic.Int64 // subscriptions
	sockets   atomic.Int64
	ended     atomic.Int64
	wg        sync.WaitGroup

	baseMu sync.Mutex
	base   map[string]int64 // each probed service's requested in its first snapshot
}

func newSubscribers(b *bench, lat *latencies) *subscribers {
	return &subscribers{b: b, lat: lat, base: map[string]int64{}}
}

func (s *subscribers) probeLog() *probeLog {
	s.probesMu.Lock()
	defer s.probesMu.Unlock()
	return s.probes
}

func (s *subscribers) baseRequested() map[string]int64 {
	s.baseMu.Lock()
	defer s.baseMu.Unlock()
	return maps.Clone(s.base)
}

// connect opens the connections for n subscriptions, 64 at a time, perSocket on each
// (the last may carry fewer), the i-th subscription on the i-th service round-robin, and
// returns once each subscription has its first snapshot.
func (s *subscribers) connect(ctx context.Context, url string, n, perSocket int) error {
	sem := make(chan struct{}, 64)
	var failures atomic.Int64
	var firstErr atomic.Value
	var ready sync.WaitGroup
	for first := 0; first < n; first += perSocket {
		services := make([]string, 0, min(perSocket, n-first))
		for i := first; i < n && i < first+perSocket; i++ {
			services = append(services, s.b.services[i%len(s.b.services)])
		}
		sem <- struct{}{}
		ready.Add(len(services))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			conn, err := s.open(ctx, url, services)
			<-sem
			if err != nil {
				failures.Add(int64(len(services)))
				firstErr.CompareAndSwap(nil, err)
				ready.Add(-len(services))
				return
			}
			s.connected.Add(int64(len(services)))
			s.sockets.Add(1)
			s.follow(ctx, conn, services, ready.Done)
		}()
	}
	ready.Wait()
	if f := failures.Load(); f > 0 {
		fmt.Printf("%d subscriptions failed; the first: %v\n", f, firstErr.Load())
		if f > int64(n)/100 {
			return fmt.Errorf("%d of %d subscriptions failed: %v", f, n, firstErr.Load())
		}
	}
	return nil
}

// open signs in and subscribes to each service's totals, the k-th with id k+1.
func (s *subscribers) open(ctx context.Context, url string, services []string) (*websocket.Conn, error) {
	conn, err := harness.DialGraphQLWS(ctx, url, s.b.token)
	if err != nil {
		return nil, err
	}
	for k, service := range services {
		if err := harness.Subscribe(conn, strconv.Itoa(k+1), subscriptionQuery, map[string]any{"id": service}); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// socketsFor returns how many subscriptions each of a run of n's connections carries: the
// --per-socket flag's, or one unless n connections would not fit the descriptor limit,
// which the server's side of them, its pools and this process's share with the client
// side (each process holds one descriptor a connection; a tenth of the limit is left for
// the rest).
func socketsFor(n int, o options) int {
	if o.perSocket > 0 {
		return o.perSocket
	}
	budget := max(o.fileLimit-o.fileLimit/10, 1)
	return (n + budget - 1) / budget
}

var requestedPattern = regexp.MustCompile(`"email":\{"requested":(\d+)`)

// subscription is what follow keeps of one subscription on a connection.
type subscription struct {
	service   string
	probed    bool
	seen      int64 // the latest email.requested seen, -1 before the first snapshot
	firstDone bool
}

// follow reads a connection's subscriptions (services[k] under id k+1) until the run
// ends. Only probed services' snapshots are looked into; the rest are read and dropped,
// as cheaply as possible.
func (s *subscribers) follow(ctx context.Context, conn *websocket.Conn, services []string, first func()) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	subs := make([]subscription, len(services))
	for k, service := range services {
		subs[k] = subscription{service: service, seen: -1,
			probed: slices.ContainsFunc(s.b.probed, func(p probedService) bool { return p.id == service })}
	}
	defer func() {
		for k := range subs {
			if !subs[k].firstDone {
				first()
			}
		}
	}()
	// One buffer per connection, reused: this process shares the machine with the server
	// it measures, so reading thousands of messages a second must cost it little.
	buf := bytes.NewBuffer(make([]byte, 0, 1024))
	for {
		msg, err := harness.ReadMessage(conn, buf)
		if err != nil {
			if ctx.Err() == nil {
				s.ended.Add(int64(len(subs)))
			}
			return
		}
		arrived := time.Now()
		sub := &subs[0]
		if len(subs) > 1 {
			k, ok := messageID(msg)
			if !ok || k < 1 || k > len(subs) {
				continue
			}
			sub = &subs[k-1]
		}
		if !bytes.Contains(msg, []byte(`"type":"next"`)) {
			if bytes.Contains(msg, []byte(`"type":"error"`)) || bytes.Contains(msg, []byte(`"type":"complete"`)) {
				fmt.Printf("subscription to %s ended: %.200s\n", sub.service, msg)
			}
			continue
		}
		service, probed, seen := sub.service, sub.probed, sub.seen
		if !sub.firstDone {
			sub.firstDone = true
			if probed {
				if m := requestedPattern.FindSubmatch(msg); m != nil {
					sub.seen, _ = strconv.ParseInt(string(m[1]), 10, 64)
					s.baseMu.Lock()
					s.base[service] = sub.seen
					s.baseMu.Unlock()
				}
			}
			first()
			continue
		}
		if !probed {
			continue
		}
		m := requestedPattern.FindSubmatch(msg)
		if m == nil {
			continue
		}
		requested, _ := strconv.ParseInt(string(m[1]), 10, 64)
		log := s.probeLog()
		if log == nil || requested <= seen {
			continue
		}
		log.mu.Lock()
		for v := seen + 1; v <= requested; v++ {
			if committed, ok := log.committed[service][v]; ok {
				s.lat.add(arrived.Sub(committed))
			}
		}
		log.mu.Unlock()
		sub.seen = requested
	}
}

// messageID returns the operation id of a server message, which the server writes after
// the payload ({"payload":…,"id":"3","type":"next"}): the last "id" of the message.
func messageID(msg []byte) (int, bool) {
	at := bytes.LastIndex(msg, []byte(`"id":"`))
	if at < 0 {
		return 0, false
	}
	rest := msg[at+len(`"id":"`):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, false
	}
	k, err := strconv.Atoi(string(rest[:end]))
	return k, err == nil
}

func (s *subscribers) wait() { s.wg.Wait() }

// pollers re-query a service's totals every interval, staggered over it.
type pollers struct {
	answered atomic.Int64
	failed   atomic.Int64
	wg       sync.WaitGroup
}

func startPollers(ctx context.Context, url, token string, services []string, n int, every time.Duration) *pollers {
	p := &pollers{}
	transport := &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	for i := range n {
		service := services[i%len(services)]
		offset := time.Duration(int64(every) * int64(i) / int64(n))
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			select {
			case <-time.After(offset):
			case <-ctx.Done():
				return
			}
			ticker := time.NewTicker(every)
			defer ticker.Stop()
			for {
				if _, err := postQuery(ctx, client, url, token, service); err != nil {
					if ctx.Err() != nil {
						return
					}
					p.failed.Add(1)
				} else {
					p.answered.Add(1)
				}
				select {
				case <-ticker.C:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		<-ctx.Done()
		p.wg.Wait()
		transport.CloseIdleConnections()
	}()
	return p
}

func report(results []result, o options) {
	fmt.Printf("\n%-38s %8s %8s %8s %9s %9s %7s %9s %10s %12s %11s %10s %9s\n",
		"run", "clients", "sockets", "KiB/sub", "p50", "p99", "cpu", "live q/s", "pg xact/s", "pg xact-base", "recompute/s", "status/s", "load")
	for _, r := range results {
		fmt.Printf("%-38s %8d %8d %8.1f %9s %9s %7.2f %9.1f %10.1f %12.1f %11.1f %10.0f %9s\n",
			r.name, r.clients, r.sockets, r.memPerConn/1024, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond),
			r.cpuCores, r.liveQPS, r.xactPerSec, r.xactOverBase, r.recomputes, r.statusPerS, r.load)
	}
	fmt.Println(`
live q/s: the exact number of database statements a second the server's live path ran
over the window (snapshots, relay recomputes, the change listener; each query of a batch
counts): notifyql_live_db_queries_total scraped from /metrics at the window's start and end.
Polling runs have none: their queries run through the API. pg xact/s, a cross-check:
pg_stat_database transactions of the whole bench database over the window (each statement
outside an explicit transaction is one; a batch is one); pg xact-base: that less the
baseline run's (simulator, probe writer and an idle server alone). Both are rough: some
backends' transactions reach pg_stat_database in lumps of hundreds about every 10 s, so a
short window may hold one lump or none. recompute/s: the server's own count of snapshot recomputes (live
stats at shutdown) over the time the load ran. The live targets below use live q/s; for
"a fifth of polling's", polling's figure is its pg xact-base, the only one it has.`)

	var live, poll []result
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.name, "live"):
			live = append(live, r)
		case strings.HasPrefix(r.name, "polling"):
			poll = append(poll, r)
		}
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Println("\ntargets (issue 18):")
	for _, r := range live {
		switch {
		case r.clients == 10_000:
			fmt.Printf("  p99 <= 100 ms at 10000 subscribers: %s (%s)\n", verdict(r.p99 <= 100*time.Millisecond && r.deliveries > 0), r.p99.Round(time.Millisecond))
			fmt.Printf("  server CPU <= 0.4 cores at 10000 subscribers: %s (%.2f)\n", verdict(r.cpuCores <= 0.4), r.cpuCores)
		case r.clients >= 50_000:
			fmt.Printf("  %d subscribers held, p99 <= 500 ms: %s (%d held, %d ended early, %s)\n", r.clients,
				verdict(r.connected >= r.clients && r.closed == 0 && r.deliveries > 0 && r.p99 <= 500*time.Millisecond), r.connected, r.closed, r.p99.Round(time.Millisecond))
		}
	}
	// What one more subscription costs, free of what any number of them costs once (the
	// topics' state, and the runtime's headroom over the heap the server had before):
	// the RSS difference between the largest and smallest runs over their difference in
	// subscriptions, among the runs of one subscription a connection (a connection
	// carrying several shares its own cost between them).
	var single []result
	for _, r := range live {
		if r.sockets == r.connected {
			single = append(single, r)
		}
	}
	if len(single) >= 2 {
		small, large := single[0], single[0]
		for _, r := range single[1:] {
			if r.connected < small.connected {
				small = r
			}
			if r.connected > large.connected {
				large = r
			}
		}
		if large.connected > small.connected {
			marginal := float64(large.rssIdle-small.rssIdle) / float64(large.connected-small.connected)
			fmt.Printf("  <= 16 KiB per idle subscription, one a connection, marginal (%d to %d): %s (%.1f KiB)\n",
				small.connected, large.connected, verdict(marginal <= 16*1024), marginal/1024)
		}
	}
	if len(live) >= 2 {
		lo, hi := live[0].liveQPS, live[0].liveQPS
		for _, r := range live[1:] {
			lo, hi = min(lo, r.liveQPS), max(hi, r.liveQPS)
		}
		fmt.Printf("  live q/s within 10%% across %d runs: %s (%.1f .. %.1f)\n", len(live), verdict(lo > 0 && (hi-lo)/hi <= 0.10), lo, hi)
	}
	for _, l := range live {
		for _, p := range poll {
			if p.clients == l.clients && l.clients == slices.Max(o.sizes) {
				fmt.Printf("  live q/s at %d at most a fifth of polling's pg xact-base: %s (%.1f vs %.1f)\n", l.clients,
					verdict(l.liveQPS <= p.xactOverBase/5), l.liveQPS, p.xactOverBase)
			}
		}
	}
}
