//go:build linux

package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 7's faults, on backends private to each test (never the machine's shared servers),
// against a real `notifyql serve` process: Redis down, Redis frozen, PostgreSQL down,
// PostgreSQL restarted and frozen, and the relay's LISTEN connection killed. Each asserts
// what clients see, by query and by subscription, and that the server holds no more
// goroutines, open files or database connections once the fault is over than before it.

// faultSearchTerm is a term the fixture's notifications match.
const faultSearchTerm = "ann@example.org"

// leakWait bounds how long a server may take to let go of what a fault made it hold: a
// connection closed under a frozen server is let go of once the server answers again.
const leakWait = 20 * time.Second

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts private PostgreSQL and Redis servers and notifyql as a separate process")
	}
	binary := buildNotifyql(t)
	for _, fault := range []struct {
		name string
		test func(*testing.T, string)
	}{
		{"Redis down", testFaultRedisDown},
		{"Redis frozen", testFaultRedisFrozen},
		{"PostgreSQL down", testFaultPostgreSQLDown},
		{"PostgreSQL restarted and frozen", testFaultPostgreSQLRestartedAndFrozen},
		{"listener connection killed", testFaultListenerKilled},
	} {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			fault.test(t, binary)
		})
	}
}

// faultScene is one server with two subscribers that follow serviceA's dashboard, all
// converged, and the server's resources measured before any fault.
type faultScene struct {
	world     *liveWorld
	srv       *serverProcess
	followers []*liveFollower
	base      resources
}

func newFaultScene(t *testing.T, binary string, pg *privatePostgres) *faultScene {
	t.Helper()
	world := newFaultWorld(t, binary, pg)
	srv := world.startServer(t, "server")
	world.awaitOneRelay(t, 20*time.Second, srv)
	variables := map[string]any{"id": serviceA}
	s := &faultScene{world: world, srv: srv, followers: []*liveFollower{
		follow("dashboardTotals", "dashboardTotals", subscribeOverWebSocket(t, srv.wsURL(), userViewer, liveTotalsSubscription, variables)),
		follow("templateStatistics", "templateStatistics", subscribeOverWebSocket(t, srv.wsURL(), userViewer, liveTemplateStatistics, variables)),
	}}
	awaitConvergence(t, updateDeadline, s.truth(t), s.followers...)
	s.requireAnswered(t, srv.ask(t, userViewer, dashboardTruth, variables, nil), "a query before the fault")
	s.base = world.baseline(t, srv)
	return s
}

// truth is the dashboard as a fresh query answers it, under the subscriptions' names.
func (s *faultScene) truth(t *testing.T) func() map[string]any {
	return func() map[string]any {
		return s.srv.query(t, userViewer, dashboardTruth, map[string]any{"id": serviceA})["service"].(map[string]any)
	}
}

// converge writes a change as any writer would and waits until every subscriber shows the
// database's truth within issue 4's bound, on the sockets it opened before the fault.
func (s *faultScene) converge(t *testing.T, after string) {
	t.Helper()
	// The test's writer drops the connections a restart ended, as a writer retrying would.
	s.world.pool.Reset()
	s.world.insertEmail(t, "delivered")
	took := awaitConvergence(t, convergenceBound, s.truth(t), s.followers...)
	t.Logf("subscribers converged %s after a write following %s", took, after)
}

// requireAnswered fails unless the answer carries data and no error.
func (s *faultScene) requireAnswered(t *testing.T, a answer, what string) {
	t.Helper()
	if a.status != 200 || len(a.errors) > 0 || a.data == nil {
		t.Fatalf("%s: status %d, %s", what, a.status, a.body)
	}
	t.Logf("%s: answered in %s", what, a.took.Round(time.Millisecond))
}

// requireCodes fails unless every error of the answer has the one code, and there is one.
func requireCodes(t *testing.T, a answer, code, what string) {
	t.Helper()
	codes := a.codes()
	if len(codes) == 0 || slices.ContainsFunc(codes, func(c string) bool { return c != code }) {
		t.Fatalf("%s: status %d, codes %v, want %s: %s", what, a.status, codes, code, a.body)
	}
	t.Logf("%s: %s in %s (%q)", what, code, a.took.Round(time.Millisecond), a.errors[0].Message)
}

// rememberSearch stores faultSearchTerm in Redis and returns its hash.
func (s *faultScene) rememberSearch(t *testing.T) string {
	t.Helper()
	a := s.srv.ask(t, userViewer, rememberSearchMutation, map[string]any{"id": serviceA, "term": faultSearchTerm}, nil)
	s.requireAnswered(t, a, "rememberSearch")
	hash, _ := a.data["rememberSearch"].(map[string]any)["hash"].(string)
	if hash == "" {
		t.Fatalf("rememberSearch gave no hash: %s", a.body)
	}
	return hash
}

