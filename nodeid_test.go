package notifyql

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNodeIDRoundTrip(t *testing.T) {
	const key = "5a000000-0000-0000-0000-00000000000a"
	for _, typ := range NodeTypes {
		id := NodeID(typ, strings.ToUpper(key))
		gotType, gotKey, ok := ParseNodeID(id)
		if !ok || gotType != typ || gotKey != key {
			t.Errorf("%s: ParseNodeID(%q) = %q, %q, %v", typ, id, gotType, gotKey, ok)
		}
		if len(id) > maxNodeIDLength {
			t.Errorf("%s: %d characters, past the bound ParseNodeID reads", typ, len(id))
		}
	}
	if NodeID(NodeTemplate, key) == NodeID(NodeJob, key) {
		t.Error("two types' rows with one UUID share a node id")
	}
}

func TestParseNodeIDRefusesWhatNodeIDDoesNotMake(t *testing.T) {
	const key = "5a000000-0000-0000-0000-00000000000a"
	encode := base64.RawURLEncoding.EncodeToString
	for name, s := range map[string]string{
		"empty":              "",
		"a bare UUID":        key,
		"not base64":         "Service:" + key,
		"padded":             base64.URLEncoding.EncodeToString([]byte("Service:" + key)),
		"standard alphabet":  base64.StdEncoding.EncodeToString([]byte("Job:" + key + "?>")),
		"an unknown type":    encode([]byte("User:" + key)),
		"a lower-case type":  encode([]byte("service:" + key)),
		"no separator":       encode([]byte("Service" + key)),
		"no key":             encode([]byte("Service:")),
		"a short key":        encode([]byte("Service:5a000000")),
		"an upper-case key":  encode([]byte("Service:" + strings.ToUpper(key))),
		"a second separator": encode([]byte("Service:" + key + ":x")),
		"too long":           strings.Repeat("A", 10_000),
	} {
		if typ, id, ok := ParseNodeID(s); ok {
			t.Errorf("%s: ParseNodeID(%q) = %q, %q, true", name, s, typ, id)
		}
	}
}

// An argument naming a row takes its UUID or its node id, of that kind only.
func TestValidateIDTakesTheNodeIDOfItsKind(t *testing.T) {
	const key = "e0000000-0000-0000-0000-000000000001"
	for _, tt := range []struct {
		kind, id string
		ok       bool
	}{
		{"report request", key, true},
		{"report request", NodeID(NodeReportRequest, key), true},
		{"report request", NodeID(NodeNotification, key), false},
		{"service", NodeID(NodeService, key), true},
		{"inbound text", NodeID(NodeInboxMessage, key), true},
		{"notification", "not an id", false},
	} {
		err := ValidateID(tt.kind, tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateID(%q, %q) = %v", tt.kind, tt.id, err)
		}
		if err != nil && ErrorMessage(err) != "invalid "+tt.kind+" id" {
			t.Errorf("ValidateID(%q, %q): message %q", tt.kind, tt.id, err)
		}
		if tt.ok && NormaliseID(tt.id) != key {
			t.Errorf("NormaliseID(%q) = %q, want %q", tt.id, NormaliseID(tt.id), key)
		}
	}
	if got := NormaliseID(strings.ToUpper(key)); got != key {
		t.Errorf("NormaliseID of an upper-case UUID = %q", got)
	}
}
