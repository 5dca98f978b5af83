//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"notifyql/server"
)

// The downloads' limits (issue 15, item 4): a client that never reads its file must not keep
// a download's goroutine, memory or database connection for long, nor one user more than a
// few downloads at once, nor may downloads escape the rate limits. The attack is a client
// that sends a download request and then never reads: a TCP connection whose receive
// buffer is as small as the kernel allows (smallReceiveBuffer), so that the server's writes
// stall within the file's first batches.

// stallRows is how many rows each file of the stalled downloads has: far more than the
// kernel's buffers at both ends of a connection take, so that the server stalls long before
// the end of the file.
const stallRows = 20_000

// downloadFiles are the three downloads' paths for service A, each stallRows rows long.
type downloadFiles struct{ notifications, inbox, report string }

func (f downloadFiles) all() []string { return []string{f.notifications, f.inbox, f.report} }

// fillDownloads gives service A stallRows emails in the bench profile's mix, stallRows received
// texts, and a stored report of the emails requested by userManager.
func fillDownloads(t *testing.T, api *downloadAPI) downloadFiles {
	t.Helper()
	mustInsertBenchEmails(t, api.testAPI, stallRows)
	mustExecTB(t, api.testAPI, `
		INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at)
		SELECT $1, '07700900500', '4477009' || lpad((i % 100000)::text, 5, '0'),
		       'Thanks, I will be there on the ' || (i % 28 + 1) || 'th. Reply ' || i, 'mmg',
		       timestamp '2026-07-14 10:00' - i * interval '1 second'
		  FROM generate_series(1, $2::int) AS i`, serviceA, stallRows)
	resp := requestReport(t, api.testAPI, userManager, serviceA, "EMAIL", "ALL")
	id, ok := resp.at("requestReport", "reportRequest", "id").(string)
	if !ok {
		t.Fatalf("request a report: %s", resp.body)
	}
	buildReports(t, api.testAPI)
	return downloadFiles{
		notifications: csvPath(serviceA, "message_type=email"),
		inbox:         inboxCSVPath(serviceA),
		report:        "/report-requests/" + id + ".csv",
	}
}

// stalledDownload is a download whose client read the status line and headers and then
// stopped reading.
type stalledDownload struct {
	status int
	body   string // read only when the answer is not 200
	conn   net.Conn
}

// smallSendBuffers is a loopback listener whose connections' send buffers are as small as
// the kernel allows (accepted sockets inherit the listener's): a client that stops reading
// then stalls the server's writes within a few kilobytes, instead of after the megabytes
// that the kernel would otherwise buffer for it on loopback, so the files need not be huge.
func smallSendBuffers(t testing.TB) net.Listener {
	t.Helper()
	config := net.ListenConfig{Control: func(_, _ string, raw syscall.RawConn) error {
		var setErr error
		if err := raw.Control(func(fd uintptr) {
			setErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)
		}); err != nil {
			return err
		}
		return setErr
	}}
	listener, err := config.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return listener
}

// startStalledDownload sends GET path as tok over a connection with a small receive
// buffer, reads the answer's status and headers (and the body of a refusal) and reads
// nothing more. The test's cleanup closes the connection.
func (a *downloadAPI) startStalledDownload(t testing.TB, tok, path string) stalledDownload {
	t.Helper()
	conn, err := (&net.Dialer{Control: smallReceiveBuffer}).Dial("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: notifyql.test\r\nAuthorization: Bearer %s\r\n\r\n", path, tok); err != nil {
		t.Fatal(err)
	}
	// An answer that never comes (a download waiting for a connection that stalled
	// downloads hold) fails the test instead of hanging it.
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The smallest reader bufio allows: the client takes next to nothing of the file.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 16), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	d := stalledDownload{status: resp.StatusCode, conn: conn}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		d.body = string(body)
	}
	return d
}

// stallAll starts a stalled download of each path as tok, failing unless every one is
// admitted, and returns their connections.
func (a *downloadAPI) stallAll(t testing.TB, tok string, paths ...string) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for _, path := range paths {
		d := a.startStalledDownload(t, tok, path)
		if d.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, d.status, d.body)
		}
		conns = append(conns, d.conn)
	}
	return conns
}

// stalledServerWrites counts the HTTP server's goroutines parked until their connection
// can take more: the responses whose clients have stopped reading. A goroutine's stack is
// the only place where "blocked in a write" can be seen from outside.
func stalledServerWrites() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stalled := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "net/http.(*conn).serve") && strings.Contains(g, "internal/poll.(*pollDesc).waitWrite") {
			stalled++
		}
	}
	return stalled
}

// waitUntil polls ok until it holds, failing the test when it still does not after
// within: a bound on waiting for an event, not a measure of speed.
func waitUntil(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not after %s", what, within)
		}
	}
}

