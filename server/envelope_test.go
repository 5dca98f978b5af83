package server

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gqlgenMessage has the shape of gqlgen's (unexported) message envelopes, whose encoding
// clients of the gqlgen transport saw.
type gqlgenMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
}

// writeEnvelopeTo writes what encoding/json writes for gqlgen's envelopes, without
// encoding the payload again.
func TestWriteEnvelope(t *testing.T) {
	for name, m := range map[string]gqlgenMessage{
		"next":                {Payload: json.RawMessage(`{"data":{"me":"x"}}`), ID: "1", Type: "next"},
		"ack without payload": {Type: "connection_ack"},
		"id to escape":        {Payload: json.RawMessage(`{}`), ID: "a\"b\\c<d>&\n\u00e9", Type: "complete"},
		"error":               {ID: "7", Type: "error", Payload: json.RawMessage(`[{"message":"no"}]`)},
		"pong echoing":        {Type: "pong", Payload: json.RawMessage(`{"a":[1,2]}`)},
	} {
		var got bytes.Buffer
		if err := writeEnvelopeTo(&got, m.Payload, m.ID, m.Type); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, _ := json.Marshal(m)
		var gotValue, wantValue map[string]any
		if err := json.Unmarshal(got.Bytes(), &gotValue); err != nil {
			t.Errorf("%s: %s is not JSON: %v", name, got.Bytes(), err)
			continue
		}
		_ = json.Unmarshal(want, &wantValue)
		if diff := cmp.Diff(wantValue, gotValue); diff != "" {
			t.Errorf("%s: wrote %s, differs from encoding/json's %s:\n%s", name, got.Bytes(), want, diff)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: wrote %s, want encoding/json's bytes %s", name, got.Bytes(), want)
		}
	}
}

// BenchmarkWriteEnvelope compares a "next" message's encoding with encoding/json's.
func BenchmarkWriteEnvelope(b *testing.B) {
	msg := gqlgenMessage{Payload: json.RawMessage(`{"data":{"dashboardTotals":{"email":{"requested":1234,"delivered":1200,"failed":3,"sending":31,"failurePercentage":0.2,"showWarning":false}}}}`), ID: "1", Type: "next"}
	b.Run("ours", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			_ = writeEnvelopeTo(&buf, msg.Payload, msg.ID, msg.Type)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(&msg)
		}
	})
}

// A stand-in response is replaced by what it stands for, once.
func TestStandInIsReplacedByWhatItStandsFor(t *testing.T) {
	op := &socketOperation{id: "1"}
	encoded := []byte(`{"data":{"dashboardTotals":{"email":{"requested":1}}}}`)
	if data := op.StandIn(encoded); !json.Valid(data) {
		t.Errorf("the stand-in's data %q is not JSON", data)
	}
	if got := op.takeStandIn(); !bytes.Equal(got, encoded) {
		t.Errorf("the next response writes %s, want %s", got, encoded)
	}
	if got := op.takeStandIn(); got != nil {
		t.Errorf("the response after it writes the stand-in's %s again", got)
	}
}

// Outside a socket's operation there is no sender: the response handler returns its
// responses to gqlgen.
func TestNoResponseSenderOutsideASocket(t *testing.T) {
	if ResponseSenderFor(context.Background()) != nil {
		t.Error("ResponseSenderFor gave a sender outside a socket")
	}
}
