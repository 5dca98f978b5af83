package main

import (
	"context"
	"runtime/metrics"
	"testing"

	"notifyql/server"
)

// goroutinesCreated is the process's count of goroutines started so far.
func goroutinesCreated() uint64 {
	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// pageGoroutinesRows is the page size the goroutine tests ask for: the fixture's service A
// gets that many notifications.
const pageGoroutinesRows = 50

// pageRowFields are the notifications list's fields (the bench's page): row-only fields,
// a resolver that cannot wait (recipient) and the four the list's resolver primes on the
// loaders.
const pageRowFields = `id type recipient status statusLabel statusGroup isFinal createdAt
	template { name version } job { originalFileName } createdBy { name } apiKey { name }`

// fillServiceAPage gives service A pageGoroutinesRows notifications, copies of one that has
// a job, a sender and a template, a second apart.
func fillServiceAPage(t *testing.T, api *testAPI) {
	t.Helper()
	if _, err := api.pool.Exec(context.Background(), `
		INSERT INTO notifications
		SELECT (jsonb_populate_record(n, jsonb_build_object(
			'id', gen_random_uuid(), 'created_at', n.created_at - g * interval '1 second',
			'job_row_number', n.job_row_number + g))).*
		FROM notifications n, generate_series(1, $2::int) g
		WHERE n.id = $1`, notificationA2, pageGoroutinesRows); err != nil {
		t.Fatal(err)
	}
}

// pageGoroutines requests a page of service A selecting rowFields and returns how many
// goroutines the process started while serving it, and its statements.
func pageGoroutines(t *testing.T, api *testAPI, rowFields string) (goroutines uint64, statements int64) {
	t.Helper()
	token := tokenFor(t, userManager)
	query := `query($id: ID!) { service(id: $id) { notifications(first: 50) { edges { cursor node { ` + rowFields + ` } } } } }`
	// A first request fills the caller's and the statements' caches.
	api.post(t, token, query, map[string]any{"id": serviceA}).requireNoErrors(t)
	statementsBefore, before := api.statements.Queries(), goroutinesCreated()
	res := api.post(t, token, query, map[string]any{"id": serviceA})
	goroutines, statements = goroutinesCreated()-before, api.statements.Queries()-statementsBefore
	res.requireNoErrors(t)
	if edges, _ := res.at("service", "notifications", "edges").([]any); len(edges) != pageGoroutinesRows {
		t.Fatalf("the page has %d edges, want %d", len(edges), pageGoroutinesRows)
	}
	return goroutines, statements
}

// A page whose rows select nothing that waits on I/O beyond the loads the list primes is
// marshalled row after row: gqlgen's goroutine per edge and per resolver field (five a row
// for these fields) are gone, and the primed loads still go out in batches.
func TestPageEdgesAreMarshalledWithoutAGoroutineEach(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	fillServiceAPage(t, api)
	goroutines, statements := pageGoroutines(t, api, pageRowFields)
	t.Logf("a %d-row page started %d goroutines and sent %d statements", pageGoroutinesRows, goroutines, statements)
	if goroutines >= pageGoroutinesRows {
		t.Errorf("a %d-row page started %d goroutines: its edges are marshalled with a goroutine each again", pageGoroutinesRows, goroutines)
	}
	// The rows' senders are primed: spread over seven users instead of one, the page costs
	// the same statements, where loaded row by row each new sender would cost one more. A
	// busy machine may split a batch, hence the slack.
	if _, err := api.pool.Exec(context.Background(), `
		UPDATE notifications SET created_by_id = ($2::uuid[])[1 + (job_row_number % 7)]
		WHERE service_id = $1 AND job_row_number IS NOT NULL`,
		serviceA, []string{userAdmin, userManager, userViewer, userSender, userMember, userOrg, userOther}); err != nil {
		t.Fatal(err)
	}
	_, spread := pageGoroutines(t, api, pageRowFields)
	if spread > statements+2 {
		t.Errorf("the page sent %d statements with its rows' senders spread over seven users, %d with one: they were loaded row by row", spread, statements)
	}
}

// A row field that waits on a loader nothing primed (the status history) keeps gqlgen's
// goroutine per edge, so that the rows' loads wait together: one statement for the page's
// histories, not one a row.
func TestPageEdgesWithAnUnprimedLoadStayConcurrent(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	fillServiceAPage(t, api)
	_, without := pageGoroutines(t, api, "id")
	goroutines, with := pageGoroutines(t, api, "id statusHistory { status }")
	if goroutines < pageGoroutinesRows {
		t.Errorf("a %d-row page selecting status histories started %d goroutines, want one an edge at least", pageGoroutinesRows, goroutines)
	}
	// One statement, or a few where a busy machine splits the loader's batch; row by row
	// would be one a row.
	if with-without >= pageGoroutinesRows/2 {
		t.Errorf("the rows' status histories cost %d statements, want them loaded together", with-without)
	}
}

// The dashboard's template statistics are marshalled row after row too, their templates
// queued by the list's resolver: service A's three templates cost one statement, not one a
// row.
func TestDashboardTemplatesAreLoadedTogether(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	token := tokenFor(t, userManager)
	statements := func(rowFields string) int64 {
		query := `query($id: ID!) { service(id: $id) { templateStatistics(days: 7) { ` + rowFields + ` } } }`
		api.post(t, token, query, map[string]any{"id": serviceA}).requireNoErrors(t)
		before := api.statements.Queries()
		res := api.post(t, token, query, map[string]any{"id": serviceA})
		res.requireNoErrors(t)
		if rows, _ := res.at("service", "templateStatistics").([]any); len(rows) != 3 {
			t.Fatalf("service A has %d template statistics, want its 3 templates", len(rows))
		}
		return api.statements.Queries() - before
	}
	without := statements("count")
	with := statements("count template { name }")
	if with-without >= 3 {
		t.Errorf("the rows' templates cost %d statements, want them loaded together", with-without)
	}
}
