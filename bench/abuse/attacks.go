package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"notifyql/internal/harness"
)

// attack is one way of abusing the server, run until its context ends; its summary says
// what it got.
type attack interface {
	name() string
	run(ctx context.Context)
	summary() string
}

func (a *abuse) attacks(tokens map[string]string) ([]attack, error) {
	u, _ := url.Parse(a.srv.URL)
	all := []attack{
		&idleKeepAlives{addr: u.Host, target: a.o.idleConns},
		&slowBodies{addr: u.Host, conns: 40},
		&stalledDownloads{addr: u.Host, token: tokens[downloaderEmail], path: downloadPath(a.world.downloadService), conns: 60},
		&subscriptionFlood{url: a.srv.URL, token: tokens[flooderEmail], serviceID: a.world.floodService},
		&pingFlood{url: a.srv.URL, token: tokens[pingerEmail], sockets: 4},
		&apqRegistrations{url: a.srv.URL, workers: 8},
		&hostileDocuments{url: a.srv.URL, workers: 2},
	}
	if a.o.only == nil {
		return all, nil
	}
	var chosen []attack
	for _, at := range all {
		if a.o.only[at.name()] {
			chosen = append(chosen, at)
			delete(a.o.only, at.name())
		}
	}
	for name := range a.o.only {
		return nil, fmt.Errorf("--attacks: no attack is named %q", name)
	}
	return chosen, nil
}

// counts is a set of named counters an attack keeps, printed in the order first counted.
type counts struct {
	mu    sync.Mutex
	names []string
	n     map[string]int64
}

func (c *counts) add(name string, delta int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	if _, ok := c.n[name]; !ok {
		c.names = append(c.names, name)
	}
	c.n[name] += delta
}

func (c *counts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]string, 0, len(c.names))
	for _, name := range c.names {
		parts = append(parts, fmt.Sprintf("%s %d", name, c.n[name]))
	}
	return strings.Join(parts, ", ")
}

// pause waits d or until ctx ends, reporting whether to go on.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// repeat runs once over and over on each of workers goroutines until ctx ends, and
// returns when they all have.
func repeat(ctx context.Context, workers int, once func(context.Context)) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				once(ctx)
			}
		}()
	}
	wg.Wait()
}

// raise sets v to n when n is larger, whoever else raises it meanwhile.
func raise(v *atomic.Int64, n int64) {
	for old := v.Load(); n > old && !v.CompareAndSwap(old, n); old = v.Load() {
	}
}

// statusOf reads the status line of an HTTP answer on r: its code, or 0 when the server
// closed the connection without one.
func statusOf(r *bufio.Reader) int {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0
	}
	var proto string
	var code int
	if _, err := fmt.Sscanf(line, "%s %d", &proto, &code); err != nil {
		return 0
	}
	return code
}

// idleAddresses is how many loopback addresses the idle connections come from: few enough
// that each tries to hold more than an address may (256 by default).
const idleAddresses = 10

// idleKeepAlives holds as many idle keep-alive connections as it can: each sends one GET
// /healthz and then nothing, from one of idleAddresses loopback addresses; a connection
// the server closes or refuses is opened again.
type idleKeepAlives struct {
	addr   string
	target int
	c      counts
	held   atomic.Int64
	peak   atomic.Int64
}

func (*idleKeepAlives) name() string { return "idle keep-alives" }

func (a *idleKeepAlives) run(ctx context.Context) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, a.target)
	for i := 0; ctx.Err() == nil; i++ {
		select {
		case <-ctx.Done():
		case slots <- struct{}{}:
			wg.Add(1)
			source := net.ParseIP(fmt.Sprintf("127.0.1.%d", 1+i%idleAddresses))
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				a.hold(ctx, source)
			}()
			if i%100 == 99 {
				pause(ctx, 10*time.Millisecond) // a hundred at a time, as a botnet ramps up
			}
		}
	}
	wg.Wait()
}