// search asks for serviceA's notifications by {"term": …} or {"hash": …}.
func (s *faultScene) search(t *testing.T, search map[string]any) answer {
	t.Helper()
	return s.srv.ask(t, userViewer, searchQuery, map[string]any{"id": serviceA, "search": search}, nil)
}

// redisCallBound is what the requests that wait on a 250 ms Redis call (the rate
// limiter's, a persisted query's) must be answered within while Redis cannot answer: far
// above that bound, for a busy machine, and below the 3 s read timeout of the Redis client
// that a call ignoring its context's deadline would wait for.
const redisCallBound = 2 * time.Second

// checkWithoutRedis is what clients see while Redis cannot answer: queries are answered,
// and only what needs Redis fails, clearly.
func (s *faultScene) checkWithoutRedis(t *testing.T, hash string) {
	t.Helper()
	// The first request finds the rate limiter unable to answer: it lets the request
	// through, and asks no more for 10 s.
	plain := s.srv.ask(t, userViewer, dashboardTruth, map[string]any{"id": serviceA}, nil)
	s.requireAnswered(t, plain, "a plain query")
	requireCodes(t, s.search(t, map[string]any{"hash": hash}), "UNAVAILABLE", "a search by a remembered hash")
	s.requireAnswered(t, s.search(t, map[string]any{"term": faultSearchTerm}), "a search by term")

	// Automatic persisted queries: a hash alone is a miss, and the query sent in full works.
	persisted := persistedMeQuery(t)
	miss := s.srv.ask(t, userViewer, "", nil, persisted.extensions())
	requireCodes(t, miss, "PERSISTED_QUERY_NOT_FOUND", "a persisted query's hash alone")
	full := s.srv.ask(t, userViewer, persisted.query, nil, persisted.extensions())
	s.requireAnswered(t, full, "a persisted query sent in full")
	for _, a := range []answer{plain, miss, full} {
		if a.took > redisCallBound {
			t.Errorf("a request waiting on a 250 ms Redis call took %s, want within %s: %s", a.took, redisCallBound, a.body)
		}
	}

	if status := s.srv.readyStatus(t); status != 503 {
		t.Errorf("/readyz answered %d while Redis cannot answer, want 503", status)
	}
	if !strings.Contains(s.srv.Log(), "rate limits are applied by this instance alone for a while") {
		t.Errorf("the server did not warn that it stopped applying rate limits")
	}
	for _, f := range s.followers {
		if _, _, ended, failure := f.state(); ended || failure != "" {
			t.Errorf("%s: the subscription ended while Redis was away (%s); it should stay open", f.name, failure)
		}
	}
}

// awaitReady waits until /readyz answers 200 again.
func (s *faultScene) awaitReady(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(updateDeadline); s.srv.readyStatus(t) != 200; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz is not 200 %s after the fault", updateDeadline)
		}
	}
}

func testFaultRedisDown(t *testing.T, binary string) {
	s := newFaultScene(t, binary, nil)
	hash := s.rememberSearch(t)

	s.world.redis.Stop()
	s.world.insertEmail(t, "permanent-failure") // the relay cannot publish it
	s.checkWithoutRedis(t, hash)

	s.world.startRedisAgain(t)
	s.converge(t, "Redis started again")
	// Redis came back empty: the remembered search is gone, and the client is told so.
	requireCodes(t, s.search(t, map[string]any{"hash": hash}), "SEARCH_EXPIRED", "a search by a hash Redis lost")
	s.awaitReady(t)
	s.world.awaitNoLeak(t, s.srv, s.base, leakWait)
}

func testFaultRedisFrozen(t *testing.T, binary string) {
	s := newFaultScene(t, binary, nil)
	hash := s.rememberSearch(t)

	s.world.freezeRedis(t)
	frozen := time.Now()
	s.world.insertEmail(t, "permanent-failure") // the relay cannot publish it
	// Each request is answered within faultClient's 10 s (ask fails the test otherwise);
	// the times logged show each Redis call's own bound (the rate limiter's 250 ms, the
	// search cache's 2 s, the persisted queries' 250 ms).
	s.checkWithoutRedis(t, hash)
	t.Logf("Redis was frozen for %s", time.Since(frozen).Round(time.Millisecond))

	s.world.redis.Thaw()
	s.converge(t, "Redis thawed")
	s.requireAnswered(t, s.search(t, map[string]any{"hash": hash}), "a search by hash once Redis answers again")
	s.awaitReady(t)
	s.world.awaitNoLeak(t, s.srv, s.base, leakWait)
}

