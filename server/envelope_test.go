package server

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gqlgenMessage has the shape of gqlgen's (unexported) message envelopes.
type messageType string

type gqlgenMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    messageType     `json:"type"`
}

// appendServerMessage writes what encoding/json writes, without encoding the payload
// again, and falls back to encoding/json for any other shape.
func TestAppendServerMessage(t *testing.T) {
	for name, v := range map[string]any{
		"next":                &gqlgenMessage{Payload: json.RawMessage(`{"data":{"me":"x"}}`), ID: "1", Type: "next"},
		"ack without payload": &gqlgenMessage{Type: "connection_ack"},
		"id to escape":        &gqlgenMessage{Payload: json.RawMessage(`{}`), ID: "a\"b\\c<d>&\n\u00e9", Type: "complete"},
		"by value":            gqlgenMessage{ID: "7", Type: "error", Payload: json.RawMessage(`[{"message":"no"}]`)},
		"another shape":       map[string]any{"type": "pong", "id": "9"},
	} {
		data, typ, id, err := appendServerMessage(nil, v, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, _ := json.Marshal(v)
		var got, expected map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Errorf("%s: %s is not JSON: %v", name, data, err)
			continue
		}
		_ = json.Unmarshal(want, &expected)
		if diff := cmp.Diff(expected, got); diff != "" {
			t.Errorf("%s: encoded %s, differs from encoding/json's %s:\n%s", name, data, want, diff)
		}
		if typ != expected["type"] || id != orEmpty(expected["id"]) {
			t.Errorf("%s: type %q id %q, want %v %v", name, typ, id, expected["type"], expected["id"])
		}
	}
}

func orEmpty(v any) string {
	s, _ := v.(string)
	return s
}

// BenchmarkAppendServerMessage compares a "next" message's encoding with encoding/json's.
func BenchmarkAppendServerMessage(b *testing.B) {
	msg := &gqlgenMessage{Payload: json.RawMessage(`{"data":{"dashboardTotals":{"email":{"requested":1234,"delivered":1200,"failed":3,"sending":31,"failurePercentage":0.2,"showWarning":false}}}}`), ID: "1", Type: "next"}
	b.Run("ours", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			_, _, _, _ = appendServerMessage(buf[:0], msg, nil)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(msg)
		}
	})
}

// A response encoded once for many subscribers is written where its stand-in's encoding
// would go, once: the socket forgets it after writing it.
func TestStandInsAreReplacedByWhatTheyStandFor(t *testing.T) {
	conn := &websocketConn{names: &transportWSNames}
	first := []byte(`{"data":{"dashboardTotals":{"email":{"requested":1}}}}`)
	second := []byte(`{"data":{"dashboardTotals":{"email":{"requested":2}}}}`)
	sender := &subscriptionSender{conn: conn}
	firstData, secondData := sender.StandIn(first), sender.StandIn(second)

	// gqlgen may write a later stand-in first: another operation on the socket.
	for _, c := range []struct {
		stub, want string
	}{{`{"data":` + string(secondData) + `}`, string(second)}, {`{"data":` + string(firstData) + `}`, string(first)}} {
		data, _, _, err := appendServerMessage(nil, &gqlgenMessage{Payload: json.RawMessage(c.stub), ID: "1", Type: "next"}, conn.takeStandIn)
		if err != nil {
			t.Fatalf("stand-in %s: %v", c.stub, err)
		}
		if want := `{"payload":` + c.want + `,"id":"1","type":"next"}`; string(data) != want {
			t.Errorf("stand-in %s wrote %s, want %s", c.stub, data, want)
		}
	}
	if len(conn.standIns) != 0 {
		t.Errorf("the socket still holds %d stand-ins after writing them", len(conn.standIns))
	}

	// Written twice, or never given: a bug, reported rather than sent as data.
	if _, _, _, err := appendServerMessage(nil, &gqlgenMessage{Payload: json.RawMessage(`{"data":` + string(firstData) + `}`), ID: "1", Type: "next"}, conn.takeStandIn); err == nil {
		t.Error("a stand-in written twice was sent")
	}

	// An operation that is not on a socket sends its response itself.
	if sender.id != "1" {
		t.Errorf("the sender learnt operation id %q from the stand-ins, want 1", sender.id)
	}
	if ResponseSenderFor(context.Background()) != nil {
		t.Error("ResponseSenderFor gave a sender outside a socket")
	}
}

// Only responses are stand-ins, in each subprotocol's name for them (next, and the
// legacy data): a client's ping payload that looks like one is echoed in the pong as it
// came.
func TestOnlyResponsesAreStandIns(t *testing.T) {
	for _, c := range []struct {
		names              *messageNames
		typ, payload, want string
	}{
		{&transportWSNames, "pong", `{"data":1}`, `{"payload":{"data":1},"type":"pong"}`},
		{&transportWSNames, "next", `{"data":{"n":1}}`, `{"payload":{"data":{"n":1}},"type":"next"}`},
		{&transportWSNames, "next", `{"data":1.5}`, `{"payload":{"data":1.5},"type":"next"}`},
		{&transportWSNames, "next", `{"data":-1}`, `{"payload":{"data":-1},"type":"next"}`},
		{&transportWSNames, "next", `{"data":1}`, `{"payload":{"data":{"me":"x"}},"type":"next"}`},
		{&legacyWSNames, "ka", `{"data":1}`, `{"payload":{"data":1},"type":"ka"}`},
		{&legacyWSNames, "data", `{"data":1}`, `{"payload":{"data":{"me":"x"}},"type":"data"}`},
	} {
		conn := &websocketConn{names: c.names}
		conn.standIns = []standIn{{number: 1, encoded: []byte(`{"data":{"me":"x"}}`), sender: &subscriptionSender{conn: conn}}}
		conn.lastStandIn = 1
		data, _, _, err := appendServerMessage(nil, &gqlgenMessage{Payload: json.RawMessage(c.payload), Type: messageType(c.typ)}, conn.takeStandIn)
		if err != nil {
			t.Errorf("%s %s: %v", c.typ, c.payload, err)
			continue
		}
		if string(data) != c.want {
			t.Errorf("%s %s wrote %s, want %s", c.typ, c.payload, data, c.want)
		}
	}
}
