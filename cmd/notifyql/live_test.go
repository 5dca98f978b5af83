package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql"
	"notifyql/internal/harness"
	"notifyql/pdfium"
	"notifyql/pgtest"
	"notifyql/postgres"
	"notifyql/resolvers"
	"notifyql/server"
	"notifyql/web"
)

// newLiveAPI serves the API with the live path running, as serve runs it, over a fresh
// database with the fixture and the machine's Redis. It returns the WebSocket URL and a way
// to write to the database directly.
func newLiveAPI(t *testing.T) (wsURL string, exec func(sql string, args ...any)) {
	t.Helper()
	api := startLiveAPI(t)
	return api.wsURL, api.exec
}

// newLiveAPIWith is newLiveAPI with more handler extensions after the schema's own.
func newLiveAPIWith(t *testing.T, extra ...graphql.HandlerExtension) (wsURL string, exec func(sql string, args ...any)) {
	t.Helper()
	api := startLiveAPIWith(t, liveAPIOptions{extensions: extra})
	return api.wsURL, api.exec
}

// liveAPI is a server that startLiveAPI started.
type liveAPI struct {
	wsURL   string // ws://.../graphql
	httpURL string // http://host:port, where the pages are served
	// metricsURL is GET /metrics, on a listener of its own as production serves it.
	metricsURL string
	exec       func(sql string, args ...any)
	pool       *pgxpool.Pool
	// updates is the live path, and redis the client its bus runs on.
	updates *liveUpdates
	redis   goredis.UniversalClient
}

// liveAPIOptions are what a test may add to the live API.
type liveAPIOptions struct {
	// extensions are handler extensions after the schema's own.
	extensions []graphql.HandlerExtension
	// pages serves the browser pages as serve does, with GET / redirecting to GraphiQL.
	pages bool
	// wrapListener, when set, wraps the server's listener: a test that must break the
	// connections its clients hold (as a network or a load balancer would) keeps them.
	wrapListener func(net.Listener) net.Listener
	// development serves the API as `make run` does, with introspection on (GraphiQL then
	// has the schema).
	development bool
	// webSocket configures the sockets; zero fields keep their defaults.
	webSocket server.WebSocketConfig
	// letters serves content, letter previews and their files with the engines serve
	// starts (the typesetter and PDFium), over the machine's Redis.
	letters bool
	// activity remembers search terms (rememberSearch) in the machine's Redis, keyed with
	// the tests' search secret, signs download links, serves stored reports by them and
	// serves the inbox CSV, as serve does.
	activity bool
	// redisURL is the REDIS_URL the live path runs on, in place of the machine's Redis.
	redisURL string
	// renderCounts, when set, counts the subscriptions' renderings and encodings.
	renderCounts *resolvers.RenderCounts
	// database, when set, is another live API's database: the two are instances of one
	// deployment, sharing its relay and bus.
	database *pgxpool.Pool
	// trusted are the trusted documents and their mode; with pages, the pages' own
	// documents are added, as serve adds them.
	trusted server.TrustedDocuments
}

// startLiveAPI is newLiveAPIWith, also serving /metrics as production serve does: on a
// listener of its own.
func startLiveAPI(t *testing.T, extra ...graphql.HandlerExtension) *liveAPI {
	t.Helper()
	return startLiveAPIWith(t, liveAPIOptions{extensions: extra})
}

