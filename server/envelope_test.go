package server

import (
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
		data, typ, id, err := appendServerMessage(nil, v)
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
			_, _, _, _ = appendServerMessage(buf[:0], msg)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(msg)
		}
	})
}
