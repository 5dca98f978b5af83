package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
)

// This file is the server's WebSocket connection: the graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) and the legacy
// graphql-ws one over gorilla/websocket, driving gqlgen's executor for each operation
// (wsoperations.go).
//
// An idle socket costs one goroutine, the one that reads it, and no write buffer, and
// its idle subscriptions none (they park, see ResponseSender): the messages the server
// sends are written by whoever produces them (the reader answering the client, an
// operation's goroutine sending its responses, a timer sending pings),
// one at a time under the socket's write lock and within its write deadline, into a
// buffer gorilla takes from a pool shared by every socket for the length of one message.
// Timers, not goroutines, wait for connection_init, the next ping and the token's expiry.

// messageNames are a subprotocol's client message types, and the server's type for a
// response (next).
type messageNames struct {
	init, subscribe, complete, terminate string
	next                                 string
	// pings says whether the protocol has ping and pong messages; keepAlive whether the
	// server sends "ka" messages, and connectionErrors whether it says why it refuses
	// connection_init in a connection_error message before closing (the legacy protocol's).
	pings, keepAlive, connectionErrors bool
}

// The message names of each subprotocol, shared by every connection.
var (
	transportWSNames = messageNames{init: "connection_init", subscribe: "subscribe", complete: "complete", next: "next", pings: true}
	legacyWSNames    = messageNames{init: "connection_init", subscribe: "start", complete: "stop", terminate: "connection_terminate", next: "data", keepAlive: true, connectionErrors: true}
)

func namesFor(subprotocol string) *messageNames {
	if subprotocol == subprotocolTransportWS {
		return &transportWSNames
	}
	// A client that names no subprotocol is served the legacy one, as gqlgen did.
	return &legacyWSNames
}

// websocketConn is one socket. It enforces the read limit, read deadlines (pings answered
// within ReadTimeout), write deadlines, the connection_init timeout, the token's expiry,
// the message allowance, and the protocol's state machine with its close codes.
type websocketConn struct {
	ws    *websocket.Conn
	cfg   *WebSocketConfig // shared by every connection
	names *messageNames
	// logger and logCtx (the socket's request id) are for what goes wrong outside an
	// operation: a write that fails, a read that ends badly.
	logger *slog.Logger
	logCtx context.Context
	// reader is the buffered reader gorilla reads through, and readiness what the read
	// loop waits on for the connection to be readable (wsidle.go); nil when it cannot.
	reader    *bufio.Reader
	readiness syscall.RawConn

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
	// operations are those the client started and that have not ended (a few, one for
	// most sockets): a slice found by id costs an idle socket less than a map would.
	operations []*socketOperation
	closeSent  bool
	closed     bool
	// initTimer enforces InitTimeout (nil once connection_init arrived), pingTimer sends
	// the pings, expiryTimer closes the socket when the token expires.
	initTimer, pingTimer, expiryTimer *time.Timer

	// steps run the steps of the socket's woken operations; shared by every socket.
	steps *stepWorkers

	// running counts the operations that have not ended, running or parked, which the
	// reader waits for once the socket has closed.
	running sync.WaitGroup
}

