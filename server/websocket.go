package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"notifyql"
)

// Close codes of the graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md). The legacy graphql-ws
// protocol defines no codes of its own; it gets the same ones, so that clients of either
// see one behaviour.
const (
	closeBadRequest       = 4400
	closeUnauthorized     = 4401
	closeForbidden        = 4403
	closeInitTimeout      = 4408
	closeSubscriberExists = 4409
	// closeTooMany is the protocol's "too many initialisation requests", used too for a
	// client that sends messages faster than its rate or opens more sockets than its cap,
	// as HTTP's 429.
	closeTooMany = 4429
)

// The subprotocols the server speaks.
const (
	subprotocolTransportWS = "graphql-transport-ws"
	subprotocolLegacyWS    = "graphql-ws"
)

// closeGrace bounds how long a socket we closed waits for the peer's close frame before the
// TCP connection is dropped. Waiting lets the close frame (and its code) reach the client
// instead of being lost to a TCP reset.
const closeGrace = time.Second

// maxCloseReasonBytes is the room left for a reason in a close frame (RFC 6455 §5.5: 125
// bytes of payload, two of them the code).
const maxCloseReasonBytes = 123

// WebSocketConfig configures the WebSocket transport.
type WebSocketConfig struct {
	// AllowedOrigins are the exact origins (scheme://host[:port]) whose pages may open a
	// socket. A browser always sends Origin on a WebSocket upgrade, so a cross-site page is
	// refused; clients that are not browsers send none and are let through, as they carry
	// no ambient credentials to abuse (authentication comes in connection_init).
	AllowedOrigins []string
	// InitTimeout is how long a client has to send connection_init (4408 after it).
	InitTimeout time.Duration
	// PingInterval is how often the server sends a WebSocket ping (and, to legacy
	// graphql-ws clients, a "ka" message).
	PingInterval time.Duration
	// ReadTimeout is how long a socket may stay silent, not even answering pings, before it
	// is dropped. One no longer than PingInterval is raised to twice PingInterval.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write; a client that stops reading is dropped after it.
	WriteTimeout time.Duration
	// ReadLimit is the largest message a client may send, in bytes (1009 above it).
	ReadLimit int64
	// MessageRate is how many messages a second a connection may send after a burst of
	// MessageBurst, control-frame pings and unsolicited pongs included; a faster client is
	// closed with 4429.
	MessageRate  float64
	MessageBurst int
	// MaxConnectionsPerUser caps the sockets one signed-in user holds open on this
	// instance; connection_init beyond it is closed with 4429.
	MaxConnectionsPerUser int
	// MaxSubscriptionsPerSocket and MaxSubscriptionsPerUser cap the subscriptions running
	// at once on one socket, and for one user across their sockets on this instance; a
	// subscribe past either gets an error (SUBSCRIPTION_LIMIT) for that operation alone.
	MaxSubscriptionsPerSocket int
	MaxSubscriptionsPerUser   int
}

// DefaultWebSocketConfig returns the WebSocket settings used where configuration sets none;
// AllowedOrigins stays empty, admitting no browser page.
func DefaultWebSocketConfig() WebSocketConfig {
	return WebSocketConfig{
		InitTimeout:  3 * time.Second,
		PingInterval: 25 * time.Second,
		ReadTimeout:  60 * time.Second,
		WriteTimeout: 10 * time.Second,
		ReadLimit:    64 << 10,
		// A dashboard sends a handful of messages when it opens and a few when it
		// switches service; a burst of 50 leaves it plenty, and 10 a second any person.
		MessageRate:           10,
		MessageBurst:          50,
		MaxConnectionsPerUser: 20,
		// A dashboard holds three; each subscription costs a rendering per change, so a
		// user's hundred cost what a hundred dashboards' views do, and no more.
		MaxSubscriptionsPerSocket: 25,
		MaxSubscriptionsPerUser:   100,
	}
}

// withDefaults fills each unset setting with its default.
func (c WebSocketConfig) withDefaults() WebSocketConfig {
	d := DefaultWebSocketConfig()
	if c.InitTimeout <= 0 {
		c.InitTimeout = d.InitTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = d.PingInterval
	}
	if c.ReadTimeout <= c.PingInterval {
		// A socket must outlive the wait for the next ping's pong.
		c.ReadTimeout = max(d.ReadTimeout, 2*c.PingInterval)
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = d.ReadLimit
	}
	if c.MessageRate <= 0 {
		c.MessageRate = d.MessageRate
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = d.MessageBurst
	}
	if c.MaxConnectionsPerUser <= 0 {
		c.MaxConnectionsPerUser = d.MaxConnectionsPerUser
	}
	if c.MaxSubscriptionsPerSocket <= 0 {
		c.MaxSubscriptionsPerSocket = d.MaxSubscriptionsPerSocket
	}
	if c.MaxSubscriptionsPerUser <= 0 {
		c.MaxSubscriptionsPerUser = d.MaxSubscriptionsPerUser
	}
	return c
}

