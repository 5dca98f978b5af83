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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

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
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build notifyql: %v", err)
	}
	moduleRoot, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("find the module root: %v", err)
	}
	binary := filepath.Join(t.TempDir(), "notifyql")
	build := exec.Command(goTool, "build", "-o", binary, "./cmd/notifyql")
	build.Dir = strings.TrimSpace(string(moduleRoot))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return binary
}

// redisProcess is a private redis-server the test may stop and start again on the same
// port. It keeps nothing across a restart (no RDB, no AOF), as a crashed Redis would not.
type redisProcess struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts a private redis-server on a free port; the test's cleanup stops it.
func startRedis(t *testing.T) *redisProcess {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is needed: %v", err)
	}
	r := &redisProcess{t: t, port: freeAddrPort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(func() {
		if r.cmd != nil {
			r.stop()
		}
	})
	return r
}

func (r *redisProcess) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs redis-server and waits until it answers PING.
func (r *redisProcess) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--loglevel", "warning")
	var output syncBuffer
	r.cmd.Stdout, r.cmd.Stderr = &output, &output
	r.cmd.SysProcAttr = dieWithTest()
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(r.cmd, r.done)
	client := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer client.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if client.Ping(context.Background()).Err() == nil {
			return
		}
		select {
		case <-r.done:
			r.t.Fatalf("redis-server exited at start:\n%s", output.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not answer within 10 s:\n%s", output.String())
		}
	}
}

// stop ends redis-server with SIGTERM and waits for it to exit.
func (r *redisProcess) stop() {
	r.t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// dieWithTest has the kernel kill a started process if the test binary dies without
// running its cleanups (a -timeout panic), so that no server or Redis outlives it.
func dieWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// liveWorld is what the instances share: a database with the fixture, and a private Redis.
type liveWorld struct {
	binary      string
	databaseURL string
	pool        *pgxpool.Pool
	redis       *redisProcess
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

// serverProcess is one `notifyql serve` process.
type serverProcess struct {
	name string
	cmd  *exec.Cmd
	url  string // http://host:port/graphql
	// metricsURL is its GET /metrics, on a port of its own as production serves it.
	metricsURL string
	stderr     *syncBuffer
	done       chan struct{}
	exit       error
}

// startServer runs `notifyql serve --addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0` against
// the world and waits for the URLs it prints. The test's cleanup stops it.
func (w *liveWorld) startServer(t *testing.T, name string) *serverProcess {
	t.Helper()
	s := &serverProcess{name: name, stderr: &syncBuffer{}, done: make(chan struct{})}
	var stdout syncBuffer
	s.cmd = exec.Command(w.binary, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + w.databaseURL,
		"REDIS_URL=" + w.redis.URL(),
		"NOTIFYQL_JWT_SECRET=" + testSecret,
		"NOTIFYQL_SEARCH_SECRET=" + testSearchSecret,
		"NOTIFYQL_ENV=development",
		"NOTIFYQL_DATA_DIR=" + t.TempDir(),
		// The user's cache folder keeps PDFium's compiled module between servers.
		"HOME=" + os.Getenv("HOME"),
	}
	s.cmd.Env = append(s.cmd.Env, w.serverEnv...)
	s.cmd.Stdout, s.cmd.Stderr = &stdout, s.stderr
	s.cmd.SysProcAttr = dieWithTest()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		s.exit = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("%s stderr:\n%s", s.name, s.stderr.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// A server is started once its PDF reader is ready too: compiling PDFium's module
		// in the background after start-up takes memory and CPU that a measurement of the
		// server's own work would otherwise count.
		if url, metricsURL, ok := servedURLs(stdout.String()); ok && strings.Contains(s.stderr.String(), `"msg":"PDF reader`) {
			s.url, s.metricsURL = url, metricsURL
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited at start: %v\n%s", name, s.exit, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s printed no URL, or its PDF reader was not ready, within 60 s:\n%s", name, s.stderr.String())
		}
	}
}

func (s *serverProcess) wsURL() string { return "ws" + strings.TrimPrefix(s.url, "http") }

// port is the TCP port the server listens on.
func (s *serverProcess) port(t *testing.T) int {
	t.Helper()
	return portOf(t, strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/graphql"))
}

// stop sends SIGTERM, as an orchestrator does, and waits for a clean exit.
func (s *serverProcess) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.exit != nil {
			t.Errorf("%s exited with %v after SIGTERM:\n%s", s.name, s.exit, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("%s did not stop within 30 s of SIGTERM", s.name)
	}
}

// isRelay reports whether the server's log says it is the change relay now: the last of
// its election messages says it was elected or listens again.
func (s *serverProcess) isRelay() bool {
	relay := false
	scanner := bufio.NewScanner(strings.NewReader(s.stderr.String()))
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
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the server's memory: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("read VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
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
