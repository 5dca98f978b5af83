package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"notifyql"
	"notifyql/server"
)

const searchQuery = `query($id: ID!, $type: NotificationType, $search: NotificationSearch, $first: Int, $statuses: [NotificationStatus!]) {
  service(id: $id) {
    notifications(type: $type, search: $search, first: $first, statuses: $statuses) {
      edges { node { id } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`

const rememberSearchMutation = `mutation($id: ID!, $term: String!) { rememberSearch(serviceId: $id, term: $term) { hash } }`

// search asks for service id's notifications matching search ({"term": …} or {"hash": …})
// over typ ("" for every type) and returns the ids found.
func (a *testAPI) search(t *testing.T, tok, serviceID, typ string, search map[string]any) ([]string, gqlResponse) {
	t.Helper()
	vars := map[string]any{"id": serviceID, "search": search}
	if typ != "" {
		vars["type"] = typ
	}
	resp := a.post(t, tok, searchQuery, vars)
	return edgeIDs(resp), resp
}

func edgeIDs(resp gqlResponse) []string {
	ids := []string{}
	edges, _ := resp.at("service", "notifications", "edges").([]any)
	for i := range edges {
		if id, ok := resp.at("service", "notifications", "edges", i, "node", "id").(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// randomTerm is a term no other test (or earlier run, within the 7 days) has remembered.
func randomTerm(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "never remembered " + hex.EncodeToString(b)
}

func testSearchKey(t *testing.T) []byte {
	t.Helper()
	key, err := hex.DecodeString(testSearchSecret)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

const notificationB2 = "b0000000-0000-0000-0000-000000000002"

func TestSearchThroughTheAPI(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	// Service B has no API keys: its references are not searched.
	if _, err := api.pool.Exec(t.Context(), `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, client_reference, key_type, notification_status, created_at)
		VALUES ($1, $2, '7e000000-0000-0000-0000-0000000000b1', 1, 'email', 'Zed@Example.org',
		    'zed@example.org', 'INV-1', 'normal', 'delivered', '2026-07-15 08:00')`, notificationB2, serviceB); err != nil {
		t.Fatal(err)
	}
	// A member with no permissions may remember and search (DOMAIN.md §16).
	member, other := tokenFor(t, userMember), tokenFor(t, userOther)

	const term = "07700 900123"
	resp := api.post(t, member, rememberSearchMutation, map[string]any{"id": serviceA, "term": term})
	resp.requireNoErrors(t)
	hash, _ := resp.at("rememberSearch", "hash").(string)
	if want := notifyql.SearchHash(testSearchKey(t), term); hash != want {
		t.Fatalf("rememberSearch hash = %q, want HMAC-SHA512 hex %q", hash, want)
	}

	tests := []struct {
		name      string
		tok       string
		serviceID string
		typ       string
		search    map[string]any
		want      []string
	}{
		{"sms by the remembered hash", member, serviceA, "SMS", map[string]any{"hash": hash}, []string{notificationA3}},
		{"sms by the term", member, serviceA, "SMS", map[string]any{"term": term}, []string{notificationA3}},
		// A4 (07700 900124) matches too, but was sent with the test key.
		{"sms: a partial number, the test key left out", member, serviceA, "SMS", map[string]any{"term": "(0)7700 9001"}, []string{notificationA3}},
		{"sms: international form", member, serviceA, "SMS", map[string]any{"term": "+44 7700 900123"}, []string{notificationA3}},
		{"email in another case", member, serviceA, "EMAIL", map[string]any{"term": " ANN@Example.ORG "}, []string{notificationA1}},
		{"letter: an address with spaces", member, serviceA, "LETTER", map[string]any{"term": "10 Downing  Street"}, []string{notificationA5}},
		{"letter: the file name, with no API key needed", member, serviceA, "LETTER", map[string]any{"term": "LETTER.PDF"}, []string{notificationA5}},
		{"no type: the recipient", member, serviceA, "", map[string]any{"term": "downing st"}, []string{notificationA5}},
		{"no type: the reference of a service with API keys", member, serviceA, "", map[string]any{"term": "inv-1"}, []string{notificationA1}},
		{"no type: no reference without API keys", other, serviceB, "", map[string]any{"term": "INV-1"}, []string{}},
		{"email: the recipient of a service without API keys", other, serviceB, "EMAIL", map[string]any{"term": "zed@"}, []string{notificationB2}},
		{"escaping: % matches only itself", member, serviceA, "EMAIL", map[string]any{"term": "%@example.org"}, []string{}},
		{"escaping: _ matches only itself", member, serviceA, "EMAIL", map[string]any{"term": "_nn@"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, resp := api.search(t, tt.tok, tt.serviceID, tt.typ, tt.search)
			resp.requireNoErrors(t)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if resp.at("service", "notifications", "pageInfo", "hasNextPage") != false ||
				resp.at("service", "notifications", "pageInfo", "endCursor") != nil {
				t.Errorf("pageInfo of a short search = %v, want hasNextPage false and no endCursor",
					resp.at("service", "notifications", "pageInfo"))
			}
		})
	}
}

func TestSearchShowsTheFirst50AndSaysMoreExist(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	if _, err := api.pool.Exec(t.Context(), `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, created_at)
		SELECT gen_random_uuid(), $1, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '07700 955' || lpad(i::text, 3, '0'),
		       '447700955' || lpad(i::text, 3, '0'), 'normal', 'delivered', timestamp '2026-07-15 08:00' + make_interval(mins => i)
		  FROM generate_series(1, 51) AS i`, serviceA); err != nil {
		t.Fatal(err)
	}
	viewer := tokenFor(t, userViewer)
	for _, tt := range []struct {
		first     any
		wantEdges int
	}{{nil, 50}, {100, 50}, {10, 10}} {
		t.Run(fmt.Sprintf("first %v", tt.first), func(t *testing.T) {
			resp := api.post(t, viewer, searchQuery, map[string]any{"id": serviceA, "type": "SMS", "first": tt.first,
				"search": map[string]any{"term": "07700 955"}})
			resp.requireNoErrors(t)
			if n := len(edgeIDs(resp)); n != tt.wantEdges {
				t.Errorf("%d edges, want %d", n, tt.wantEdges)
			}
			if resp.at("service", "notifications", "pageInfo", "hasNextPage") != true {
				t.Errorf("hasNextPage is not true with 51 matches")
			}
			if cursor := resp.at("service", "notifications", "pageInfo", "endCursor"); cursor != nil {
				t.Errorf("endCursor = %v for a search, want null: a search has no next page", cursor)
			}
		})
	}
}

func TestSearchByAnExpiredHash(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	admin := tokenFor(t, userAdmin)
	unknown := notifyql.SearchHash(testSearchKey(t), randomTerm(t))

	resp := api.post(t, admin, rememberSearchMutation, map[string]any{"id": serviceA, "term": "ann@example.org"})
	resp.requireNoErrors(t)
	rememberedForA, _ := resp.at("rememberSearch", "hash").(string)

	for name, lookup := range map[string]struct{ serviceID, hash string }{
		"unknown hash":                          {serviceA, unknown},
		"a hash remembered for another service": {serviceB, rememberedForA},
	} {
		t.Run(name, func(t *testing.T) {
			_, resp := api.search(t, admin, lookup.serviceID, "", map[string]any{"hash": lookup.hash})
			if code := resp.codeAt("service", "notifications"); code != "SEARCH_EXPIRED" {
				t.Fatalf("code %q, want SEARCH_EXPIRED: %s", code, resp.body)
			}
			if !strings.Contains(resp.Errors[0].Message, "search has expired") {
				t.Errorf("message %q does not say the search has expired", resp.Errors[0].Message)
			}
			if resp.at("service", "notifications") != nil {
				t.Errorf("notifications = %v, want null", resp.at("service", "notifications"))
			}
		})
	}
}

func TestSearchWithRedisDown(t *testing.T) {
	// Nothing listens on a port that was just free: every Redis call is refused.
	closedAddr := freeAddr(t)
	api := newTestAPIWith(t, testAPIOptions{limits: server.DefaultLimits(), redisAddr: closedAddr})
	viewer := tokenFor(t, userViewer)
	const term = "ann@example.org"

	got, resp := api.search(t, viewer, serviceA, "EMAIL", map[string]any{"term": term})
	resp.requireNoErrors(t)
	if diff := cmp.Diff([]string{notificationA1}, got); diff != "" {
		t.Errorf("a search by term with Redis down (-want +got):\n%s", diff)
	}

	_, byHash := api.search(t, viewer, serviceA, "EMAIL", map[string]any{"hash": notifyql.SearchHash(testSearchKey(t), term)})
	remember := api.post(t, viewer, rememberSearchMutation, map[string]any{"id": serviceA, "term": term})
	for name, tt := range map[string]struct {
		resp gqlResponse
		path []any
	}{
		"search by hash": {byHash, []any{"service", "notifications"}},
		"rememberSearch": {remember, []any{"rememberSearch"}},
	} {
		if code := tt.resp.codeAt(tt.path...); code != "UNAVAILABLE" {
			t.Errorf("%s with Redis down: code %q, want UNAVAILABLE: %s", name, code, tt.resp.body)
			continue
		}
		if msg := tt.resp.Errors[0].Message; !strings.Contains(msg, "unavailable") || strings.Contains(msg, "internal") {
			t.Errorf("%s with Redis down: message %q does not say what is unavailable", name, msg)
		}
		if strings.Contains(tt.resp.body, term) || strings.Contains(tt.resp.body, closedAddr) {
			t.Errorf("%s with Redis down: the response shows the term or Redis's address: %s", name, tt.resp.body)
		}
	}
}

func TestSearchRefusesBadInput(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	viewer, manager := tokenFor(t, userViewer), tokenFor(t, userManager)
	// An oversized term made of a phone number and an email address, neither of which may
	// come back in the error.
	oversized := strings.Repeat("07700 900123 ann@example.org ", 40)[:notifyql.MaxSearchTermLength+1]
	literal := func(search string) string {
		return `query($id: ID!) { service(id: $id) { notifications(search: ` + search + `) { edges { node { id } } } } }`
	}
	tests := []struct {
		name        string
		tok         string
		query       string
		vars        map[string]any
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{name: "rememberSearch: term of the wrong type", query: `mutation { rememberSearch(serviceId: "` + serviceA + `", term: 5) { hash } }`,
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "rememberSearch: no term", query: `mutation { rememberSearch(serviceId: "` + serviceA + `") { hash } }`,
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "rememberSearch: empty term", query: rememberSearchMutation, vars: map[string]any{"term": ""},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "the search term is empty"},
		{name: "rememberSearch: only whitespace", query: rememberSearchMutation, vars: map[string]any{"term": " \t "},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "the search term is empty"},
		{name: "rememberSearch: over 1,000 characters", query: rememberSearchMutation, vars: map[string]any{"term": oversized},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "the search term is longer than 1000 characters"},
		{name: "rememberSearch: not a service id", query: rememberSearchMutation, vars: map[string]any{"id": "1 OR 1=1", "term": "ann"},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid service id"},
		{name: "rememberSearch: a service the caller is not in", query: rememberSearchMutation, vars: map[string]any{"id": serviceB, "term": "eve@example.org"},
			wantStatus: 200, wantCode: "NOT_FOUND", wantMessage: "service not found"},
		{name: "rememberSearch: an inactive service", tok: manager, query: rememberSearchMutation, vars: map[string]any{"id": serviceC, "term": "ann"},
			wantStatus: 200, wantCode: "FORBIDDEN", wantMessage: "this service is inactive"},
		{name: "search: a service the caller is not in", query: searchQuery, vars: map[string]any{"id": serviceB, "search": map[string]any{"term": "eve@example.org"}},
			wantStatus: 200, wantCode: "NOT_FOUND", wantMessage: "service not found"},
		{name: "search: empty term", query: searchQuery, vars: map[string]any{"search": map[string]any{"term": ""}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "the search term is empty"},
		{name: "search: over 1,000 characters", query: searchQuery, vars: map[string]any{"search": map[string]any{"term": oversized}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "the search term is longer than 1000 characters"},
		{name: "search: both hash and term", query: searchQuery, vars: map[string]any{"search": map[string]any{"term": "ann", "hash": strings.Repeat("a", 128)}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "search needs exactly one of hash and term"},
		{name: "search: neither", query: searchQuery, vars: map[string]any{"search": map[string]any{}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "search needs exactly one of hash and term"},
		{name: "search: a null term", query: searchQuery, vars: map[string]any{"search": map[string]any{"term": nil}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "search needs exactly one of hash and term"},
		{name: "search: both, as literals", query: literal(`{term: "ann", hash: "x"}`),
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: "must specify exactly one key"},
		{name: "search: neither, as a literal", query: literal(`{}`),
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: "must specify exactly one key"},
		{name: "search: a term of the wrong type", query: literal(`{term: 7700900123}`),
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "search: an unknown field", query: literal(`{phone: "07700 900123"}`),
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "search: not a hash", query: searchQuery, vars: map[string]any{"search": map[string]any{"hash": "../../etc/passwd"}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid search hash"},
		{name: "search: a status that does not exist", query: searchQuery, vars: map[string]any{"statuses": []string{"LOST"}, "search": map[string]any{"term": "ann"}},
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "search: a type that does not exist", query: searchQuery, vars: map[string]any{"type": "FAX", "search": map[string]any{"term": "ann"}},
			wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "search: paged with a cursor",
			query:      `query($id: ID!) { service(id: $id) { notifications(after: "` + notifyql.Cursor{CreatedAt: fixtureNow, ID: notificationA1}.Encode() + `", search: {term: "ann"}) { edges { node { id } } } } }`,
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "a search shows its first 50 matches only: it cannot be paged"},
		{name: "search: first of 0", query: searchQuery, vars: map[string]any{"first": 0, "search": map[string]any{"term": "ann"}},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "first must be between 1 and 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.vars == nil {
				tt.vars = map[string]any{}
			}
			if _, ok := tt.vars["id"]; !ok {
				tt.vars["id"] = serviceA
			}
			if tt.tok == "" {
				tt.tok = viewer
			}
			resp := api.post(t, tt.tok, tt.query, tt.vars)
			if resp.status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.status, tt.wantStatus, resp.body)
			}
			if len(resp.Errors) == 0 {
				t.Fatalf("want a clear error: %s", resp.body)
			}
			if code, _ := resp.Errors[0].Extensions["code"].(string); code != tt.wantCode {
				t.Errorf("code %q, want %q: %s", code, tt.wantCode, resp.body)
			}
			if !strings.Contains(resp.Errors[0].Message, tt.wantMessage) {
				t.Errorf("message %q does not say %q", resp.Errors[0].Message, tt.wantMessage)
			}
			for _, leak := range []string{"internal error", "900123", "ann@example.org", "eve@example.org"} {
				if strings.Contains(resp.body, leak) {
					t.Errorf("the response shows %q: %s", leak, resp.body)
				}
			}
		})
	}
}
