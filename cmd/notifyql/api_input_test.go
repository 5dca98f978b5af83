package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql/server"
)

func TestBadInputGetsAClearError(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{MaxDepth: 6, MaxComplexity: 300, MaxTokens: 400, MaxBodyBytes: 4096})
	viewer := tokenFor(t, userViewer)
	list := func(args string) string {
		return `query($id: ID!) { service(id: $id) { notifications(` + args + `) { edges { node { id } } } } }`
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte("1:1700000000:0:' OR 1=1 --"))
	tests := []struct {
		name        string
		contentType string
		body        string // a raw body, or:
		query       string
		vars        map[string]any
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{name: "malformed JSON", body: `{"query": "{ me { id } }"`, wantStatus: 400, wantCode: "BAD_REQUEST", wantMessage: "request body is not valid JSON"},
		{name: "JSON that is not an object", body: `"{ me { id } }"`, wantStatus: 400, wantCode: "BAD_REQUEST", wantMessage: "the body must be a JSON object"},
		{name: "a query that is not a string", body: `{"query": {"text": "{ me { id } }"}}`, wantStatus: 400, wantCode: "BAD_REQUEST", wantMessage: "the body must be a JSON object"},
		{name: "variables that are not an object", body: `{"query": "{ me { id } }", "variables": "{}"}`, wantStatus: 400, wantCode: "BAD_REQUEST", wantMessage: "the body must be a JSON object"},
		{name: "a JSON array is a batch", body: `["{ me { id } }"]`, wantStatus: 400, wantCode: "BATCHING_NOT_SUPPORTED", wantMessage: "batched operations are not supported"},
		{name: "no query", body: `{}`, wantStatus: 400, wantMessage: "no operation provided"},
		{name: "a misspelt query", body: `{"qeury": "{ me { id } }"}`, wantStatus: 400, wantMessage: "no operation provided"},
		{name: "not JSON at all", contentType: "text/plain", body: `{ me { id } }`, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: "Content-Type: application/json"},
		{name: "body too large", body: `{"query": "` + strings.Repeat(" ", 5000) + `{ me { id } }"}`, wantStatus: 413, wantCode: "BODY_TOO_LARGE"},
		{name: "syntax error", query: `{ me { id `, wantStatus: 200, wantCode: "GRAPHQL_PARSE_FAILED"},
		{name: "unknown field", query: `{ me { password } }`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: `Cannot query field "password" on type "User".`},
		{name: "wrong argument type", query: `{ service(id: true) { id } }`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "wrong variable type", query: list("first: $first"), vars: map[string]any{"first": "ten"}, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "unknown enum value", query: list("type: FAX"), wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "unknown enum value in a variable", query: `query($id: ID!, $s: [NotificationStatus!]) { service(id: $id) { notifications(statuses: $s) { edges { cursor } } } }`,
			vars: map[string]any{"s": []string{"LOST"}}, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "invalid service id", query: `{ service(id: "not-a-uuid") { id } }`, wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid service id"},
		{name: "invalid notification id", query: `{ notification(id: "1; drop table notifications") { id } }`, wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid notification id"},
		{name: "first of 0", query: list("first: 0"), wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "first must be between 1 and 100"},
		{name: "first of -1", query: list("first: -1"), wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "first must be between 1 and 100"},
		{name: "first of 1000", query: list("first: 1000"), wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "first must be between 1 and 100"},
		{name: "forged cursor", query: list(`after: "` + forged + `"`), wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid cursor"},
		{name: "garbage cursor", query: list(`after: "%%%"`), wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid cursor"},
		{name: "too deep", query: `{ me { memberships { service { notifications { edges { node { job { id } } } } } } } }`, wantStatus: 200, wantCode: "DEPTH_LIMIT_EXCEEDED"},
		{name: "too complex", query: `query($id: ID!) { service(id: $id) { notifications(first: 100) { edges { node { id type to recipient status } } } } }`, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED"},
		{name: "too many tokens", query: `{ me { ` + strings.Repeat("id ", 500) + `} }`, wantStatus: 200, wantCode: "TOKEN_LIMIT_EXCEEDED", wantMessage: "the document has more than the limit of 400 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.vars == nil {
				tt.vars = map[string]any{}
			}
			if _, ok := tt.vars["id"]; !ok {
				tt.vars["id"] = serviceA
			}
			var resp gqlResponse
			if tt.body != "" {
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				resp = api.postRaw(t, viewer, ct, tt.body)
			} else {
				resp = api.post(t, viewer, tt.query, tt.vars)
			}
			if resp.status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.status, tt.wantStatus, resp.body)
			}
			if resp.status >= http.StatusInternalServerError || len(resp.Errors) == 0 {
				t.Fatalf("want a clear error: %s", resp.body)
			}
			gotCode, _ := resp.Errors[0].Extensions["code"].(string)
			if tt.wantCode != "" && gotCode != tt.wantCode {
				t.Errorf("code %q, want %q: %s", gotCode, tt.wantCode, resp.body)
			}
			if !strings.Contains(resp.Errors[0].Message, tt.wantMessage) {
				t.Errorf("message %q does not say %q", resp.Errors[0].Message, tt.wantMessage)
			}
			if strings.Contains(resp.body, "internal error") {
				t.Errorf("bad input was treated as an internal error: %s", resp.body)
			}
		})
	}
}

