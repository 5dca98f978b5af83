// Command soak is issue 7's soak test, `make soak`: a program, not a test, that runs one
// notifyql server under steady load for a while (10 minutes by default) and fails when
// its resources keep growing.
//
// It builds notifyql, creates a database of its own (notifyql_soak_<random> on the server
// of NOTIFYQL_SOAK_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres),
// migrates it and loads the demo data with the binary's `migrate up` and `seed --profile
// demo`, starts a private redis-server and one `notifyql serve` in production mode (no
// NOTIFYQL_ENV), then puts it under load:
//
//   - --clients graphql-transport-ws clients (200), each signed in as a demo user and
//     holding two subscriptions, dashboardTotals and templateStatistics, on a service the
//     user may view (spread over every such user and service, half of them over 7 days and
//     half over today);
//   - `notifyql simulate` writing about --changes status changes a second (50): new
//     notifications at a rate of --changes / statusChangesPerNotification, which the
//     simulator then moves through their statuses; the rate reached is measured from
//     pg_stat_user_tables (notification_status_history inserts less notifications inserts)
//     and printed;
//   - --queries GraphQL queries a second over HTTP (10), alternating a dashboard query and
//     a page of notifications, over the same users and services. The HTTP rate limits stay
//     on, set to four times the whole load a minute per user and per address, so that
//     they are exercised but never refuse; the per-user WebSocket cap is set to --clients.
//
// Every --interval (10 s) it samples the server: goroutines (go_goroutines), heap in use
// (go_memstats_heap_inuse_bytes), resident memory (VmRSS from /proc), open file
// descriptors (process_open_fds) and the server's PostgreSQL connections (pg_stat_activity
// rows of the soak database whose application_name is the server's), beside the open
// WebSockets and live subscriptions, the updates the clients received and the queries
// answered.
//
// The rule. The samples of the first --warmup (2 minutes) are shown but not judged: pools
// fill, caches warm and the heap finds its size. Over the rest, each judged series gets a
// least-squares line y = a + b·t, and its growth is the line's rise over the judged window
// (b × its length). A series is rising, and the soak fails, when its growth is
//
//   - material: more than its allowance, the larger of an absolute floor and a fraction
//     of its mean (goroutines 50 or 10%, heap in use 8 MiB or 20%, RSS 8 MiB or 10%,
//     open files 10 or 10%, PostgreSQL connections 2 or 25%), and
//   - significant: at least 3 standard errors of the fitted growth above zero, so that a
//     lone spike or a GC sawtooth, which widen the residuals, is not read as a trend.
//
// A leak grows with the work done, and over 8 minutes of this load even a small one is
// both: one goroutine or 16 KiB kept per query is 4,800 goroutines or 75 MiB.
//
// The soak also fails when the server exits, a subscription ends, errs or goes --stale
// (60 s) without an update, a WebSocket closes, the WebSocket or subscription gauges
// differ from what the clients hold, a query fails, or the server logs an error (the load
// stops before the server does, and queries in flight are let finish, so that a clean run
// logs none). It prints a line per sample and
// then a summary: per series the first and last judged values, the peak of the whole
// run, the slope a minute, the growth against its allowance and the verdict; the peak RSS,
// and the counts of updates, queries and status changes.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
)

// soakSecret signs the clients' tokens; the server is started with it.
const soakSecret = "soak-test-secret-at-least-32-bytes-long!!"

// soakSearchSecret keys the search-term hashes: hex, 32 bytes.
const soakSearchSecret = "736f616b2d746573742d7365617263682d7365637265742d33322d6279746573"

// statusChangesPerNotification is how many status changes the simulator makes of each
// notification it creates, measured on the demo data (sent, then delivered or failed;
// letters and the odd failure fewer or more): --changes is divided by it to get the rate.
const statusChangesPerNotification = 2.0

// The application names that tell the processes' connections apart in pg_stat_activity.
const (
	serveApplication    = "notifyql-soak-serve"
	simulateApplication = "notifyql-soak-simulate"
	soakApplication     = "notifyql-soak"
)

type options struct {
	duration time.Duration
	warmup   time.Duration
	interval time.Duration
	clients  int
	changes  float64
	queries  float64
	stale    time.Duration
}

func main() { harness.Main("soak", run) }

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	o := options{}
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the load runs, warm-up included")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Minute, "the first part of the run, sampled but not judged")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "how often the server is sampled")
	fs.IntVar(&o.clients, "clients", 200, "WebSocket clients, each with two subscriptions")
	fs.Float64Var(&o.changes, "changes", 50, "status changes a second the simulator aims at")
	fs.Float64Var(&o.queries, "queries", 10, "GraphQL queries a second over HTTP")
	fs.DurationVar(&o.stale, "stale", time.Minute, "the longest a subscription may go without an update")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case o.clients <= 0:
		return fmt.Errorf("--clients must be positive")
	case !(o.changes > 0) || !(o.queries > 0):
		return fmt.Errorf("--changes and --queries must be positive")
	case o.interval <= 0 || o.warmup < 0:
		return fmt.Errorf("--interval must be positive and --warmup not negative")
	case o.duration-o.warmup < 5*o.interval:
		return fmt.Errorf("--duration less --warmup (%s) must hold at least 5 intervals of %s to judge a trend", o.duration-o.warmup, o.interval)
	}
	stage, err := harness.SetUp(ctx, "soak", "NOTIFYQL_SOAK_POSTGRES_URL")
	if err != nil {
		return err
	}
	defer stage.Close(ctx)
	s := &soak{o: o, Stage: stage}
	return s.run(ctx)
}