// getWhole downloads path as tok over a fresh connection and returns the status and the
// number of CSV lines, header included (or the body of a refusal).
func (a *downloadAPI) getWhole(t testing.TB, tok, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Close = true
	// A download that never ends fails the test instead of hanging it.
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(body)
	}
	return resp.StatusCode, fmt.Sprintf("%d lines", strings.Count(string(body), "\r\n"))
}

// A user may have 3 downloads in progress at once, whichever routes they use: the fourth
// answers 429 RATE_LIMITED on every route, and another user is not held back.
func TestDownloadsPerUserCap(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{listener: smallSendBuffers(t)})
	files := fillDownloads(t, api)
	manager := tokenFor(t, userManager)
	api.stallAll(t, manager, files.all()...)
	waitUntil(t, 30*time.Second, "three stalled downloads", func() bool { return stalledServerWrites() == 3 })

	for _, path := range files.all() {
		d := api.startStalledDownload(t, manager, path)
		want := "too many downloads at once: you may have 3 in progress; wait for one to finish, then try again"
		if d.status != http.StatusTooManyRequests || !strings.Contains(d.body, `"code":"RATE_LIMITED"`) || !strings.Contains(d.body, want) {
			t.Errorf("a fourth download, of %s: %d %s, want 429 RATE_LIMITED %q", path, d.status, d.body, want)
		}
	}
	// The viewer may download the notifications and the inbox (the report is the manager's):
	// every row of the bench mix, and the fixture's 3 texts.
	for path, lines := range map[string]int{files.notifications: 1 + stallRows, files.inbox: 1 + stallRows + 3} {
		if status, got := api.getWhole(t, tokenFor(t, userViewer), path); status != http.StatusOK || got != fmt.Sprintf("%d lines", lines) {
			t.Errorf("another user's download of %s: %d %s, want %d lines", path, status, got, lines)
		}
	}
}

// While downloads wait on clients that never read, they hold no database connection: the
// API's pool, of two connections here, has none acquired with three downloads stalled, and
// still answers queries.
func TestStalledDownloadsHoldNoConnection(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{listener: smallSendBuffers(t), api: testAPIOptions{maxConns: 2, limits: server.Limits{RequestTimeout: 10 * time.Second}}})
	files := fillDownloads(t, api)
	manager := tokenFor(t, userManager)
	api.stallAll(t, manager, files.all()...)
	waitUntil(t, 30*time.Second, "three stalled downloads", func() bool { return stalledServerWrites() == 3 })
	if stat := api.pool.Stat(); stat.AcquiredConns() != 0 {
		t.Errorf("with 3 downloads stalled, %d of the pool's %d connections are acquired", stat.AcquiredConns(), stat.MaxConns())
	}
	viewer := tokenFor(t, userViewer)
	if resp := api.post(t, viewer, `{ me { id } }`, nil); resp.at("me", "id") != userViewer {
		t.Errorf("a query while the downloads are stalled: %s", resp.body)
	}
	if status, got := api.getWhole(t, viewer, files.inbox); status != http.StatusOK {
		t.Errorf("a download while the others are stalled: %d %s", status, got)
	}
}

