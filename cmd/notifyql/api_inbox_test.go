package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
	"notifyql/server"
)

// Report requests from testdata/fixture.sql.
const (
	reportViewerPending = "e0000000-0000-0000-0000-000000000001"
	reportViewerDeleted = "e0000000-0000-0000-0000-000000000002"
	reportOfServiceB    = "e0000000-0000-0000-0000-000000000003"
)

const inboxQuery = `query($id: ID!, $first: Int, $after: String) { service(id: $id) { inbox(first: $first, after: $after) {
	edges { cursor node { phoneNumber content createdAt receivedAgo } } pageInfo { hasNextPage endCursor } summary { count } inboundNumber } } }`

func TestInboxListsTheLatestTextPerNumberWithinTheSMSRetention(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// Service A keeps texts for 30 days: from London midnight on 15 June (23:00 UTC on the
	// 14th). An older text from 07700900111 is hidden behind its newer one; one from before
	// the window is not listed at all.
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at) VALUES
		($1, '07700900500', '447700900111', 'Earlier', 'mmg', '2026-07-10 10:00'),
		($1, '07700900500', '+33612345678', 'Bonjour', 'mmg', '2026-06-14 23:00'),
		($1, '07700900500', '447700900114', 'Too old', 'mmg', '2026-06-14 22:59:59')`, serviceA); err != nil {
		t.Fatal(err)
	}
	tok := tokenFor(t, userViewer)
	resp := api.post(t, tok, inboxQuery, map[string]any{"id": serviceA, "first": 3})
	resp.requireNoErrors(t)
	inbox := resp.at("service", "inbox").(map[string]any)
	want := []string{"07700 900111|Yes please|4 hours ago", "07700 900112|Stop|7 days ago", "07700 900113|Old|7 days ago"}
	if got := messageLines(inbox["edges"]); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("first page:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	pageInfo := inbox["pageInfo"].(map[string]any)
	if pageInfo["hasNextPage"] != true || pageInfo["endCursor"] != lastCursor(inbox["edges"]) {
		t.Errorf("first page: pageInfo %v, want hasNextPage and the last edge's cursor", pageInfo)
	}
	// The summary counts every text of the dashboard's 7 days (from 23:00 UTC on 7 July),
	// whatever the retention: 08:00 today, 10 July and 23:00 on 7 July.
	if count := inbox["summary"].(map[string]any)["count"]; count != float64(3) {
		t.Errorf("summary count %v, want 3", count)
	}
	if inbox["inboundNumber"] != nil {
		t.Errorf("inboundNumber %v, want null without an inbound number", inbox["inboundNumber"])
	}

	firstEdges := inbox["edges"].([]any)
	resp = api.post(t, tok, inboxQuery, map[string]any{"id": serviceA, "first": 3, "after": pageInfo["endCursor"]})
	resp.requireNoErrors(t)
	inbox = resp.at("service", "inbox").(map[string]any)
	if got := messageLines(inbox["edges"]); len(got) != 1 || got[0] != "+33 6 12 34 56 78|Bonjour|30 days ago" {
		t.Errorf("second page: %v", got)
	}
	pageInfo = inbox["pageInfo"].(map[string]any)
	if pageInfo["hasNextPage"] != false || pageInfo["endCursor"] != lastCursor(inbox["edges"]) {
		t.Errorf("second page: pageInfo %v, want no next page and the last edge's cursor", pageInfo)
	}
	// Any edge's cursor reads on after that edge: after the first page's first text come
	// its second and third.
	resp = api.post(t, tok, inboxQuery, map[string]any{"id": serviceA, "first": 2, "after": firstEdges[0].(map[string]any)["cursor"]})
	resp.requireNoErrors(t)
	if got := messageLines(resp.at("service", "inbox", "edges")); strings.Join(got, "\n") != strings.Join(want[1:], "\n") {
		t.Errorf("after the first edge: %v, want %v", got, want[1:])
	}
	// After the last edge of the last page: an empty page, with nothing to read on.
	resp = api.post(t, tok, inboxQuery, map[string]any{"id": serviceA, "after": pageInfo["endCursor"]})
	resp.requireNoErrors(t)
	if edges := resp.at("service", "inbox", "edges").([]any); len(edges) != 0 || resp.at("service", "inbox", "pageInfo", "endCursor") != nil ||
		resp.at("service", "inbox", "pageInfo", "hasNextPage") != false {
		t.Errorf("past the end: %s", resp.body)
	}

	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_numbers (number, service_id) VALUES ('07700900500', $1)`, serviceA); err != nil {
		t.Fatal(err)
	}
	resp = api.post(t, tok, inboxQuery, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	if got := resp.at("service", "inbox", "inboundNumber"); got != "07700900500" {
		t.Errorf("inboundNumber %v", got)
	}
	if got := len(resp.at("service", "inbox", "edges").([]any)); got != 4 {
		t.Errorf("default page: %d edges, want 4", got)
	}
}

