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

// unknownNodeID is a well-formed notification node id that names no row.
var unknownNodeID = notifyql.NodeID(notifyql.NodeNotification, "a0000000-0000-0000-0000-0000000000ff")

// TestNodeIDsRoundTrip: each node type's id, as its own field shows it, fetches the same
// object through node(id); rowId is the row's UUID; and the id arguments of the other
// fields take the node id as they take the UUID.
func TestNodeIDsRoundTrip(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	tok := tokenFor(t, userViewer)
	for _, tt := range []struct {
		typ      notifyql.NodeType
		query    string
		vars     map[string]any
		path     []any
		wantUUID string
	}{
		{notifyql.NodeService, `query($id: ID!) { service(id: $id) { id rowId } }`, map[string]any{"id": serviceA}, []any{"service"}, serviceA},
		{notifyql.NodeNotification, `query($id: ID!) { notification(id: $id) { id rowId } }`, map[string]any{"id": notificationA2}, []any{"notification"}, notificationA2},
		{notifyql.NodeJob, `query($id: ID!) { notification(id: $id) { job { id rowId } } }`, map[string]any{"id": notificationA2}, []any{"notification", "job"}, jobA1},
		{notifyql.NodeTemplate, `query($id: ID!) { service(id: $id) { templateStatistics { template { id rowId } } } }`, map[string]any{"id": serviceA}, []any{"service", "templateStatistics", 0, "template"}, ""},
		{notifyql.NodeInboxMessage, `query($id: ID!) { service(id: $id) { inbox(first: 1) { edges { node { id rowId } } } } }`, map[string]any{"id": serviceA}, []any{"service", "inbox", "edges", 0, "node"}, inboundA1},
		{notifyql.NodeReportRequest, `query($id: ID!) { reportRequest(id: $id) { id rowId } }`, map[string]any{"id": reportViewerPending}, []any{"reportRequest"}, reportViewerPending},
	} {
		t.Run(string(tt.typ), func(t *testing.T) {
			resp := api.post(t, tok, tt.query, tt.vars)
			resp.requireNoErrors(t)
			id, _ := resp.at(append(tt.path, "id")...).(string)
			rowID, _ := resp.at(append(tt.path, "rowId")...).(string)
			if tt.wantUUID != "" && rowID != tt.wantUUID {
				t.Errorf("rowId = %q, want %q", rowID, tt.wantUUID)
			}
			if want := notifyql.NodeID(tt.typ, rowID); id != want {
				t.Errorf("id = %q, want the node id %q", id, want)
			}
			node := api.post(t, tok, nodeQuery, map[string]any{"id": id})
			node.requireNoErrors(t)
			if got := node.at("node", "__typename"); got != string(tt.typ) {
				t.Errorf("node(id) is a %v, want %s", got, tt.typ)
			}
			if got := node.at("node", "id"); got != id {
				t.Errorf("node(id).id = %v, want %s", got, id)
			}
		})
	}
	// The other fields take a node id wherever they take a UUID, of that type only.
	byNodeID := api.post(t, tok, `query($id: ID!) { service(id: $id) { rowId } }`, map[string]any{"id": notifyql.NodeID(notifyql.NodeService, serviceA)})
	byNodeID.requireNoErrors(t)
	if got := byNodeID.at("service", "rowId"); got != serviceA {
		t.Errorf("service(id: node id) = %v, want service A", got)
	}
	wrongType := api.post(t, tok, `query($id: ID!) { service(id: $id) { rowId } }`, map[string]any{"id": notifyql.NodeID(notifyql.NodeNotification, serviceA)})
	if code := wrongType.codeAt("service"); code != "BAD_USER_INPUT" || !strings.Contains(wrongType.body, "invalid service id") {
		t.Errorf("service(id: a notification's node id): %s", wrongType.body)
	}
}

