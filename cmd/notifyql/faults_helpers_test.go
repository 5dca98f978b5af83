//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
	"notifyql/pgtest"
	"notifyql/postgres"
)

// The fault harness: backends private to one test that it can stop, freeze (SIGSTOP) and
// start again, never the machine's shared PostgreSQL and Redis, and what the tests measure
// of a `notifyql serve` process to tell that nothing leaked.

// faultTestApp is the application_name of the test's own connections, which the count of
// the server's connections leaves out.
const faultTestApp = "notifyql-fault-test"

// faultRequestTimeout is the servers' NOTIFYQL_REQUEST_TIMEOUT in the fault tests: shorter
// than the default so that a frozen database costs the test seconds, not tens of seconds.
const faultRequestTimeout = 3 * time.Second

// privatePostgres is a PostgreSQL cluster of the test's own (postgres.LocalServer), which
// the test may stop, start again on the same port, and freeze.
type privatePostgres struct {
	t      *testing.T
	local  *postgres.LocalServer
	frozen []int
}

// startPrivatePostgres initialises and starts a cluster in a temporary folder; the test's
// cleanup thaws and stops it.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	local, err := postgres.StartLocal(context.Background(), privateDataDir(t), nil)
	if err != nil {
		t.Fatalf("start a private PostgreSQL: %v", err)
	}
	p := &privatePostgres{t: t, local: local}
	t.Cleanup(func() {
		p.thaw()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.local.Stop(ctx) // a cluster the test stopped reports how it exited
	})
	return p
}

// stop is a fast shutdown (pg_ctl stop -m fast): sessions are ended, the port closes.
func (p *privatePostgres) stop() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.local.Stop(ctx); err != nil {
		p.t.Fatalf("stop the private PostgreSQL: %v", err)
	}
}

// start starts the stopped cluster again on the same port.
func (p *privatePostgres) start() {
	p.t.Helper()
	if err := p.local.StartAgain(context.Background()); err != nil {
		p.t.Fatalf("start the private PostgreSQL again: %v", err)
	}
}

// freeze stops every process of the cluster with SIGSTOP: the postmaster first, so that it
// forks no new backend, then its children (each backend runs in a session of its own, so
// signalling the postmaster's process group would miss them). The kernel still accepts TCP
// connections on its port; nothing answers them. The calling test's cleanup thaws it
// before it stops what the test started since.
func (p *privatePostgres) freeze() {
	p.t.Helper()
	p.t.Cleanup(p.thaw)
	postmaster := p.local.PID()
	if err := syscall.Kill(postmaster, syscall.SIGSTOP); err != nil {
		p.t.Fatalf("SIGSTOP the postmaster %d: %v", postmaster, err)
	}
	p.frozen = []int{postmaster}
	for _, child := range childProcesses(p.t, postmaster) {
		if err := syscall.Kill(child, syscall.SIGSTOP); err == nil {
			p.frozen = append(p.frozen, child)
		}
	}
}

// thaw sends SIGCONT to what freeze stopped, children first.
func (p *privatePostgres) thaw() {
	for i := len(p.frozen) - 1; i >= 0; i-- {
		_ = syscall.Kill(p.frozen[i], syscall.SIGCONT)
	}
	p.frozen = nil
}

// childProcesses lists the processes whose parent is pid, from /proc.
func childProcesses(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var children []int
	for _, entry := range entries {
		child, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// The command name, in parentheses, may hold spaces: the fields follow its end.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			children = append(children, child)
		}
	}
	return children
}

// newFaultWorld is newLiveWorld for the fault tests: the fixture loaded in a database on
// the given server (a private cluster, or the machine's when pg is nil, for the tests that
// only fault Redis), a private Redis, and servers started with faultRequestTimeout.
func newFaultWorld(t *testing.T, binary string, pg *privatePostgres) *liveWorld {
	t.Helper()
	ctx := context.Background()
	var databaseURL string
	if pg == nil {
		databaseURL = pgtest.NewDatabase(t)
	} else {
		databaseURL = pg.local.URL()
		if err := postgres.MigrateUp(ctx, databaseURL); err != nil {
			t.Fatalf("migrate the private database: %v", err)
		}
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = faultTestApp
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, fixtureSQL); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	return &liveWorld{binary: binary, databaseURL: databaseURL, pool: pool, redis: startRedis(t),
		serverEnv: []string{"NOTIFYQL_REQUEST_TIMEOUT=" + faultRequestTimeout.String()}}
}

// answer is what a client got for one request.
type answer struct {
	status int
	took   time.Duration
	data   map[string]any
	errors []answerError
	body   string
}

type answerError struct {
	Message    string
	Extensions map[string]any
}

// newAnswer reads a response body: GraphQL's data and errors, or a download's errors.
func newAnswer(t *testing.T, s *serverProcess, res *http.Response, start time.Time) answer {
	t.Helper()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the answer of %s: %v", s.name, err)
	}
	var body struct {
		Data   map[string]any
		Errors []answerError
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("answer of %s is not JSON: %v\n%s", s.name, err, raw)
	}
	return answer{status: res.StatusCode, took: time.Since(start), data: body.Data, errors: body.Errors, body: string(raw)}
}