func startLiveAPIWith(t *testing.T, o liveAPIOptions) *liveAPI {
	t.Helper()
	pool := o.database
	if pool == nil {
		pool = pgtest.NewPool(t)
		if _, err := pool.Exec(t.Context(), fixtureSQL); err != nil {
			t.Fatalf("load fixture: %v", err)
		}
	}
	rdb := &redisBackend{Client: goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})}
	if o.redisURL != "" {
		topology, err := redisOptions(o.redisURL)
		if err != nil {
			t.Fatal(err)
		}
		rdb = &redisBackend{URL: o.redisURL, Client: topology.newClient(), Sentinel: topology.sentinel != nil}
	}
	t.Cleanup(rdb.Close)
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := env{logger: logger, stdout: io.Discard, stderr: io.Discard}
	// Each test's database gets its own channels: the fixture's ids are the same in all.
	updates, err := startLive(context.Background(), e, pool, rdb, london, pool.Config().ConnConfig.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := updates.stop(); err != nil {
			t.Errorf("stop live updates: %v", err)
		}
	})
	access := postgres.NewAccessStore(pool)
	deps := schemaDeps{Pool: pool, Access: access, London: london, Logger: logger, Live: updates.hub, RenderCounts: o.renderCounts}
	if o.letters {
		deps.Letters = startLiveLetters(t, pool, logger)
	}
	if o.activity {
		searchRedis := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
		t.Cleanup(func() { _ = searchRedis.Close() })
		links, err := server.NewLinkSigner([]byte(testSecret), downloadLinkPurpose, 0)
		if err != nil {
			t.Fatal(err)
		}
		deps.Redis, deps.SearchSecret, deps.Links = searchRedis, testSearchKey(t), links
	}
	schema, extensions, err := newSchema(deps)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.wrapListener != nil {
		listener = o.wrapListener(listener)
	}
	var srv *server.Server
	requests := server.NewRequestMetrics()
	metrics := newMetrics(updates, func() int { return srv.OpenWebSockets() }, requests, map[string]*pgxpool.Pool{"api": pool, "live": updates.pool})
	// MetricsAddr takes /metrics off the API's routes; the test serves MetricsHandler itself.
	cfg := server.Config{Logger: logger, Extensions: append(extensions, o.extensions...), Metrics: metrics, MetricsAddr: "127.0.0.1:0",
		RequestMetrics: requests, Development: o.development, WebSocket: o.webSocket}
	cfg.TrustedDocuments = o.trusted
	if o.activity {
		cfg.InboxCSV = newInboxCSV(deps)
	}
	if o.pages {
		// No allowed origins: the pages' sockets come from the API's own origin.
		cfg.Pages, cfg.Home = web.Pages(), web.Home
		if cfg.TrustedDocuments, err = withPageDocuments(o.trusted); err != nil {
			t.Fatal(err)
		}
	}
	cfg.LetterFiles = deps.Letters.letterFiles(pool, london, time.Now)
	if o.activity {
		cfg.Reports = newReportDownloads(pool, deps.Links)
	}
	srv = server.New(cfg, schema, server.NewAuthenticator([]byte(testSecret), access))
	updates.hub.OnAccessChange(srv.AccessChanged)
	httpServer := httptest.NewUnstartedServer(srv.Handler())
	httpServer.Listener.Close()
	httpServer.Listener = listener
	httpServer.Start()
	t.Cleanup(httpServer.Close)
	metricsServer := httptest.NewServer(srv.MetricsHandler())
	t.Cleanup(metricsServer.Close)
	return &liveAPI{
		wsURL:      "ws" + strings.TrimPrefix(httpServer.URL, "http") + "/graphql",
		httpURL:    httpServer.URL,
		metricsURL: metricsServer.URL + "/metrics",
		pool:       pool,
		updates:    updates,
		redis:      rdb.Client,
		exec: func(sql string, args ...any) {
			t.Helper()
			if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
				t.Fatalf("exec: %v", err)
			}
		},
	}
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribeOverWebSocket signs in as userID, subscribes to query and returns the stream of
// next payloads' data.
func subscribeOverWebSocket(t *testing.T, wsURL, userID, query string, variables map[string]any) <-chan map[string]any {
	t.Helper()
	return subscribeOverSubprotocol(t, "graphql-transport-ws", wsURL, userID, query, variables)
}