// originAllowed reports whether a request may upgrade: no Origin (not a browser), the
// API's own origin (its pages, GraphiQL and the dashboard: a page elsewhere cannot claim
// it, as browsers set Origin themselves), or one of the allowed origins, compared exactly.
func (c WebSocketConfig) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin == "" || sameOrigin(origin, r.Host) || slices.Contains(c.AllowedOrigins, origin)
}

// sameOrigin reports whether origin names host, the host and port the request was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Path == "" && host != "" &&
		strings.EqualFold(u.Host, host)
}

// socketTransport is the WebSocket transport among gqlgen's. It serves no request
// itself: it hands the executor gqlgen runs operations with, and its extensions, to
// executorOf, and the sockets drive that executor directly from their own goroutine
// (wsconn.go), without a pass through gqlgen's handler, whose frames each idle socket's
// stack would hold for as long as it is open. A request that reaches it otherwise (an
// Upgrade header on a request that is not a WebSocket handshake) is refused.
type socketTransport struct{}

var _ graphql.Transport = socketTransport{}

func (socketTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

func (socketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if capture, ok := r.Context().Value(executorCaptureKey{}).(*graphql.GraphExecutor); ok {
		*capture = exec
		return
	}
	writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "this request cannot be upgraded to a WebSocket")
}

type executorCaptureKey struct{}

// executorOf returns the executor of gql, a gqlgen handler with socketTransport among its
// transports.
func executorOf(gql http.Handler) graphql.GraphExecutor {
	var exec graphql.GraphExecutor
	ctx := context.WithValue(context.Background(), executorCaptureKey{}, &exec)
	gql.ServeHTTP(upgradedResponse{}, (&http.Request{Method: http.MethodGet, Header: upgradeHeader}).WithContext(ctx))
	if exec == nil {
		panic("server: the GraphQL handler has no socketTransport")
	}
	return exec
}

// clientDropped reports whether err, from reading or writing a socket, says only that its
// client went without closing it (a dropped network, a closed tab), or that the socket was
// already closing: the socket's "client went away" line says all of it.
func clientDropped(err error) bool {
	var closeErr *websocket.CloseError
	return (errors.As(err, &closeErr) && closeErr.Code == websocket.CloseAbnormalClosure) ||
		errors.Is(err, websocket.ErrCloseSent)
}

// initRefusal is why connection_init was refused: the close code and reason, and the
// message a legacy client is sent first (connection_error).
type initRefusal struct {
	code            int
	reason, message string
}

// authenticateWebsocket authenticates the Authorization value of the connection_init
// payload, refuses credentials with 4403 and a user past their socket cap with 4429, and
// schedules the close (4403) for when the token expires. The token, now used, is taken out
// of the payload, which operations see.
func (s *Server) authenticateWebsocket(ctx context.Context, payload transport.InitPayload) (context.Context, *initRefusal) {
	principal, expires, err := s.auth.AuthenticateWithExpiry(ctx, payload.Authorization())
	switch {
	case notifyql.ErrorCode(err) == notifyql.EUNAUTHENTICATED:
		reason := notifyql.ErrorMessage(err)
		s.cfg.Logger.DebugContext(ctx, "websocket credentials refused", "reason", reason)
		return ctx, &initRefusal{code: closeForbidden, reason: "Forbidden: " + reason, message: reason}
	case err != nil:
		s.cfg.Logger.ErrorContext(ctx, "authenticate websocket", "error", err)
		return ctx, &initRefusal{code: websocket.CloseInternalServerErr, reason: "internal error", message: "internal error"}
	}
	session := sessionFromContext(ctx)
	if session != nil && !s.websockets.signIn(session, principal.User.ID, s.cfg.WebSocket.MaxConnectionsPerUser) {
		s.cfg.Logger.InfoContext(ctx, "websocket refused: the user holds the most sockets allowed",
			"user_id", principal.User.ID, "max", s.cfg.WebSocket.MaxConnectionsPerUser)
		return ctx, &initRefusal{code: closeTooMany, reason: "Too many connections", message: "too many connections"}
	}
	if conn := session.connection(); conn != nil {
		conn.closeAt(expires, closeForbidden, "token expired")
	}
	delete(payload, "Authorization")
	delete(payload, "authorization")
	return notifyql.NewContextWithPrincipal(ctx, principal), nil
}

