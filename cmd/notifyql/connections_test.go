package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The attacks on serve's connections, each reproduced against serve as production wires
// it, with short timeouts configured: idle keep-alives that pile up until accepting fails,
// a body trickled in to hold a connection, and one address opening connection after
// connection. The deadlines must not cut what legitimately takes long: a WebSocket, a
// download read slowly, an operation that waits on the database.

// connectionTestWait bounds each wait for the server to act: far above the timeouts the
// tests configure (1 s), so that a slow machine does not fail them, and short enough that
// a server which never acts fails the test rather than hanging it.
const connectionTestWait = 30 * time.Second

// hostOf is the host:port of a served URL.
func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	host, _, ok := strings.Cut(strings.TrimPrefix(rawURL, "http://"), "/")
	if !ok {
		t.Fatalf("no host in %q", rawURL)
	}
	return host
}

// dialFrom opens a TCP connection to addr from the local address from (a loopback address
// such as 127.0.0.2: the server sees each as another client).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rawExchange writes request on conn and reads the response, within connectionTestWait.
func rawExchange(t *testing.T, conn net.Conn, reader *bufio.Reader, request string) (*http.Response, string, error) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(connectionTestWait))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, request); err != nil {
		return nil, "", err
	}
	res, err := http.ReadResponse(reader, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body), err
}

// healthRequest is a keep-alive GET /healthz.
const healthRequest = "GET /healthz HTTP/1.1\r\nHost: notifyql.test\r\n\r\n"

// onlyErrorCode is the extensions.code of a JSON errors body's only error.
func onlyErrorCode(body string) string {
	var answer struct {
		Errors []struct {
			Extensions struct{ Code string }
		}
	}
	if json.Unmarshal([]byte(body), &answer) != nil || len(answer.Errors) != 1 {
		return ""
	}
	return answer.Errors[0].Extensions.Code
}

// waitForClose waits for the server to close conn: a read ends in EOF (or a reset). It
// fails the test when conn is still open after connectionTestWait, or sends more.
func waitForClose(t *testing.T, conn net.Conn, reader *bufio.Reader, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(connectionTestWait))
	n, err := reader.Read(make([]byte, 1))
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		t.Fatalf("%s: the server kept the connection open for %s", what, connectionTestWait)
	case err == nil:
		t.Fatalf("%s: the server sent %d more bytes instead of closing", what, n)
	case !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET):
		t.Fatalf("%s: read: %v", what, err)
	}
}

// A keep-alive connection that sends nothing after its request is closed once it has
// idled for NOTIFYQL_IDLE_TIMEOUT: 22,000 of them, held for good, exhausted the server's
// file descriptors.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_IDLE_TIMEOUT": "1s"})
	conn := dialFrom(t, "127.0.0.1", hostOf(t, api.url))
	reader := bufio.NewReader(conn)
	res, _, err := rawExchange(t, conn, reader, healthRequest)
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	if res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("GET /healthz: status %d, close %v; want 200 on a connection kept alive", res.StatusCode, res.Close)
	}
	waitForClose(t, conn, reader, "an idle keep-alive")
}