func (a *idleKeepAlives) hold(ctx context.Context, source net.IP) {
	dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: source}}
	conn, err := dialer.DialContext(ctx, "tcp", a.addr)
	if err != nil {
		a.c.add("dial failed", 1)
		pause(ctx, 100*time.Millisecond)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: abuse\r\n\r\n"); err != nil {
		a.c.add("closed before the request", 1)
		return
	}
	r := bufio.NewReader(conn)
	code := statusOf(r)
	if code != http.StatusOK {
		a.c.add(fmt.Sprintf("answered %d", code), 1)
		pause(ctx, 100*time.Millisecond)
		return
	}
	a.c.add("answered 200", 1)
	// Read the rest of the answer, then wait in silence for the server to close.
	raise(&a.peak, a.held.Add(1))
	_, _ = io.Copy(io.Discard, r)
	a.held.Add(-1)
	if ctx.Err() == nil {
		a.c.add("closed by the server when idle", 1)
	}
}

func (a *idleKeepAlives) summary() string {
	return fmt.Sprintf("%s; at most %d held at once", a.c.String(), a.peak.Load())
}

// slowBodies sends POSTs announcing a 64 KiB body and sending a byte of it every 5 s,
// reopening each one the server ends.
type slowBodies struct {
	addr    string
	conns   int
	c       counts
	longest atomic.Int64
}

func (*slowBodies) name() string { return "slow bodies" }

func (a *slowBodies) run(ctx context.Context) {
	repeat(ctx, a.conns, a.once)
}

func (a *slowBodies) once(ctx context.Context) {
	conn, err := net.DialTimeout("tcp", a.addr, 5*time.Second)
	if err != nil {
		a.c.add("dial failed", 1)
		pause(ctx, time.Second)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	started := time.Now()
	header := "POST /graphql HTTP/1.1\r\nHost: abuse\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{"
	if _, err := io.WriteString(conn, header); err != nil {
		return
	}
	answered := make(chan int, 1)
	go func() { answered <- statusOf(bufio.NewReader(conn)) }()
	for {
		select {
		case <-ctx.Done():
			a.c.add("still held at the end", 1)
			a.held(time.Since(started))
			return
		case code := <-answered:
			a.held(time.Since(started))
			if code == 0 {
				a.c.add("closed by the server", 1)
			} else {
				a.c.add(fmt.Sprintf("answered %d", code), 1)
			}
			return
		case <-time.After(5 * time.Second):
			if _, err := io.WriteString(conn, " "); err != nil {
				a.c.add("write refused", 1)
				return
			}
		}
	}
}

// held records how long the server held one request.
func (a *slowBodies) held(d time.Duration) {
	raise(&a.longest, int64(d))
}

func (a *slowBodies) summary() string {
	return fmt.Sprintf("%s; the longest held %s", a.c.String(), time.Duration(a.longest.Load()).Round(time.Millisecond))
}

// downloadPath is the notifications CSV of a service's emails.
func downloadPath(serviceID string) string {
	return "/services/" + serviceID + "/download-notifications.csv?message_type=email"
}

// stalledDownloads keeps conns downloads of the notifications CSV going at once, each over
// a socket with a small receive buffer that reads the answer's status line and then
// nothing; every 5 s the ones the server has let go are asked again.
type stalledDownloads struct {
	addr, token, path string
	conns             int
	c                 counts
}

func (*stalledDownloads) name() string { return "stalled downloads" }

func (a *stalledDownloads) run(ctx context.Context) {
	repeat(ctx, a.conns, a.once)
}

func (a *stalledDownloads) once(ctx context.Context) {
	dialer := net.Dialer{Timeout: 5 * time.Second, Control: smallReceiveBuffer}
	conn, err := dialer.DialContext(ctx, "tcp", a.addr)
	if err != nil {
		a.c.add("dial failed", 1)
		pause(ctx, time.Second)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	request := "GET " + a.path + " HTTP/1.1\r\nHost: abuse\r\nAuthorization: Bearer " + a.token + "\r\n\r\n"
	if _, err := io.WriteString(conn, request); err != nil {
		return
	}
	code := statusOf(bufio.NewReaderSize(conn, 256))
	a.c.add(fmt.Sprintf("answered %d", code), 1)
	if code != http.StatusOK {
		pause(ctx, 5*time.Second)
		return
	}
	// Stalled: read nothing more until the run ends, then see whether the server gave up.
	<-ctx.Done()
}

func (a *stalledDownloads) summary() string { return a.c.String() }

// smallReceiveBuffer shrinks a socket's receive buffer before it connects, so that the
// server's writes fill it and then wait.
func smallReceiveBuffer(_, _ string, raw syscall.RawConn) error {
	var err error
	if ctrlErr := raw.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	}); ctrlErr != nil {
		return ctrlErr
	}
	return err
}

