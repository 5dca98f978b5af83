package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"notifyql"
)

// Close codes of the graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md). gqlgen closes most
// protocol violations with 1002 or 1000, so the adapter below enforces the protocol's
// state machine itself and closes with these. The legacy graphql-ws protocol defines no
// codes of its own; it gets the same ones, so that clients of either see one behaviour.
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

// The subprotocols gqlgen speaks.
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

// websocketTransport returns gqlgen's WebSocket transport over the gorilla adapter, with
// authentication from the connection_init payload.
func (s *Server) websocketTransport() transport.Websocket {
	readLimit := s.cfg.WebSocket.ReadLimit
	return transport.Websocket{
		Implementation: s.websocketUpgrader,
		InitFunc:       s.authenticateWebsocket,
		// The adapter times connection_init itself (to close with 4408), and pings with
		// WebSocket control frames, which every client answers whatever its subprotocol;
		// gqlgen's InitTimeout and PingPongInterval stay off. Legacy clients also expect
		// "ka" messages.
		KeepAlivePingInterval: s.cfg.WebSocket.PingInterval,
		PayloadReadLimit:      &readLimit,
		ErrorFunc: func(ctx context.Context, err error) {
			if clientDropped(err) {
				logClientWentAway(ctx, s.cfg.Logger, "error", err.Error())
				return
			}
			s.cfg.Logger.DebugContext(ctx, "websocket", "error", err)
		},
	}
}

// clientDropped reports whether err, from reading or writing a socket, says only that its
// client went without closing it (a dropped network, a closed tab), or that the socket was
// already closing: the socket's "client went away" line says all of it.
func clientDropped(err error) bool {
	var closeErr *websocket.CloseError
	return (errors.As(err, &closeErr) && closeErr.Code == websocket.CloseAbnormalClosure) ||
		errors.Is(err, websocket.ErrCloseSent)
}

// authenticateWebsocket is the transport's InitFunc: it authenticates the Authorization
// value of the connection_init payload, closes the socket with 4403 when credentials are
// refused, and schedules the same close for when the token expires.
func (s *Server) authenticateWebsocket(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	principal, expires, err := s.auth.AuthenticateWithExpiry(ctx, payload.Authorization())
	switch {
	case notifyql.ErrorCode(err) == notifyql.EUNAUTHENTICATED:
		reason := notifyql.ErrorMessage(err)
		s.cfg.Logger.DebugContext(ctx, "websocket credentials refused", "reason", reason)
		ctx = transport.WithWebsocketCloseCode(ctx, closeForbidden)
		ctx = transport.AppendCloseReason(ctx, "Forbidden: "+reason)
		return ctx, nil, errors.New(reason)
	case err != nil:
		s.cfg.Logger.ErrorContext(ctx, "authenticate websocket", "error", err)
		ctx = transport.WithWebsocketCloseCode(ctx, websocket.CloseInternalServerErr)
		ctx = transport.AppendCloseReason(ctx, "internal error")
		return ctx, nil, errors.New("internal error")
	}
	session := sessionFromContext(ctx)
	if session != nil && !s.websockets.signIn(session, principal.User.ID, s.cfg.WebSocket.MaxConnectionsPerUser) {
		s.cfg.Logger.InfoContext(ctx, "websocket refused: the user holds the most sockets allowed",
			"user_id", principal.User.ID, "max", s.cfg.WebSocket.MaxConnectionsPerUser)
		ctx = transport.WithWebsocketCloseCode(ctx, closeTooMany)
		ctx = transport.AppendCloseReason(ctx, "Too many connections")
		return ctx, nil, errors.New("too many connections")
	}
	if conn := session.connection(); conn != nil {
		conn.closeAt(expires, closeForbidden, "token expired")
	}
	// gqlgen keeps the payload for the connection's lifetime and hands it to every
	// operation: the bearer token, now used, is not kept with it.
	delete(payload, "Authorization")
	delete(payload, "authorization")
	return notifyql.NewContextWithPrincipal(ctx, principal), nil, nil
}

