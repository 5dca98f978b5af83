package resolvers

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
)

// A notifications field's arguments are read ahead only when the field would accept them;
// anything else is left to the field, which reports it.
func TestPageArgumentsReadOnlyWhatTheFieldAccepts(t *testing.T) {
	email := notifyql.TypeEmail
	at := notifyql.Cursor{CreatedAt: time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC), ID: "5a000000-0000-0000-0000-00000000000a"}
	cursor := at.Encode()
	accepted := []struct {
		name string
		args map[string]any
		want notifyql.NotificationFilter
	}{
		{"defaults", map[string]any{"first": int64(50)}, notifyql.NotificationFilter{
			Statuses: notifyql.ExpandStatusFilter(nil), First: 50}},
		{"no first at all", map[string]any{}, notifyql.NotificationFilter{
			Statuses: notifyql.ExpandStatusFilter(nil), First: notifyql.DefaultPageSize}},
		{"a variable's number", map[string]any{"first": json.Number("7"), "type": "EMAIL"}, notifyql.NotificationFilter{
			Type: &email, Statuses: notifyql.ExpandStatusFilter(nil), First: 7}},
		{"statuses as a list and alone", map[string]any{"first": 1, "statuses": "FAILED"}, notifyql.NotificationFilter{
			Statuses: notifyql.ExpandStatusFilter([]notifyql.NotificationStatus{notifyql.StatusFailed}), First: 1}},
		{"a cursor", map[string]any{"first": int64(2), "after": cursor}, notifyql.NotificationFilter{
			Statuses: notifyql.ExpandStatusFilter(nil), First: 2, After: &at}},
	}
	for _, tt := range accepted {
		got, ok := pageArguments(tt.args)
		if !ok {
			t.Errorf("%s: not read", tt.name)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	refused := map[string]map[string]any{
		"a search":                 {"first": int64(5), "search": map[string]any{"term": "07700 900123"}},
		"an unknown type":          {"type": "PIGEON"},
		"a type of the wrong kind": {"type": 3},
		"an unknown status":        {"statuses": []any{"DELIVERED", "LOST"}},
		"first 0":                  {"first": int64(0)},
		"first past the page":      {"first": int64(notifyql.MaxPageSize + 1)},
		"first past 32 bits":       {"first": int64(1) << 40},
		"first not a number":       {"first": "fifty"},
		"first a fraction":         {"first": json.Number("2.5")},
		"a garbled cursor":         {"after": "not-a-cursor"},
		"a cursor not text":        {"after": 12},
	}
	for name, args := range refused {
		if f, ok := pageArguments(args); ok {
			t.Errorf("%s: read as %+v, want left to the field", name, f)
		}
	}
}

// The retention hints hold at most maxRetentionHints services.
func TestRetentionHintsStayBounded(t *testing.T) {
	var h retentionHints
	for i := range maxRetentionHints + 10 {
		h.put(fmt.Sprintf("service-%d", i), notifyql.Retention{notifyql.TypeEmail: 3})
		if n := h.len(); n > maxRetentionHints {
			t.Fatalf("%d hints held, want at most %d", n, maxRetentionHints)
		}
	}
	if got := h.get(fmt.Sprintf("service-%d", maxRetentionHints+9)).Days(notifyql.TypeEmail); got != 3 {
		t.Errorf("the newest hint says %d days, want 3", got)
	}
	if got := h.get("never seen").Days(notifyql.TypeEmail); got != notifyql.DefaultRetentionDays {
		t.Errorf("a service with no hint says %d days, want the default", got)
	}
}