// TestNodeNotFoundIsOneAnswer: a malformed id, an id that names nothing and an id of an
// object in a service the caller has no relation to all answer null with the same
// NOT_FOUND error, whatever the type.
func TestNodeNotFoundIsOneAnswer(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	// A text from before service A's 30 days of text retention: the inbox does not show it.
	const oldText = "1a000000-0000-0000-0000-0000000000e1"
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at)
		VALUES ($1, $2, '07700900500', '447700900114', 'Too old', 'mmg', '2026-06-01 10:00')`, oldText, serviceA); err != nil {
		t.Fatal(err)
	}
	encode := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	cases := map[string]string{
		"empty":                        "",
		"not base64":                   "not a node id!",
		"a bare UUID":                  serviceA,
		"an unknown type":              encode("Organisation:" + serviceA),
		"no type":                      encode(":" + serviceA),
		"a key that is not a UUID":     encode("Service:5a000000"),
		"an upper-case key":            encode("Service:" + strings.ToUpper(serviceA)),
		"padded base64":                base64.URLEncoding.EncodeToString([]byte("Service:" + serviceA)),
		"standard base64 alphabet":     strings.NewReplacer("-", "+", "_", "/").Replace(notifyql.NodeID(notifyql.NodeReportRequest, "e0000000-0000-0000-0000-0000000000fe")),
		"too long":                     strings.Repeat("A", 10_000),
		"unknown notification":         unknownNodeID,
		"unknown service":              notifyql.NodeID(notifyql.NodeService, "5f000000-0000-0000-0000-00000000000f"),
		"unknown template":             notifyql.NodeID(notifyql.NodeTemplate, "7e000000-0000-0000-0000-0000000000ff"),
		"unknown job":                  notifyql.NodeID(notifyql.NodeJob, "10b00000-0000-0000-0000-0000000000ff"),
		"unknown inbound text":         notifyql.NodeID(notifyql.NodeInboxMessage, "1a000000-0000-0000-0000-0000000000ff"),
		"unknown report request":       notifyql.NodeID(notifyql.NodeReportRequest, "e0000000-0000-0000-0000-0000000000ff"),
		"service B":                    notifyql.NodeID(notifyql.NodeService, serviceB),
		"service B's notification":     notifyql.NodeID(notifyql.NodeNotification, notificationB1),
		"service B's template":         notifyql.NodeID(notifyql.NodeTemplate, templateB1),
		"service B's report request":   notifyql.NodeID(notifyql.NodeReportRequest, reportOfServiceB),
		"a deleted report request":     notifyql.NodeID(notifyql.NodeReportRequest, reportViewerDeleted),
		"a text outside the retention": notifyql.NodeID(notifyql.NodeInboxMessage, oldText),
	}
	tok := tokenFor(t, userViewer)
	for name, id := range cases {
		resp := api.post(t, tok, nodeQuery, map[string]any{"id": id})
		if resp.status != 200 || resp.at("node") != nil || len(resp.Errors) != 1 {
			t.Errorf("%s: want null and one error: %s", name, resp.body)
			continue
		}
		if e := resp.Errors[0]; e.Message != "node not found" || e.Extensions["code"] != notFound || !pathEqual(e.Path, []any{"node"}) {
			t.Errorf("%s: error %+v, want NOT_FOUND \"node not found\" at node", name, e)
		}
	}
}

// TestNodesAnswerEachIDAtItsIndex: nodes(ids) keeps the order of the ids, repeats an id
// asked for twice, and answers each it cannot show with null and its own error at its
// index, beside the others' objects.
func TestNodesAnswerEachIDAtItsIndex(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	ids := []string{
		notifyql.NodeID(notifyql.NodeNotification, notificationA1), // shown
		"malformed",
		notifyql.NodeID(notifyql.NodeService, serviceA),                  // shown
		notifyql.NodeID(notifyql.NodeReportRequest, reportViewerPending), // the viewer's: refused to a member
		notifyql.NodeID(notifyql.NodeNotification, notificationA1),       // again
		notifyql.NodeID(notifyql.NodeService, serviceB),                  // not theirs
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
	api := newTestAPI(t, server.DefaultLimits())
	tok := tokenFor(t, userViewer)
	idsOf := func(n int) []string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = notifyql.NodeID(notifyql.NodeNotification, fmt.Sprintf("a0000000-0000-0000-0000-%012d", i%8+1))
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
	api := newTestAPI(t, server.DefaultLimits())
	tok := tokenFor(t, userAdmin)
	one := []string{
		notifyql.NodeID(notifyql.NodeService, serviceA),
		notifyql.NodeID(notifyql.NodeNotification, notificationA1),
		notifyql.NodeID(notifyql.NodeTemplate, templateA1),
		notifyql.NodeID(notifyql.NodeJob, jobA1),
		notifyql.NodeID(notifyql.NodeInboxMessage, inboundA1),
		notifyql.NodeID(notifyql.NodeReportRequest, reportOfServiceB),
	}
	many := append([]string{}, one...)
	many = append(many,
		notifyql.NodeID(notifyql.NodeService, serviceB), notifyql.NodeID(notifyql.NodeService, serviceC),
		notifyql.NodeID(notifyql.NodeNotification, notificationA2), notifyql.NodeID(notifyql.NodeNotification, notificationA3),
		notifyql.NodeID(notifyql.NodeNotification, notificationB1),
		notifyql.NodeID(notifyql.NodeTemplate, templateB1), notifyql.NodeID(notifyql.NodeTemplate, "7e000000-0000-0000-0000-000000000002"),
		notifyql.NodeID(notifyql.NodeInboxMessage, "1a000000-0000-0000-0000-000000000002"),
		notifyql.NodeID(notifyql.NodeReportRequest, reportViewerPending))
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