// websocketHandler serves GET /graphql: WebSocket upgrades from allowed origins go to gql;
// anything else gets notUpgrade.
func (s *Server) websocketHandler(gql, notUpgrade http.Handler) http.Handler {
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
		conn, err := s.websocketUpgrader.upgrade(w, r)
		if err != nil {
			s.websockets.remove(session)
			s.cfg.Logger.DebugContext(r.Context(), "websocket upgrade refused", "error", err)
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "this request cannot be upgraded to a WebSocket")
			return
		}
		session.mu.Lock()
		session.conn = conn
		session.mu.Unlock()
		// The connection is served on a goroutine of its own, and this handler returns:
		// net/http then lets go of everything it held for the request (its buffers, the
		// connection's state, and this goroutine's stack, grown by parsing and routing),
		// which an open socket would otherwise keep for as long as it lives. The socket's
		// context is a new one carrying the request id: the request's would keep net/http's
		// per-connection contexts alive with it. It carries the client's network too, which
		// the socket's persisted-query registrations are counted against (server/apq.go).
		// As net/http does for a request, it ends when serving does: gqlgen's subscriptions
		// run under it and end with it.
		ctx := withRequestTag(context.Background(), RequestID(r.Context()))
		ctx = withClientNetwork(ctx, clientNetwork(s.cfg.TrustedProxies.clientAddress(r)))
		ctx, cancel := context.WithCancel(context.WithValue(ctx, websocketSessionKey{}, session))
		// Of the request, gqlgen needs only the method and the Upgrade header (to pick its
		// WebSocket transport). A copy of the request would keep its URL, addresses and
		// the rest for the socket's lifetime for nothing.
		upgraded := (&http.Request{Method: r.Method, Header: upgradeHeader}).WithContext(ctx)
		go func() {
			defer s.websockets.remove(session)
			defer cancel()
			// No net/http recovery runs here any more: a panic would end the process.
			defer func() {
				if p := recover(); p != nil {
					logPanic(ctx, s.cfg.Logger, "panic serving a websocket", p)
					_ = conn.Close()
				}
			}()
			gql.ServeHTTP(upgradedResponse{}, upgraded)
		}()
	})
}

// upgradeHeader is the header gqlgen sees on every upgraded request (it reads, never
// writes, it), shared rather than one per socket.
var upgradeHeader = http.Header{"Upgrade": {"websocket"}}

// upgradedResponse stands for the ResponseWriter of a request whose connection has been
// upgraded: gqlgen's transport receives one, and nothing may be written to it any more.
type upgradedResponse struct{}

func (upgradedResponse) Header() http.Header       { return http.Header{} }
func (upgradedResponse) Write([]byte) (int, error) { return 0, http.ErrHijacked }
func (upgradedResponse) WriteHeader(int)           {}

// websocketSession links an upgrade request to the connection the adapter accepts for it,
// so that the InitFunc (which only sees the request's context) can schedule the token's
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

// gorillaWebsocket upgrades requests to WebSocket connections with gorilla/websocket, and
// hands them to gqlgen as its WebsocketImplementation.
type gorillaWebsocket struct {
	cfg WebSocketConfig
	// writeBuffers are shared between connections, so an idle one holds no write buffer.
	writeBuffers *sync.Pool
}

var _ transport.WebsocketImplementation = (*gorillaWebsocket)(nil)

// readBufferBytes sizes a connection's read buffer. Client messages are small (a
// subscribe is a query and its variables), and a longer one is read in several fills:
// a small buffer keeps an idle connection small.
const readBufferBytes = 256

