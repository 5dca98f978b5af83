package main

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"notifyql/dataloaders"
	"notifyql/server"
)

// The operations issue 17 compares with PostGraphile, as the benchmarks send them: a page of
// notifications with every edge its rows show and the status counts, the detail of one
// notification, and the dashboard.
const (
	roundTripsPageQuery = `query($id: ID!, $first: Int, $type: NotificationType, $after: String) {
		service(id: $id) {
			notifications(first: $first, type: $type, after: $after) {
				edges { cursor node { id type recipient status statusLabel createdAt
					template { name version } job { originalFileName } createdBy { name } apiKey { name } } }
				pageInfo { hasNextPage endCursor }
				statusCounts { total sending delivered failed }
			} } }`
	// roundTripsListQuery is the page as bench-compare sends it: the rows and their
	// template names, without the status counts.
	roundTripsListQuery = `query($id: ID!, $first: Int, $type: NotificationType, $after: String, $statuses: [NotificationStatus!]) {
		service(id: $id) {
			name
			notifications(first: $first, type: $type, after: $after, statuses: $statuses) {
				edges { node { id type recipient status createdAt template { name version } } }
				pageInfo { hasNextPage endCursor }
			} } }`
	roundTripsDetailQuery = `query($id: ID!) {
		notification(id: $id) {
			id type recipient status statusLabel createdAt clientReference
			template { name version }
			statusHistory { status at }
		} }`
)

// loaderRounds records, for the last operation, how many of its loader rounds waited for
// keys to join them.
type loaderRounds struct{ timed atomic.Int64 }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*loaderRounds)(nil)

func (*loaderRounds) ExtensionName() string                   { return "LoaderRounds" }
func (*loaderRounds) Validate(graphql.ExecutableSchema) error { return nil }

func (l *loaderRounds) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if loaders := dataloaders.For(ctx); loaders != nil {
		l.timed.Store(loaders.TimedRounds())
	}
	return resp
}