func TestNoResponseLeaksInternals(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	// Break the store under the API: every read now fails inside PostgreSQL.
	if _, err := api.pool.Exec(t.Context(), `ALTER TABLE notifications RENAME TO notifications_gone`); err != nil {
		t.Fatal(err)
	}
	resp := api.post(t, tokenFor(t, userViewer), `query($id: ID!) { notification(id: $id) { id to } }`, map[string]any{"id": notificationA1})
	if len(resp.Errors) != 1 || resp.Errors[0].Message != "internal error" || resp.Errors[0].Extensions["requestId"] == "" {
		t.Fatalf("want one internal error with a request id: %s", resp.body)
	}
	for _, leak := range []string{"SQL", "SELECT", "notifications", "postgres", "127.0.0.1", "5432", "ann@example.org", "relation"} {
		if strings.Contains(resp.body, leak) {
			t.Errorf("the response mentions %q: %s", leak, resp.body)
		}
	}
}

// rawJSONString quotes s as a JSON string, escaping quotes, backslashes and control
// characters but leaving every other byte as it is, so that a test can send bytes that are
// not UTF-8 (encoding/json would write U+FFFD in their place).
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// sendOperation sends query and variablesJSON (raw JSON text) over POST, as a JSON body, or
// over GET, as the query string with a preflight header.
func (a *testAPI) sendOperation(t *testing.T, method, tok, query, variablesJSON string) gqlResponse {
	t.Helper()
	if method == http.MethodPost {
		return a.postRaw(t, tok, "application/json", `{"query": `+rawJSONString(query)+`, "variables": `+variablesJSON+`}`)
	}
	params := url.Values{"query": {query}, "variables": {variablesJSON}}
	req := httptest.NewRequest(http.MethodGet, "/graphql?"+params.Encode(), nil)
	req.Header.Set("GraphQL-Require-Preflight", "1")
	return a.serveGraphQL(t, req, tok)
}