// TestInboxRefusesBadPaging: first out of 1 to 50 and an after that is not a cursor this
// inbox gave out (another connection's cursor included) are refused with what is wrong.
func TestInboxRefusesBadPaging(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	tok := tokenFor(t, userViewer)
	encode := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	notificationCursor := notifyql.Cursor{CreatedAt: fixtureNow, ID: notificationA1}.Encode()
	for _, tt := range []struct {
		name string
		vars map[string]any
		want string
	}{
		{"first 0", map[string]any{"first": 0}, "first must be between 1 and 50"},
		{"first -1", map[string]any{"first": -1}, "first must be between 1 and 50"},
		{"first 51", map[string]any{"first": 51}, "first must be between 1 and 50"},
		{"after nonsense", map[string]any{"after": "nonsense"}, "after is not a cursor this inbox gave out"},
		{"after empty", map[string]any{"after": ""}, "after is not a cursor this inbox gave out"},
		{"after a negative offset", map[string]any{"after": encode("inbox:-1")}, "after is not a cursor this inbox gave out"},
		{"after a padded offset", map[string]any{"after": encode("inbox:007")}, "after is not a cursor this inbox gave out"},
		{"after a notifications cursor", map[string]any{"after": notificationCursor}, "after is not a cursor this inbox gave out"},
		{"after a text's id", map[string]any{"after": inboundA1}, "after is not a cursor this inbox gave out"},
	} {
		tt.vars["id"] = serviceA
		resp := api.post(t, tok, inboxQuery, tt.vars)
		if code := resp.codeAt("service", "inbox"); code != "BAD_USER_INPUT" || resp.Errors[0].Message != tt.want {
			t.Errorf("%s: %s", tt.name, resp.body)
		}
	}
}

// lastCursor is the cursor of the last of edges, or nil for none.
func lastCursor(edges any) any {
	list := edges.([]any)
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1].(map[string]any)["cursor"]
}

func messageLines(edges any) []string {
	var lines []string
	for _, e := range edges.([]any) {
		m := e.(map[string]any)["node"].(map[string]any)
		lines = append(lines, m["phoneNumber"].(string)+"|"+m["content"].(string)+"|"+m["receivedAgo"].(string))
	}
	return lines
}

func TestInboxNeedsViewActivityAndTheFeature(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	for _, tt := range []struct{ user, service, want string }{
		{userMember, serviceA, "FORBIDDEN"},
		{userSender, serviceA, "FORBIDDEN"},
		{userOther, serviceB, "FORBIDDEN"}, // view_activity, but service B has no inbox
		{userAdmin, serviceB, "FORBIDDEN"}, // the feature binds platform admins too
		{userAdmin, serviceA, ""},
	} {
		resp := api.post(t, tokenFor(t, tt.user), inboxQuery, map[string]any{"id": tt.service})
		if code := resp.codeAt("service", "inbox"); code != tt.want {
			t.Errorf("%s on %s: %q, want %q", tt.user, tt.service, code, tt.want)
		}
	}
}