// upgrade answers the WebSocket handshake, offering the subprotocols gqlgen speaks.
func (g *gorillaWebsocket) upgrade(w http.ResponseWriter, r *http.Request) (*websocketConn, error) {
	upgrader := websocket.Upgrader{
		HandshakeTimeout: g.cfg.WriteTimeout,
		CheckOrigin:      g.cfg.originAllowed,
		ReadBufferSize:   readBufferBytes,
		WriteBufferPool:  g.writeBuffers,
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
	ws, err := upgrader.Upgrade(w, r, header)
	if err != nil {
		return nil, fmt.Errorf("upgrade to websocket: %w", err)
	}
	return newWebsocketConn(ws, &g.cfg), nil
}

// chooseSubprotocol returns the first subprotocol the client offers that gqlgen speaks,
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

// Accept hands gqlgen the connection the handler upgraded for this request.
func (g *gorillaWebsocket) Accept(_ http.ResponseWriter, r *http.Request, _ transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn := sessionFromContext(r.Context()).connection()
	if conn == nil {
		return nil, errors.New("accept websocket: the request was not upgraded")
	}
	return conn, nil
}

// messageNames are a subprotocol's client message types, and the server's type for a
// response (next).
type messageNames struct {
	init, subscribe, complete, terminate string
	next                                 string
	// pings says whether the protocol has ping and pong messages.
	pings bool
}

// The message names of each subprotocol, shared by every connection.
var (
	transportWSNames = messageNames{init: "connection_init", subscribe: "subscribe", complete: "complete", next: "next", pings: true}
	legacyWSNames    = messageNames{init: "connection_init", subscribe: "start", complete: "stop", terminate: "connection_terminate", next: "data"}
)

func namesFor(subprotocol string) *messageNames {
	if subprotocol == subprotocolTransportWS {
		return &transportWSNames
	}
	// gqlgen serves a client that names no subprotocol with the legacy one.
	return &legacyWSNames
}

// websocketConn is one gorilla connection as gqlgen's WebsocketConn. It enforces the read
// limit, read deadlines (pings answered within ReadTimeout), write deadlines, the
// connection_init timeout, the token's expiry, and the graphql-transport-ws state machine
// with its close codes, by inspecting each message on its way in and out.
type websocketConn struct {
	ws    *websocket.Conn
	cfg   *WebSocketConfig // shared by every connection
	names *messageNames

	// writeMu serialises data frames; gorilla allows one writer at a time (control frames
	// may be written concurrently). writeDeadline is the data frames' deadline.
	writeMu       sync.Mutex
	writeDeadline time.Time

	mu sync.Mutex
	// allowance is how many messages the client may send now, refilled at MessageRate up
	// to MessageBurst since lastMessage.
	allowance   float64
	lastMessage time.Time
	initSeen    bool
	acked       bool
	// awaitingPong is set while the server's last ping has not been answered.
	awaitingPong bool
	active       []string // operation ids the client started and that have not ended (a few)
	closeSent    bool
	closed       bool
	// initTimer enforces InitTimeout (nil once connection_init arrived), pingTimer sends
	// the pings, expiryTimer closes the socket when the token expires.
	initTimer, pingTimer, expiryTimer *time.Timer
	// standIns are responses encoded once for many subscribers, waiting for gqlgen to
	// write the stand-ins numbered up to lastStandIn (wsmessages.go).
	standIns    []standIn
	lastStandIn uint64
}

var (
	_ transport.WebsocketConn        = (*websocketConn)(nil)
	_ transport.WebsocketReadLimiter = (*websocketConn)(nil)
)

func newWebsocketConn(ws *websocket.Conn, cfg *WebSocketConfig) *websocketConn {
	c := &websocketConn{ws: ws, cfg: cfg, names: namesFor(ws.Subprotocol()),
		allowance: float64(cfg.MessageBurst), lastMessage: time.Now()}
	ws.SetReadLimit(cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(cfg.ReadTimeout))
	ws.SetPingHandler(c.answerPing)
	ws.SetPongHandler(c.takePong)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.initTimer = time.AfterFunc(cfg.InitTimeout, func() {
		c.mu.Lock()
		seen := c.initSeen
		c.mu.Unlock()
		if !seen {
			c.closeWith(closeInitTimeout, "Connection initialisation timeout")
		}
	})
	// A timer rather than a goroutine per connection: an idle socket costs no stack.
	c.pingTimer = time.AfterFunc(cfg.PingInterval, c.ping)
	return c
}

func (c *websocketConn) ping() {
	c.mu.Lock()
	c.awaitingPong = true
	c.mu.Unlock()
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		c.dropAfterWriteError(err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && !c.closeSent {
		c.pingTimer.Reset(c.cfg.PingInterval)
	}
}

// answerPing answers a client's control-frame ping with a pong, as gorilla would, but
// counts it against the client's message allowance first: answering costs a write, and a
// client that pings faster than it may send messages is closed with 4429 like one that
// sends messages too fast. Gorilla calls it from the read loop, inside NextReader.
func (c *websocketConn) answerPing(data string) error {
	if !c.admitControlFrame() {
		return nil
	}
	// As gorilla's own handler: a pong that cannot be written is not a read error; the
	// next write or read finds what went wrong.
	_ = c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.cfg.WriteTimeout))
	return nil
}

