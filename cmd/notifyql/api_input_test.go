package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"notifyql/server"
)

func TestBadInputGetsAClearError(t *testing.T) {
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
		{name: "JSON that is not an object", body: `"{ me { id } }"`, wantStatus: 400, wantCode: "BAD_REQUEST", wantMessage: "request body is not valid JSON"},
		{name: "a JSON array is a batch", body: `["{ me { id } }"]`, wantStatus: 400, wantCode: "BATCHING_NOT_SUPPORTED", wantMessage: "batched operations are not supported"},
		{name: "no query", body: `{}`, wantStatus: 422, wantMessage: "no operation provided"},
		{name: "not JSON at all", contentType: "text/plain", body: `{ me { id } }`, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: "Content-Type: application/json"},
		{name: "body too large", body: `{"query": "` + strings.Repeat(" ", 5000) + `{ me { id } }"}`, wantStatus: 413, wantCode: "BODY_TOO_LARGE"},
		{name: "syntax error", query: `{ me { id `, wantStatus: 422, wantCode: "GRAPHQL_PARSE_FAILED"},
		{name: "unknown field", query: `{ me { password } }`, wantStatus: 422, wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: `Cannot query field "password" on type "User".`},
		{name: "wrong argument type", query: `{ service(id: true) { id } }`, wantStatus: 422, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "wrong variable type", query: list("first: $first"), vars: map[string]any{"first": "ten"}, wantStatus: 422, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "unknown enum value", query: list("type: FAX"), wantStatus: 422, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "unknown enum value in a variable", query: `query($id: ID!, $s: [NotificationStatus!]) { service(id: $id) { notifications(statuses: $s) { edges { cursor } } } }`,
			vars: map[string]any{"s": []string{"LOST"}}, wantStatus: 422, wantCode: "GRAPHQL_VALIDATION_FAILED"},
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