// A body trickled in a byte at a time is cut at NOTIFYQL_BODY_TIMEOUT, counted from the
// request's first byte: the client is told 408 BODY_TIMEOUT and the connection is closed.
// The server held such a body for as long as it kept coming.
func TestSlowBodyIsCut(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_BODY_TIMEOUT": "1s"})
	conn := dialFrom(t, "127.0.0.1", hostOf(t, api.url))
	reader := bufio.NewReader(conn)
	// 400 bytes at one every 250 ms would take 100 s to arrive.
	body := `{"query": "{ __typename }"}` + strings.Repeat(" ", 400-27)
	head := "POST /graphql HTTP/1.1\r\nHost: notifyql.test\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		ticker := time.NewTicker(250 * time.Millisecond)
		defer ticker.Stop()
		for i := 0; i < len(body); i++ {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	defer func() { stop(); <-trickled }()

	_ = conn.SetReadDeadline(time.Now().Add(connectionTestWait))
	res, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatalf("no answer to a slow body within %s: %v", connectionTestWait, err)
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || onlyErrorCode(string(answer)) != "BODY_TIMEOUT" || !res.Close {
		t.Fatalf("a slow body: status %d, close %v, body %s; want 408 BODY_TIMEOUT and the connection closed", res.StatusCode, res.Close, answer)
	}
	waitForClose(t, conn, reader, "after a slow body")
}

// One address may hold NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS connections: one more is
// answered 429 TOO_MANY_CONNECTIONS and closed at once, while another address still gets
// in, and a closed connection makes room again. A trusted proxy, whose connections carry
// many clients, has NOTIFYQL_MAX_CONNECTIONS_PER_PROXY.
func TestConnectionsPerAddressAreBounded(t *testing.T) {
	api := startServe(t, map[string]string{
		"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS": "3",
		"NOTIFYQL_MAX_CONNECTIONS_PER_PROXY":   "5",
		"NOTIFYQL_TRUSTED_PROXIES":             "127.0.0.3",
	})
	addr := hostOf(t, api.url)
	// open opens a connection from from and sends a request on it: it answers 200 when the
	// connection was admitted, 429 when it was refused.
	open := func(from string) (net.Conn, *http.Response, string) {
		t.Helper()
		conn := dialFrom(t, from, addr)
		res, body, err := rawExchange(t, conn, bufio.NewReader(conn), healthRequest)
		if err != nil {
			t.Fatalf("GET /healthz from %s: %v", from, err)
		}
		return conn, res, body
	}
	admitted := func(from string, n int) []net.Conn {
		t.Helper()
		var conns []net.Conn
		for i := range n {
			conn, res, body := open(from)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("connection %d from %s: status %d %s, want 200", i+1, from, res.StatusCode, body)
			}
			conns = append(conns, conn)
		}
		return conns
	}
	refused := func(from string) {
		t.Helper()
		conn, res, body := open(from)
		if res.StatusCode != http.StatusTooManyRequests || onlyErrorCode(body) != "TOO_MANY_CONNECTIONS" || !res.Close {
			t.Fatalf("a connection past the bound from %s: status %d, close %v, body %s; want 429 TOO_MANY_CONNECTIONS, closed",
				from, res.StatusCode, res.Close, body)
		}
		waitForClose(t, conn, bufio.NewReader(conn), "a refused connection")
	}

	held := admitted("127.0.0.1", 3)
	refused("127.0.0.1")
	admitted("127.0.0.2", 1)
	admitted("127.0.0.3", 5)
	refused("127.0.0.3")

	// The server counts a connection until it has closed its side too, which it does once
	// it reads the client's close: room comes back within a moment.
	held[0].Close()
	deadline := time.Now().Add(connectionTestWait)
	for {
		conn, res, _ := open("127.0.0.1")
		if res.StatusCode == http.StatusOK {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("a connection from 127.0.0.1 is still refused %s after one of its three closed", connectionTestWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serve raises its open file limit to the hard limit at start-up, and logs both: a limit
// left low is the first thing idle connections exhaust.
func TestServeRaisesTheOpenFileLimit(t *testing.T) {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	if limit.Max < 64 {
		t.Skipf("the hard limit on open files is %d", limit.Max)
	}
	// serve runs in this process: lower its soft limit a little, as a system's default
	// would, for serve to raise. The cleanup restores it.
	lowered := limit
	lowered.Cur = limit.Max - 32
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit) })
	api := startServe(t, nil)
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur != limit.Max {
		t.Errorf("soft limit on open files after serve started: %d, want the hard limit %d", now.Cur, limit.Max)
	}
	var logged struct {
		Msg        string
		Soft, Hard uint64
		SoftBefore uint64 `json:"soft_before"`
	}
	for line := range strings.Lines(api.stderr.String()) {
		if strings.Contains(line, `"msg":"open file limit"`) {
			if err := json.Unmarshal([]byte(line), &logged); err != nil {
				t.Fatal(err)
			}
		}
	}
	if logged.Msg == "" || logged.Soft != limit.Max || logged.Hard != limit.Max || logged.SoftBefore != lowered.Cur {
		t.Errorf("logged open file limit: %+v; want soft %d, hard %d, soft before %d\n%s",
			logged, limit.Max, limit.Max, lowered.Cur, api.stderr.String())
	}
}

// The body deadline bounds sending a request, not answering it: with a 1 s deadline, a
// WebSocket (whose connection net/http hands over) keeps working long after, a download
// read slowly arrives whole, and an operation that waits on the database past the
// deadline is answered.
func TestBodyDeadlineSparesWebSocketsDownloadsAndSlowOperations(t *testing.T) {
	// Parallel, as it mostly waits out deadlines. It is the one parallel test that runs
	// serve: every serve keeps its allowances in the machine's Redis under the fixture's
	// user ids, so two side by side would spend each other's.
	t.Parallel()
	const past = 3 * time.Second // three body deadlines
	api := startServe(t, map[string]string{"NOTIFYQL_BODY_TIMEOUT": "1s"})
	ctx := context.Background()

	t.Run("websocket", func(t *testing.T) {
		wsURL := "ws" + strings.TrimPrefix(api.url, "http")
		conn := dialSignedIn(t, "graphql-transport-ws", wsURL, userViewer)
		time.Sleep(past)
		payload, _ := json.Marshal(map[string]any{"query": `{ me { id } }`})
		if err := conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
			t.Fatalf("subscribe %s after signing in: %v", past, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(connectionTestWait))
		var msg wsMessage
		if err := conn.ReadJSON(&msg); err != nil || msg.Type != "next" || !strings.Contains(string(msg.Payload), userViewer) {
			t.Fatalf("an operation %s after signing in: %+v, %v; want its answer", past, msg, err)
		}
	})

	t.Run("download", func(t *testing.T) {
		// Enough rows that the file outgrows every socket buffer between the server and a
		// client that has stopped reading (4 MiB each side at most): the server is still
		// writing it after the pause.
		const rows = 60_000
		if _, err := api.pool.Exec(ctx, `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
			SELECT $1, '7e000000-0000-0000-0000-000000000001', 2, 'email', address, address, 'normal', 'delivered', now() - interval '1 hour'
			FROM generate_series(1, $2) AS i, LATERAL (SELECT 'bulk' || i || repeat('x', 100) || '@example.org' AS address) AS a`, serviceA, rows); err != nil {
			t.Fatal(err)
		}
		res := openDownload(t, strings.TrimSuffix(api.url, "/graphql")+csvPath(serviceA, "message_type=email"), tokenFor(t, userManager))
		defer res.Body.Close()
		first := make([]byte, 1024)
		if _, err := io.ReadFull(res.Body, first); err != nil {
			t.Fatal(err)
		}
		time.Sleep(past)
		rest, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("the download broke off after %d bytes, read slowly: %v", len(first)+len(rest), err)
		}
		file := string(first) + string(rest)
		if len(file) < 8<<20 {
			t.Fatalf("the file has %d bytes: too few to outgrow the socket buffers, the test shows nothing", len(file))
		}
		if got := strings.Count(file, "bulk"); got < rows || !strings.HasSuffix(file, "\n") {
			t.Errorf("the file read slowly holds %d of the %d rows, ends %q", got, rows, file[len(file)-min(len(file), 40):])
		}
	})

	t.Run("slow operation", func(t *testing.T) {
		// The query's read of the notifications waits for the lock, held past the deadline.
		lock, answered := postBehindNotificationsLock(t, ctx, api)
		time.Sleep(past)
		if err := lock.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case answer := <-answered:
			if answer.err != nil {
				t.Fatalf("an operation that waited %s on the database: %v", past, answer.err)
			}
			answer.res.requireNoErrors(t)
		case <-time.After(connectionTestWait):
			t.Fatalf("no answer within %s of the lock's release", connectionTestWait)
		}
	})
}

