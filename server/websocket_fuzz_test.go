package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// The close codes a client may see after sending anything at all: the protocol's own
// (bad request, unauthorised, forbidden, init timeout, subscriber exists, too many inits),
// message too big, and a normal close after the legacy connection_terminate. 1011
// (internal error) and a dropped connection without a close frame (1006) are bugs.
var fuzzCloseCodes = []int{
	websocket.CloseNormalClosure, websocket.CloseMessageTooBig,
	4400, 4401, 4403, 4408, 4409, 4429,
}

// The message types a server sends under each subprotocol.
var fuzzServerTypes = map[string][]string{
	transportWS: {"connection_ack", "next", "error", "complete", "ping", "pong"},
	legacyWS:    {"connection_ack", "connection_error", "data", "error", "complete", "ka"},
}

// fuzzTokenPlaceholder in a fuzzed message is replaced by a valid token, so that the fuzzer
// can sign in at any point of a conversation.
const fuzzTokenPlaceholder = "$TOKEN"

// FuzzWebSocketMessages sends arbitrary messages over a real WebSocket, before or after a
// completed connection_init, then one message of an unknown type. Whatever it sent, the
// server never panics, every message it answers with is a JSON object of a type its
// subprotocol defines (with an id where the type needs one), it ends the conversation with
// a close frame carrying one of the protocol's codes (the unknown type alone closes with
// 4400), and once the client has gone the socket is released and no goroutine is left.
//
// The messages are data split at NUL bytes (at most 8); one that begins with 0x01 is sent
// as a binary frame.
func FuzzWebSocketMessages(f *testing.F) {
	init := `{"type":"connection_init","payload":{"Authorization":"Bearer ` + fuzzTokenPlaceholder + `"}}`
	subscribe := `{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`
	start := `{"type":"start","id":"1","payload":{"query":"subscription { me }"}}`
	for _, seed := range []struct {
		legacy, initFirst bool
		messages          []string
	}{
		{false, false, []string{`{"type":`}},
		{false, true, []string{`nonsense`}},
		{false, true, []string{"\x01{\"type\":\"ping\"}"}},
		{false, true, []string{`{"id":"1"}`}},
		{false, true, []string{`{"type":"next","id":"1"}`}},
		{false, true, []string{`{"type":"subscribe","payload":{"query":"subscription { me }"}}`}},
		{false, true, []string{`{"type":"subscribe","id":"1","payload":{}}`}},
		{false, false, []string{`{"type":"connection_init","payload":"x"}`}},
		{false, false, []string{subscribe}},
		{true, false, []string{start}},
		{false, false, []string{`{"type":"connection_init"}`}},
		{false, false, []string{`{"type":"connection_init","payload":{"Authorization":"Basic abc"}}`}},
		{true, false, []string{`{"type":"connection_init","payload":{"Authorization":"Bearer nope"}}`}},
		{false, true, []string{subscribe, subscribe}},
		{false, true, []string{init}},
		{true, true, []string{init}},
		{false, false, []string{`{"type":"ping"}`, init, subscribe, `{"type":"complete","id":"1"}`, subscribe}},
		{true, false, []string{init, start, `{"type":"stop","id":"1"}`, `{"type":"connection_terminate"}`}},
		{false, true, []string{`{"type":"subscribe","id":"2","payload":{"query":"{ me }"}}`, `{"type":"pong"}`}},
		{false, true, []string{`{"type":"subscribe","id":"3","payload":{"query":"subscription { me","variables":[1]}}`}},
		{false, true, []string{`{"type":"subscribe","id":"","payload":{"query":"subscription { me }"}}`}},
		{false, false, []string{`{"type":"complete","id":"1"}`, `{"type":"pong","payload":{"a":1}}`}},
		{false, true, []string{`{"type":"subscribe","id":"\u0000\ud800","payload":{"query":"subscription { me }","operationName":7}}`}},
		{false, true, []string{`{"type":"subscribe","id":"1","payload":{"query":"subscription { me }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"x"}}}}`}},
		{false, true, []string{`[{"type":"ping"}]`, `{"type":null}`, `{"type":"ping","type":"connection_init"}`}},
		{false, true, []string{strings.Repeat(" ", 2*testReadLimit)}},
	} {
		f.Add(seed.legacy, seed.initFirst, []byte(strings.Join(seed.messages, "\x00")))
	}
	fixture := newWSFixture(f, nil)
	f.Fuzz(func(t *testing.T, legacy, initFirst bool, data []byte) {
		before := goleak.IgnoreCurrent()
		subprotocol := transportWS
		if legacy {
			subprotocol = legacyWS
		}
		token := mustToken(t, wsUserID, time.Hour)
		var conn *websocket.Conn
		if initFirst {
			conn = fixture.connect(t, subprotocol)
		} else {
			conn = dial(t, fixture.url, subprotocol, nil)
		}
		messages := bytes.Split(data, []byte{0})
		if len(messages) > 8 {
			messages = messages[:8]
		}
		messages = append(messages, []byte(`{"type":"fuzz-probe"}`))
		for _, m := range messages {
			frame := websocket.TextMessage
			if len(m) > 0 && m[0] == 0x01 {
				frame, m = websocket.BinaryMessage, m[1:]
			}
			m = bytes.ReplaceAll(m, []byte(fuzzTokenPlaceholder), []byte(token))
			if err := conn.WriteMessage(frame, m); err != nil {
				break // the server has closed; what it said is read below
			}
		}

		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, reply, err := conn.ReadMessage()
			if err != nil {
				var closeErr *websocket.CloseError
				if !errors.As(err, &closeErr) {
					t.Fatalf("the conversation ended with %v, not a close frame", err)
				}
				if !slices.Contains(fuzzCloseCodes, closeErr.Code) {
					t.Fatalf("closed with %d %q, not one of the protocol's codes", closeErr.Code, closeErr.Text)
				}
				break
			}
			var msg struct {
				Type *string `json:"type"`
				ID   *string `json:"id"`
			}
			if err := json.Unmarshal(reply, &msg); err != nil || msg.Type == nil {
				t.Fatalf("the server sent %q, not a JSON message with a type", reply)
			}
			if !slices.Contains(fuzzServerTypes[subprotocol], *msg.Type) {
				t.Fatalf("the server sent %s, whose type %s does not speak", reply, subprotocol)
			}
			switch *msg.Type {
			case "next", "data", "complete":
				if msg.ID == nil || *msg.ID == "" {
					t.Fatalf("the server sent %s without an id", reply)
				}
			}
		}

		conn.Close()
		deadline := time.Now().Add(5 * time.Second)
		for fixture.server.OpenWebSockets() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("5 s after the client closed: %d sockets still open", fixture.server.OpenWebSockets())
			}
			time.Sleep(time.Millisecond)
		}
		goleak.VerifyNone(t, before)
	})
}