// TestOperationsTakeAtMostTwoRoundTripsOnceTheCallerIsKnown: the page, the detail and the
// dashboard each wait for the database at most three times for a caller whose principal
// is not yet kept, and at most twice when the same caller asks again, the page once (its
// service, the service's facts, its rows, the rows they point at and the pills' counts in
// one batch); none of their loader
// rounds waits for keys that could not come; and a page's cost does not grow with its size.
func TestOperationsTakeAtMostTwoRoundTripsOnceTheCallerIsKnown(t *testing.T) {
	rounds := &loaderRounds{}
	api := newTestAPIWith(t, testAPIOptions{limits: server.DefaultLimits(), principalCache: true, extensions: []graphql.HandlerExtension{rounds}})
	addJobNotifications(t, api)

	// ask sends query as user and returns its round trips and statements.
	ask := func(t *testing.T, user, query string, vars map[string]any) (roundTrips, statements int64, resp gqlResponse) {
		t.Helper()
		tok := tokenFor(t, user)
		rounds.timed.Store(-1)
		beforeRoundTrips, beforeStatements := api.statements.RoundTrips(), api.statements.Queries()
		resp = api.post(t, tok, query, vars)
		resp.requireNoErrors(t)
		if timed := rounds.timed.Load(); timed != 0 {
			t.Errorf("%d loader rounds waited for keys to join them, want none", timed)
		}
		return api.statements.RoundTrips() - beforeRoundTrips, api.statements.Queries() - beforeStatements, resp
	}
	// askKnown is ask for a caller whose principal was kept a moment ago: the cache keeps
	// it for a second, which a loaded machine can let pass between two requests.
	askKnown := func(t *testing.T, user, query string, vars map[string]any) (roundTrips, statements int64, resp gqlResponse) {
		t.Helper()
		api.post(t, tokenFor(t, user), `{ me { id } }`, nil).requireNoErrors(t)
		return ask(t, user, query, vars)
	}
	statementsAgain := map[string]int64{}
	for _, tt := range []struct {
		name  string
		user  string
		query string
		vars  map[string]any
		again int64 // round trips once the caller is known
	}{
		{"page", userViewer, roundTripsPageQuery, map[string]any{"id": serviceA, "first": 50}, 1},
		{"email page", userManager, roundTripsPageQuery, map[string]any{"id": serviceA, "first": 50, "type": "EMAIL"}, 1},
		{"detail", userSender, roundTripsDetailQuery, map[string]any{"id": notificationA1}, 1},
		{"dashboard", userAdmin, benchDashboardQuery, map[string]any{"id": serviceA}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			first, _, _ := ask(t, tt.user, tt.query, tt.vars)
			again, statements, resp := askKnown(t, tt.user, tt.query, tt.vars)
			t.Logf("%s: %d round trips first, %d again (%d statements)", tt.name, first, again, statements)
			statementsAgain[tt.name] = statements
			if first > 3 {
				t.Errorf("the first %s cost %d round trips, want at most 3", tt.name, first)
			}
			if again > tt.again {
				t.Errorf("the %s asked again by the same user cost %d round trips, want at most %d", tt.name, again, tt.again)
			}
			if tt.name == "detail" && len(resp.at("notification", "statusHistory").([]any)) == 0 {
				t.Errorf("the detail shows no status history: %s", resp.body)
			}
		})
	}

	// The retention of a page's type came with its service's facts: the typed page reads it
	// no second time.
	if statementsAgain["email page"] != statementsAgain["page"] {
		t.Errorf("the email page cost %d statements, the page of every type %d: want the same", statementsAgain["email page"], statementsAgain["page"])
	}

	// A page without the status counts comes back with its service, in one round trip.
	t.Run("list", func(t *testing.T) {
		for _, vars := range []map[string]any{
			{"id": serviceA, "first": 50},
			{"id": serviceA, "first": 2, "type": "EMAIL", "statuses": []string{"DELIVERED", "FAILED"}},
			{"id": serviceA, "type": "SMS"},
		} {
			ask(t, userViewer, roundTripsListQuery, vars)
			roundTrips, statements, resp := askKnown(t, userViewer, roundTripsListQuery, vars)
			if roundTrips != 1 {
				t.Errorf("the list %v asked again cost %d round trips (%d statements), want 1", vars, roundTrips, statements)
			}
			if resp.at("service", "name") == nil {
				t.Errorf("no service name: %s", resp.body)
			}
			// The same page as the one read after its service, as the field reads it alone.
			// Asked twice under two names, the field is not read ahead: each reads its page
			// after the service, as the field always did.
			alone := api.post(t, tokenFor(t, userViewer), `query($id: ID!, $first: Int, $type: NotificationType, $after: String, $statuses: [NotificationStatus!]) {
				service(id: $id) {
					notifications(first: $first, type: $type, after: $after, statuses: $statuses) {
						edges { node { id type recipient status createdAt template { name version } } }
						pageInfo { hasNextPage endCursor } }
					newest: notifications(first: 1) { pageInfo { hasNextPage } } } }`, vars)
			alone.requireNoErrors(t)
			want := alone.at("service", "notifications")
			if got := resp.at("service", "notifications"); !reflect.DeepEqual(got, want) {
				t.Errorf("the list %v read with its service is\n%v\nread after it\n%v", vars, got, want)
			}
		}
	})

	// The pills' counts come with a page read ahead when the window the page guessed from
	// the service's last page was right; after a change of retention the guess is wrong
	// once, and the counts cost a round trip of their own, never a wrong answer.
	t.Run("status counts after a change of retention", func(t *testing.T) {
		setSMSRetention := func(days int) {
			t.Helper()
			if _, err := api.pool.Exec(context.Background(), `UPDATE service_data_retention SET days_of_retention = $2
				WHERE service_id = $1 AND notification_type = 'sms'`, serviceA, days); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { setSMSRetention(30) })
		vars := map[string]any{"id": serviceA, "type": "SMS"}
		ask(t, userViewer, roundTripsPageQuery, vars) // the hint: 30 days
		setSMSRetention(14)
		for i, want := range []int64{2, 1} {
			roundTrips, _, resp := askKnown(t, userViewer, roundTripsPageQuery, vars)
			if roundTrips != want {
				t.Errorf("ask %d after the change cost %d round trips, want %d", i+1, roundTrips, want)
			}
			alone := api.post(t, tokenFor(t, userViewer), `query($id: ID!, $type: NotificationType) {
				service(id: $id) {
					notifications(type: $type) { statusCounts { total sending delivered failed } dataAvailableDays }
					newest: notifications(first: 1) { pageInfo { hasNextPage } } } }`, vars)
			alone.requireNoErrors(t)
			if got, want := resp.at("service", "notifications", "statusCounts"), alone.at("service", "notifications", "statusCounts"); !reflect.DeepEqual(got, want) {
				t.Errorf("ask %d: the counts read ahead are %v, read after the service %v", i+1, got, want)
			}
			if days := alone.at("service", "notifications", "dataAvailableDays"); days != 14.0 {
				t.Errorf("the page's retention is %v days, want 14", days)
			}
		}
	})

	// Nothing is read ahead for a caller who cannot list the service's rows: another
	// service's list costs what a service that does not exist costs, and says the same.
	t.Run("list of a service the caller cannot open", func(t *testing.T) {
		cost := func(id string) (int64, string) {
			tok := tokenFor(t, userOther)
			api.post(t, tok, `{ me { id } }`, nil) // the caller's principal kept
			before := api.statements.RoundTrips()
			resp := api.post(t, tok, roundTripsListQuery, map[string]any{"id": id})
			return api.statements.RoundTrips() - before, resp.codeAt("service")
		}
		otherTrips, otherCode := cost(serviceA)
		noneTrips, noneCode := cost("5f000000-0000-0000-0000-00000000000f")
		if otherCode != "NOT_FOUND" || noneCode != "NOT_FOUND" {
			t.Errorf("another service's list answered %s, a missing service's %s: want NOT_FOUND for both", otherCode, noneCode)
		}
		if otherTrips != noneTrips {
			t.Errorf("another service's list cost %d round trips, a missing service's %d", otherTrips, noneTrips)
		}
	})

	// A member who may not see the dashboard's counts gets nothing read for them: the
	// refusal costs what opening the service costs, and says what it always said.
	t.Run("dashboard of a member without view_activity", func(t *testing.T) {
		tok := tokenFor(t, userMember)
		cost := func(query string) (int64, gqlResponse) {
			before := api.statements.Queries()
			resp := api.post(t, tok, query, map[string]any{"id": serviceA})
			return api.statements.Queries() - before, resp
		}
		cost(`query($id: ID!) { service(id: $id) { name } }`) // the caller's principal kept
		nameStatements, _ := cost(`query($id: ID!) { service(id: $id) { name } }`)
		dashboardStatements, resp := cost(benchDashboardQuery)
		if code := resp.codeAt("service", "totals"); code != "FORBIDDEN" {
			t.Errorf("the member's totals answered %q, want FORBIDDEN: %s", code, resp.body)
		}
		if dashboardStatements != nameStatements {
			t.Errorf("the refused dashboard cost %d statements, the service's name %d", dashboardStatements, nameStatements)
		}
	})

	t.Run("page sizes", func(t *testing.T) {
		cost := func(first int, after any) (int64, int64, any) {
			t.Helper()
			roundTrips, statements, resp := ask(t, userViewer, roundTripsPageQuery, map[string]any{"id": serviceA, "first": first, "after": after})
			edges := resp.at("service", "notifications", "edges").([]any)
			if len(edges) != first {
				t.Fatalf("page of %d has %d edges", first, len(edges))
			}
			return roundTrips, statements, resp.at("service", "notifications", "pageInfo", "endCursor")
		}
		smallTrips, smallStatements, end := cost(5, nil)
		largeTrips, largeStatements, _ := cost(50, nil)
		nextTrips, nextStatements, _ := cost(50, end)
		if smallTrips != largeTrips || smallStatements != largeStatements || nextTrips != largeTrips || nextStatements != largeStatements {
			t.Errorf("a page's cost grows with it: 5 rows %d round trips (%d statements), 50 rows %d (%d), the next 50 %d (%d)",
				smallTrips, smallStatements, largeTrips, largeStatements, nextTrips, nextStatements)
		}
	})
}

