package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// This file encodes the messages the server sends over a WebSocket. gqlgen hands the
// adapter each message as an envelope whose payload it has already encoded; the adapter
// copies that payload rather than encoding it again, and where the payload is a stand-in
// for a response encoded once for many subscribers (ResponseSender), it writes that
// response.

// WriteJSON writes one server message within the write timeout, noting acknowledgements
// and the ends of operations for the state machine.
func (c *websocketConn) WriteJSON(v any) error {
	return c.writeBuilt(func(dst []byte) ([]byte, error) {
		data, typ, id, err := appendServerMessage(dst, v, c.takeStandIn)
		if err != nil {
			return data, fmt.Errorf("encode websocket message: %w", err)
		}
		c.observe(typ, id)
		return data, nil
	})
}

// writeBuilt writes the message build appends to a buffer from messageBuffers.
func (c *websocketConn) writeBuilt(build func(dst []byte) ([]byte, error)) error {
	buf := messageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledMessageBytes {
			messageBuffers.Put(buf)
		}
	}()
	data, err := build((*buf)[:0])
	*buf = data
	if err != nil {
		return err
	}
	return c.writeMessage(data)
}

// messageBuffers hold messages while they are encoded and written: gorilla copies each
// into its own (pooled) buffer, so ours is free again once the write returns. At
// thousands of messages a second, that is that much less garbage.
var messageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledMessageBytes keeps a rare huge message's buffer out of the pool.
const maxPooledMessageBytes = 64 << 10

// ResponseSender sends one subscription's responses on its socket, each encoded once for
// all the subscribers that share it. gqlgen encodes every response it sends (a validating
// copy of its data) on the subscription's goroutine, through its own loop; for a snapshot
// pushed to thousands of subscribers that was most of the server's work beside the
// writes themselves. The goroutine sends its responses itself instead.
//
// gqlgen still writes the first: the operation's id, which gqlgen keeps to itself, is
// learnt from it. The response handler hands gqlgen a stand-in response, whose data
// StandIn returns, and the socket writes the encoding where the stand-in's would go.
// Later ones go out through Send, which only the goroutine gqlgen runs the operation's
// response handler on may call: its responses stay in order with gqlgen's own messages
// for the operation (the last, complete or error, is written when the handler returns).
type ResponseSender interface {
	// StandIn returns the data of a stand-in response for encoded (a whole response, as
	// encoding/json writes it).
	StandIn(encoded []byte) json.RawMessage
	// Send writes encoded as the operation's next response, and reports false, having
	// written nothing, until gqlgen has written a stand-in: hand it one.
	Send(encoded []byte) (sent bool, err error)
}

// ResponseSenderFor returns the sender of an operation on one of this server's sockets,
// or nil when ctx is not one's: the response handler returns its responses to gqlgen.
func ResponseSenderFor(ctx context.Context) ResponseSender {
	if conn := sessionFromContext(ctx).connection(); conn != nil {
		return &subscriptionSender{conn: conn}
	}
	return nil
}

// subscriptionSender is one operation's ResponseSender.
type subscriptionSender struct {
	conn *websocketConn
	id   string // the operation's, once gqlgen has written a stand-in (guarded by conn.mu)
}

func (s *subscriptionSender) StandIn(encoded []byte) json.RawMessage {
	c := s.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastStandIn++
	c.standIns = append(c.standIns, standIn{number: c.lastStandIn, encoded: encoded, sender: s})
	// GraphQL's data is an object or null, never a number: a number names a stand-in.
	return strconv.AppendUint(nil, c.lastStandIn, 10)
}

func (s *subscriptionSender) Send(encoded []byte) (bool, error) {
	c := s.conn
	c.mu.Lock()
	id := s.id
	c.mu.Unlock()
	if id == "" {
		return false, nil
	}
	return true, c.writeBuilt(func(dst []byte) ([]byte, error) {
		return appendEnvelope(dst, encoded, id, c.names.next), nil
	})
}

// standIn is a response encoded for many subscribers, waiting for gqlgen to write the
// stand-in numbered number for sender's operation.
type standIn struct {
	number  uint64
	encoded []byte
	sender  *subscriptionSender
}