// subscribeOverSubprotocol is subscribeOverWebSocket over graphql-transport-ws or the
// legacy graphql-ws, whose messages have other names.
func subscribeOverSubprotocol(t *testing.T, subprotocol, wsURL, userID, query string, variables map[string]any) <-chan map[string]any {
	t.Helper()
	subscribe, next := "subscribe", "next"
	if subprotocol == "graphql-ws" {
		subscribe, next = "start", "data"
	}
	conn := dialSignedIn(t, subprotocol, wsURL, userID)
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err := conn.WriteJSON(wsMessage{ID: "1", Type: subscribe, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	out := make(chan map[string]any, 16)
	go func() {
		defer close(out)
		for {
			var msg wsMessage
			if err := conn.ReadJSON(&msg); err != nil {
				return
			}
			switch msg.Type {
			case next:
				var result struct {
					Data   map[string]any `json:"data"`
					Errors []any          `json:"errors"`
				}
				if err := json.Unmarshal(msg.Payload, &result); err != nil || len(result.Errors) > 0 {
					out <- map[string]any{"errors": string(msg.Payload)}
					continue
				}
				out <- result.Data
			case "error", "complete":
				out <- map[string]any{"errors": string(msg.Payload), "type": msg.Type}
				return
			}
		}
	}()
	return out
}

// dialSignedIn opens a socket speaking subprotocol, signs in as userID and returns once the
// server has acknowledged. The socket is closed when the test ends.
func dialSignedIn(t *testing.T, subprotocol, wsURL, userID string) *websocket.Conn {
	t.Helper()
	return dialSignedInWith(t, websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 5 * time.Second}, wsURL, userID)
}

// dialSignedInWith is dialSignedIn through dialer.
func dialSignedInWith(t *testing.T, dialer websocket.Dialer, wsURL, userID string) *websocket.Conn {
	t.Helper()
	conn, _, err := dialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := harness.SignIn(conn, tokenFor(t, userID), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return conn
}

// next waits for the next payload.
func next(t *testing.T, stream <-chan map[string]any, within time.Duration) map[string]any {
	t.Helper()
	select {
	case data, ok := <-stream:
		if !ok {
			t.Fatal("the subscription ended")
		}
		if errs, bad := data["errors"]; bad {
			t.Fatalf("the subscription sent errors: %v", errs)
		}
		return data
	case <-time.After(within):
		t.Fatalf("no update within %s", within)
	}
	return nil
}

// A plain SQL write, not through notifyql, reaches a dashboard subscriber: the trigger's
// hint reaches the relay, which recomputes the snapshot and publishes it through Redis.
//
// Past the first, the responses are written by the subscription's goroutine rather than
// gqlgen's loop (server.ResponseSender): each subprotocol names them its own way.
func TestDashboardTotalsSubscriptionSeesAPlainSQLWrite(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	for _, subprotocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(subprotocol, func(t *testing.T) {
			stream := subscribeOverSubprotocol(t, subprotocol, wsURL, userViewer,
				`subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested failed } } }`,
				map[string]any{"id": serviceA})
			seesWrites(t, stream, exec)
		})
	}
}

// seesWrites checks that two plain SQL writes, one after the other, each reach stream.
func seesWrites(t *testing.T, stream <-chan map[string]any, exec func(string, ...any)) {
	t.Helper()
	first := next(t, stream, 10*time.Second)
	email := first["dashboardTotals"].(map[string]any)["email"].(map[string]any)
	requested, failed := email["requested"].(float64), email["failed"].(float64)
	for write := 1; write <= 2; write++ {
		exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
		deadline := time.Now().Add(5 * time.Second)
		for {
			email := next(t, stream, time.Until(deadline))["dashboardTotals"].(map[string]any)["email"].(map[string]any)
			if email["requested"].(float64) == requested+1 {
				if email["failed"].(float64) != failed+float64(write) {
					t.Errorf("write %d: the failure was not counted: %v", write, email)
				}
				requested++
				break
			}
		}
	}
}

// A change the subscription does not select (a text message, to one that asks only for
// email) changes the snapshot but not the response: nothing is sent for it, and the next
// message is the next change the subscriber can see.
func TestSubscriptionSendsNoUnchangedResponse(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	stream := subscribeOverWebSocket(t, wsURL, userViewer,
		`subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`,
		map[string]any{"id": serviceA})
	requested := next(t, stream, 10*time.Second)["dashboardTotals"].(map[string]any)["email"].(map[string]any)["requested"].(float64)

	exec(`INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '07700900123', '447700900123', 'normal', 'delivered', $2)`,
		serviceA, time.Now().UTC())
	// Time for the text message's snapshot to be computed and offered before the email's
	// commit, so that the two are not merged into one.
	time.Sleep(time.Second)
	exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	got := next(t, stream, 5*time.Second)["dashboardTotals"].(map[string]any)["email"].(map[string]any)["requested"].(float64)
	if got != requested+1 {
		t.Errorf("the message after the text message and the email shows %v emails requested, want %v: an unchanged response was sent", got, requested+1)
	}
}

// 10,000 subscribe/complete cycles on one socket, each waiting for its first snapshot,
// leave nothing running behind them: no goroutine (the operations', their pumps', the
// hub's), no subscription. Leaks through the whole path would show here, the socket's
// response sender and its stand-ins included.
func TestSubscribeCompleteCyclesLeaveNothingRunning(t *testing.T) {
	api := startLiveAPIWith(t, liveAPIOptions{webSocket: server.WebSocketConfig{MessageRate: 1_000_000, MessageBurst: 1_000_000}})
	conn := dialSignedIn(t, "graphql-transport-ws", api.wsURL, userViewer)
	payload, _ := json.Marshal(map[string]any{"query": `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`,
		"variables": map[string]any{"id": serviceA}})
	cycle := func(i int) {
		t.Helper()
		id := strconv.Itoa(i)
		if err := conn.WriteJSON(wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
			t.Fatal(err)
		}
		for {
			var msg wsMessage
			if err := conn.ReadJSON(&msg); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			if msg.Type == "error" || (msg.Type == "next" && bytes.Contains(msg.Payload, []byte(`"errors"`))) {
				t.Fatalf("cycle %d: %s %s", i, msg.Type, msg.Payload)
			}
			if msg.Type == "next" && msg.ID == id {
				break
			}
		}
		if err := conn.WriteJSON(wsMessage{ID: id, Type: "complete"}); err != nil {
			t.Fatal(err)
		}
	}
	none := func(v float64) bool { return v == 0 }
	cycle(0)
	waitForMetric(t, api.metricsURL, "notifyql_live_subscriptions", 10*time.Second, none)
	before := runtime.NumGoroutine()
	for i := 1; i <= 10_000; i++ {
		cycle(i)
	}
	waitForMetric(t, api.metricsURL, "notifyql_live_subscriptions", 10*time.Second, none)
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the cycles, %d before", runtime.NumGoroutine(), before)
		}
	}
}

