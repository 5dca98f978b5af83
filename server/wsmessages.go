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
// for a response encoded once for many subscribers (StandInFor), it writes that response.

// WriteJSON writes one server message within the write timeout, noting acknowledgements
// and the ends of operations for the state machine.
func (c *websocketConn) WriteJSON(v any) error {
	buf := messageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledMessageBytes {
			messageBuffers.Put(buf)
		}
	}()
	data, typ, id, err := appendServerMessage((*buf)[:0], v, c.takeStandIn)
	*buf = data
	if err != nil {
		return fmt.Errorf("encode websocket message: %w", err)
	}
	c.observe(typ, id)
	return c.writeMessage(data)
}

// messageBuffers hold messages while they are encoded and written: gorilla copies each
// into its own (pooled) buffer, so ours is free again once the write returns. At
// thousands of messages a second, that is that much less garbage.
var messageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledMessageBytes keeps a rare huge message's buffer out of the pool.
const maxPooledMessageBytes = 64 << 10

// StandIns lets the subscribers of one snapshot share the encoding of the response
// rendered for them. gqlgen encodes every response it sends (a validating copy of its
// data), which for a snapshot pushed to thousands of subscribers was a quarter of the
// server's work. When ctx is an operation's on one of this server's sockets, StandIns
// returns the function that takes such an encoding (a whole response, as encoding/json
// writes it) and returns the data of a stand-in response to hand gqlgen instead: the
// socket writes the encoding where the stand-in's would go. It returns nil elsewhere:
// send the response itself.
//
// gqlgen writes each response right after the operation's response handler returns it,
// on the same goroutine; a stand-in gqlgen never writes stays with its socket until the
// socket closes.
func StandIns(ctx context.Context) func(encoded []byte) json.RawMessage {
	if conn := sessionFromContext(ctx).connection(); conn != nil {
		return conn.standIn
	}
	return nil
}

func (c *websocketConn) standIn(encoded []byte) json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastStandIn++
	c.standIns = append(c.standIns, standIn{number: c.lastStandIn, encoded: encoded})
	// GraphQL's data is an object or null, never a number: a number names a stand-in.
	return strconv.AppendUint(nil, c.lastStandIn, 10)
}

// standIn is a response encoded for many subscribers, waiting for gqlgen to write the
// stand-in numbered number.
type standIn struct {
	number  uint64
	encoded []byte
}

// takeStandIn returns the encoded response that payload stands in for, if it is a
// stand-in's encoding ({"data":N}), and forgets it.
func (c *websocketConn) takeStandIn(payload []byte) (encoded []byte, isStandIn bool, err error) {
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
type standIns func(payload []byte) (encoded []byte, isStandIn bool, err error)

func noStandIns([]byte) ([]byte, bool, error) { return nil, false, nil }

// appendServerMessage appends a message encoded as encoding/json would encode it to data,
// and returns its type and id. Every message is one of gqlgen's envelopes, whose payload gqlgen has already encoded
// (or, for a pong, decoded from the client): it is copied as it is rather than encoded
// again, which for a "next" message to each of thousands of subscribers is most of the
// cost of sending it. A payload that is a stand-in is replaced by what it stands in for.
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
	// Only responses can be stand-ins: a pong echoes whatever payload the client's ping had.
	if typ != "next" && typ != "data" {
		find = noStandIns
	}
	if encoded, isStandIn, err := find(payload); isStandIn {
		if err != nil {
			return data, typ, id, err
		}
		payload = encoded
	}
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
	return append(data, '}'), typ, id, nil
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
