package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
)

// This file writes the messages the server sends over a WebSocket.

// ResponseSender sends one subscription's responses on its socket, each encoded once for
// all the subscribers that share it: the socket writes the encoding as it is, with only
// the operation's id and the message type around it (writeEnvelope), so that a snapshot
// pushed to thousands of subscribers is not encoded again for each.
//
// Send may be called only from within the operation's response handler, so that its
// responses stay in order with the operation's other messages (the last, complete or
// error, is written when the handler returns).
//
// A response handler with nothing to send returns Park's response instead of waiting:
// the transport lets its goroutine go, and runs the handler again, on a goroutine of its
// own, once Wake is called. An idle subscription so holds no goroutine, its stack, or
// gqlgen's frames down to the wait.
type ResponseSender interface {
	// StandIn returns the data of a stand-in response for encoded (a whole response, as
	// encoding/json writes it): the socket writes encoded where the response handed back
	// with this data would go. A sender whose Send has never reported false needs none.
	StandIn(encoded []byte) json.RawMessage
	// Send writes encoded as the operation's next response. It reports false, having
	// written nothing, only where the sender cannot write yet; this transport's always
	// can, knowing the operation's id from its start.
	Send(encoded []byte) (sent bool, err error)
	// Park returns the response that parks the operation: it is not sent.
	Park() *graphql.Response
	// Wake runs a parked operation's response handler again, or again after the run in
	// progress. It never waits: the live hub calls it under its lock.
	Wake()
}

// ResponseSenderFor returns the sender of an operation on one of this server's sockets,
// or nil when ctx is not one's: the response handler returns its responses to gqlgen.
func ResponseSenderFor(ctx context.Context) ResponseSender {
	if op := operationFrom(ctx); op != nil && op.conn != nil {
		return op
	}
	return nil
}

var _ ResponseSender = (*socketOperation)(nil)

// Send writes encoded as the operation's next response.
func (op *socketOperation) Send(encoded []byte) (bool, error) {
	c := op.conn
	return true, c.writeEnvelope(encoded, op.id, c.names.next)
}

// Park marks the operation parked; step sees the mark when the handler returns.
func (op *socketOperation) Park() *graphql.Response {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.parked = true
	return &graphql.Response{}
}

// Wake has a step worker run the operation's response handler, unless a step runs it
// now: that one then runs it once more before it lets go (letGo).
func (op *socketOperation) Wake() {
	op.mu.Lock()
	if op.stepping {
		op.woken = true
		op.mu.Unlock()
		return
	}
	op.stepping = true
	op.mu.Unlock()
	op.conn.steps.run(op.step)
}

// StandIn keeps encoded for the operation's next response, which it replaces whatever
// that response holds.
func (op *socketOperation) StandIn(encoded []byte) json.RawMessage {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.standIn = encoded
	return json.RawMessage("null")
}

// errSocketClosed refuses writes to a socket that has been dropped.
var errSocketClosed = errors.New("write websocket message: the socket is closed")

// writeEnvelope writes one server message, {"payload":…,"id":…,"type":…} (an empty
// payload or id left out), within the write timeout. payload is already encoded and is
// written as it is: a response encoded once is sent to each of its subscribers with only
// its operation's id and the message type around it, straight into the buffer gorilla
// takes from the shared pool for this one message.
func (c *websocketConn) writeEnvelope(payload []byte, id, typ string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isClosed() {
		return errSocketClosed
	}
	// The deadline is moved on only when less than half the timeout is left, rather than
	// at every message (each move re-arms a runtime timer): a client that stops reading
	// is still dropped between half the timeout and the timeout after its last write.
	if now := time.Now(); c.writeDeadline.Sub(now) < c.cfg.WriteTimeout/2 {
		c.writeDeadline = now.Add(c.cfg.WriteTimeout)
		_ = c.ws.SetWriteDeadline(c.writeDeadline)
	}
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err == nil {
		err = writeEnvelopeTo(w, payload, id, typ)
		if closeErr := w.Close(); err == nil {
			err = closeErr
		}
	}
	if err != nil {
		c.writeFailed(err)
		return errors.Join(errSocketClosed, err)
	}
	return nil
}

// writeFailed drops a client that stops reading (the write timed out) or is gone: closing
// ends the read loop, which ends the socket's operations. Writes refused because the
// close frame has gone out leave the closing handshake to finish.
func (c *websocketConn) writeFailed(err error) {
	if errors.Is(err, websocket.ErrCloseSent) || errors.Is(err, net.ErrClosed) || c.isClosed() {
		return
	}
	if clientDropped(err) {
		logClientWentAway(c.logCtx, c.logger, "error", err.Error())
	} else {
		c.logger.DebugContext(c.logCtx, "websocket", "error", err)
	}
	_ = c.Close()
}

// writeEnvelopeTo writes a server message as encoding/json writes gqlgen's envelopes
// (Payload, ID and Type, the first two omitted when empty).
func writeEnvelopeTo(w io.Writer, payload []byte, id, typ string) error {
	e := envelopeWriter{w: w}
	e.str("{")
	if len(payload) > 0 {
		e.str(`"payload":`)
		e.bytes(payload)
		e.str(",")
	}
	if id != "" {
		e.str(`"id":`)
		e.jsonString(id)
		e.str(",")
	}
	e.str(`"type":`)
	e.jsonString(typ)
	e.str("}")
	return e.err
}

// envelopeWriter writes the pieces of a message, keeping the first error.
type envelopeWriter struct {
	w   io.Writer
	err error
}

func (e *envelopeWriter) str(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *envelopeWriter) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// jsonString writes s as a JSON string, as encoding/json writes it.
func (e *envelopeWriter) jsonString(s string) {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s)
			e.bytes(quoted)
			return
		}
	}
	e.str(`"`)
	e.str(s)
	e.str(`"`)
}
