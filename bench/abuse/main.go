// Command abuse is issue 15's abuse mix, `make abuse`: a program, not a test, that runs one
// notifyql server as production runs it (default limits) and attacks it for a minute in
// every way the security review found cheap, while a signed-in user keeps asking for their
// dashboard. It fails when that user is ever refused or left waiting, or when the server's
// resources do not come back to where they were once the attack stops.
//
// It builds notifyql, creates a database of its own (notifyql_abuse_<random> on the server
// of NOTIFYQL_ABUSE_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres),
// migrates it, loads the demo data and adds --download-rows emails to one service (so that
// its notifications CSV is larger than a socket's buffers and a client that stops reading
// really stalls the server's writes), starts a private redis-server and one `notifyql
// serve` in production mode, its metrics on a listener of their own. Then, for --duration
// (60 s), at once:
//
//   - idle keep-alives: --idle-conns connections (from 10 loopback addresses, 127.0.1.x),
//     each sending one request and then nothing, reopened as the server closes them;
//   - slow bodies: 40 POSTs that announce a body and send a byte of it every 5 s;
//   - stalled downloads: 60 notifications-CSV downloads at a time by one signed-in user,
//     over sockets with small receive buffers that read the headers and nothing more;
//   - a subscription flood: one user's sockets (as many as the per-user cap lets open),
//     each subscribing to ever more distinct documents just under the message rate;
//   - a ping flood: 4 sockets sending WebSocket pings as fast as they can, reconnecting
//     when closed;
//   - unauthenticated automatic persisted queries: hashes registered for documents that
//     do not parse, do not validate, or are new and valid each time;
//   - hostile documents: the nested double-spread document of 40 fragments, unauthenticated.
//
// Meanwhile a victim, another user from another address (127.0.0.2), asks for their
// service's dashboard every 250 ms. Every answer must be a 200 without errors.
//
// The server is sampled before the attack (after a warm-up of the same victim queries and
// one of each legitimate use), every 5 s during it, and after it, until every series is
// back within its allowance of the baseline or --settle (90 s) has passed: goroutines
// (within 20 or 10%), open files (within 10 or 10%), resident memory (within 24 MiB or
// 25%: the heap grows under attack and the runtime returns it to the system over a minute
// or two) and the server's PostgreSQL connections (busy ones back to the baseline's, and no
// more connections in all than the pools may hold). It prints what each attack got and a
// table of the series: baseline, peak, after and verdict.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
)

// abuseSecret signs the clients' tokens; the server is started with it.
const abuseSecret = "abuse-test-secret-at-least-32-bytes-long"

// abuseSearchSecret keys the search-term hashes: hex, 32 bytes.
const abuseSearchSecret = "61627573652d746573742d7365617263682d7365637265742d33322d62797465"

// The application names that tell the processes' connections apart in pg_stat_activity.
const (
	serveApplication = "notifyql-abuse-serve"
	abuseApplication = "notifyql-abuse"
)

// The demo users the program signs in as: the victim, and the attackers who hold tokens.
const (
	victimEmail     = "viewer@notifyql.example"
	downloaderEmail = "admin@notifyql.example"
	flooderEmail    = "manager@notifyql.example"
	pingerEmail     = "sender@notifyql.example"
)

// victimAddress is where the victim's requests come from: an address no attacker uses, as
// a real user's would be.
const victimAddress = "127.0.0.2"

type options struct {
	duration     time.Duration
	settle       time.Duration
	interval     time.Duration
	idleConns    int
	downloadRows int
	// only, when set, names the attacks to run (all when empty).
	only map[string]bool
}

func main() { harness.Main("abuse", run) }

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("abuse", flag.ContinueOnError)
	o := options{}
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long the attacks run")
	fs.DurationVar(&o.settle, "settle", 90*time.Second, "the longest the server may take to come back to its baseline after them")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "how often the server is sampled during the attacks")
	fs.IntVar(&o.idleConns, "idle-conns", 4000, "idle keep-alive connections the attack tries to hold")
	fs.IntVar(&o.downloadRows, "download-rows", 60000, "emails added to the downloaded service")
	only := fs.String("attacks", "", "comma-separated names of the attacks to run, as the report names them (all by default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, name := range strings.Split(*only, ",") {
			o.only[strings.TrimSpace(name)] = true
		}
	}
	switch {
	case o.duration < 10*time.Second:
		return errors.New("--duration must be at least 10s")
	case o.settle <= 0 || o.interval <= 0:
		return errors.New("--settle and --interval must be positive")
	case o.idleConns < 0 || o.downloadRows < 0:
		return errors.New("--idle-conns and --download-rows must not be negative")
	}
	stage, err := harness.SetUp(ctx, "abuse", "NOTIFYQL_ABUSE_POSTGRES_URL")
	if err != nil {
		return err
	}
	defer stage.Close(ctx)
	a := &abuse{o: o, Stage: stage}
	return a.run(ctx)
}

type abuse struct {
	o options
	*harness.Stage
	pool  *pgxpool.Pool
	srv   *harness.Server
	world world
	// started and stopped are when the attacks began and ended.
	started, stopped time.Time
}