// A running subscription holds no goroutine while nothing changes: its operation parks
// once its response is written, and the hub wakes it with a goroutine of its own only to
// send the next. A socket with a subscription costs its reader's goroutine, as an idle
// socket does (server.TestAnIdleSocketCostsOneGoroutine), before its first response and
// after a change has reached it alike.
func TestAnIdleSubscriptionHoldsNoGoroutine(t *testing.T) {
	const sockets = 100
	api := startLiveAPIWith(t, liveAPIOptions{webSocket: server.WebSocketConfig{MaxConnectionsPerUser: sockets, MaxSubscriptionsPerUser: sockets}})
	conns := make([]*websocket.Conn, sockets)
	for i := range conns {
		conns[i] = dialSignedIn(t, "graphql-transport-ws", api.wsURL, userViewer)
	}
	// Each reader waits for the socket's next message: one goroutine a socket.
	before := settledGoroutines(0)
	payload, _ := json.Marshal(map[string]any{"query": `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`,
		"variables": map[string]any{"id": serviceA}})
	requested := make([]float64, sockets)
	readRequested := func(i int) float64 {
		t.Helper()
		_ = conns[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		var msg wsMessage
		if err := conns[i].ReadJSON(&msg); err != nil || msg.Type != "next" {
			t.Fatalf("socket %d: got %+v, %v, want next", i, msg, err)
		}
		var result struct {
			Data struct {
				DashboardTotals struct{ Email struct{ Requested float64 } }
			}
		}
		if err := json.Unmarshal(msg.Payload, &result); err != nil {
			t.Fatal(err)
		}
		return result.Data.DashboardTotals.Email.Requested
	}
	for i, conn := range conns {
		if err := conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
			t.Fatal(err)
		}
		requested[i] = readRequested(i)
	}
	// The topic's own (the hub's bus subscription is the instance's, and came with the
	// first subscriber) are a few; a goroutine per subscription would be a hundred.
	const slack = sockets / 10
	if subscribed := settledGoroutines(before + slack); subscribed > before+slack {
		t.Errorf("%d goroutines with %d idle subscriptions, %d without: %.2f a subscription, want none", subscribed, sockets, before, float64(subscribed-before)/sockets)
	}
	api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	for i := range conns {
		if got := readRequested(i); got != requested[i]+1 {
			t.Fatalf("socket %d: %v emails requested after the write, want %v", i, got, requested[i]+1)
		}
	}
	// The step workers that sent the change wait a second for more work, then end.
	if woken := settledGoroutines(before + slack); woken > before+slack {
		t.Errorf("%d goroutines once the change was sent to %d subscriptions, %d before: the woken operations did not park again", woken, sockets, before)
	}
}

