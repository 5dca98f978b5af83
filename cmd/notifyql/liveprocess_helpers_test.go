//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
	"notifyql/pgtest"
)

// The helpers below run notifyql as separate processes, the way a deployment does, so that
// the live path can be tested across instances and through the faults of its backends.
// They read /proc, hence linux only.

// changeRelayLockKey is postgres.changeRelayLockKey, the relay election's advisory lock,
// repeated here because the test finds the relay's backend by it.
const changeRelayLockKey int64 = 0x6e71_7265_6c61_79

// buildNotifyql builds the command once for the calling test and returns the binary's path.
func buildNotifyql(t *testing.T) string {
	t.Helper()
	binary, err := harness.Build(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return binary
}

// startRedis starts a private redis-server on a free port; the test's cleanup stops it.
func startRedis(t *testing.T) *harness.Redis {
	t.Helper()
	r, err := harness.StartRedis(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// startRedisAgain starts the world's stopped redis-server again on its port.
func (w *liveWorld) startRedisAgain(t *testing.T) {
	t.Helper()
	if err := w.redis.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// liveWorld is what the instances share: a database with the fixture, and a private Redis.
type liveWorld struct {
	binary      string
	databaseURL string
	pool        *pgxpool.Pool
	redis       *harness.Redis
	// serverEnv are settings added to the environment of the servers it starts.
	serverEnv []string
}

func newLiveWorld(t *testing.T, binary string) *liveWorld {
	t.Helper()
	databaseURL := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), fixtureSQL); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	return &liveWorld{binary: binary, databaseURL: databaseURL, pool: pool, redis: startRedis(t)}
}

// insertEmail commits one email to serviceA created now, in the given status, as any
// writer could: plain SQL, not through notifyql.
func (w *liveWorld) insertEmail(t *testing.T, status string) {
	t.Helper()
	_, err := w.pool.Exec(context.Background(), `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', $2, $3)`,
		serviceA, status, time.Now().UTC())
	if err != nil {
		t.Fatalf("insert a notification: %v", err)
	}
}

// relayBackendPID is the PostgreSQL backend holding the relay election's lock in this
// world's database, or 0 when none does.
func (w *liveWorld) relayBackendPID(t *testing.T) int {
	t.Helper()
	var pids []int32
	rows, err := w.pool.Query(context.Background(), `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND classid::int8 = $1 AND objid::int8 = $2 AND objsubid = 1`,
		changeRelayLockKey>>32, changeRelayLockKey&0xffff_ffff)
	if err != nil {
		t.Fatalf("find the relay's backend: %v", err)
	}
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(pids) == 0 {
		return 0
	}
	return int(pids[0])
}

// holdRelayLockAfterKillingRelay terminates the relay's backend and takes the relay lock
// before any instance can, returning the connection that holds it. It queues for the lock
// first: PostgreSQL grants a released lock to a waiter before a newcomer's try, so the
// relay, reconnecting at once, cannot win it back.
func (w *liveWorld) holdRelayLockAfterKillingRelay(t *testing.T) *pgxpool.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	relayPID := w.relayBackendPID(t)
	if relayPID == 0 {
		conn.Release()
		t.Fatal("no backend holds the relay lock")
	}
	waiterPID := conn.Conn().PgConn().PID()
	locked := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, changeRelayLockKey)
		locked <- err
	}()
	// Wait until the lock call queues behind the relay, or was granted at once because the
	// relay had just let go of the lock.
	for waiting := false; !waiting; {
		select {
		case err := <-locked:
			locked <- err
			waiting = true
			continue
		case <-time.After(10 * time.Millisecond):
		}
		if err := w.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND NOT granted)`, waiterPID).Scan(&waiting); err != nil {
			t.Fatalf("see the test queue for the relay lock: %v", err)
		}
	}
	if _, err := w.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, relayPID); err != nil {
		t.Fatalf("terminate the relay's backend %d: %v", relayPID, err)
	}
	if err := <-locked; err != nil {
		conn.Release()
		t.Fatalf("take the relay lock: %v", err)
	}
	return conn
}

// serverProcess is one `notifyql serve` process, named for the test's messages.
type serverProcess struct {
	*harness.Server
	name string
	url  string // http://host:port/graphql
	// metricsURL is its GET /metrics, on a port of its own as production serves it.
	metricsURL string
}

// startServer runs `notifyql serve` against the world (harness.StartServer) and returns
// once it serves. The test's cleanup stops it.
func (w *liveWorld) startServer(t *testing.T, name string) *serverProcess {
	t.Helper()
	env := append([]string{
		"DATABASE_URL=" + w.databaseURL,
		"REDIS_URL=" + w.redis.URL,
		"NOTIFYQL_JWT_SECRET=" + testSecret,
		"NOTIFYQL_SEARCH_SECRET=" + testSearchSecret,
		"NOTIFYQL_ENV=development",
		"NOTIFYQL_DATA_DIR=" + t.TempDir(),
	}, w.serverEnv...)
	srv, err := harness.StartServer(context.Background(), w.binary, filepath.Join(t.TempDir(), name+".log"), env)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	s := &serverProcess{Server: srv, name: name, url: srv.URL, metricsURL: srv.MetricsURL}
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("%s log:\n%s", s.name, s.Log())
		}
	})
	return s
}

func (s *serverProcess) wsURL() string { return "ws" + strings.TrimPrefix(s.url, "http") }

// port is the TCP port the server listens on.
func (s *serverProcess) port(t *testing.T) int {
	t.Helper()
	return portOf(t, strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/graphql"))
}

// stop sends SIGTERM, as an orchestrator does, and fails the test unless the server exits
// cleanly.
func (s *serverProcess) stop(t *testing.T) {
	t.Helper()
	if ended, _ := s.Exited(); ended {
		return
	}
	s.Stop()
	if _, err := s.Exited(); err != nil {
		t.Errorf("%s exited with %v after SIGTERM:\n%s", s.name, err, s.LogTail(4000))
	}
}

// isRelay reports whether the server's log says it is the change relay now: the last of
// its election messages says it was elected or listens again.
func (s *serverProcess) isRelay() bool {
	relay := false
	scanner := bufio.NewScanner(strings.NewReader(s.Log()))
	scanner.Buffer(nil, 1<<20)
	for scanner.Scan() {
		var line struct{ Msg string }
		if json.Unmarshal(scanner.Bytes(), &line) != nil {
			continue
		}
		switch line.Msg {
		case "elected change relay", "change relay listening again after a lost connection":
			relay = true
		case "change relay moved to another instance", "change listener lost its connection; reconnecting":
			relay = false
		}
	}
	return relay
}

// awaitOneRelay waits until exactly one of the servers says it is the relay and a backend
// holds the election lock, and returns that server.
func (w *liveWorld) awaitOneRelay(t *testing.T, within time.Duration, servers ...*serverProcess) *serverProcess {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var relays []*serverProcess
		for _, s := range servers {
			if s.isRelay() {
				relays = append(relays, s)
			}
		}
		if len(relays) == 1 && w.relayBackendPID(t) != 0 {
			return relays[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one relay among %d servers within %s, have %d", len(servers), within, len(relays))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// query asks the server a GraphQL query as userID and returns its data, failing on any
// error.
func (s *serverProcess) query(t *testing.T, userID, query string, variables map[string]any) map[string]any {
	t.Helper()
	a := s.post(t, userID, query, variables)
	if a.status != http.StatusOK || len(a.Errors) > 0 {
		t.Fatalf("query %s: status %d, errors %+v", s.name, a.status, a.Errors)
	}
	return a.Data
}

// httpAnswer is a server's answer to a GraphQL request over HTTP.
type httpAnswer struct {
	status int
	Data   map[string]any
	Errors []gqlError
}

// codes are the extensions.code of the answer's errors.
func (a httpAnswer) codes() []string { return errorCodes(a.Errors) }

// post sends a GraphQL request to the server as userID and returns its answer, failing
// when there is none.
func (s *serverProcess) post(t *testing.T, userID, query string, variables map[string]any) httpAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if userID != "" { // "" asks without a token
		req.Header.Set("Authorization", "Bearer "+tokenFor(t, userID))
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("post to %s: %v", s.name, err)
	}
	defer res.Body.Close()
	a := httpAnswer{status: res.StatusCode}
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatalf("post to %s: %v", s.name, err)
	}
	return a
}

// errorCodes lists the errors' extensions.code.
func errorCodes(errs []gqlError) []string {
	var codes []string
	for _, e := range errs {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return codes
}

// liveFollower keeps reading one subscription's stream and holds its latest snapshot, so
// that a test can look at it at any time without ever leaving the socket unread.
type liveFollower struct {
	name string
	// field is the subscription field whose value the snapshots hold.
	field string

	mu      sync.Mutex
	latest  any
	updates int
	ended   bool
	failure string
}

func follow(name, field string, stream <-chan map[string]any) *liveFollower {
	f := &liveFollower{name: name, field: field}
	go func() {
		for data := range stream {
			f.mu.Lock()
			if errs, bad := data["errors"]; bad && f.failure == "" {
				f.failure = fmt.Sprint(errs)
			} else {
				f.latest = data[field]
				f.updates++
			}
			f.mu.Unlock()
		}
		f.mu.Lock()
		f.ended = true
		f.mu.Unlock()
	}()
	return f
}

// state returns the latest snapshot, how many arrived, and whether the stream ended.
func (f *liveFollower) state() (latest any, updates int, ended bool, failure string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest, f.updates, f.ended, f.failure
}

// awaitConvergence waits until every follower's latest snapshot equals truth's answer (a
// fresh query, so the database's state), within the bound, and returns how long it took.
// The followers' streams must stay open throughout: converging means no reconnect.
func awaitConvergence(t *testing.T, within time.Duration, truth func() map[string]any, followers ...*liveFollower) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		want := truth()
		var diffs []string
		for _, f := range followers {
			latest, _, ended, failure := f.state()
			if ended || failure != "" {
				t.Fatalf("%s: the subscription ended (%s); it should have stayed open", f.name, failure)
			}
			if diff := cmp.Diff(want[f.field], latest); diff != "" {
				diffs = append(diffs, fmt.Sprintf("%s (-database +subscription):\n%s", f.name, diff))
			}
		}
		if len(diffs) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("subscribers did not converge on the database within %s:\n%s", within, strings.Join(diffs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vmRSS is a process's resident set size in bytes, from /proc.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	rss := harness.VmRSS(pid)
	if rss == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return rss
}

// tcpState is the kernel's state of the TCP socket from localPort to remotePort on
// 127.0.0.1 ("01" established, "05" FIN_WAIT1 ...), or "" when there is none.
func tcpState(t *testing.T, localPort, remotePort int) string {
	t.Helper()
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatalf("read /proc/net/tcp: %v", err)
	}
	local := fmt.Sprintf("0100007F:%04X", localPort)
	remote := fmt.Sprintf("0100007F:%04X", remotePort)
	for line := range strings.Lines(string(table)) {
		fields := strings.Fields(line)
		if len(fields) > 3 && fields[1] == local && fields[2] == remote {
			return fields[3]
		}
	}
	return ""
}

// smallReceiveBuffer makes a dialled socket's receive buffer as small as the kernel
// allows, so that a client that stops reading fills it in moments instead of megabytes.
func smallReceiveBuffer(_, _ string, raw syscall.RawConn) error {
	var setErr error
	err := raw.Control(func(fd uintptr) {
		setErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return setErr
}