// takePong notes the client's answer to the server's ping, which shows the client is alive
// (the read deadline moves on, unless the socket is closing). A pong nobody asked for
// counts against the allowance.
func (c *websocketConn) takePong(string) error {
	c.mu.Lock()
	answer := c.awaitingPong && !c.closeSent && !c.closed
	c.awaitingPong = false
	c.mu.Unlock()
	if answer || c.admitControlFrame() {
		return c.ws.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
	}
	return nil
}

// admitControlFrame spends one message of the allowance on a control frame from the
// client, reporting whether it may be acted on. Past the allowance the socket is closed
// with 4429, and the frames that arrive while it closes are ignored. The frame is not
// refused by returning an error: gorilla would then refuse every later read, and the
// closing handshake could not finish.
func (c *websocketConn) admitControlFrame() bool {
	c.mu.Lock()
	closing := c.closeSent || c.closed
	allowed := !closing && c.spendAllowanceLocked()
	c.mu.Unlock()
	if !allowed && !closing {
		c.closeWith(closeTooMany, "Too many messages")
	}
	return allowed
}

// closeAt closes the socket with code and reason at t (at once if t has passed).
func (c *websocketConn) closeAt(t time.Time, code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closeSent {
		return
	}
	if c.expiryTimer != nil {
		c.expiryTimer.Stop()
	}
	c.expiryTimer = time.AfterFunc(time.Until(t), func() { c.closeWith(code, reason) })
}

// closeWith starts the closing handshake from outside the read loop: the close frame goes
// out now, and the read loop ends when the peer answers or closeGrace passes.
func (c *websocketConn) closeWith(code int, reason string) {
	if c.sendClose(code, reason) {
		_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
	}
}

// sendClose writes the close frame once, reporting whether this call wrote it.
func (c *websocketConn) sendClose(code int, reason string) bool {
	c.mu.Lock()
	if c.closeSent || c.closed {
		c.mu.Unlock()
		return false
	}
	c.closeSent = true
	c.stopTimersLocked()
	c.mu.Unlock()
	if len(reason) > maxCloseReasonBytes {
		reason = reason[:maxCloseReasonBytes]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(c.cfg.WriteTimeout))
	return true
}

func (c *websocketConn) stopTimersLocked() {
	for _, timer := range []*time.Timer{c.initTimer, c.pingTimer, c.expiryTimer} {
		if timer != nil {
			timer.Stop()
		}
	}
}

// errClosedByServer ends gqlgen's read loop after the adapter closed the socket itself. It
// wraps transport.ErrWebsocketClosed, so gqlgen treats it as a normal end.
var errClosedByServer = fmt.Errorf("closed by the server: %w", transport.ErrWebsocketClosed)