// settledGoroutines waits (ten seconds at most) for the goroutines that a moment's work
// leaves behind to end, and returns how many there are: at most want, or the count that
// stopped falling for longer than a step worker waits for more work (a second).
func settledGoroutines(want int) int {
	last, stable := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n := runtime.NumGoroutine()
		if want > 0 && n <= want {
			return n
		}
		if n < last {
			last, stable = n, 0
			continue
		}
		if stable++; stable >= 60 {
			return n
		}
	}
	return runtime.NumGoroutine()
}

func TestSubscriptionChecksPermissions(t *testing.T) {
	wsURL, _ := newLiveAPI(t)
	const query = `subscription($id: ID!) { dashboardTotals(serviceId: $id) { sms { requested } } }`
	for _, tt := range []struct{ user, service, want string }{
		{userMember, serviceA, "FORBIDDEN"},
		{userOther, serviceA, "NOT_FOUND"},
	} {
		stream := subscribeOverWebSocket(t, wsURL, tt.user, query, map[string]any{"id": tt.service})
		select {
		case msg := <-stream:
			if !strings.Contains(msg["errors"].(string), tt.want) {
				t.Errorf("%s on %s: %v, want %s", tt.user, tt.service, msg, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s on %s: no answer", tt.user, tt.service)
		}
	}
}

// startLiveLetters wires letters as serve does, with its engines and the machine's Redis,
// and waits for PDFium's module so that no page waits for its compilation.
func startLiveLetters(t *testing.T, pool *pgxpool.Pool, logger *slog.Logger) *letterWiring {
	t.Helper()
	settings := letterSettings{Renderers: 2, CacheBytes: 8 << 20, CacheTTL: time.Minute}
	engines, stop, err := startLetterEngines(t.Context(), settings, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if err := engines.Reader.(*pdfium.Reader).Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	namespace := "live-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	letters, err := newLetters(pool, rdb, namespace, []byte(testSecret), engines, settings, logger)
	if err != nil {
		t.Fatal(err)
	}
	return letters
}