// checkWithoutPostgreSQL is what clients see while PostgreSQL cannot answer: a clear
// UNAVAILABLE within the request timeout, and /readyz 503.
func (s *faultScene) checkWithoutPostgreSQL(t *testing.T, what string) {
	t.Helper()
	a := s.srv.ask(t, userViewer, dashboardTruth, map[string]any{"id": serviceA}, nil)
	requireCodes(t, a, "UNAVAILABLE", "a query while PostgreSQL is "+what)
	// A database that refuses connections is named; one that does not answer makes the
	// request run out of time, often while its caller is being looked up.
	if message := a.errors[0].Message; message != "the database is unavailable right now: try again shortly" &&
		message != "the request could not be answered in time: try again shortly" {
		t.Errorf("message %q, want the database named as unavailable or the request out of time", message)
	}
	if status := s.srv.readyStatus(t); status != 503 {
		t.Errorf("/readyz answered %d while PostgreSQL is %s, want 503", status, what)
	}
}

// awaitAnswered asks until a query is answered without error, as a client retrying would:
// the pool reconnects by itself. Meanwhile every error must be UNAVAILABLE.
func (s *faultScene) awaitAnswered(t *testing.T, after string) {
	t.Helper()
	start := time.Now()
	for attempts := 1; ; attempts++ {
		a := s.srv.ask(t, userViewer, dashboardTruth, map[string]any{"id": serviceA}, nil)
		if len(a.errors) == 0 && a.status == 200 {
			t.Logf("queries answered again %s after %s (attempt %d)", time.Since(start).Round(time.Millisecond), after, attempts)
			return
		}
		if codes := a.codes(); slices.ContainsFunc(codes, func(c string) bool { return c != "UNAVAILABLE" }) {
			t.Fatalf("after %s: codes %v, want UNAVAILABLE until it answers: %s", after, codes, a.body)
		}
		if time.Since(start) > updateDeadline {
			t.Fatalf("queries still fail %s after %s: %s", updateDeadline, after, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testFaultPostgreSQLDown(t *testing.T, binary string) {
	pg := startPrivatePostgres(t)
	s := newFaultScene(t, binary, pg)

	pg.stop()
	s.checkWithoutPostgreSQL(t, "down")
	// A download answers the same code, with the error table's HTTP status.
	download := s.srv.download(t, userViewer, "/services/"+serviceA+"/inbox.csv")
	requireCodes(t, download, "UNAVAILABLE", "the inbox download while PostgreSQL is down")
	if download.status != 503 {
		t.Errorf("the inbox download answered %d while PostgreSQL is down, want 503", download.status)
	}
	time.Sleep(time.Second) // the listener and the pools try to reconnect meanwhile
	s.checkWithoutPostgreSQL(t, "down")

	pg.start()
	s.awaitAnswered(t, "PostgreSQL started again")
	s.converge(t, "PostgreSQL started again")
	s.awaitReady(t)
	s.world.awaitNoLeak(t, s.srv, s.base, leakWait)
}

func testFaultPostgreSQLRestartedAndFrozen(t *testing.T, binary string) {
	pg := startPrivatePostgres(t)
	s := newFaultScene(t, binary, pg)

	t.Run("restarted", func(t *testing.T) {
		pg.stop()
		pg.start()
		s.awaitAnswered(t, "a fast restart")
		s.converge(t, "a fast restart")
		s.world.awaitNoLeak(t, s.srv, s.base, leakWait)
	})
	t.Run("frozen", func(t *testing.T) {
		pg.freeze()
		frozen := time.Now()
		s.checkWithoutPostgreSQL(t, "frozen")
		t.Logf("PostgreSQL was frozen for %s", time.Since(frozen).Round(time.Millisecond))
		pg.thaw()
		s.awaitAnswered(t, "PostgreSQL thawed")
		s.converge(t, "PostgreSQL thawed")
		s.awaitReady(t)
		s.world.awaitNoLeak(t, s.srv, s.base, leakWait)
	})
}

// testFaultListenerKilled ends the relay's LISTEN session (as TestLiveAcrossProcesses does
// with two instances), here with a leak check: the listener reconnects once, and queries
// go on being answered.
func testFaultListenerKilled(t *testing.T, binary string) {
	s := newFaultScene(t, binary, nil)
	pid := s.world.relayBackendPID(t)
	if pid == 0 {
		t.Fatal("no backend holds the relay lock")
	}
	var terminated bool
	if err := s.world.pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("terminate the relay's backend %d: %v, %v", pid, terminated, err)
	}
	s.world.insertEmail(t, "permanent-failure") // committed while no one may listen
	s.requireAnswered(t, s.srv.ask(t, userViewer, dashboardTruth, map[string]any{"id": serviceA}, nil), "a query after the listener was killed")
	s.converge(t, "the listener was killed")
	if pid == s.world.relayBackendPID(t) {
		t.Errorf("the relay still holds its lock on the killed backend %d", pid)
	}
	s.world.awaitNoLeak(t, s.srv, s.base, leakWait)
}