// takeStandIn returns the encoded response that payload, written as a message of type typ
// for operation id, stands in for, if it is a response and a stand-in's encoding
// ({"data":N}), and forgets it. Its sender learns the operation's id. Only responses can
// be stand-ins: a pong echoes whatever payload the client's ping had.
func (c *websocketConn) takeStandIn(payload []byte, id, typ string) (encoded []byte, isStandIn bool, err error) {
	if typ != c.names.next {
		return nil, false, nil
	}
	digits, ok := bytes.CutPrefix(payload, []byte(`{"data":`))
	if !ok {
		return nil, false, nil
	}
	digits, ok = bytes.CutSuffix(digits, []byte(`}`))
	if !ok {
		return nil, false, nil
	}
	number, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return nil, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.standIns {
		if s.number == number {
			// The array is kept for the next: most sockets hold one subscription.
			c.standIns = slices.Delete(c.standIns, i, i+1)
			s.sender.id = id
			return s.encoded, true, nil
		}
	}
	return nil, true, fmt.Errorf("no response is waiting for stand-in %d", number)
}

// envelope locates the fields of the message struct gqlgen hands WriteJSON: both
// subprotocols' messages are {Payload json.RawMessage; ID string; Type string-kinded}.
type envelope struct{ payload, id, typ []int }

var envelopes sync.Map // reflect.Type → *envelope, nil when the type has another shape

func envelopeOf(t reflect.Type) *envelope {
	if e, ok := envelopes.Load(t); ok {
		return e.(*envelope)
	}
	var e *envelope
	if t.Kind() == reflect.Struct {
		payload, okP := t.FieldByName("Payload")
		id, okI := t.FieldByName("ID")
		typ, okT := t.FieldByName("Type")
		if okP && okI && okT && payload.Type == reflect.TypeFor[json.RawMessage]() &&
			id.Type.Kind() == reflect.String && typ.Type.Kind() == reflect.String {
			e = &envelope{payload: payload.Index, id: id.Index, typ: typ.Index}
		}
	}
	envelopes.Store(t, e)
	return e
}

// standIns finds the response a payload stands in for: see takeStandIn.
type standIns func(payload []byte, id, typ string) (encoded []byte, isStandIn bool, err error)

// appendServerMessage appends a message encoded as encoding/json would encode it to data,
// and returns its type and id. Every message is one of gqlgen's envelopes, whose payload gqlgen has already encoded
// (or, for a pong, decoded from the client): it is copied as it is rather than encoded
// again, which for a "next" message to each of thousands of subscribers is most of the
// cost of sending it. A payload that find says is a stand-in is replaced by what it
// stands in for; find may be nil.
func appendServerMessage(data []byte, v any, find standIns) (_ []byte, typ, id string, err error) {
	rv := reflect.Indirect(reflect.ValueOf(v))
	e := envelopeOf(rv.Type())
	if e == nil {
		encoded, err := json.Marshal(v)
		if err != nil {
			return data, "", "", err
		}
		var head struct{ Type, ID string }
		_ = json.Unmarshal(encoded, &head)
		return append(data, encoded...), head.Type, head.ID, nil
	}
	payload := rv.FieldByIndex(e.payload).Bytes()
	id = rv.FieldByIndex(e.id).String()
	typ = rv.FieldByIndex(e.typ).String()
	if find != nil {
		encoded, isStandIn, err := find(payload, id, typ)
		if err != nil {
			return data, typ, id, err
		}
		if isStandIn {
			payload = encoded
		}
	}
	return appendEnvelope(data, payload, id, typ), typ, id, nil
}

// appendEnvelope appends a server message: {"payload":…,"id":…,"type":…}, leaving out an
// empty payload or id as encoding/json does with gqlgen's envelopes.
func appendEnvelope(data, payload []byte, id, typ string) []byte {
	data = append(data, '{')
	if len(payload) > 0 {
		data = append(data, `"payload":`...)
		data = append(data, payload...)
		data = append(data, ',')
	}
	if id != "" {
		data = append(data, `"id":`...)
		data = appendJSONString(data, id)
		data = append(data, ',')
	}
	data = append(data, `"type":`...)
	data = appendJSONString(data, typ)
	return append(data, '}')
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s)
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