func newWebsocketConn(ws *websocket.Conn, cfg *WebSocketConfig, logger *slog.Logger, logCtx context.Context) *websocketConn {
	c := &websocketConn{ws: ws, cfg: cfg, names: namesFor(ws.Subprotocol()), logger: logger, logCtx: logCtx,
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
	c.pingTimer = time.AfterFunc(cfg.PingInterval, c.ping)
	return c
}

// ping sends a WebSocket ping, which every client answers whatever its subprotocol, and
// to a signed-in legacy client a "ka" message, which its library expects.
func (c *websocketConn) ping() {
	c.mu.Lock()
	c.awaitingPong = true
	keepAlive := c.names.keepAlive && c.acked
	c.mu.Unlock()
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		c.writeFailed(err)
		return
	}
	if keepAlive && c.writeEnvelope(nil, "", "ka") != nil {
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

// refuse closes the socket from the read loop and waits (briefly) for the peer's answer,
// so that the close frame, and its code, reach the client rather than a TCP reset.
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

// Close drops the connection: the read loop ends, and with it the socket's operations.
func (c *websocketConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.stopTimersLocked()
	c.mu.Unlock()
	return c.ws.Close()
}

// isClosed reports whether the connection has been dropped.
func (c *websocketConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// serve reads the client's messages until the socket closes, and then ends its
// operations and waits for them. It runs on the socket's one goroutine; ctx is the
// socket's (its request id, its session).
//
// The loop is kept apart from the handling of a message: an idle socket's goroutine waits
// in read, and the runtime shrinks its stack to what the frames down to that wait need,
// so the fewer and smaller they are, the less an idle socket holds.
func (c *websocketConn) serve(ctx context.Context, x socketExecutor) {
	ctx, cancel := context.WithCancel(ctx)
	defer c.end(cancel)
	for {
		messageType, data, err := c.read()
		if err != nil {
			c.logReadError(err)
			return
		}
		var open bool
		if ctx, open = c.handle(ctx, x, messageType, data); !open {
			return
		}
	}
}

// end ends the socket's operations (cancel ends the context they all run under), drops
// the connection, and waits for the operations to end.
func (c *websocketConn) end(cancel context.CancelFunc) {
	cancel()
	_ = c.Close()
	c.running.Wait()
}

// handle acts on one client message, returning the socket's context (signing in adds
// the principal to it) and whether the socket stays open.
func (c *websocketConn) handle(ctx context.Context, x socketExecutor, messageType int, data []byte) (context.Context, bool) {
	start := graphql.Now()
	msg, v := c.admit(messageType, data)
	switch v.action {
	case closeSocket:
		c.refuse(v.closeCode, v.reason)
		return ctx, false
	case signIn:
		return x.signIn(ctx, c, msg.Payload)
	case startOperation:
		x.start(ctx, c, *msg.ID, msg.Payload, start)
	case completeOperation:
		// The operation's goroutine writes its complete message as it ends.
	case answerPing:
		if c.writeEnvelope(msg.Payload, "", "pong") != nil {
			return ctx, false
		}
	case terminate:
		c.refuse(websocket.CloseNormalClosure, "terminated")
		return ctx, false
	}
	return ctx, true
}

// read returns the next message the client sends, and moves the read deadline on.
func (c *websocketConn) read() (int, []byte, error) {
	c.awaitMessage()
	messageType, r, err := c.ws.NextReader()
	if err != nil {
		return messageType, nil, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return messageType, nil, err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
	return messageType, data, nil
}

// logReadError says why the read loop ended, when it ended for another reason than a close
// by either side. A client that went without closing is the one "client went away" line
// of its request id.
func (c *websocketConn) logReadError(err error) {
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
		c.logger.DebugContext(c.logCtx, "websocket", "error", err)
	case closeSent, c.isClosed(), errors.Is(err, net.ErrClosed),
		websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
	case clientDropped(err):
		logClientWentAway(c.logCtx, c.logger, "error", err.Error())
	default:
		c.logger.DebugContext(c.logCtx, "websocket", "error", err)
	}
}

// clientMessage is the envelope of every message of both subprotocols.
type clientMessage struct {
	Type    *string         `json:"type"`
	ID      *string         `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// messageAction is what the read loop does with a client message.
type messageAction int

const (
	ignoreMessage messageAction = iota
	closeSocket
	signIn
	startOperation
	completeOperation
	answerPing
	terminate
)

// verdict is what becomes of a client message: an action, and for closeSocket the code
// and reason.
type verdict struct {
	action    messageAction
	closeCode int
	reason    string
}

func closeVerdict(code int, reason string) verdict {
	return verdict{action: closeSocket, closeCode: code, reason: reason}
}

// admit applies the protocol's state machine to a client message. A subscribe it admits
// takes its id (4409 for one in use) until the operation ends; a complete gives it back
// and ends the operation.
func (c *websocketConn) admit(messageType int, data []byte) (clientMessage, verdict) {
	var msg clientMessage
	if messageType != websocket.TextMessage || json.Unmarshal(data, &msg) != nil || msg.Type == nil {
		return msg, closeVerdict(closeBadRequest, "Invalid message received")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.spendAllowanceLocked() {
		return msg, closeVerdict(closeTooMany, "Too many messages")
	}
	switch t := *msg.Type; {
	case t == c.names.init:
		var payload map[string]any
		if len(msg.Payload) > 0 && json.Unmarshal(msg.Payload, &payload) != nil {
			return msg, closeVerdict(closeBadRequest, "Invalid message received: connection_init payload must be an object")
		}
		if c.initSeen {
			return msg, closeVerdict(closeTooMany, "Too many initialisation requests")
		}
		c.initSeen = true
		// The timer has nothing more to do: let it go rather than hold it for the
		// socket's lifetime.
		c.initTimer.Stop()
		c.initTimer = nil
		return msg, verdict{action: signIn}
	case t == c.names.subscribe:
		if !c.acked {
			return msg, closeVerdict(closeUnauthorized, "Unauthorized")
		}
		// A persisted document may be named by its documentId instead of a query.
		var payload struct {
			Query      *string `json:"query"`
			DocumentID *string `json:"documentId"`
		}
		if msg.ID == nil || *msg.ID == "" || json.Unmarshal(msg.Payload, &payload) != nil || (payload.Query == nil && payload.DocumentID == nil) {
			return msg, closeVerdict(closeBadRequest, "Invalid message received: "+t+" needs an id and a payload with a query or a documentId")
		}
		if c.operationLocked(*msg.ID) != nil {
			return msg, closeVerdict(closeSubscriberExists, "Subscriber for "+*msg.ID+" already exists")
		}
		// Stepping from the start: start's goroutine runs the first step.
		c.operations = append(c.operations, &socketOperation{id: *msg.ID, conn: c, stepping: true})
		return msg, verdict{action: startOperation}
	case t == c.names.complete:
		if msg.ID == nil || *msg.ID == "" {
			return msg, closeVerdict(closeBadRequest, "Invalid message received: "+t+" needs an id")
		}
		if op := c.operationLocked(*msg.ID); op != nil {
			c.dropOperationLocked(op)
			op.end()
		}
		return msg, verdict{action: completeOperation}
	case t == c.names.terminate && t != "":
		return msg, verdict{action: terminate}
	case c.names.pings && t == "ping":
		return msg, verdict{action: answerPing}
	case c.names.pings && t == "pong":
		return msg, verdict{action: ignoreMessage}
	}
	return msg, closeVerdict(closeBadRequest, "Invalid message received: unknown type")
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

// acknowledge notes that the client is signed in: operations may start.
func (c *websocketConn) acknowledge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked = true
}

// operationEnded gives op's id back, unless a complete from the client already has (and
// the id may have been taken again since).
func (c *websocketConn) operationEnded(op *socketOperation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropOperationLocked(op)
}

// dropOperationLocked forgets op, if it is still one of the socket's operations.
func (c *websocketConn) dropOperationLocked(op *socketOperation) {
	if i := slices.Index(c.operations, op); i >= 0 {
		c.operations = slices.Delete(c.operations, i, i+1)
	}
	if len(c.operations) == 0 {
		// A socket whose operations have ended holds no array for them.
		c.operations = nil
	}
}

// operationLocked returns the operation admitted as id that has not ended, nil when none.
func (c *websocketConn) operationLocked(id string) *socketOperation {
	for _, op := range c.operations {
		if op.id == id {
			return op
		}
	}
	return nil
}

// operation returns the operation admitted as id, nil when it has ended.
func (c *websocketConn) operation(id string) *socketOperation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.operationLocked(id)
}
