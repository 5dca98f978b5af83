package server

import (
	"fmt"
	"strings"
	"testing"
)

// Operation names are the clients' to choose: only well-formed names become label values,
// and only the first maxOperationNames of them.
func TestOperationNameLabels(t *testing.T) {
	m := NewRequestMetrics()
	for _, tt := range []struct{ name, want string }{
		{"", "anonymous"},
		{"Dashboard", "Dashboard"},
		{"with space", "other"},
		{"07700900123", "other"},
		{"call_07700900123", "other"},
		{"Page2024", "Page2024"},
		{strings.Repeat("a", 65), "other"},
		{"Dashboard", "Dashboard"},
	} {
		if got := m.label(tt.name); got != tt.want {
			t.Errorf("label(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	for i := range maxOperationNames {
		m.label(fmt.Sprintf("Op%d", i))
	}
	if got := m.label("OneTooMany"); got != "other" {
		t.Errorf("a name past the cap = %q, want other", got)
	}
	if got := m.label("Dashboard"); got != "Dashboard" {
		t.Errorf("a name seen before the cap = %q", got)
	}
	var nilMetrics *RequestMetrics
	nilMetrics.countError("INTERNAL") // a nil *RequestMetrics measures nothing, and does not panic
}