// TestHotStatementsArePlannedOncePerConnection: the page's, the detail's and the services'
// statements, asked for again and again, run their generic plans, planned once per
// connection. What each of the pool's connections prepared says how each was planned.
func TestHotStatementsArePlannedOncePerConnection(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{limits: server.DefaultLimits(), principalCache: true})
	addJobNotifications(t, api)
	for range 8 {
		for _, op := range []struct {
			user, query string
			vars        map[string]any
		}{
			{userViewer, roundTripsPageQuery, map[string]any{"id": serviceA, "first": 50}},
			{userSender, roundTripsDetailQuery, map[string]any{"id": notificationA1}},
		} {
			api.post(t, tokenFor(t, op.user), op.query, op.vars).requireNoErrors(t)
		}
	}

	// The page's and the services' statements are told to use their generic plan: their
	// parameters would keep PostgreSQL planning them afresh. The detail's is left to
	// PostgreSQL, which takes its generic plan after five custom ones on a connection.
	hot := []struct {
		name, marker string
		customPlans  int64
	}{
		{"the page", "SELECT page.*", 0},
		{"services by their ids", "FROM services s\n WHERE s.id = ANY($1)", 0},
		{"the detail", "JOIN services s ON s.id = n.service_id", 5},
	}
	runs := make([]int64, len(hot))
	conns := api.pool.AcquireAllIdle(t.Context())
	for _, conn := range conns {
		rows, err := conn.Query(t.Context(), `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var (
				statement       string
				generic, custom int64
			)
			if err := rows.Scan(&statement, &generic, &custom); err != nil {
				t.Fatal(err)
			}
			for i, h := range hot {
				if !strings.Contains(statement, h.marker) {
					continue
				}
				runs[i] += generic + custom
				t.Logf("%s on a connection: %d generic plans, %d custom plans", h.name, generic, custom)
				if custom > h.customPlans || generic+custom > h.customPlans && generic == 0 {
					t.Errorf("%s was planned afresh %d times on a connection (generic plan %d times), want at most %d",
						h.name, custom, generic, h.customPlans)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		conn.Release()
	}
	for i, h := range hot {
		if runs[i] < 8 {
			t.Errorf("%s ran %d times, want at least 8", h.name, runs[i])
		}
	}
}

// fieldRecorder is an extension that records the fields it is run around.
type fieldRecorder struct {
	mu     sync.Mutex
	fields map[string]bool
}

func (*fieldRecorder) ExtensionName() string                   { return "FieldRecorder" }
func (*fieldRecorder) Validate(graphql.ExecutableSchema) error { return nil }
func (r *fieldRecorder) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	r.mu.Lock()
	r.fields[fc.Object+"."+fc.Field.Name] = true
	r.mu.Unlock()
	return next(ctx)
}

// The executor resolves plain scalar fields without gqlgen's field machinery, unless the
// server has a field interceptor: then the interceptor sees every field of the page, its
// scalars as well, and the answer is the same.
func TestAFieldInterceptorSeesEveryField(t *testing.T) {
	recorder := &fieldRecorder{fields: map[string]bool{}}
	plain := newTestAPIWith(t, testAPIOptions{limits: server.DefaultLimits()})
	intercepted := newTestAPIWith(t, testAPIOptions{limits: server.DefaultLimits(), extensions: []graphql.HandlerExtension{recorder}})
	vars := map[string]any{"id": serviceA, "first": 5}
	want := plain.post(t, tokenFor(t, userViewer), roundTripsPageQuery, vars)
	want.requireNoErrors(t)
	got := intercepted.post(t, tokenFor(t, userViewer), roundTripsPageQuery, vars)
	got.requireNoErrors(t)
	if got.body != want.body {
		t.Errorf("with a field interceptor the page is\n%s\nwithout\n%s", got.body, want.body)
	}
	for _, field := range []string{"Notification.id", "Notification.type", "Notification.status", "Notification.createdAt",
		"TemplateVersion.name", "TemplateVersion.version", "StatusCounts.total", "PageInfo.hasNextPage"} {
		if !recorder.fields[field] {
			t.Errorf("the interceptor did not see %s; it saw %v", field, recorder.fields)
		}
	}
}

// A socket's operations run under the interceptor too: its plain scalar fields as well.
func TestAFieldInterceptorSeesEveryFieldOnASocket(t *testing.T) {
	recorder := &fieldRecorder{fields: map[string]bool{}}
	wsURL, _ := newLiveAPIWith(t, recorder)
	results := subscribeOverSubprotocol(t, "graphql-transport-ws", wsURL, userViewer,
		`query($id: ID!) { service(id: $id) { id name } }`, map[string]any{"id": serviceA})
	select {
	case data := <-results:
		if _, failed := data["errors"]; failed {
			t.Fatalf("the query over the socket failed: %v", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer over the socket")
	}
	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	for _, field := range []string{"Query.service", "Service.id", "Service.name"} {
		if !recorder.fields[field] {
			t.Errorf("the interceptor did not see %s over the socket; it saw %v", field, recorder.fields)
		}
	}
}