// NextReader returns the next client message that gqlgen should handle. Messages that
// break the protocol close the socket with the protocol's code; pings and completions
// before the acknowledgement, which gqlgen would refuse, are handled here.
func (c *websocketConn) NextReader() (int, io.Reader, error) {
	for {
		messageType, r, err := c.ws.NextReader()
		if err != nil {
			return messageType, nil, c.readError(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return messageType, nil, c.readError(err)
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
		switch v := c.admit(messageType, data); {
		case v.closeCode != 0:
			c.refuse(v.closeCode, v.reason)
			return messageType, nil, errClosedByServer
		case v.forward:
			return messageType, bytes.NewReader(data), nil
		case v.pong:
			if err := c.writeMessage([]byte(`{"type":"pong"}`)); err != nil {
				return messageType, nil, err
			}
		}
	}
}

// readError classifies a read failure for gqlgen: a close (by either side) is a normal end.
func (c *websocketConn) readError(err error) error {
	c.mu.Lock()
	closeSent := c.closeSent
	c.mu.Unlock()
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has sent 1009 (message too big). The rest of the message is still
		// arriving: discard it for a moment so the close frame is not lost to a reset.
		c.mu.Lock()
		c.closeSent = true
		c.stopTimersLocked()
		c.mu.Unlock()
		netConn := c.ws.NetConn()
		_ = netConn.SetReadDeadline(time.Now().Add(closeGrace))
		_, _ = io.Copy(io.Discard, io.LimitReader(netConn, 4*c.cfg.ReadLimit))
		return fmt.Errorf("read websocket message: %w", err)
	case closeSent,
		websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
		return transport.ErrWebsocketClosed
	}
	return fmt.Errorf("read websocket message: %w", err)
}

// refuse closes the socket from the read loop and waits (briefly) for the peer's answer.
func (c *websocketConn) refuse(code int, reason string) {
	if !c.sendClose(code, reason) {
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}

// clientMessage is the envelope of every message of both subprotocols.
type clientMessage struct {
	Type    *string         `json:"type"`
	ID      *string         `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// verdict is what becomes of a client message: gqlgen handles it (forward), the socket
// closes (closeCode, reason), the adapter answers it (pong), or it is dropped (none).
type verdict struct {
	forward   bool
	closeCode int
	reason    string
	pong      bool
}

var forwardMessage = verdict{forward: true}

func closeVerdict(code int, reason string) verdict { return verdict{closeCode: code, reason: reason} }

// admit applies the graphql-transport-ws state machine to a client message.
func (c *websocketConn) admit(messageType int, data []byte) verdict {
	var msg clientMessage
	if messageType != websocket.TextMessage || json.Unmarshal(data, &msg) != nil || msg.Type == nil {
		return closeVerdict(closeBadRequest, "Invalid message received")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.spendAllowanceLocked() {
		return closeVerdict(closeTooMany, "Too many messages")
	}
	switch t := *msg.Type; {
	case t == c.names.init:
		var payload map[string]any
		if len(msg.Payload) > 0 && json.Unmarshal(msg.Payload, &payload) != nil {
			return closeVerdict(closeBadRequest, "Invalid message received: connection_init payload must be an object")
		}
		if c.initSeen {
			return closeVerdict(closeTooMany, "Too many initialisation requests")
		}
		c.initSeen = true
		// The timer has nothing more to do: let it go rather than hold it for the
		// socket's lifetime.
		c.initTimer.Stop()
		c.initTimer = nil
		return forwardMessage
	case t == c.names.subscribe:
		if !c.acked {
			return closeVerdict(closeUnauthorized, "Unauthorized")
		}
		var payload struct {
			Query *string `json:"query"`
		}
		if msg.ID == nil || *msg.ID == "" || json.Unmarshal(msg.Payload, &payload) != nil || payload.Query == nil {
			return closeVerdict(closeBadRequest, "Invalid message received: "+t+" needs an id and a payload with a query")
		}
		if slices.Contains(c.active, *msg.ID) {
			return closeVerdict(closeSubscriberExists, "Subscriber for "+*msg.ID+" already exists")
		}
		c.active = append(c.active, *msg.ID)
		return forwardMessage
	case t == c.names.complete:
		if msg.ID == nil || *msg.ID == "" {
			return closeVerdict(closeBadRequest, "Invalid message received: "+t+" needs an id")
		}
		c.active = slices.DeleteFunc(c.active, func(id string) bool { return id == *msg.ID })
		// Before the acknowledgement nothing is running to complete.
		return verdict{forward: c.acked}
	case t == c.names.terminate && t != "":
		return forwardMessage
	case c.names.pings && (t == "ping" || t == "pong"):
		if c.acked {
			return forwardMessage
		}
		// graphql-transport-ws allows pings at any time, gqlgen only after the
		// acknowledgement: earlier ones are answered here.
		return verdict{pong: t == "ping"}
	}
	return closeVerdict(closeBadRequest, "Invalid message received: unknown type")
}

// spendAllowanceLocked takes one message from the client's allowance, reporting false
// when none is left.
func (c *websocketConn) spendAllowanceLocked() bool {
	now := time.Now()
	c.allowance = min(float64(c.cfg.MessageBurst), c.allowance+now.Sub(c.lastMessage).Seconds()*c.cfg.MessageRate)
	c.lastMessage = now
	if c.allowance < 1 {
		return false
	}
	c.allowance--
	return true
}

func (c *websocketConn) writeMessage(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// The deadline is moved on only when less than half the timeout is left, rather than
	// at every message (each move re-arms a runtime timer): a client that stops reading
	// is still dropped between half the timeout and the timeout after its last write.
	if now := time.Now(); c.writeDeadline.Sub(now) < c.cfg.WriteTimeout/2 {
		c.writeDeadline = now.Add(c.cfg.WriteTimeout)
		_ = c.ws.SetWriteDeadline(c.writeDeadline)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		c.dropAfterWriteError(err)
		return fmt.Errorf("write websocket message: %w", err)
	}
	return nil
}

// dropAfterWriteError drops a client that stops reading (the write timed out) or is gone:
// closing ends gqlgen's read loop, which tears the connection down. Writes refused because
// the close frame has gone out leave the closing handshake to finish.
func (c *websocketConn) dropAfterWriteError(err error) {
	if !errors.Is(err, websocket.ErrCloseSent) {
		_ = c.Close()
	}
}

// observe tracks the server's side of the state machine: the acknowledgement, and
// operations ended by complete or error.
func (c *websocketConn) observe(typ, id string) {
	switch typ {
	case "connection_ack", "complete", "error":
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if typ == "connection_ack" {
		c.acked = true
		return
	}
	c.active = slices.DeleteFunc(c.active, func(active string) bool { return active == id })
}

// WriteClose closes the socket on gqlgen's behalf. gqlgen's 1002 (protocol error) becomes
// graphql-transport-ws's 4400; once the adapter has closed the socket, gqlgen's own close
// is dropped so the client sees the adapter's code.
func (c *websocketConn) WriteClose(code int, message string) error {
	if code == websocket.CloseProtocolError {
		code = closeBadRequest
	}
	c.sendClose(code, message)
	return nil
}

// Close drops the connection.
func (c *websocketConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.stopTimersLocked()
	c.mu.Unlock()
	if err := c.ws.Close(); err != nil {
		return fmt.Errorf("close websocket: %w", err)
	}
	return nil
}

func (c *websocketConn) Subprotocol() string { return c.ws.Subprotocol() }

// SetReadLimit lets gqlgen's PayloadReadLimit apply; the configured limit is already set.
func (c *websocketConn) SetReadLimit(limit int64) { c.ws.SetReadLimit(limit) }