type soak struct {
	o options
	*harness.Stage
	pool    *pgxpool.Pool
	srv     *harness.Server
	viewers []harness.Viewer
	tokens  map[string]string // by email
	samples []sample
}

func (s *soak) run(ctx context.Context) error {
	var err error
	if s.pool, err = pgxpool.New(ctx, s.DB.URLFor(soakApplication)); err != nil {
		return fmt.Errorf("connect to the soak database: %w", err)
	}
	defer s.pool.Close()
	if s.viewers, err = harness.Viewers(ctx, s.pool); err != nil {
		return err
	}
	s.tokens = map[string]string{}
	for _, v := range s.viewers {
		if _, ok := s.tokens[v.Email]; !ok {
			if s.tokens[v.Email], err = harness.TokenFor(ctx, s.pool, soakSecret, v.Email, 12*time.Hour); err != nil {
				return err
			}
		}
	}
	// A minute's allowance of four times the whole query load: every request is counted in
	// Redis as in production, and none is refused.
	limit := strconv.Itoa(int(4 * 60 * s.o.queries))
	s.srv, err = harness.StartServer(ctx, s.Binary, filepath.Join(s.Tmp, "serve.log"), []string{
		"DATABASE_URL=" + s.DB.URLFor(serveApplication),
		"REDIS_URL=" + s.Redis.URL,
		"NOTIFYQL_JWT_SECRET=" + soakSecret,
		"NOTIFYQL_SEARCH_SECRET=" + soakSearchSecret,
		"NOTIFYQL_DATA_DIR=" + s.Tmp,
		"NOTIFYQL_RATE_LIMIT_PER_USER=" + limit,
		"NOTIFYQL_RATE_LIMIT_PER_IP=" + limit,
		"NOTIFYQL_WS_MAX_PER_USER=" + strconv.Itoa(s.o.clients),
		// Every client connects from 127.0.0.1: the bound on an address's connections is
		// exercised too, at twice the sockets with room for the query load's keep-alives.
		"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS=" + strconv.Itoa(2*s.o.clients+64),
	})
	if err != nil {
		return err
	}
	serverStopped := false
	stopServer := func() {
		if !serverStopped {
			serverStopped = true
			s.srv.Stop()
		}
	}
	defer stopServer()
	fmt.Printf("serving at %s (pid %d); %d demo viewers (user, service); rate limits %s a minute per user and per address\n",
		s.srv.URL, s.srv.PID(), len(s.viewers), limit)

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	start := time.Now()
	subs, err := connect(loadCtx, s.srv.URL, s.o.clients, s.viewers, s.tokens)
	if err != nil {
		stopLoad()
		subs.wait()
		return fmt.Errorf("connect the clients: %w", err)
	}
	fmt.Printf("connected %d clients with %d subscriptions in %s\n", s.o.clients, 2*s.o.clients, time.Since(start).Round(time.Millisecond))
	rate := s.o.changes / statusChangesPerNotification
	sim, err := harness.StartSimulator(s.Binary, s.DB.URLFor(simulateApplication), rate, nil)
	if err != nil {
		stopLoad()
		subs.wait()
		return err
	}
	load := startQueries(ctx, loadCtx, s.srv.URL, s.o.queries, s.viewers, s.tokens)

	runErr := s.sampleUntilDone(ctx, subs, load)

	stopLoad()
	simSummary := sim.Stop()
	subs.wait()
	load.wg.Wait()
	serverStats := s.srv.Stop()
	serverStopped = true
	failures := s.report(subs, load, simSummary, serverStats)
	if runErr != nil {
		// The log goes with the temporary folder: its end may explain the error.
		fmt.Printf("\nthe server's log ends:\n%s\n", s.srv.LogTail(3000))
		failures = append(failures, runErr.Error())
	}
	if len(failures) > 0 {
		return fmt.Errorf("FAILED:\n  %s", strings.Join(failures, "\n  "))
	}
	fmt.Println("\nsoak passed")
	return nil
}

// sampleUntilDone samples every interval until the duration is over, stopping early when
// the server exits or the run is interrupted.
func (s *soak) sampleUntilDone(ctx context.Context, subs *subscribers, load *queryLoad) error {
	start := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	ticker := time.NewTicker(s.o.interval)
	defer ticker.Stop()
	fmt.Printf("\n%8s %10s %9s %9s %6s %4s %5s %6s %10s %9s %9s %8s\n",
		"t", "goroutines", "heap MiB", "RSS MiB", "fds", "pg", "ws", "subs", "updates/s", "queries/s", "changes/s", "stale")
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted after %s", time.Since(start).Round(time.Second))
		case <-ticker.C:
		}
		if exited, err := s.srv.Exited(); exited {
			return fmt.Errorf("the server exited during the soak: %v", err)
		}
		smp, err := s.sample(ctx, client, time.Since(start), subs, load)
		if err != nil {
			return err
		}
		s.samples = append(s.samples, smp)
		s.printSample(smp)
		if smp.at >= s.o.duration {
			return nil
		}
	}
}
