package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"notifyql"
	"notifyql/server"
)

const (
	nodeQuery  = `query($id: ID!) { node(id: $id) { __typename id } }`
	nodesQuery = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`
)

// TestNodeFetchesEachTypeByItsID: each node type's id, as its own field shows it (the
// row's UUID, as on every type), fetches the same object through node(id) and nodes(ids),
// in whatever case the UUID is written.
func TestNodeFetchesEachTypeByItsID(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	tok := tokenFor(t, userViewer)
	for _, tt := range []struct {
		typ      notifyql.NodeType
		query    string
		vars     map[string]any
		path     []any
		wantUUID string
	}{
		{notifyql.NodeService, `query($id: ID!) { service(id: $id) { id } }`, map[string]any{"id": serviceA}, []any{"service"}, serviceA},
		{notifyql.NodeNotification, `query($id: ID!) { notification(id: $id) { id } }`, map[string]any{"id": notificationA2}, []any{"notification"}, notificationA2},
		{notifyql.NodeJob, `query($id: ID!) { notification(id: $id) { job { id } } }`, map[string]any{"id": notificationA2}, []any{"notification", "job"}, jobA1},
		{notifyql.NodeTemplate, `query($id: ID!) { notification(id: $id) { template { id } } }`, map[string]any{"id": notificationA2}, []any{"notification", "template"}, templateA1},
		{notifyql.NodeInboxMessage, `query($id: ID!) { service(id: $id) { inbox(first: 1) { edges { node { id } } } } }`, map[string]any{"id": serviceA}, []any{"service", "inbox", "edges", 0, "node"}, inboundA1},
		{notifyql.NodeReportRequest, `query($id: ID!) { reportRequest(id: $id) { id } }`, map[string]any{"id": reportViewerPending}, []any{"reportRequest"}, reportViewerPending},
	} {
		t.Run(string(tt.typ), func(t *testing.T) {
			resp := api.post(t, tok, tt.query, tt.vars)
			resp.requireNoErrors(t)
			id, _ := resp.at(append(tt.path, "id")...).(string)
			if id != tt.wantUUID {
				t.Fatalf("id = %q, want the row's UUID %q", id, tt.wantUUID)
			}
			for _, asked := range []string{id, strings.ToUpper(id)} {
				node := api.post(t, tok, nodeQuery, map[string]any{"id": asked})
				node.requireNoErrors(t)
				if got := node.at("node", "__typename"); got != string(tt.typ) {
					t.Errorf("node(%s) is a %v, want %s", asked, got, tt.typ)
				}
				if got := node.at("node", "id"); got != id {
					t.Errorf("node(%s).id = %v, want %s", asked, got, id)
				}
			}
			nodes := api.post(t, tok, nodesQuery, map[string]any{"ids": []string{id}})
			nodes.requireNoErrors(t)
			if nodes.at("nodes", 0, "__typename") != string(tt.typ) || nodes.at("nodes", 0, "id") != id {
				t.Errorf("nodes([%s]): %s", id, nodes.body)
			}
		})
	}
}

// TestNodeNotFoundIsOneAnswer: a malformed id, an id that names nothing and an id of an
// object in a service the caller has no relation to all answer null with the same
// NOT_FOUND error, whatever the type. A well-formed id is looked for in every type with
// the same statements whatever it names, so an id of a row the caller may not see costs
// what an id of no row costs.
func TestNodeNotFoundIsOneAnswer(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	// A text from before service A's 30 days of text retention: the inbox does not show it.
	const oldText = "1a000000-0000-0000-0000-0000000000e1"
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at)
		VALUES ($1, $2, '07700900500', '447700900114', 'Too old', 'mmg', '2026-06-01 10:00')`, oldText, serviceA); err != nil {
		t.Fatal(err)
	}
	encode := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	malformed := map[string]string{
		"empty":                  "",
		"not a UUID":             "not a node id!",
		"a short UUID":           "5a000000-0000-0000-0000-00000000000",
		"a UUID without hyphens": strings.ReplaceAll(serviceA, "-", ""),
		"a UUID in braces":       "{" + serviceA + "}",
		"a UUID with spaces":     " " + serviceA + " ",
		"a base64 type and UUID": encode("Service:" + serviceA),
		"a UUID and more":        serviceA + "0",
		"too long":               strings.Repeat("A", 10_000),
	}
	// Well-formed ids of no row, and of rows the viewer may not see as the node's own field
	// would not show them.
	wellFormed := map[string]string{
		"unknown notification":       "a0000000-0000-0000-0000-0000000000ff",
		"unknown service":            "5f000000-0000-0000-0000-00000000000f",
		"unknown template":           "7e000000-0000-0000-0000-0000000000ff",
		"unknown job":                "10b00000-0000-0000-0000-0000000000ff",
		"unknown inbound text":       "1a000000-0000-0000-0000-0000000000ff",
		"unknown report request":     "e0000000-0000-0000-0000-0000000000ff",
		"service B":                  serviceB,
		"service B's notification":   notificationB1,
		"service B's template":       templateB1,
		"service B's report request": reportOfServiceB,
		"a deleted report request":   reportViewerDeleted,
	}
	tok := tokenFor(t, userViewer)
	// Warm the caller's principal, which the first request reads.
	api.post(t, tok, `{ me { id } }`, nil).requireNoErrors(t)
	ask := func(name, id string) int64 {
		t.Helper()
		before := api.statements.Queries()
		resp := api.post(t, tok, nodeQuery, map[string]any{"id": id})
		cost := api.statements.Queries() - before
		if resp.status != 200 || resp.at("node") != nil || len(resp.Errors) != 1 {
			t.Errorf("%s: want null and one error: %s", name, resp.body)
			return cost
		}
		if e := resp.Errors[0]; e.Message != "node not found" || e.Extensions["code"] != notFound || !pathEqual(e.Path, []any{"node"}) {
			t.Errorf("%s: error %+v, want NOT_FOUND \"node not found\" at node", name, e)
		}
		return cost
	}
	for name, id := range malformed {
		ask(name, id)
	}
	costs := map[int64][]string{}
	for name, id := range wellFormed {
		cost := ask(name, id)
		costs[cost] = append(costs[cost], name)
	}
	if len(costs) != 1 {
		t.Errorf("well-formed ids cost different numbers of statements: %v", costs)
	}
	t.Logf("statements per well-formed id: %v", costs)
	// A text outside the retention is not shown to a caller who may read the inbox.
	ask("a text outside the retention", oldText)
}