// codes lists the errors' extensions.code.
func (a answer) codes() []string {
	var codes []string
	for _, e := range a.errors {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return codes
}

// faultClient sends one request per connection, so that the server holds no idle
// keep-alive connection of the test's between two measurements of its goroutines. Its
// timeout is the bound a request must be answered within, whatever the fault.
var faultClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// ask posts a GraphQL request (query, variables and extensions, any may be empty) as
// userID and returns the answer, failing the test when none arrives within faultClient's
// timeout.
func (s *serverProcess) ask(t *testing.T, userID, query string, variables, extensions map[string]any) answer {
	t.Helper()
	request := map[string]any{}
	if query != "" {
		request["query"] = query
	}
	if variables != nil {
		request["variables"] = variables
	}
	if extensions != nil {
		request["extensions"] = extensions
	}
	body, _ := json.Marshal(request)
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return s.send(t, userID, req)
}

// download GETs path (beside /graphql) with userID's bearer token, for an answer that is an
// error: its body is the JSON errors list.
func (s *serverProcess) download(t *testing.T, userID, path string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(s.url, "/graphql")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.send(t, userID, req)
}

// send sends req with userID's bearer token and times the answer.
func (s *serverProcess) send(t *testing.T, userID string, req *http.Request) answer {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, userID))
	start := time.Now()
	res, err := faultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer from %s within %s: %v", s.name, faultClient.Timeout, err)
	}
	defer res.Body.Close()
	return newAnswer(t, s, res, start)
}

// readyStatus is the HTTP status of the server's /readyz.
func (s *serverProcess) readyStatus(t *testing.T) int {
	t.Helper()
	res, err := faultClient.Get(strings.TrimSuffix(s.url, "/graphql") + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz of %s: %v", s.name, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// resources is what a server process holds that a fault could leak.
type resources struct {
	goroutines int // go_goroutines on /metrics
	fds        int // process_open_fds on /metrics
	pgConns    int // its sessions in pg_stat_activity on the world's database
	// pooled and poolBound are the connections its database pools hold and may hold
	// (/metrics): a pool opens connections on demand up to its bound and keeps them, so
	// a pool that grew after a fault is not a leak, while a connection outside a pool,
	// or a pool past its bound, is.
	pooled, poolBound int
}

func (r resources) String() string {
	s := fmt.Sprintf("%d goroutines, %d open files, %d PostgreSQL connections", r.goroutines, r.fds, r.pgConns)
	if r.poolBound > 0 {
		s += fmt.Sprintf(" (%d of them pooled, of at most %d)", r.pooled, r.poolBound)
	}
	return s
}

// unpooled is r without the pools' connections, each a session and a file.
func (r resources) unpooled() resources {
	return resources{goroutines: r.goroutines, fds: r.fds - r.pooled, pgConns: r.pgConns - r.pooled}
}

// leakTolerance is how far above the baseline a server may be once a fault is over,
// outside its pools: the runtime's goroutines and files come and go by a few (a timer, a
// connection being closed), and a pool's connection may be counted as a session a moment
// before /metrics counts it. A leak per fault, per subscriber or per retry is far above it.
var leakTolerance = resources{goroutines: 10, fds: 6, pgConns: 2}

// measure reads the server's goroutines and open files from its /metrics, and counts its
// sessions in the world's database.
func (w *liveWorld) measure(t *testing.T, s *serverProcess) resources {
	t.Helper()
	metrics, err := harness.ScrapeMetrics(context.Background(), faultClient, s.metricsURL)
	if err != nil {
		t.Fatalf("GET /metrics of %s: %v", s.name, err)
	}
	var r resources
	goroutines, err := metrics.Value("go_goroutines")
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	fds, err := metrics.Value("process_open_fds")
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	r.goroutines, r.fds = int(goroutines), int(fds)
	for name, v := range metrics.Values {
		switch {
		case strings.HasPrefix(name, "notifyql_db_pool_connections{"):
			r.pooled += int(v)
		case strings.HasPrefix(name, "notifyql_db_pool_max_connections{"):
			r.poolBound += int(v)
		}
	}
	if r.poolBound == 0 {
		t.Fatalf("%s: no notifyql_db_pool_max_connections in /metrics", s.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend' AND application_name <> $1`,
		faultTestApp).Scan(&r.pgConns); err != nil {
		t.Fatalf("count the server's PostgreSQL connections: %v", err)
	}
	return r
}

// baseline measures the server once it has settled: after its subscriptions converged
// and it answered queries, twice a short while apart, keeping the larger of each.
func (w *liveWorld) baseline(t *testing.T, s *serverProcess) resources {
	t.Helper()
	first := w.measure(t, s)
	time.Sleep(300 * time.Millisecond)
	second := w.measure(t, s)
	first, second = first.unpooled(), second.unpooled()
	base := resources{goroutines: max(first.goroutines, second.goroutines), fds: max(first.fds, second.fds),
		pgConns: max(first.pgConns, second.pgConns)}
	t.Logf("before the fault, outside its pools: %s", base)
	return base
}

// awaitNoLeak waits until the server holds no more than the baseline plus leakTolerance,
// and fails the test if it still holds more after within.
func (w *liveWorld) awaitNoLeak(t *testing.T, s *serverProcess, base resources, within time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		measured := w.measure(t, s)
		now := measured.unpooled()
		if now.goroutines <= base.goroutines+leakTolerance.goroutines && now.fds <= base.fds+leakTolerance.fds &&
			now.pgConns <= base.pgConns+leakTolerance.pgConns && measured.pooled <= measured.poolBound {
			t.Logf("after the fault (%s later): %s", time.Since(start).Round(time.Millisecond), measured)
			return
		}
		if time.Since(start) > within {
			t.Fatalf("%s still holds %s %s after the fault; outside its pools %s, against %s before (tolerance %s)",
				s.name, measured, within, now, base, leakTolerance)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// freezeRedis stops the world's redis-server with SIGSTOP (harness.Redis.Freeze); the
// test's cleanup thaws it.
func (w *liveWorld) freezeRedis(t *testing.T) {
	t.Helper()
	if err := w.redis.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.redis.Thaw)
}