// TestTextArgumentsRefuseNULAndInvalidUTF8: a NUL character or bytes that are not UTF-8 in
// any text argument (a search term, an id), whether written in the document or sent as a
// variable, over POST or GET, answer BAD_USER_INPUT, never INTERNAL, and nothing is logged
// at ERROR (PostgreSQL refuses such text with SQLSTATE 22021).
func TestTextArgumentsRefuseNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	api := newTestAPIWith(t, testAPIOptions{logs: &logs})
	viewer := tokenFor(t, userViewer)
	const searchByVariable = `query($id: ID!, $term: String!) { service(id: $id) { notifications(search: {term: $term}) { edges { node { id } } } } }`
	searchByLiteral := func(term string) string {
		return `query($id: ID!) { service(id: $id) { notifications(search: {term: "` + term + `"}) { edges { node { id } } } } }`
	}
	const notificationByVariable = `query($id: ID!) { notification(id: $id) { id } }`
	service := `"id": "` + serviceA + `"`
	tests := []struct {
		name, query, variables string
		methods                []string
	}{
		{"NUL in a search term variable", searchByVariable, `{` + service + `, "term": "ann\u0000"}`, []string{http.MethodPost, http.MethodGet}},
		{"NUL in a search term literal", searchByLiteral(`ann\u0000`), `{` + service + `}`, []string{http.MethodPost, http.MethodGet}},
		{"invalid UTF-8 in a search term variable", searchByVariable, `{` + service + `, "term": "ann` + "\xff\xfe" + `"}`, []string{http.MethodPost, http.MethodGet}},
		{"invalid UTF-8 in a search term literal", searchByLiteral("ann\xc3"), `{` + service + `}`, []string{http.MethodPost, http.MethodGet}},
		{"raw NUL in a search term literal", searchByLiteral("ann\x00"), `{` + service + `}`, []string{http.MethodGet}},
		{"NUL in an id variable", notificationByVariable, `{"id": "` + notificationA1 + `\u0000"}`, []string{http.MethodPost, http.MethodGet}},
		{"NUL in an id literal", `{ notification(id: "` + notificationA1 + `\u0000") { id } }`, `{}`, []string{http.MethodPost, http.MethodGet}},
		{"invalid UTF-8 in an id variable", notificationByVariable, `{"id": "` + notificationA1 + "\x80" + `"}`, []string{http.MethodPost, http.MethodGet}},
		{"invalid UTF-8 in an id literal", `{ service(id: "` + serviceA + "\xed\xa0\x80" + `") { id } }`, `{}`, []string{http.MethodPost, http.MethodGet}},
		{"NUL in a term to remember", rememberSearchMutation, `{` + service + `, "term": "ann\u0000"}`, []string{http.MethodPost}},
		{"invalid UTF-8 in a term to remember", rememberSearchMutation, `{` + service + `, "term": "ann` + "\xff" + `"}`, []string{http.MethodPost}},
	}
	for _, tt := range tests {
		for _, method := range tt.methods {
			t.Run(tt.name+" over "+method, func(t *testing.T) {
				resp := api.sendOperation(t, method, viewer, tt.query, tt.variables)
				if resp.status != http.StatusOK && resp.status != http.StatusBadRequest {
					t.Errorf("status %d, want 200 or 400: %s", resp.status, resp.body)
				}
				if len(resp.Errors) == 0 {
					t.Fatalf("no error: %s", resp.body)
				}
				if code, _ := resp.Errors[0].Extensions["code"].(string); code != "BAD_USER_INPUT" {
					t.Errorf("code %q, want BAD_USER_INPUT: %s", code, resp.body)
				}
				if !strings.Contains(resp.Errors[0].Message, "UTF-8") && !strings.Contains(resp.Errors[0].Message, "NUL") {
					t.Errorf("message %q does not say what is wrong with the text", resp.Errors[0].Message)
				}
				if strings.Contains(resp.body, "ann") {
					t.Errorf("the response repeats the term: %s", resp.body)
				}
			})
		}
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("bad text was logged as an error:\n%s", logs.String())
	}
}