// TestNodesAnswerEachIDAtItsIndex: nodes(ids) keeps the order of the ids, repeats an id
// asked for twice, and answers each it cannot show with null and its own error at its
// index, beside the others' objects.
func TestNodesAnswerEachIDAtItsIndex(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	ids := []string{
		notificationA1, // shown
		"malformed",
		serviceA,            // shown
		reportViewerPending, // the viewer's: refused to a member
		notificationA1,      // again
		serviceB,            // not theirs
	}
	resp := api.post(t, tokenFor(t, userManager), nodesQuery, map[string]any{"ids": ids})
	want := []string{"Notification", "", "Service", "", "Notification", ""}
	for i, typename := range want {
		got, _ := resp.at("nodes", i, "__typename").(string)
		if got != typename {
			t.Errorf("nodes[%d] is %q, want %q: %s", i, got, typename, resp.body)
		}
		if typename != "" && resp.at("nodes", i, "id") != ids[i] {
			t.Errorf("nodes[%d].id = %v, want %s", i, resp.at("nodes", i, "id"), ids[i])
		}
	}
	wantErrors := map[int]string{1: notFound, 3: forbidden, 5: notFound}
	if len(resp.Errors) != len(wantErrors) {
		t.Fatalf("%d errors, want %d: %s", len(resp.Errors), len(wantErrors), resp.body)
	}
	for i, code := range wantErrors {
		if got := resp.codeAt("nodes", i); got != code {
			t.Errorf("error at nodes[%d] = %q, want %s: %s", i, got, code, resp.body)
		}
	}
}

