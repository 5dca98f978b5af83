package main

import (
	"context"
	"strings"
	"testing"

	"notifyql/server"
)

// Service.upcomingJobs answers what the upcomingJobs subscription streams, with its
// permission: view_activity (platform admins pass every check).
func TestUpcomingJobsQuery(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// The fixture's clock is 2026-07-15 12:00 UTC: one job is due later today, one
	// tomorrow, one was due an hour ago (not upcoming), one is already running, one is
	// another service's.
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, notification_count, job_status, scheduled_for, created_at) VALUES
		('10b00000-0000-0000-0000-0000000000e1', $1, '7e000000-0000-0000-0000-000000000001', 1, 'tomorrow.csv', 3, 'scheduled', '2026-07-16 09:00', '2026-07-15 08:00'),
		('10b00000-0000-0000-0000-0000000000e2', $1, '7e000000-0000-0000-0000-000000000001', 1, 'today.csv', 2, 'scheduled', '2026-07-15 15:00', '2026-07-15 08:00'),
		('10b00000-0000-0000-0000-0000000000e3', $1, '7e000000-0000-0000-0000-000000000001', 1, 'overdue.csv', 1, 'scheduled', '2026-07-15 11:00', '2026-07-15 08:00'),
		('10b00000-0000-0000-0000-0000000000e4', $1, '7e000000-0000-0000-0000-000000000001', 1, 'running.csv', 1, 'in progress', '2026-07-15 16:00', '2026-07-15 08:00'),
		('10b00000-0000-0000-0000-0000000000e5', $2, '7e000000-0000-0000-0000-0000000000b1', 1, 'other.csv', 1, 'scheduled', '2026-07-15 16:00', '2026-07-15 08:00')`,
		serviceA, serviceB); err != nil {
		t.Fatal(err)
	}
	const query = `query($id: ID!) { service(id: $id) { upcomingJobs { id originalFileName notificationCount status scheduledFor } } }`
	for _, tt := range []struct {
		user, service string
		want          string // the file names, or the error code at service.upcomingJobs
	}{
		{userAdmin, serviceA, "today.csv,tomorrow.csv"},
		{userManager, serviceA, "today.csv,tomorrow.csv"},
		{userViewer, serviceA, "today.csv,tomorrow.csv"},
		{userSender, serviceA, "FORBIDDEN"}, // send_messages is not view_activity
		{userMember, serviceA, "FORBIDDEN"},
		{userOther, serviceB, "other.csv"},
	} {
		resp := api.post(t, tokenFor(t, tt.user), query, map[string]any{"id": tt.service})
		if code := resp.codeAt("service", "upcomingJobs"); code != "" {
			if code != tt.want {
				t.Errorf("%s on %s: %s, want %s", tt.user, tt.service, code, tt.want)
			}
			if resp.at("service", "upcomingJobs") != nil {
				t.Errorf("%s on %s: refused, yet jobs were given: %s", tt.user, tt.service, resp.body)
			}
			continue
		}
		resp.requireNoErrors(t)
		var names []string
		for _, j := range resp.at("service", "upcomingJobs").([]any) {
			names = append(names, j.(map[string]any)["originalFileName"].(string))
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("%s on %s: %q, want %q", tt.user, tt.service, got, tt.want)
		}
	}
	resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": serviceA})
	if got := resp.at("service", "upcomingJobs", 0); got.(map[string]any)["scheduledFor"] != "2026-07-15T15:00:00Z" ||
		got.(map[string]any)["notificationCount"] != float64(2) || got.(map[string]any)["status"] != "scheduled" {
		t.Errorf("first upcoming job = %v", got)
	}
	// Someone outside the service is not told it exists, as for every service field.
	if resp := api.post(t, tokenFor(t, userOther), query, map[string]any{"id": serviceA}); resp.at("service", "upcomingJobs") != nil {
		t.Errorf("an outsider saw service A's upcoming jobs: %s", resp.body)
	}
}

// Service.searchHint words the search box as DOMAIN.md §6.3 does, for every type with and
// without API keys (service A has a live key; service B has none), to any member.
func TestSearchHintQuery(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	const query = `query($id: ID!) { service(id: $id) {
		all: searchHint
		none: searchHint(type: null)
		email: searchHint(type: EMAIL)
		sms: searchHint(type: SMS)
		letter: searchHint(type: LETTER) } }`
	want := map[string]map[string]string{
		serviceA: {
			"all": "Search by recipient or reference", "none": "Search by recipient or reference",
			"email": "Search by email address or reference", "sms": "Search by phone number or reference",
			"letter": "Search by postal address, file name or reference",
		},
		serviceB: {
			"all": "Search by recipient", "none": "Search by recipient", "email": "Search by email address",
			"sms": "Search by phone number", "letter": "Search by postal address or file name",
		},
	}
	for _, tt := range []struct{ user, service string }{
		{userMember, serviceA}, // a member with no permissions may search, so may read the hint
		{userSender, serviceA},
		{userViewer, serviceA},
		{userAdmin, serviceA},
		{userOther, serviceB},
		{userAdmin, serviceB},
	} {
		resp := api.post(t, tokenFor(t, tt.user), query, map[string]any{"id": tt.service})
		resp.requireNoErrors(t)
		for alias, hint := range want[tt.service] {
			if got := resp.at("service", alias); got != hint {
				t.Errorf("%s on %s, %s: %q, want %q", tt.user, tt.service, alias, got, hint)
			}
		}
	}
	// A key revoked more than 7 days ago no longer counts (§3.7): the hint drops "reference".
	if _, err := api.pool.Exec(context.Background(), `UPDATE api_keys SET expiry_date = '2026-07-01 00:00' WHERE service_id = $1`, serviceA); err != nil {
		t.Fatal(err)
	}
	resp := api.post(t, tokenFor(t, userMember), query, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	if got := resp.at("service", "letter"); got != "Search by postal address or file name" {
		t.Errorf("after the key's revocation: %q", got)
	}
	if resp := api.post(t, tokenFor(t, userOther), query, map[string]any{"id": serviceA}); resp.at("service", "all") != nil {
		t.Errorf("an outsider read service A's search hint: %s", resp.body)
	}
}