func TestReportRequestIsForItsRequesterOnly(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	const query = `query($id: ID!) { reportRequest(id: $id) { id status notificationType notificationStatus createdAt updatedAt } }`
	resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": reportViewerPending})
	resp.requireNoErrors(t)
	want := map[string]any{"createdAt": "2026-07-15T11:00:00Z", "id": reportViewerPending, "notificationStatus": "ALL", "notificationType": "SMS", "status": "PENDING", "updatedAt": nil}
	if diff := cmp.Diff(want, resp.at("reportRequest")); diff != "" {
		t.Errorf("report request (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ user, id, want string }{
		{userManager, reportViewerPending, "FORBIDDEN"},
		{userAdmin, reportViewerPending, "FORBIDDEN"},
		{userViewer, reportViewerDeleted, "NOT_FOUND"},
		{userViewer, reportOfServiceB, "NOT_FOUND"},
		{userOther, reportViewerPending, "NOT_FOUND"},
		{userViewer, "e0000000-0000-0000-0000-0000000000ff", "NOT_FOUND"},
	} {
		if code := api.post(t, tokenFor(t, tt.user), query, map[string]any{"id": tt.id}).codeAt("reportRequest"); code != tt.want {
			t.Errorf("%s reads %s: %q, want %q", tt.user, tt.id, code, tt.want)
		}
	}
}

// A text written with plain SQL reaches an inbox subscriber.
func TestInboxSubscriptionSeesAPlainSQLInsert(t *testing.T) {
	t.Parallel()
	wsURL, exec := newLiveAPI(t)
	stream := subscribeOverWebSocket(t, wsURL, userViewer,
		`subscription($id: ID!) { inbox(serviceId: $id) { edges { node { phoneNumber content } } summary { count } } }`,
		map[string]any{"id": serviceA})
	next(t, stream, 10*time.Second)
	exec(`INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at)
		VALUES ($1, '07700900500', '447700900999', 'Just arrived', 'mmg', $2)`, serviceA, time.Now().UTC())
	deadline := time.Now().Add(5 * time.Second)
	for {
		edges := next(t, stream, time.Until(deadline))["inbox"].(map[string]any)["edges"].([]any)
		if len(edges) > 0 {
			if latest := edges[0].(map[string]any)["node"].(map[string]any); latest["content"] == "Just arrived" {
				if latest["phoneNumber"] != "07700 900999" {
					t.Errorf("phone number %v, want the human form", latest["phoneNumber"])
				}
				return
			}
		}
	}
}

// A status change written with plain SQL reaches the requester's subscriber.
func TestReportRequestSubscriptionSeesAStatusUpdate(t *testing.T) {
	t.Parallel()
	wsURL, exec := newLiveAPI(t)
	const query = `subscription($id: ID!) { reportRequest(id: $id) { status } }`
	stream := subscribeOverWebSocket(t, wsURL, userViewer, query, map[string]any{"id": reportViewerPending})
	if got := next(t, stream, 10*time.Second)["reportRequest"].(map[string]any)["status"]; got != "PENDING" {
		t.Fatalf("first status %v", got)
	}
	exec(`UPDATE report_requests SET status = 'in progress', updated_at = now() AT TIME ZONE 'utc' WHERE id = $1`, reportViewerPending)
	deadline := time.Now().Add(5 * time.Second)
	for next(t, stream, time.Until(deadline))["reportRequest"].(map[string]any)["status"] != "IN_PROGRESS" {
	}
}

func TestInboxAndReportRequestSubscriptionsCheckPermissions(t *testing.T) {
	t.Parallel()
	wsURL, _ := newLiveAPI(t)
	const inbox = `subscription($id: ID!) { inbox(serviceId: $id) { pageInfo { hasNextPage } } }`
	const report = `subscription($id: ID!) { reportRequest(id: $id) { status } }`
	for _, tt := range []struct{ user, query, id, want string }{
		{userMember, inbox, serviceA, "FORBIDDEN"},
		{userOther, inbox, serviceB, "FORBIDDEN"},
		{userOther, inbox, serviceA, "NOT_FOUND"},
		{userManager, report, reportViewerPending, "FORBIDDEN"},
		{userViewer, report, reportViewerDeleted, "NOT_FOUND"},
		{userViewer, report, reportOfServiceB, "NOT_FOUND"},
	} {
		stream := subscribeOverWebSocket(t, wsURL, tt.user, tt.query, map[string]any{"id": tt.id})
		select {
		case msg := <-stream:
			if errs, _ := msg["errors"].(string); !strings.Contains(errs, tt.want) {
				t.Errorf("%s on %s: %v, want %s", tt.user, tt.id, msg, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s on %s: no answer", tt.user, tt.id)
		}
	}
}

// Pages of 50 follow one another by cursor, newest first, with no sender twice and none
// left out, and only each sender's latest text.
func TestInboxPagesOfFifty(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// 120 senders, each with an older text that the latest hides; with the fixture's 3,
	// 123 conversations.
	if _, err := api.pool.Exec(context.Background(), `
		INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at)
		SELECT $1::uuid, '07700900500', '447700800' || lpad(i::text, 3, '0'), 'Latest ' || i, 'mmg', timestamp '2026-07-14 12:00' + i * interval '1 minute'
		  FROM generate_series(1, 120) AS i
		UNION ALL
		SELECT $1::uuid, '07700900500', '447700800' || lpad(i::text, 3, '0'), 'Older ' || i, 'mmg', timestamp '2026-07-13 12:00'
		  FROM generate_series(1, 120) AS i`, serviceA); err != nil {
		t.Fatal(err)
	}
	tok := tokenFor(t, userViewer)
	query := `query($id: ID!, $after: String) { service(id: $id) { inbox(after: $after) { edges { cursor node { phoneNumber content createdAt } } pageInfo { hasNextPage endCursor } } } }`
	seen := map[string]bool{}
	var after any
	var sizes []int
	last := "9999"
	for page := 0; page < 5; page++ {
		resp := api.post(t, tok, query, map[string]any{"id": serviceA, "after": after})
		resp.requireNoErrors(t)
		inbox := resp.at("service", "inbox").(map[string]any)
		edges := inbox["edges"].([]any)
		sizes = append(sizes, len(edges))
		for _, e := range edges {
			m := e.(map[string]any)["node"].(map[string]any)
			if seen[m["phoneNumber"].(string)] || strings.HasPrefix(m["content"].(string), "Older") {
				t.Errorf("page %d: %v", page, m)
			}
			seen[m["phoneNumber"].(string)] = true
			if at := m["createdAt"].(string); at > last {
				t.Errorf("page %d: %s after %s: not newest first", page, at, last)
			} else {
				last = at
			}
		}
		pageInfo := inbox["pageInfo"].(map[string]any)
		if pageInfo["endCursor"] != lastCursor(edges) {
			t.Errorf("page %d: endCursor %v, want the last edge's", page, pageInfo["endCursor"])
		}
		if pageInfo["hasNextPage"] != true {
			break
		}
		after = pageInfo["endCursor"]
	}
	if !cmp.Equal(sizes, []int{50, 50, 23}) || len(seen) != 123 {
		t.Errorf("page sizes %v, %d senders", sizes, len(seen))
	}
}

// The inbox starts at London midnight of the retention's first day, in winter (GMT) as in
// summer (BST, TestInboxListsTheLatestTextPerNumberWithinTheSMSRetention).
func TestInboxRetentionEdgeInWinter(t *testing.T) {
	t.Parallel()
	// 10:00 GMT on 15 January 2026: 30 days from London midnight on 16 December, 00:00 UTC.
	api := newTestAPIAt(t, server.Limits{}, time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at) VALUES
		($1, '07700900500', '447700900301', 'At London midnight', 'mmg', '2025-12-16 00:00:00'),
		($1, '07700900500', '447700900302', 'A second before', 'mmg', '2025-12-15 23:59:59')`, serviceA); err != nil {
		t.Fatal(err)
	}
	resp := api.post(t, tokenFor(t, userViewer), inboxQuery, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	body := resp.body
	if !strings.Contains(body, "At London midnight") || strings.Contains(body, "A second before") {
		t.Errorf("retention edge: %s", body)
	}
	csv := getCSV(t, api.handler, tokenFor(t, userViewer), "GET", inboxCSVPath(serviceA)).Body.String()
	if !strings.Contains(csv, "07700 900301,At London midnight,2025-12-16 00:00\r\n") || strings.Contains(csv, "A second before") {
		t.Errorf("inbox CSV retention edge:\n%s", csv)
	}
}

// Who may read the inbox and conversations and cancel letters (DOMAIN.md §16), through
// GraphQL; TestInboxCSVRefusals covers the CSV's callers.
func TestInboxConversationAndCancelPermissionMatrix(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// A letter past its print run: callers allowed through get its CONFLICT, so the
	// matrix changes nothing.
	insertLetter(t, api, letterID(900), "created", time.Date(2026, 7, 13, 10, 0, 0, 0, time.UTC))
	callers := []string{"no token", "member", "viewer", "sender", "manager", "admin", "other service's member", "organisation user"}
	tokens := []string{"", tokenFor(t, userMember), tokenFor(t, userViewer), tokenFor(t, userSender), tokenFor(t, userManager),
		tokenFor(t, userAdmin), tokenFor(t, userOther), tokenFor(t, userOrg)}
	const conflict = "CONFLICT"
	fields := []struct {
		name, query string
		vars        map[string]any
		path        []any
		want        [8]string
	}{
		{"inbox", `query($id: ID!) { service(id: $id) { inbox { pageInfo { hasNextPage } } } }`, map[string]any{"id": serviceA}, []any{"service", "inbox"},
			[8]string{unauth, forbidden, allowed, forbidden, allowed, allowed, notFound, forbidden}},
		{"inbox without the feature", `query($id: ID!) { service(id: $id) { inbox { pageInfo { hasNextPage } } } }`, map[string]any{"id": serviceB}, []any{"service", "inbox"},
			[8]string{unauth, notFound, notFound, notFound, notFound, forbidden, forbidden, notFound}},
		{"conversation", `query($id: ID!, $n: ID) { service(id: $id) { conversation(notificationId: $n) { phoneNumber } } }`,
			map[string]any{"id": serviceA, "n": notificationA3}, []any{"service", "conversation"},
			[8]string{unauth, forbidden, allowed, forbidden, allowed, allowed, notFound, forbidden}},
		{"cancelLetter", cancelLetterMutation, map[string]any{"service": serviceA, "id": letterID(900)}, []any{"cancelLetter"},
			[8]string{unauth, forbidden, conflict, conflict, conflict, conflict, notFound, forbidden}},
	}
	for _, f := range fields {
		for i, caller := range callers {
			resp := api.post(t, tokens[i], f.query, f.vars)
			if got := outcomeOf(resp, f.path); got != f.want[i] {
				t.Errorf("%s as %s: got %s, want %s\n%s", f.name, caller, got, f.want[i], resp.body)
			}
		}
	}
}

// TestInboxDeprecatedFieldsAnswerAsBefore: the fields the inbox had before it was a
// connection (messages, hasNext, endCursor) still answer as they did, beside edges and
// pageInfo: the same texts, the same hasNext, and an endCursor that reads on to the next
// page and is null on the last (where pageInfo.endCursor is the last edge's cursor).
// Introspection marks them deprecated.
func TestInboxDeprecatedFieldsAnswerAsBefore(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	tok := tokenFor(t, userViewer)
	const query = `query($id: ID!, $after: String) { service(id: $id) { inbox(first: 2, after: $after) {
		messages { id phoneNumber content } hasNext endCursor
		edges { node { id phoneNumber content } } pageInfo { hasNextPage endCursor } } } }`
	var after any
	var pages []int
	for page := 0; page < 5; page++ {
		resp := api.post(t, tok, query, map[string]any{"id": serviceA, "after": after})
		resp.requireNoErrors(t)
		inbox := resp.at("service", "inbox").(map[string]any)
		var nodes []any
		for _, e := range inbox["edges"].([]any) {
			nodes = append(nodes, e.(map[string]any)["node"])
		}
		messages := inbox["messages"].([]any)
		if diff := cmp.Diff(nodes, messages); diff != "" || len(messages) == 0 {
			t.Errorf("page %d: messages differ from the edges' nodes (-edges +messages):\n%s", page, diff)
		}
		pages = append(pages, len(messages))
		pageInfo := inbox["pageInfo"].(map[string]any)
		if inbox["hasNext"] != pageInfo["hasNextPage"] {
			t.Errorf("page %d: hasNext %v, pageInfo.hasNextPage %v", page, inbox["hasNext"], pageInfo["hasNextPage"])
		}
		if inbox["hasNext"] != true {
			if inbox["endCursor"] != nil || pageInfo["endCursor"] == nil {
				t.Errorf("last page: endCursor %v, want null; pageInfo.endCursor %v, want the last edge's", inbox["endCursor"], pageInfo["endCursor"])
			}
			break
		}
		if inbox["endCursor"] == nil || inbox["endCursor"] != pageInfo["endCursor"] {
			t.Errorf("page %d: endCursor %v, pageInfo.endCursor %v: want the same cursor", page, inbox["endCursor"], pageInfo["endCursor"])
		}
		after = inbox["endCursor"]
	}
	if !cmp.Equal(pages, []int{2, 1}) {
		t.Errorf("pages of %v texts, want [2 1] (the fixture's three texts within the retention)", pages)
	}

	// Introspection is on in development only.
	dev := newTestAPIWith(t, testAPIOptions{development: true})
	resp := dev.post(t, tok, `{ __type(name: "InboxConnection") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }`, nil)
	resp.requireNoErrors(t)
	deprecated := map[string]bool{}
	for _, f := range resp.at("__type", "fields").([]any) {
		f := f.(map[string]any)
		if f["isDeprecated"] == true {
			if reason, _ := f["deprecationReason"].(string); !strings.Contains(reason, "use edges / pageInfo") {
				t.Errorf("%s: deprecation reason %q", f["name"], reason)
			}
			deprecated[f["name"].(string)] = true
		}
	}
	if want := map[string]bool{"messages": true, "hasNext": true, "endCursor": true}; !cmp.Equal(deprecated, want) {
		t.Errorf("deprecated fields %v, want %v", deprecated, want)
	}
}