// TestDownloadRoutesRefuseNULAndInvalidUTF8: the download routes' path and query
// parameters are checked like GraphQL's text arguments, before anything else.
func TestDownloadRoutesRefuseNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	viewer := tokenFor(t, userViewer)
	for _, path := range []string{
		"/services/" + serviceA + "%00/download-notifications.csv?message_type=sms",
		"/services/" + serviceA + "/download-notifications.csv?message_type=sms&status=delivered%00",
		"/services/" + serviceA + "/download-notifications.csv?message_type=sms%FF",
		"/services/" + serviceA + "%C3/inbox.csv",
		"/services/" + serviceA + "/inbox.csv?x=%00",
		"/report-requests/%00.csv",
		"/report-requests/" + serviceA + ".csv?sig=%FF",
	} {
		rec := api.download(t, viewer, path)
		var body struct {
			Errors []gqlError `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) == 0 {
			t.Errorf("%s: status %d, body %q: want a JSON error", path, rec.Code, rec.Body.String())
			continue
		}
		got := []any{rec.Code, body.Errors[0].Extensions["code"]}
		if diff := cmp.Diff([]any{http.StatusBadRequest, "BAD_USER_INPUT"}, got); diff != "" || !strings.Contains(body.Errors[0].Message, "UTF-8 text without the NUL character") {
			t.Errorf("%s: %s (-want +got):\n%s", path, rec.Body.String(), diff)
		}
	}
}

// intArgumentCase asks for one Int argument of the schema with a value, as a variable $v.
type intArgumentCase struct {
	user  string
	query string // with $v: Int, and $id the service
	// domain are values inside GraphQL's Int but outside the argument's own range, with
	// the message each gets.
	domain map[int]string
}

// intArguments are the schema's Int arguments, by Type.field.argument;
// TestIntArgumentsAreRangeChecked fails when one is missing.
var intArguments = map[string]intArgumentCase{
	"Service.totals.days": {userViewer, `query($id: ID!, $v: Int) { service(id: $id) { totals(days: $v) { sms { requested } } } }`,
		map[int]string{8: "days must be between 0 and 7", -1: "days must be between 0 and 7"}},
	"Service.templateStatistics.days": {userViewer, `query($id: ID!, $v: Int) { service(id: $id) { templateStatistics(days: $v) { count } } }`,
		map[int]string{8: "days must be between 0 and 7", -1: "days must be between 0 and 7"}},
	"Service.notifications.first": {userViewer, `query($id: ID!, $v: Int) { service(id: $id) { notifications(first: $v) { edges { node { id } } } } }`,
		map[int]string{101: "first must be between 1 and 100", 0: "first must be between 1 and 100"}},
	"Service.inbox.first": {userViewer, `query($id: ID!, $v: Int) { service(id: $id) { inbox(first: $v) { edges { node { id } } } } }`,
		map[int]string{51: "first must be between 1 and 50", 0: "first must be between 1 and 50"}},
	"Service.monthlyStatistics.financialYear": {userViewer, `query($id: ID!, $v: Int) { service(id: $id) { monthlyStatistics(financialYear: $v) { month { key } } } }`,
		map[int]string{2015: "year must be a financial year from 2016 to 2026", 2027: "year must be a financial year from 2016 to 2026"}},
	"Service.templateUsage.financialYear": {userViewer, `query($id: ID!, $v: Int) { service(id: $id) { templateUsage(financialYear: $v) { month { key } } } }`,
		map[int]string{2015: "year must be a financial year from 2016 to 2026", 2027: "year must be a financial year from 2016 to 2026"}},
	"Service.usage.financialYear": {userManager, `query($id: ID!, $v: Int) { service(id: $id) { usage(financialYear: $v) { annual { smsSent } } } }`,
		map[int]string{2015: "year must be a financial year from 2016 to 2026", 2027: "year must be a financial year from 2016 to 2026"}},
	"Service.freeSmsAllowance.financialYear": {userManager, `query($id: ID!, $v: Int) { service(id: $id) { freeSmsAllowance(financialYear: $v) { allowance } } }`,
		map[int]string{2015: "year must be a financial year from 2016 to 2026", 2027: "year must be a financial year from 2016 to 2026"}},
	"Mutation.setFreeSmsAllowance.allowance": {userAdmin, `mutation($id: ID!, $v: Int!) { setFreeSmsAllowance(serviceId: $id, allowance: $v) { allowance } }`,
		map[int]string{-1: "the free text message allowance cannot be negative"}},
	"Subscription.dashboardTotals.days": {userViewer, `subscription($id: ID!, $v: Int) { dashboardTotals(serviceId: $id, days: $v) { sms { requested } } }`,
		map[int]string{8: "days must be between 0 and 7", -1: "days must be between 0 and 7"}},
	"Subscription.templateStatistics.days": {userViewer, `subscription($id: ID!, $v: Int) { templateStatistics(serviceId: $id, days: $v) { count } }`,
		map[int]string{8: "days must be between 0 and 7", -1: "days must be between 0 and 7"}},
}

// outsideInt32 are values that fit Go's int but not GraphQL's Int.
var outsideInt32 = []int64{math.MaxInt32 + 1, math.MinInt32 - 1, math.MaxInt64}

const int32Message = "an Int must be a whole number from -2147483648 to 2147483647"

// TestIntArgumentsAreRangeChecked: every Int argument of the schema refuses, with
// BAD_USER_INPUT, a value outside GraphQL's 32-bit Int (as a variable and written in the
// document) and a value outside its own range, before any SQL runs. Subscriptions are
// asked over a WebSocket.
func TestIntArgumentsAreRangeChecked(t *testing.T) {
	t.Parallel()
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	var inSchema []string
	for _, def := range executable.Schema().Types {
		if strings.HasPrefix(def.Name, "__") {
			continue
		}
		for _, field := range def.Fields {
			for _, arg := range field.Arguments {
				if arg.Type.Name() == "Int" {
					inSchema = append(inSchema, def.Name+"."+field.Name+"."+arg.Name)
				}
			}
			if def.Kind == ast.InputObject && field.Type.Name() == "Int" {
				inSchema = append(inSchema, def.Name+"."+field.Name)
			}
		}
	}
	for _, name := range inSchema {
		if _, ok := intArguments[name]; !ok {
			t.Errorf("the Int argument %s has no range test: add it to intArguments", name)
		}
	}

	api := newTestAPI(t, server.DefaultLimits())
	// The live API serves the subscriptions; it lives as long as the whole test.
	wsURL, _ := newLiveAPI(t)
	ask := func(t *testing.T, c intArgumentCase, query string, vars map[string]any) (code, message string) {
		t.Helper()
		if !strings.HasPrefix(query, "subscription") {
			resp := api.post(t, tokenFor(t, c.user), query, vars)
			if len(resp.Errors) == 0 {
				t.Fatalf("no error: %s", resp.body)
			}
			if resp.status != http.StatusOK {
				t.Errorf("status %d: %s", resp.status, resp.body)
			}
			code, _ = resp.Errors[0].Extensions["code"].(string)
			return code, resp.Errors[0].Message
		}
		select {
		case msg := <-subscribeOverWebSocket(t, wsURL, c.user, query, vars):
			payload, _ := msg["errors"].(string)
			var result struct {
				Errors []gqlError `json:"errors"`
			}
			if err := json.Unmarshal([]byte(payload), &result); err != nil || len(result.Errors) == 0 {
				t.Fatalf("want errors, got %v", msg)
			}
			code, _ = result.Errors[0].Extensions["code"].(string)
			return code, result.Errors[0].Message
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
		}
		return "", ""
	}
	for _, name := range slices.Sorted(maps.Keys(intArguments)) {
		c := intArguments[name]
		t.Run(name, func(t *testing.T) {
			for _, v := range outsideInt32 {
				// As a variable, then written in the document.
				literal := strings.ReplaceAll(strings.ReplaceAll(c.query, ", $v: Int!", ""), ", $v: Int", "")
				literal = strings.ReplaceAll(literal, "$v", strconv.FormatInt(v, 10))
				for _, asked := range []struct {
					query string
					vars  map[string]any
				}{{c.query, map[string]any{"id": serviceA, "v": v}}, {literal, map[string]any{"id": serviceA}}} {
					code, message := ask(t, c, asked.query, asked.vars)
					if code != "BAD_USER_INPUT" || message != int32Message {
						t.Errorf("%d in %s: %s %q, want BAD_USER_INPUT %q", v, asked.query, code, message, int32Message)
					}
				}
			}
			for v, want := range c.domain {
				code, message := ask(t, c, c.query, map[string]any{"id": serviceA, "v": v})
				if code != "BAD_USER_INPUT" || !strings.Contains(message, want) {
					t.Errorf("%d: %s %q, want BAD_USER_INPUT %q", v, code, message, want)
				}
			}
		})
	}
}