// subscriptionFlood opens as many sockets as one user may and subscribes on each to ever
// more distinct documents, just under the socket's message rate, draining what comes back.
type subscriptionFlood struct {
	url, token, serviceID string
	c                     counts
	next                  atomic.Int64
}

func (*subscriptionFlood) name() string { return "subscription flood" }

func (a *subscriptionFlood) run(ctx context.Context) {
	var wg sync.WaitGroup
	for socket := 0; ctx.Err() == nil; socket++ {
		conn, err := harness.DialGraphQLWS(ctx, a.url, a.token)
		if err != nil {
			a.c.add("sign-in refused", 1)
			if !pause(ctx, 5*time.Second) {
				break
			}
			continue
		}
		a.c.add("sockets", 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.flood(ctx, conn, socket)
		}()
	}
	wg.Wait()
}

func (a *subscriptionFlood) flood(ctx context.Context, conn *websocket.Conn, socket int) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go a.drain(conn)
	for i := 0; ctx.Err() == nil; i++ {
		// A distinct document each time: the alias names it.
		query := fmt.Sprintf(`subscription F($id: ID!) { s%d_%d: dashboardTotals(serviceId: $id) { email { requested } } }`, socket, i)
		if err := harness.Subscribe(conn, fmt.Sprintf("%d", i), query, map[string]any{"id": a.serviceID}); err != nil {
			return
		}
		a.c.add("subscribes sent", 1)
		if !pause(ctx, 120*time.Millisecond) { // 8 a second, under the rate of 10
			return
		}
	}
}

// drain reads the socket's messages, counting the errors by their code.
func (a *subscriptionFlood) drain(conn *websocket.Conn) {
	var buf bytes.Buffer
	for {
		data, err := harness.ReadMessage(conn, &buf)
		if err != nil {
			var closeErr *websocket.CloseError
			if errors.As(err, &closeErr) {
				a.c.add(fmt.Sprintf("closed %d", closeErr.Code), 1)
			}
			return
		}
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &msg) != nil {
			continue
		}
		switch msg.Type {
		case "next":
			a.next.Add(1)
		case "error":
			var errs []struct {
				Extensions struct {
					Code string `json:"code"`
				} `json:"extensions"`
			}
			code := "uncoded"
			if json.Unmarshal(msg.Payload, &errs) == nil && len(errs) > 0 && errs[0].Extensions.Code != "" {
				code = errs[0].Extensions.Code
			}
			a.c.add("error "+code, 1)
		}
	}
}

func (a *subscriptionFlood) summary() string {
	return fmt.Sprintf("%s; responses %d", a.c.String(), a.next.Load())
}

// pingFlood sends WebSocket ping frames as fast as it can over a few signed-in sockets,
// signing in again whenever the server closes one.
type pingFlood struct {
	url, token string
	sockets    int
	c          counts
}

func (*pingFlood) name() string { return "ping flood" }

func (a *pingFlood) run(ctx context.Context) {
	repeat(ctx, a.sockets, a.once)
}