// websocketHandler serves GET /graphql: WebSocket upgrades from allowed origins are served
// (wsconn.go); anything else gets notUpgrade.
func (s *Server) websocketHandler(notUpgrade http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			notUpgrade.ServeHTTP(w, r)
			return
		}
		if !s.cfg.WebSocket.originAllowed(r) {
			s.cfg.Logger.InfoContext(r.Context(), "cross-site websocket upgrade refused", "origin", r.Header.Get("Origin"))
			writeGraphQLError(w, http.StatusForbidden, "FORBIDDEN", "this origin may not open a WebSocket to the API")
			return
		}
		session, ok := s.websockets.add()
		if !ok {
			writeGraphQLError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the server is shutting down")
			return
		}
		// The connection is served on a goroutine of its own, and this handler returns:
		// net/http then lets go of everything it held for the request (its buffers, the
		// connection's state, and this goroutine's stack, grown by parsing and routing),
		// which an open socket would otherwise keep for as long as it lives. That
		// goroutine reads the socket, and is the only one an idle socket has
		// (wsconn.go). The socket's context is a new one carrying the request id: the
		// request's would keep net/http's per-connection contexts alive with it. It
		// carries the client's network too, which the socket's persisted-query
		// registrations are counted against (server/apq.go). As net/http does for a
		// request, it ends when serving does: the socket's operations run under it.
		ctx := withRequestTag(context.Background(), RequestID(r.Context()))
		ctx = withClientNetwork(ctx, clientNetwork(s.cfg.TrustedProxies.clientAddress(r)))
		ctx = withSocketTrace(ctx, r)
		if s.fieldsIntercepted {
			ctx = notifyql.NewContextWithFieldsIntercepted(ctx)
		}
		ctx, cancel := context.WithCancel(context.WithValue(ctx, websocketSessionKey{}, session))
		conn, err := s.websocketUpgrader.upgrade(w, r, s.cfg.Logger, ctx)
		if err != nil {
			cancel()
			s.websockets.remove(session)
			s.cfg.Logger.DebugContext(r.Context(), "websocket upgrade refused", "error", err)
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "this request cannot be upgraded to a WebSocket")
			return
		}
		session.mu.Lock()
		session.conn = conn
		session.mu.Unlock()
		go s.serveSocket(ctx, cancel, session, conn)
	})
}

// serveSocket serves an upgraded connection on its own goroutine, until it closes.
func (s *Server) serveSocket(ctx context.Context, cancel context.CancelFunc, session *websocketSession, conn *websocketConn) {
	defer s.websockets.remove(session)
	defer cancel()
	// No net/http recovery runs here: a panic would end the process.
	defer func() {
		if p := recover(); p != nil {
			logPanic(ctx, s.cfg.Logger, "panic serving a websocket", p)
			_ = conn.Close()
		}
	}()
	conn.serve(ctx, s.socketExecutor)
}

// upgradedResponse is the ResponseWriter executorOf hands gqlgen: nothing is written to it.
type upgradedResponse struct{}

func (upgradedResponse) Header() http.Header       { return http.Header{} }
func (upgradedResponse) Write([]byte) (int, error) { return 0, http.ErrHijacked }
func (upgradedResponse) WriteHeader(int)           {}

// websocketSession links an upgrade request to the connection upgraded for it, so that
// signing in (which only sees the socket's context) can schedule the token's
// expiry on it, and shutdown can close it.
type websocketSession struct {
	mu   sync.Mutex
	conn *websocketConn
	// user is who signed in on the socket, once connection_init has been accepted, and
	// subscriptions how many subscriptions run on it (both guarded by
	// websocketSessions.mu).
	user          string
	subscriptions int
}

type websocketSessionKey struct{}

func sessionFromContext(ctx context.Context) *websocketSession {
	session, _ := ctx.Value(websocketSessionKey{}).(*websocketSession)
	return session
}

