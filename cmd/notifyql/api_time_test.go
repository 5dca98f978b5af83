package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql/server"
)

// insertEmails adds delivered emails from template T1 of service A at the given UTC times.
func insertEmails(t *testing.T, api *testAPI, idPrefix string, at ...string) {
	t.Helper()
	for i, ts := range at {
		_, err := api.pool.Exec(t.Context(), `
			INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
				normalised_to, key_type, notification_status, created_at)
			VALUES ($1, '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 2, 'email',
				'x@example.org', 'x@example.org', 'normal', 'delivered', $2)`,
			fmt.Sprintf("%s-0000-0000-0000-%012d", idPrefix, i), ts)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// London days across the clocks changing: "today" begins at London midnight, which is
// 23:00 UTC the day before in summer and 00:00 UTC in winter.
func TestTodayAcrossClockChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		now       time.Time
		emails    []string // created_at, UTC
		wantToday float64  // emails requested today (days: 0), fixture emails excluded
	}{
		{
			// BST ends at 01:00 UTC on Sun 25 Oct 2026; London 25 Oct began at 23:00 UTC on the 24th.
			name:      "the day BST ends",
			now:       time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC),
			emails:    []string{"2026-10-24 22:59:59", "2026-10-24 23:00:00", "2026-10-25 00:30:00", "2026-10-25 23:59:59"},
			wantToday: 3, // 22:59:59 UTC is 23:59:59 BST on the 24th; 23:59:59 UTC is 23:59:59 GMT on the 25th
		},
		{
			// BST starts at 01:00 UTC on Sun 29 Mar 2026; London 29 Mar began at 00:00 UTC.
			name:      "the day BST starts",
			now:       time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC),
			emails:    []string{"2026-03-28 23:30:00", "2026-03-29 00:00:00", "2026-03-29 00:59:59", "2026-03-29 01:30:00"},
			wantToday: 3,
		},
		{
			name:      "the first hour after London midnight in summer",
			now:       time.Date(2026, 7, 20, 23, 40, 0, 0, time.UTC), // 00:40 BST on 21 July
			emails:    []string{"2026-07-20 22:59:00", "2026-07-20 23:10:00"},
			wantToday: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPIAt(t, server.DefaultLimits(), tt.now)
			if _, err := api.pool.Exec(t.Context(), `DELETE FROM notifications WHERE service_id = '5a000000-0000-0000-0000-00000000000a'`); err != nil {
				t.Fatal(err)
			}
			insertEmails(t, api, "c0000000", tt.emails...)
			resp := api.post(t, tokenFor(t, userViewer), `query($id: ID!) { service(id: $id) { totals(days: 0) { email { requested } } } }`, map[string]any{"id": serviceA})
			resp.requireNoErrors(t)
			if got := resp.at("service", "totals", "email", "requested"); got != tt.wantToday {
				t.Errorf("emails today = %v, want %v", got, tt.wantToday)
			}
		})
	}
}

// The list is bounded by each type's retention: London midnight `days` London dates ago.
func TestListStaysInsideRetention(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	// windowStart(7) on 15 July 2026 is London midnight on 8 July: 23:00 UTC on 7 July.
	insertEmails(t, api, "c1000000", "2026-07-07 22:59:59", "2026-07-07 23:00:00")
	// Text messages are kept 30 days: windowStart(30) is London midnight on 15 June.
	for i, ts := range []string{"2026-06-14 22:59:59", "2026-06-14 23:00:00"} {
		_, err := api.pool.Exec(t.Context(), `
			INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
				normalised_to, key_type, notification_status, billable_units, created_at)
			VALUES ($1, '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000002', 1, 'sms',
				'07700900999', '447700900999', 'normal', 'delivered', 1, $2)`,
			fmt.Sprintf("c2000000-0000-0000-0000-%012d", i), ts)
		if err != nil {
			t.Fatal(err)
		}
	}
	const query = `query($id: ID!, $type: NotificationType) { service(id: $id) { notifications(type: $type, first: 100) { edges { node { id } } } } }`
	tests := []struct {
		typ     any
		include string
		exclude string
	}{
		{"EMAIL", "c1000000-0000-0000-0000-000000000001", "c1000000-0000-0000-0000-000000000000"},
		{"SMS", "c2000000-0000-0000-0000-000000000001", "c2000000-0000-0000-0000-000000000000"},
		{nil, "c2000000-0000-0000-0000-000000000001", "c1000000-0000-0000-0000-000000000000"},
	}
	for _, tt := range tests {
		resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": serviceA, "type": tt.typ})
		resp.requireNoErrors(t)
		if !strings.Contains(resp.body, tt.include) {
			t.Errorf("type %v: %s should be listed (inside the window)", tt.typ, tt.include)
		}
		if strings.Contains(resp.body, tt.exclude) {
			t.Errorf("type %v: %s should not be listed (before the window)", tt.typ, tt.exclude)
		}
	}
}

// A committed change shows in the very next read: today's counts are kept by triggers in
// the writing transaction, not rebuilt on a schedule.
func TestCommittedChangeShowsInTheNextRead(t *testing.T) {
	t.Parallel()
	api := newTestAPIAt(t, server.DefaultLimits(), time.Now().UTC())
	const query = `query($id: ID!) { service(id: $id) { totals(days: 0) { email { requested failed } } } }`
	read := func() map[string]any {
		resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": serviceA})
		resp.requireNoErrors(t)
		return resp.at("service", "totals", "email").(map[string]any)
	}
	before := read()
	insertEmails(t, api, "c3000000", time.Now().UTC().Format("2006-01-02 15:04:05"))
	afterInsert := read()
	if diff := cmp.Diff(before["requested"].(float64)+1, afterInsert["requested"]); diff != "" {
		t.Errorf("requested after an insert (-want +got):\n%s", diff)
	}
	if _, err := api.pool.Exec(t.Context(), `UPDATE notifications SET notification_status = 'temporary-failure' WHERE id = 'c3000000-0000-0000-0000-000000000000'`); err != nil {
		t.Fatal(err)
	}
	afterUpdate := read()
	if diff := cmp.Diff(before["failed"].(float64)+1, afterUpdate["failed"]); diff != "" {
		t.Errorf("failed after a status change (-want +got):\n%s", diff)
	}
}

func TestResponseMediaTypes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query": "{ me { name } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", accept)
		req.Header.Set("Authorization", "Bearer "+tokenFor(t, userViewer))
		rec := httptest.NewRecorder()
		api.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), accept) {
			t.Errorf("Accept %s: status %d, Content-Type %q", accept, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(rec.Body.String(), "Vera Viewer") {
			t.Errorf("Accept %s: %s", accept, rec.Body.String())
		}
	}
}
