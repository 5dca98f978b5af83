package main

import (
	"testing"

	"notifyql/server"
)

// A page of notifications with every edge a list row can reach must cost a small constant
// number of statements, whatever its size: each edge goes through a per-operation loader.
func TestNotificationPageCostsAConstantNumberOfStatements(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	addJobNotifications(t, api)
	const query = `query($id: ID!, $first: Int) { service(id: $id) {
		notifications(first: $first) {
			edges { node { id recipient statusLabel template { name version isPrecompiledLetter }
				job { originalFileName } createdBy { name } apiKey { name } } }
			pageInfo { hasNextPage }
			statusCounts { total }
		} } }`
	statementsFor := func(first int) int64 {
		t.Helper()
		viewer := tokenFor(t, userViewer)
		before := api.statements.Queries()
		resp := api.post(t, viewer, query, map[string]any{"id": serviceA, "first": first})
		resp.requireNoErrors(t)
		edges := resp.at("service", "notifications", "edges").([]any)
		if len(edges) != first {
			t.Fatalf("page of %d has %d edges", first, len(edges))
		}
		return api.statements.Queries() - before
	}
	small, large := statementsFor(5), statementsFor(50)
	t.Logf("statements: %d for a 5-row page, %d for a 50-row page", small, large)
	// The principal (no cache here); the service with its facts after the setting that
	// gives it its generic plan; the page with the rows its edges point at, after the same
	// setting, sent with the status counts and the setting that plans them for their
	// values: seven, in three round trips.
	if large > 7 {
		t.Errorf("a 50-row page cost %d statements, want at most 7", large)
	}
	if large != small {
		t.Errorf("the statement count grows with the page: %d for 5 rows, %d for 50", small, large)
	}
}

// addJobNotifications adds 60 notifications to service A today, each from the job, by a
// user, with the API key, so that pages of 5 and 50 rows are full and every edge of a row
// has a row to point at.
func addJobNotifications(t *testing.T, api *testAPI) {
	t.Helper()
	_, err := api.pool.Exec(t.Context(), `
		INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to,
			key_type, notification_status, created_at, job_id, job_row_number, api_key_id, created_by_id)
		SELECT '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 1 + i % 2, 'email',
			'user' || i || '@example.org', 'user' || i || '@example.org', 'normal', 'delivered',
			'2026-07-15 08:00'::timestamp - i * interval '1 second', '10b00000-0000-0000-0000-000000000001', i,
			'ae000000-0000-0000-0000-000000000001',
			(ARRAY['00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-0000000000cc']::uuid[])[1 + i % 2]
		FROM generate_series(1, 60) AS i`)
	if err != nil {
		t.Fatal(err)
	}
}