func (a *abuse) run(ctx context.Context) error {
	var err error
	if a.pool, err = pgxpool.New(ctx, a.DB.URLFor(abuseApplication)); err != nil {
		return fmt.Errorf("connect to the abuse database: %w", err)
	}
	defer a.pool.Close()
	if a.world, err = prepareWorld(ctx, a.pool, a.o.downloadRows); err != nil {
		return err
	}
	a.srv, err = harness.StartServer(ctx, a.Binary, filepath.Join(a.Tmp, "serve.log"), []string{
		"DATABASE_URL=" + a.DB.URLFor(serveApplication),
		"REDIS_URL=" + a.Redis.URL,
		"NOTIFYQL_JWT_SECRET=" + abuseSecret,
		"NOTIFYQL_SEARCH_SECRET=" + abuseSearchSecret,
		"NOTIFYQL_DATA_DIR=" + a.Tmp,
	})
	if err != nil {
		return err
	}
	defer a.srv.Stop()
	fmt.Printf("serving at %s (pid %d), metrics at %s\n", a.srv.URL, a.srv.PID(), a.srv.MetricsURL)
	tokens, err := a.world.tokens(ctx, a.pool)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}

	victim := newVictim(a.srv.URL, tokens[victimEmail], a.world.victimService)
	fmt.Println("warming up: the victim's queries and one of each legitimate use ...")
	if err := a.warmUp(ctx, victim, tokens); err != nil {
		return err
	}
	baseline, err := a.sample(ctx, client, "baseline")
	if err != nil {
		return err
	}
	redisBefore, err := apqKeys(ctx, a.Redis.URL)
	if err != nil {
		return err
	}

	victimCtx, stopVictim := context.WithCancel(ctx)
	defer stopVictim()
	var victimDone sync.WaitGroup
	victimDone.Add(1)
	go func() { defer victimDone.Done(); victim.run(victimCtx, 250*time.Millisecond) }()

	attackCtx, stopAttacks := context.WithTimeout(ctx, a.o.duration)
	defer stopAttacks()
	attacks, err := a.attacks(tokens)
	if err != nil {
		return err
	}
	var attacking sync.WaitGroup
	for _, at := range attacks {
		attacking.Add(1)
		go func() { defer attacking.Done(); at.run(attackCtx) }()
	}
	a.started = time.Now()
	fmt.Printf("\nattacking for %s\n", a.o.duration)
	samples := []sample{baseline}
	ticker := time.NewTicker(a.o.interval)
	for done := false; !done; {
		select {
		case <-attackCtx.Done():
			done = true
		case <-ticker.C:
			smp, err := a.sample(ctx, client, "attack")
			if err != nil {
				fmt.Println("  sample:", err)
				continue
			}
			samples = append(samples, smp)
			a.printSample(smp)
		}
	}
	ticker.Stop()
	stopAttacks()
	attacking.Wait()
	a.stopped = time.Now()
	fmt.Println("attacks stopped: waiting for the server to come back to its baseline")
	after, settled, err := a.settle(ctx, client, baseline, peakOf(samples))
	if err != nil {
		return err
	}
	stopVictim()
	victimDone.Wait()
	samples = append(samples, after)
	redisAfter, err := apqKeys(ctx, a.Redis.URL)
	if err != nil {
		return err
	}

	failures := a.report(attacks, victim, samples, settled, redisAfter-redisBefore)
	if exited, err := a.srv.Exited(); exited {
		failures = append(failures, fmt.Sprintf("the server exited: %v", err))
	}
	if len(failures) > 0 {
		fmt.Printf("\nthe server's log ends:\n%s\n", a.srv.LogTail(3000))
		return fmt.Errorf("FAILED:\n  %s", strings.Join(failures, "\n  "))
	}
	fmt.Println("\nabuse passed")
	return nil
}

// warmUp runs what a legitimate user does for a few seconds, so that the baseline holds
// the pools, caches and goroutines that normal use keeps.
func (a *abuse) warmUp(ctx context.Context, v *victim, tokens map[string]string) error {
	for range 20 {
		if _, err := v.ask(ctx); err != nil {
			return fmt.Errorf("the victim's query before any attack: %w", err)
		}
	}
	if err := legitimateUse(ctx, a.srv.URL, tokens[downloaderEmail], a.world); err != nil {
		return fmt.Errorf("legitimate use before any attack: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
	}
	v.reset()
	return nil
}

// settle samples the server every 2 s until every series is within its allowance of the
// baseline, or --settle has passed; it returns the last sample and whether it settled.
func (a *abuse) settle(ctx context.Context, client *http.Client, baseline, peak sample) (sample, bool, error) {
	deadline := time.Now().Add(a.o.settle)
	for {
		smp, err := a.sample(ctx, client, "after")
		if err != nil {
			return sample{}, false, err
		}
		a.printSample(smp)
		if len(judge(baseline, peak, smp)) == 0 {
			return smp, true, nil
		}
		if time.Now().After(deadline) {
			return smp, false, nil
		}
		select {
		case <-ctx.Done():
			return sample{}, false, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