// After the write timeout, downloads whose clients stopped reading are dropped: their
// places are free again (the user's next downloads are admitted) and the server's
// goroutines are back to what they were before.
func TestStalledDownloadsAreDropped(t *testing.T) {
	logs := &syncBuffer{}
	api := newDownloadAPI(t, downloadOptions{listener: smallSendBuffers(t), logs: logs, api: testAPIOptions{downloadLimits: server.DownloadLimits{WriteTimeout: time.Second}}})
	files := fillDownloads(t, api)
	manager := tokenFor(t, userManager)
	// A first download of each file warms the server up (its pool, its buffers), so that
	// what it holds afterwards is what it holds at rest.
	for _, path := range files.all() {
		if status, got := api.getWhole(t, manager, path); status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, got)
		}
	}
	before := runtime.NumGoroutine()

	api.stallAll(t, manager, files.all()...)
	waitUntil(t, 30*time.Second, "the stalled downloads dropped", func() bool {
		return strings.Count(logs.String(), "dropped: the client went away or stopped reading") == 3
	})
	for _, path := range files.all() {
		if status, got := api.getWhole(t, manager, path); status != http.StatusOK {
			t.Errorf("a download after the stalled ones were dropped, of %s: %d %s", path, status, got)
		}
	}
	waitUntil(t, 30*time.Second, fmt.Sprintf("goroutines back to the %d before the stalled downloads", before), func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// downloadFrom sends GET path as tok from the client address remoteAddr and returns the
// recorded answer.
func (a *downloadAPI) downloadFrom(t *testing.T, remoteAddr, tok, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remoteAddr
	return a.serveAs(req, tok)
}

// Downloads count against the same allowances as POST /graphql: each address's before the
// caller is authenticated, each user's after.
func TestDownloadsAreRateLimited(t *testing.T) {
	t.Run("per user", func(t *testing.T) {
		// 10 a minute in bursts of 1: the second request within 6 s is refused.
		api := newDownloadAPI(t, downloadOptions{api: testAPIOptions{rateLimits: server.RateLimits{PerUser: 10},
			rateLimitNamespace: rateLimitNamespace(t)}})
		files := fillDownloads(t, api)
		// The manager has used their allowance to request the report: the viewer downloads.
		viewer := tokenFor(t, userViewer)
		wantAnswered(t, "the viewer's first download", api.downloadFrom(t, "192.0.2.1:1000", viewer, files.notifications))
		for _, path := range files.all() {
			wantRateLimited(t, "the viewer's next download, of "+path, api.downloadFrom(t, "192.0.2.2:1000", viewer, path), "6")
		}
		wantRateLimited(t, "the viewer's query after the download", api.postFrom(t, "192.0.2.2:1000", viewer), "6")
		wantAnswered(t, "another user's download", api.downloadFrom(t, "192.0.2.1:1000", tokenFor(t, userAdmin), files.inbox))
	})
	t.Run("per address", func(t *testing.T) {
		// 20 a minute in bursts of 2.
		api := newDownloadAPI(t, downloadOptions{api: testAPIOptions{rateLimits: server.RateLimits{PerIP: 20},
			rateLimitNamespace: rateLimitNamespace(t)}})
		path := csvPath(serviceA, "message_type=email")
		if rec := api.downloadFrom(t, "198.51.100.7:1000", "not-a-token", path); rec.Code != http.StatusUnauthorized {
			t.Errorf("a download with a bad token: %d %s", rec.Code, rec.Body.String())
		}
		wantAnswered(t, "a download with a token", api.downloadFrom(t, "198.51.100.7:2000", tokenFor(t, userManager), path))
		wantRateLimited(t, "the third download from the address, with a bad token", api.downloadFrom(t, "198.51.100.7:3000", "not-a-token", path), "3")
		wantRateLimited(t, "the fourth, a signed link", api.downloadFrom(t, "198.51.100.7:3000", "", api.csvURLFor(t, userViewer, serviceA, "EMAIL", nil)), "3")
		wantAnswered(t, "another address", api.downloadFrom(t, "198.51.100.8:1000", tokenFor(t, userManager), path))
	})
}

// stalledPerOp is how many downloads BenchmarkStalledDownloads stalls at once.
const stalledPerOp = 20

// BenchmarkStalledDownloads measures what downloads whose clients never read hold on the
// server: each op starts stalledPerOp notifications CSV downloads of a stallRows-row file in
// the bench profile's mix (one user, allowed that many at once) from clients that never
// read, waits until every one is stalled in a write, and reads the live heap after a
// collection. It reports the heap above what it was before, per stalled download, and the
// database connections acquired meanwhile; then it closes the clients and waits until
// the server is back at rest.
//
//	go test -run '^$' -bench StalledDownloads -benchtime 5x ./cmd/notifyql
func BenchmarkStalledDownloads(b *testing.B) {
	api := newDownloadAPI(b, downloadOptions{listener: smallSendBuffers(b), logLevel: slog.LevelWarn,
		api: testAPIOptions{downloadLimits: server.DownloadLimits{MaxPerUser: stalledPerOp}}})
	mustInsertBenchEmails(b, api.testAPI, stallRows)
	path := csvPath(serviceA, "message_type=email")
	tok, err := server.MintToken([]byte(testSecret), userManager, time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if status, got := api.getWhole(b, tok, path); status != http.StatusOK || got != fmt.Sprintf("%d lines", 1+stallRows) {
		b.Fatalf("GET %s: %d %s", path, status, got)
	}
	var heldPerDownload, acquired float64
	for b.Loop() {
		runtime.GC()
		var before, stalled runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		conns := api.stallAll(b, tok, slices.Repeat([]string{path}, stalledPerOp)...)
		waitUntil(b, time.Minute, "the downloads stalled", func() bool { return stalledServerWrites() == stalledPerOp })
		acquired = max(acquired, float64(api.pool.Stat().AcquiredConns()))
		runtime.GC()
		runtime.ReadMemStats(&stalled)
		heldPerDownload = max(heldPerDownload, (float64(stalled.HeapAlloc)-float64(before.HeapAlloc))/stalledPerOp)
		for _, conn := range conns {
			_ = conn.Close()
		}
		waitUntil(b, time.Minute, "the server at rest", func() bool { return runtime.NumGoroutine() <= goroutines })
	}
	b.ReportMetric(heldPerDownload/1024, "heap-KiB/stalled-download")
	b.ReportMetric(acquired, "acquired-conns")
}