// TestNodesIsBounded: nodes(ids) takes at most 100 ids; past that it refuses the list with
// a message that says so, and loads nothing. An empty list is an empty answer.
func TestNodesIsBounded(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	tok := tokenFor(t, userViewer)
	idsOf := func(n int) []string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("a0000000-0000-0000-0000-%012d", i%8+1)
		}
		return ids
	}
	atBound := api.post(t, tok, nodesQuery, map[string]any{"ids": idsOf(notifyql.MaxNodeIDs)})
	if got, _ := atBound.at("nodes").([]any); len(got) != notifyql.MaxNodeIDs {
		t.Fatalf("100 ids: %d answers: %.500s", len(got), atBound.body)
	}
	before := api.statements.Queries()
	api.post(t, tok, `{ me { id } }`, nil).requireNoErrors(t)
	signIn := api.statements.Queries() - before
	before = api.statements.Queries()
	past := api.post(t, tok, nodesQuery, map[string]any{"ids": idsOf(notifyql.MaxNodeIDs + 1)})
	if past.codeAt("nodes") != "BAD_USER_INPUT" || len(past.Errors) != 1 || past.Errors[0].Message != "nodes takes at most 100 ids, not 101" || past.at("nodes") != nil {
		t.Errorf("101 ids: %.500s", past.body)
	}
	if n := api.statements.Queries() - before; n > signIn {
		t.Errorf("101 ids ran %d statements, want no more than signing in takes (%d)", n, signIn)
	}
	empty := api.post(t, tok, nodesQuery, map[string]any{"ids": []string{}})
	empty.requireNoErrors(t)
	if got, ok := empty.at("nodes").([]any); !ok || len(got) != 0 {
		t.Errorf("no ids: %s", empty.body)
	}
}

// TestNodesLoadEachTypeOnce: nodes(ids) costs the same number of statements for one object
// of each type as for many.
func TestNodesLoadEachTypeOnce(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	tok := tokenFor(t, userAdmin)
	one := []string{
		serviceA,
		notificationA1,
		templateA1,
		jobA1,
		inboundA1,
		reportOfServiceB,
	}
	many := append([]string{}, one...)
	many = append(many,
		serviceB, serviceC,
		notificationA2, notificationA3,
		notificationB1,
		templateB1, "7e000000-0000-0000-0000-000000000002",
		"1a000000-0000-0000-0000-000000000002",
		reportViewerPending)
	// Warm the caller's principal, which the first request reads.
	api.post(t, tok, `{ me { id } }`, nil).requireNoErrors(t)
	cost := func(ids []string) int64 {
		t.Helper()
		before := api.statements.Queries()
		resp := api.post(t, tok, `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Notification { template { name } } ... on Template { name } } }`, map[string]any{"ids": ids})
		for i := range ids {
			if resp.at("nodes", i, "id") == nil && resp.codeAt("nodes", i) != forbidden {
				t.Fatalf("nodes[%d] missing: %s", i, resp.body)
			}
		}
		return api.statements.Queries() - before
	}
	costOne, costMany := cost(one), cost(many)
	if costMany != costOne {
		t.Errorf("%d objects took %d statements, %d took %d: want the same", len(one), costOne, len(many), costMany)
	}
	t.Logf("one of each type: %d statements; %d objects: %d", costOne, len(many), costMany)
}

// TestNodeAnswersWithTheFirstTypeThatHasTheID: ids are random UUIDs, unique across the
// node types in practice; should two rows share one, node(id) answers with the first type,
// in notifyql.NodeTypes' order, that has it (a template before a job), the same each time.
func TestNodeAnswersWithTheFirstTypeThatHasTheID(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, notification_count, job_status, created_by_id, created_at)
		VALUES ($1, $2, $1, 1, 'same-id.csv', 1, 'finished', '00000000-0000-0000-0000-0000000000aa', '2026-07-15 09:30')`, templateA1, serviceA); err != nil {
		t.Fatal(err)
	}
	tok := tokenFor(t, userViewer)
	for range 2 {
		resp := api.post(t, tok, `query($id: ID!) { node(id: $id) { __typename id ... on Template { name } } }`, map[string]any{"id": templateA1})
		resp.requireNoErrors(t)
		if resp.at("node", "__typename") != "Template" || resp.at("node", "id") != templateA1 || resp.at("node", "name") != "Payment reminder (renamed)" {
			t.Errorf("node(a template's and a job's id): %s, want the template", resp.body)
		}
	}
	// nodes(ids) answers each id as node(id) does.
	if n := api.post(t, tok, `query($id: ID!) { nodes(ids: [$id, $id]) { __typename } }`, map[string]any{"id": templateA1}); n.at("nodes", 1, "__typename") != "Template" {
		t.Errorf("nodes: %s", n.body)
	}
}
