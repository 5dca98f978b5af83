package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"go.uber.org/goleak"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres"
	"notifyql/server"
)

const (
	wsUserID       = "5e0c4a10-3b7e-4c1f-9a55-0d9e6c1b2a01"
	wsInactiveID   = "5e0c4a10-3b7e-4c1f-9a55-0d9e6c1b2a02"
	wsOtherUserID  = "5e0c4a10-3b7e-4c1f-9a55-0d9e6c1b2a03"
	allowedOrigin  = "https://dashboard.notifyql.example"
	transportWS    = "graphql-transport-ws"
	legacyWS       = "graphql-ws"
	testReadLimit  = 1024
	testInitWindow = 300 * time.Millisecond
)

var wsSecret = []byte("websocket-test-secret-0123456789abcdef")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// subscriptionSchema is an executable schema whose one subscription, me, answers the
// signed-in user's id at once and then stays open until completed: enough to see that the
// principal reaches operations and that ids stay active.
func subscriptionSchema() graphql.ExecutableSchema {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `
		type Query { me: String! }
		type Subscription { me: String! }
	`})
	return &graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 1, true
		},
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			me := "anonymous"
			if p := notifyql.PrincipalFromContext(ctx); p != nil {
				me = p.User.ID
			}
			initPayload, _ := json.Marshal(transport.GetInitPayload(ctx))
			data := []byte(fmt.Sprintf(`{"me":%q,"initPayload":%q}`, me, initPayload))
			if graphql.GetOperationContext(ctx).Operation.Operation != ast.Subscription {
				return graphql.OneShot(&graphql.Response{Data: data})
			}
			sent := false
			return func(ctx context.Context) *graphql.Response {
				if !sent {
					sent = true
					return &graphql.Response{Data: data}
				}
				<-ctx.Done()
				return nil
			}
		},
	}
}

// wsFixture is a server over a real database with one active and one inactive user.
type wsFixture struct {
	server *server.Server
	pool   *pgxpool.Pool
	url    string // ws://.../graphql
	http   string // http://.../graphql
}

// newWSFixture serves subscriptionSchema with the test WebSocket settings, changed by
// adjust when it is not nil.
func newWSFixture(t testing.TB, adjust func(*server.WebSocketConfig)) *wsFixture {
	t.Helper()
	return newWSFixtureWith(t, func(cfg *server.Config) {
		if adjust != nil {
			adjust(&cfg.WebSocket)
		}
	})
}

// newWSFixtureWith is newWSFixture with the whole server configuration to adjust.
func newWSFixtureWith(t testing.TB, adjust func(*server.Config)) *wsFixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	_, err := pool.Exec(context.Background(), `
		INSERT INTO users (id, name, email_address, state) VALUES
		  ($1, 'Socket User', 'socket.user@notifyql.example', 'active'),
		  ($2, 'Gone User', 'gone.user@notifyql.example', 'inactive'),
		  ($3, 'Other Socket User', 'other.socket.user@notifyql.example', 'active')`, wsUserID, wsInactiveID, wsOtherUserID)
	if err != nil {
		t.Fatalf("load users: %v", err)
	}
	cfg := server.Config{WebSocket: server.WebSocketConfig{
		AllowedOrigins: []string{allowedOrigin},
		InitTimeout:    testInitWindow,
		ReadLimit:      testReadLimit,
	}}
	if adjust != nil {
		adjust(&cfg)
	}
	srv := server.New(cfg, subscriptionSchema(), server.NewAuthenticator(wsSecret, postgres.NewAccessStore(pool)))
	httpServer := httptest.NewServer(srv.Handler())
	t.Cleanup(httpServer.Close)
	return &wsFixture{
		server: srv,
		pool:   pool,
		url:    "ws" + strings.TrimPrefix(httpServer.URL, "http") + "/graphql",
		http:   httpServer.URL + "/graphql",
	}
}