func (s *websocketSession) connection() *websocketConn {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// websocketSessions are the server's open sockets, which hijacking hides from
// http.Server.Shutdown.
type websocketSessions struct {
	mu   sync.Mutex
	live map[*websocketSession]struct{}
	// perUser counts the signed-in sockets of each user, subscriptionsPerUser the
	// subscriptions each user runs on them.
	perUser              tally
	subscriptionsPerUser tally
	closing              bool
	handlers             sync.WaitGroup
}

func newWebsocketSessions() *websocketSessions {
	return &websocketSessions{live: map[*websocketSession]struct{}{}, perUser: tally{}, subscriptionsPerUser: tally{}}
}

// signIn counts session against user's cap, reporting false (and counting nothing) when
// user already holds max sockets.
func (ss *websocketSessions) signIn(session *websocketSession, user string, max int) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if session.user != "" || !ss.perUser.take(user, max) {
		return false
	}
	session.user = user
	return true
}

// add registers a new session, or reports false once shutdown has begun.
func (ss *websocketSessions) add() (*websocketSession, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closing {
		return nil, false
	}
	session := &websocketSession{}
	ss.live[session] = struct{}{}
	ss.handlers.Add(1)
	return session, true
}

// open counts the sockets open now.
func (ss *websocketSessions) open() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.live)
}

func (ss *websocketSessions) remove(session *websocketSession) {
	ss.mu.Lock()
	delete(ss.live, session)
	if session.user != "" {
		ss.perUser.release(session.user)
	}
	ss.mu.Unlock()
	ss.handlers.Done()
}

// shutdown refuses new sockets, closes the open ones with 1001 (going away) so clients
// reconnect to another instance, and waits until their handlers return or ctx ends, when
// the remaining connections are dropped.
func (ss *websocketSessions) shutdown(ctx context.Context) error {
	ss.mu.Lock()
	ss.closing = true
	sessions := make([]*websocketSession, 0, len(ss.live))
	for session := range ss.live {
		sessions = append(sessions, session)
	}
	ss.mu.Unlock()
	for _, session := range sessions {
		if conn := session.connection(); conn != nil {
			conn.closeWith(websocket.CloseGoingAway, "server shutting down")
		}
	}
	done := make(chan struct{})
	go func() {
		ss.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	for _, session := range sessions {
		if conn := session.connection(); conn != nil {
			_ = conn.Close()
		}
	}
	<-done
	return fmt.Errorf("close websockets: %w", ctx.Err())
}

// gorillaWebsocket upgrades requests to WebSocket connections with gorilla/websocket.
type gorillaWebsocket struct {
	cfg WebSocketConfig
	// writeBuffers are shared between connections, so an idle one holds no write buffer.
	writeBuffers *sync.Pool
	// steps run woken subscriptions' steps, for every connection.
	steps *stepWorkers
}

// upgrade answers the WebSocket handshake, offering the subprotocols the server speaks.
func (g *gorillaWebsocket) upgrade(w http.ResponseWriter, r *http.Request, logger *slog.Logger, ctx context.Context) (*websocketConn, error) {
	upgrader := websocket.Upgrader{
		HandshakeTimeout: g.cfg.WriteTimeout,
		CheckOrigin:      g.cfg.originAllowed,
		// gorilla reads through the buffered reader hijacker hands it (wsidle.go).
		WriteBufferPool: g.writeBuffers,
		// The caller answers a failed upgrade.
		Error: func(http.ResponseWriter, *http.Request, int, error) {},
	}
	header := http.Header{}
	if id := w.Header().Get("X-Request-Id"); id != "" {
		header.Set("X-Request-Id", id)
	}
	// The subprotocol is chosen here rather than by gorilla, which would keep the
	// client's spelling: a slice of the request's whole header block, held for the
	// socket's lifetime.
	if subprotocol := chooseSubprotocol(websocket.Subprotocols(r)); subprotocol != "" {
		header.Set("Sec-Websocket-Protocol", subprotocol)
	}
	hijacker := &readerHijacker{ResponseWriter: w}
	ws, err := upgrader.Upgrade(hijacker, r, header)
	if err != nil {
		return nil, fmt.Errorf("upgrade to websocket: %w", err)
	}
	c := newWebsocketConn(ws, &g.cfg, logger, ctx)
	c.steps = g.steps
	if hijacker.reader != nil && ws.NetConn() == hijacker.conn {
		c.reader, c.readiness = hijacker.reader, readiness(hijacker.conn)
	}
	return c, nil
}

// chooseSubprotocol returns the first subprotocol the client offers that the server speaks,
// as one of this package's constants, or "" when it offers none of them.
func chooseSubprotocol(offered []string) string {
	for _, p := range offered {
		switch p {
		case subprotocolTransportWS:
			return subprotocolTransportWS
		case subprotocolLegacyWS:
			return subprotocolLegacyWS
		}
	}
	return ""
}