func (a *pingFlood) once(ctx context.Context) {
	conn, err := harness.DialGraphQLWS(ctx, a.url, a.token)
	if err != nil {
		a.c.add("sign-in refused", 1)
		pause(ctx, time.Second)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	closed := make(chan int, 1)
	go func() {
		var buf bytes.Buffer
		for {
			if _, err := harness.ReadMessage(conn, &buf); err != nil {
				var closeErr *websocket.CloseError
				code := 0
				if errors.As(err, &closeErr) {
					code = closeErr.Code
				}
				closed <- code
				return
			}
		}
	}()
	var sent int64
	defer func() { a.c.add("pings sent", sent) }()
	for {
		select {
		case code := <-closed:
			if ctx.Err() == nil {
				a.c.add(fmt.Sprintf("closed %d", code), 1)
			}
			return
		default:
		}
		if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
			if ctx.Err() == nil {
				a.c.add(fmt.Sprintf("closed %d", <-closed), 1)
			}
			return
		}
		sent++
	}
}

func (a *pingFlood) summary() string { return a.c.String() }

// apqRegistrations sends, without a token, automatic persisted queries with their text:
// one that does not parse, one that does not validate and one new valid query in turn,
// each under its own hash.
type apqRegistrations struct {
	url     string
	workers int
	c       counts
}

func (*apqRegistrations) name() string { return "APQ registrations" }

func (a *apqRegistrations) run(ctx context.Context) {
	client := &http.Client{Timeout: 10 * time.Second}
	var sequence atomic.Int64
	repeat(ctx, a.workers, func(ctx context.Context) {
		n := sequence.Add(1)
		var query, kind string
		switch n % 3 {
		case 0:
			query, kind = fmt.Sprintf("query Junk%d { me { ", n)+strings.Repeat("x ", 500), "unparsable"
		case 1:
			query, kind = fmt.Sprintf("query Invalid%d { nothingHere%d }", n, n), "invalid"
		default:
			query, kind = fmt.Sprintf("query Valid%d { __typename }", n), "valid"
		}
		sum := sha256.Sum256([]byte(query))
		body, _ := json.Marshal(map[string]any{"query": query,
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}})
		status, err := postAnonymously(ctx, client, a.url, body)
		switch {
		case err != nil && ctx.Err() == nil:
			a.c.add(kind+" failed", 1)
		case err == nil:
			a.c.add(fmt.Sprintf("%s %d", kind, status), 1)
		}
		if status == http.StatusTooManyRequests {
			pause(ctx, 100*time.Millisecond)
		}
	})
}

// postAnonymously POSTs a GraphQL body without a token and returns the answer's status.
func postAnonymously(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func (a *apqRegistrations) summary() string { return a.c.String() }

// hostileDocuments sends, without a token, the document whose fragments each spread the
// next one twice, 40 deep: 2^40 paths through 2 KB.
type hostileDocuments struct {
	url     string
	workers int
	c       counts
	slowest atomic.Int64
}

func (*hostileDocuments) name() string { return "hostile documents" }

// nestedDoubleSpreads is the document: fragment Fi spreads F(i+1) twice.
func nestedDoubleSpreads(n int) string {
	var doc strings.Builder
	doc.WriteString("query { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&doc, "fragment F%d on Query { ...F%d ...F%d me { id } }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&doc, "fragment F%d on Query { me { id name } }\n", n)
	return doc.String()
}

func (a *hostileDocuments) run(ctx context.Context) {
	client := &http.Client{Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]any{"query": nestedDoubleSpreads(40)})
	repeat(ctx, a.workers, func(ctx context.Context) {
		started := time.Now()
		status, err := postAnonymously(ctx, client, a.url, body)
		took := time.Since(started)
		switch {
		case err != nil && ctx.Err() != nil:
			a.c.add("still unanswered at the end", 1)
		case err != nil:
			a.c.add("failed", 1)
		default:
			a.c.add(fmt.Sprintf("answered %d", status), 1)
		}
		a.record(took)
		if status == http.StatusTooManyRequests {
			pause(ctx, 100*time.Millisecond)
		}
	})
}

// record keeps the slowest answer.
func (a *hostileDocuments) record(d time.Duration) {
	raise(&a.slowest, int64(d))
}

func (a *hostileDocuments) summary() string {
	return fmt.Sprintf("%s; the slowest answer %s", a.c.String(), time.Duration(a.slowest.Load()).Round(time.Millisecond))
}