// openDownload GETs url as token and returns the answer with its body unread, failing
// unless it is 200 OK; the caller closes the body.
func openDownload(tb testing.TB, url, token string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		tb.Fatalf("GET %s: status %d %s", url, res.StatusCode, body)
	}
	return res
}

// notificationsOfService reads a page of a service's notifications ($id), which waits for
// any lock on the notifications table.
const notificationsOfService = `query($id: ID!) { service(id: $id) { notifications(first: 1) { edges { node { id } } } } }`

// gqlAnswer is what postOverHTTP got.
type gqlAnswer struct {
	res gqlResponse
	err error
}

// postOverHTTP sends a GraphQL request to a served endpoint, from any goroutine; a token of
// "" sends no Authorization header.
func postOverHTTP(ctx context.Context, url, token, query string, variables map[string]any) gqlAnswer {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return gqlAnswer{err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return gqlAnswer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlAnswer{err: err}
	}
	defer res.Body.Close()
	text, err := io.ReadAll(res.Body)
	if err != nil {
		return gqlAnswer{err: err}
	}
	answer := gqlAnswer{res: gqlResponse{status: res.StatusCode, body: string(text)}}
	if err := json.Unmarshal(text, &answer.res); err != nil {
		answer.err = fmt.Errorf("status %d, not JSON: %s", res.StatusCode, text)
	}
	return answer
}

// lockNotifications locks the notifications table, as an administrator's tool might, in a
// transaction that holds the lock until it ends: the test's cleanup rolls it back at the
// latest.
func lockNotifications(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return tx
}

// postBehindNotificationsLock locks the notifications table (lockNotifications), sends
// notificationsOfService for service A as the manager with ctx, and returns once the
// operation waits for the lock: the lock's transaction, and where the answer will come.
func postBehindNotificationsLock(t *testing.T, ctx context.Context, api *servedAPI) (pgx.Tx, <-chan gqlAnswer) {
	t.Helper()
	tx := lockNotifications(t, api.pool)
	answered := make(chan gqlAnswer, 1)
	token := tokenFor(t, userManager)
	go func() {
		answered <- postOverHTTP(ctx, api.url, token, notificationsOfService, map[string]any{"id": serviceA})
	}()
	waitForNotificationsPage(t, api.pool)
	return tx, answered
}

// waitForNotificationsPage waits until the read of a page of notifications (what
// notificationsOfService runs) waits for a lock in the test's database; serve's chores,
// which read the table too, may be waiting beside it.
func waitForNotificationsPage(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(connectionTestWait)
	for {
		var waiting bool
		if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'
			AND query LIKE '%client_reference, key_type%FROM notifications%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page of notifications did not wait for the lock within %s", connectionTestWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