func mustToken(t testing.TB, userID string, ttl time.Duration) string {
	t.Helper()
	token, err := server.MintToken(wsSecret, userID, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func dial(t testing.TB, url, subprotocol string, header http.Header) *websocket.Conn {
	t.Helper()
	conn, resp, err := (&websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 5 * time.Second}).Dial(url, header)
	if err != nil {
		t.Fatalf("dial %s: %v", subprotocol, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return conn
}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func send(t testing.TB, conn *websocket.Conn, msg string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

// next reads the next message, skipping legacy keep-alives.
func next(t testing.TB, conn *websocket.Conn) wsMessage {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var msg wsMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		if msg.Type != "ka" {
			return msg
		}
	}
}

// expectClose reads until the server closes the socket and checks the close code.
func expectClose(t *testing.T, conn *websocket.Conn, code int, within time.Duration) *websocket.CloseError {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	for {
		_, data, err := conn.ReadMessage()
		if err == nil {
			t.Logf("before the close: %s", data)
			continue
		}
		var closeErr *websocket.CloseError
		if !errors.As(err, &closeErr) {
			t.Fatalf("want close %d, got %v", code, err)
		}
		if closeErr.Code != code {
			t.Fatalf("close code = %d (%q), want %d", closeErr.Code, closeErr.Text, code)
		}
		return closeErr
	}
}

func initMessage(token string) string {
	return fmt.Sprintf(`{"type":"connection_init","payload":{"Authorization":"Bearer %s"}}`, token)
}

// connect opens a socket and completes connection_init with a valid token.
func (f *wsFixture) connect(t testing.TB, subprotocol string) *websocket.Conn {
	t.Helper()
	return f.connectAs(t, subprotocol, wsUserID)
}

func TestWebSocket(t *testing.T) {
	f := newWSFixture(t, nil)

	t.Run("both subprotocols negotiate, authenticate and subscribe", func(t *testing.T) {
		for _, tt := range []struct{ subprotocol, subscribe, data, stop string }{
			{transportWS, "subscribe", "next", "complete"},
			{legacyWS, "start", "data", "stop"},
		} {
			t.Run(tt.subprotocol, func(t *testing.T) {
				conn := f.connect(t, tt.subprotocol)
				if got := conn.Subprotocol(); got != tt.subprotocol {
					t.Fatalf("negotiated %q, want %q", got, tt.subprotocol)
				}
				send(t, conn, `{"type":"`+tt.subscribe+`","id":"1","payload":{"query":"subscription { me }"}}`)
				msg := next(t, conn)
				if msg.Type != tt.data || msg.ID != "1" || !strings.Contains(string(msg.Payload), wsUserID) {
					t.Fatalf("got %+v, want %s for 1 naming the signed-in user", msg, tt.data)
				}
				send(t, conn, `{"type":"`+tt.stop+`","id":"1"}`)
				// The id is free again once completed.
				send(t, conn, `{"type":"`+tt.subscribe+`","id":"1","payload":{"query":"subscription { me }"}}`)
				for msg = next(t, conn); msg.Type == "complete"; msg = next(t, conn) {
				}
				if msg.Type != tt.data {
					t.Fatalf("resubscribing with a completed id got %+v", msg)
				}
			})
		}
	})

	t.Run("operations do not see the token", func(t *testing.T) {
		for _, key := range []string{"Authorization", "authorization"} {
			conn := dial(t, f.url, transportWS, nil)
			send(t, conn, fmt.Sprintf(`{"type":"connection_init","payload":{%q:"Bearer %s","client":"dashboard"}}`, key, mustToken(t, wsUserID, time.Hour)))
			if msg := next(t, conn); msg.Type != "connection_ack" {
				t.Fatalf("got %+v, want connection_ack", msg)
			}
			send(t, conn, `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`)
			var data struct {
				Data struct{ InitPayload string } `json:"data"`
			}
			if msg := next(t, conn); msg.Type != "next" || json.Unmarshal(msg.Payload, &data) != nil {
				t.Fatalf("got %+v, want next", msg)
			}
			if data.Data.InitPayload != `{"client":"dashboard"}` {
				t.Errorf("%s: operations see the init payload %s, want it without the token", key, data.Data.InitPayload)
			}
		}
	})

	t.Run("lower-case authorization key is accepted", func(t *testing.T) {
		conn := dial(t, f.url, transportWS, nil)
		send(t, conn, fmt.Sprintf(`{"type":"connection_init","payload":{"authorization":"Bearer %s"}}`, mustToken(t, wsUserID, time.Hour)))
		if msg := next(t, conn); msg.Type != "connection_ack" {
			t.Fatalf("got %+v, want connection_ack", msg)
		}
	})

	t.Run("the handshake answer carries the request id", func(t *testing.T) {
		conn, resp, err := (&websocket.Dialer{Subprotocols: []string{transportWS}}).Dial(f.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols || len(resp.Header.Get("X-Request-Id")) != 16 {
			t.Fatalf("got %d with X-Request-Id %q, want 101 with a request id", resp.StatusCode, resp.Header.Get("X-Request-Id"))
		}
	})

	t.Run("a broken upgrade gets a GraphQL error", func(t *testing.T) {
		for name, adjust := range map[string]func(http.Header){
			"unsupported version": func(h http.Header) { h.Set("Sec-Websocket-Version", "12") },
			"no key":              func(h http.Header) { h.Del("Sec-Websocket-Key") },
		} {
			req, _ := http.NewRequest(http.MethodGet, f.http, nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-Websocket-Version", "13")
			req.Header.Set("Sec-Websocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			adjust(req.Header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":"BAD_REQUEST"`) {
				t.Errorf("%s: got %d %s, want 400 with code BAD_REQUEST", name, resp.StatusCode, body)
			}
		}
	})

	t.Run("origin", func(t *testing.T) {
		self := strings.TrimSuffix(strings.TrimPrefix(f.http, "http://"), "/graphql") // host:port
		for _, tt := range []struct {
			origin string
			ok     bool
		}{
			{allowedOrigin, true},
			{"", true}, // not a browser
			{"https://evil.example", false},
			{allowedOrigin + ".evil.example", false},
			{"http://dashboard.notifyql.example", false},
			{"null", false},
			// The API's own pages: same host and port, whichever scheme a proxy in front
			// terminated.
			{"http://" + self, true},
			{"https://" + self, true},
			{"http://127.0.0.1:1", false},
			{"http://" + self + "/graphiql", false},
		} {
			header := http.Header{}
			if tt.origin != "" {
				header.Set("Origin", tt.origin)
			}
			conn, resp, err := (&websocket.Dialer{Subprotocols: []string{transportWS}}).Dial(f.url, header)
			if tt.ok {
				if err != nil {
					t.Errorf("origin %q: %v", tt.origin, err)
					continue
				}
				conn.Close()
				continue
			}
			if err == nil {
				conn.Close()
				t.Errorf("origin %q upgraded, want it refused", tt.origin)
				continue
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("origin %q: %v (response %v), want 403", tt.origin, err, resp)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	})

	t.Run("a GET without upgrade is a query, refused without a preflight header", func(t *testing.T) {
		resp, err := http.Get(f.http + "?query=" + url.QueryEscape("{ __typename }"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("close codes", func(t *testing.T) {
		subscribe := `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`
		for _, tt := range []struct {
			name, subprotocol string
			init              bool     // complete connection_init first
			messages          []string // then send these
			code              int
		}{
			{"not JSON", transportWS, false, []string{`{"type":`}, 4400},
			{"not JSON after ack", transportWS, true, []string{`nonsense`}, 4400},
			{"binary", transportWS, true, nil, 4400},
			{"no type", transportWS, true, []string{`{"id":"1"}`}, 4400},
			{"unknown type", transportWS, true, []string{`{"type":"next","id":"1"}`}, 4400},
			{"subscribe without id", transportWS, true, []string{`{"type":"subscribe","payload":{"query":"subscription { me }"}}`}, 4400},
			{"subscribe without query", transportWS, true, []string{`{"type":"subscribe","id":"1","payload":{}}`}, 4400},
			{"init payload not an object", transportWS, false, []string{`{"type":"connection_init","payload":"x"}`}, 4400},
			{"subscribe before ack", transportWS, false, []string{subscribe}, 4401},
			{"legacy start before ack", legacyWS, false, []string{`{"type":"start","id":"1","payload":{"query":"subscription { me }"}}`}, 4401},
			{"missing credentials", transportWS, false, []string{`{"type":"connection_init"}`}, 4403},
			{"not a bearer token", transportWS, false, []string{`{"type":"connection_init","payload":{"Authorization":"Basic abc"}}`}, 4403},
			{"bad signature", transportWS, false, []string{initMessage(mustToken(t, wsUserID, time.Hour) + "x")}, 4403},
			{"inactive user", transportWS, false, []string{initMessage(mustToken(t, wsInactiveID, time.Hour))}, 4403},
			{"legacy bad credentials", legacyWS, false, []string{`{"type":"connection_init","payload":{"Authorization":"Bearer nope"}}`}, 4403},
			{"duplicate id", transportWS, true, []string{subscribe, subscribe}, 4409},
			{"second connection_init", transportWS, true, []string{initMessage(mustToken(t, wsUserID, time.Hour))}, 4429},
			{"legacy second connection_init", legacyWS, true, []string{initMessage(mustToken(t, wsUserID, time.Hour))}, 4429},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var conn *websocket.Conn
				if tt.init {
					conn = f.connect(t, tt.subprotocol)
				} else {
					conn = dial(t, f.url, tt.subprotocol, nil)
				}
				if tt.messages == nil {
					if err := conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)); err != nil {
						t.Fatal(err)
					}
				}
				for _, m := range tt.messages {
					send(t, conn, m)
				}
				expectClose(t, conn, tt.code, 5*time.Second)
			})
		}
	})

	t.Run("no connection_init in time closes with 4408", func(t *testing.T) {
		conn := dial(t, f.url, transportWS, nil)
		start := time.Now()
		expectClose(t, conn, 4408, 5*time.Second)
		if waited := time.Since(start); waited < testInitWindow-50*time.Millisecond {
			t.Errorf("closed after %s, before the %s window", waited, testInitWindow)
		}
	})

	t.Run("default init window is 3s", func(t *testing.T) {
		if got := server.DefaultWebSocketConfig().InitTimeout; got != 3*time.Second {
			t.Errorf("InitTimeout = %s, want 3s", got)
		}
	})

	t.Run("ping before init is answered", func(t *testing.T) {
		conn := dial(t, f.url, transportWS, nil)
		send(t, conn, `{"type":"ping"}`)
		if msg := next(t, conn); msg.Type != "pong" {
			t.Fatalf("got %+v, want pong", msg)
		}
		send(t, conn, initMessage(mustToken(t, wsUserID, time.Hour)))
		if msg := next(t, conn); msg.Type != "connection_ack" {
			t.Fatalf("got %+v, want connection_ack", msg)
		}
	})

	t.Run("read limit closes with 1009", func(t *testing.T) {
		conn := f.connect(t, transportWS)
		big := `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }","variables":{"x":"` +
			strings.Repeat("x", 4*testReadLimit) + `"}}}`
		send(t, conn, big)
		expectClose(t, conn, websocket.CloseMessageTooBig, 5*time.Second)
	})

	t.Run("an expiring token closes the socket with 4403", func(t *testing.T) {
		conn := dial(t, f.url, transportWS, nil)
		send(t, conn, initMessage(mustToken(t, wsUserID, 2*time.Second)))
		if msg := next(t, conn); msg.Type != "connection_ack" {
			t.Fatalf("got %+v, want connection_ack", msg)
		}
		send(t, conn, `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`)
		if msg := next(t, conn); msg.Type != "next" {
			t.Fatalf("got %+v, want next", msg)
		}
		closeErr := expectClose(t, conn, 4403, 5*time.Second)
		if closeErr.Text != "token expired" {
			t.Errorf("close reason %q, want %q", closeErr.Text, "token expired")
		}
	})
}

func TestWebSocketPings(t *testing.T) {
	f := newWSFixture(t, func(cfg *server.WebSocketConfig) {
		cfg.PingInterval = 100 * time.Millisecond
		cfg.ReadTimeout = 300 * time.Millisecond
	})

	t.Run("a client answering pings stays connected", func(t *testing.T) {
		conn := f.connect(t, transportWS)
		pings := make(chan struct{}, 100)
		conn.SetPingHandler(func(data string) error {
			pings <- struct{}{}
			return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		send(t, conn, `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`)
		if msg := next(t, conn); msg.Type != "next" {
			t.Fatalf("got %+v, want next", msg)
		}
		// Reading (which answers pings) for several read timeouts ends in our deadline,
		// not in a close.
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		_, _, err := conn.ReadMessage()
		var netErr interface{ Timeout() bool }
		if !errors.As(err, &netErr) || !netErr.Timeout() {
			t.Fatalf("read ended with %v, want the client's own timeout", err)
		}
		if len(pings) < 5 {
			t.Errorf("%d pings in a second, want about 10", len(pings))
		}
	})

	t.Run("a client that does not answer is dropped", func(t *testing.T) {
		conn := f.connect(t, transportWS)
		conn.SetPingHandler(func(string) error { return nil })
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				var netErr interface{ Timeout() bool }
				if errors.As(err, &netErr) && netErr.Timeout() {
					t.Fatalf("still open after %s", time.Since(start))
				}
				break
			}
		}
		if waited := time.Since(start); waited > 2*time.Second {
			t.Errorf("dropped after %s, want about the 300ms read timeout", waited)
		}
	})
}

func TestWebSocketShutdownClosesWith1001(t *testing.T) {
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(context.Background(),
		`INSERT INTO users (id, name, email_address, state) VALUES ($1, 'Socket User', 'socket.user@notifyql.example', 'active')`,
		wsUserID); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Addr: "127.0.0.1:0"}, subscriptionSchema(), server.NewAuthenticator(wsSecret, postgres.NewAccessStore(pool)))
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()

	conn := dial(t, "ws"+strings.TrimPrefix(srv.URL(), "http"), transportWS, nil)
	send(t, conn, initMessage(mustToken(t, wsUserID, time.Hour)))
	if msg := next(t, conn); msg.Type != "connection_ack" {
		t.Fatalf("got %+v, want connection_ack", msg)
	}
	send(t, conn, `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`)
	if msg := next(t, conn); msg.Type != "next" {
		t.Fatalf("got %+v, want next", msg)
	}
	cancel()
	expectClose(t, conn, websocket.CloseGoingAway, 5*time.Second)
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}

// A client that sends faster than its allowance is closed with 4429; one within it is not.
func TestWebSocketMessageRate(t *testing.T) {
	f := newWSFixture(t, func(c *server.WebSocketConfig) { c.MessageRate, c.MessageBurst = 2, 4 })
	for _, subprotocol := range []string{transportWS, legacyWS} {
		t.Run(subprotocol, func(t *testing.T) {
			conn := f.connect(t, subprotocol) // connection_init: 1 of the burst of 4
			subscribe, stop := `{"type":"subscribe","id":"%d","payload":{"query":"subscription { me }"}}`, `{"type":"complete","id":"%d"}`
			if subprotocol == legacyWS {
				subscribe, stop = `{"type":"start","id":"%d","payload":{"query":"subscription { me }"}}`, `{"type":"stop","id":"%d"}`
			}
			send(t, conn, fmt.Sprintf(subscribe, 1))
			send(t, conn, fmt.Sprintf(stop, 1))
			send(t, conn, fmt.Sprintf(subscribe, 2)) // the 4th: the burst is spent
			send(t, conn, fmt.Sprintf(subscribe, 3)) // the 5th, within a fraction of 1/2 s
			closeErr := expectClose(t, conn, 4429, 5*time.Second)
			if closeErr.Text != "Too many messages" {
				t.Errorf("close reason %q", closeErr.Text)
			}
		})
	}
	t.Run("a client within the rate", func(t *testing.T) {
		conn := f.connect(t, transportWS)
		for i := range 4 {
			time.Sleep(600 * time.Millisecond) // 2 a second refills more than one in 0.6 s
			send(t, conn, fmt.Sprintf(`{"type":"subscribe","id":"%d","payload":{"query":"subscription { me }"}}`, i))
			if msg := next(t, conn); msg.Type != "next" {
				t.Fatalf("message %d within the rate: got %+v, want next", i, msg)
			}
		}
	})
}

// Each user may hold MaxConnectionsPerUser signed-in sockets; connection_init on one more
// is closed with 4429, other users are not affected, and a closed socket frees its place.
func TestWebSocketConnectionsPerUser(t *testing.T) {
	f := newWSFixture(t, func(c *server.WebSocketConfig) { c.MaxConnectionsPerUser = 2 })
	first := f.connect(t, transportWS)
	f.connect(t, legacyWS)
	third := dial(t, f.url, transportWS, nil)
	send(t, third, initMessage(mustToken(t, wsUserID, time.Hour)))
	if closeErr := expectClose(t, third, 4429, 5*time.Second); closeErr.Text != "Too many connections" {
		t.Errorf("close reason %q", closeErr.Text)
	}
	// A refused socket and one that never signed in count for nobody.
	dial(t, f.url, transportWS, nil)
	other := dial(t, f.url, transportWS, nil)
	send(t, other, initMessage(mustToken(t, wsOtherUserID, time.Hour)))
	if msg := next(t, other); msg.Type != "connection_ack" {
		t.Fatalf("another user: got %+v, want connection_ack", msg)
	}
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn := dial(t, f.url, transportWS, nil)
		send(t, conn, initMessage(mustToken(t, wsUserID, time.Hour)))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		if err == nil && strings.Contains(string(data), "connection_ack") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing a socket, the user still cannot open another: %s %v", data, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
