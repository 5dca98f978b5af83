package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Media types of a GraphQL answer.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// graphQLOverHTTPCase is one kind of request, sent by POST (body) or GET (params, when
// set), with the status it gets in each media type, its first error's code ("" for none)
// and whether its answer has a data entry (only an operation that ran has one).
type graphQLOverHTTPCase struct {
	name   string
	body   string
	params url.Values
	// status is the answer's status by the media type it is answered in.
	status   map[string]int
	code     string
	executed bool
	// allow, when set, is the Allow header the answer must carry.
	allow string
}

// GraphQL over HTTP: each kind of request, and each failing kind, is answered in the media
// type the client accepts, with its status in that type and the body shape of that kind.
// application/json answers 200 whenever the request was a GraphQL request (the errors say
// what went wrong); application/graphql-response+json answers 4xx for an operation that
// never ran; both answer 400 for a request that is not a GraphQL request, and leave data
// out when nothing ran.
func TestGraphQLOverHTTPAnswersInTheAcceptedMediaType(t *testing.T) {
	t.Parallel()
	api := newTestAPIWith(t, testAPIOptions{})
	token := tokenFor(t, userViewer)
	both := func(status int) map[string]int {
		return map[string]int{mediaJSON: status, mediaGraphQLResponse: status}
	}
	refused := map[string]int{mediaJSON: http.StatusOK, mediaGraphQLResponse: http.StatusBadRequest}
	operation := func(query string, variables map[string]any, operationName string) (string, url.Values) {
		body := map[string]any{"query": query}
		params := url.Values{"query": {query}}
		if variables != nil {
			body["variables"] = variables
			encoded, _ := json.Marshal(variables)
			params.Set("variables", string(encoded))
		}
		if operationName != "" {
			body["operationName"] = operationName
			params.Set("operationName", operationName)
		}
		encoded, _ := json.Marshal(body)
		return string(encoded), params
	}
	unknownHash := apqHash(newQueryMarker() + "{ me { id } }")
	persisted := `{"persistedQuery":{"version":1,"sha256Hash":"` + unknownHash + `"}}`
	var cases []graphQLOverHTTPCase
	add := func(name, query string, variables map[string]any, operationName string, status map[string]int, code string, executed bool) {
		body, params := operation(query, variables, operationName)
		cases = append(cases, graphQLOverHTTPCase{name: name, body: body, params: params, status: status, code: code, executed: executed})
	}
	add("an operation that runs", `{ me { id } }`, nil, "", both(http.StatusOK), "", true)
	add("an operation that runs with variables", `query($id: ID!) { service(id: $id) { id } }`, map[string]any{"id": serviceA}, "", both(http.StatusOK), "", true)
	add("a field error", `{ service(id: "not-a-uuid") { id } }`, nil, "", both(http.StatusOK), "BAD_USER_INPUT", true)
	add("a document that does not parse", `{ me { id `, nil, "", refused, "GRAPHQL_PARSE_FAILED", false)
	add("a document that does not validate", `{ me { password } }`, nil, "", refused, "GRAPHQL_VALIDATION_FAILED", false)
	add("a variable missing", `query($id: ID!) { service(id: $id) { id } }`, nil, "", refused, "GRAPHQL_VALIDATION_FAILED", false)
	add("a variable of the wrong type", `query($first: Int) { me { id } }`, map[string]any{"first": "ten"}, "", refused, "GRAPHQL_VALIDATION_FAILED", false)
	add("an operation name the document lacks", `query A { me { id } }`, nil, "B", refused, "GRAPHQL_VALIDATION_FAILED", false)
	add("a limit", `{ me @include(if: true) @include(if: true) { id } }`, nil, "", refused, "DIRECTIVE_LIMIT_EXCEEDED", false)
	add("introspection in production", `{ __schema { queryType { name } } }`, nil, "", refused, "INTROSPECTION_DISABLED", false)
	cases = append(cases,
		graphQLOverHTTPCase{name: "a persisted query the server does not know",
			body:   `{"extensions":` + persisted + `}`,
			params: url.Values{"extensions": {persisted}}, status: refused, code: "PERSISTED_QUERY_NOT_FOUND"},
		graphQLOverHTTPCase{name: "no query", body: `{}`, params: url.Values{}, status: both(http.StatusBadRequest), code: "GRAPHQL_VALIDATION_FAILED"},
		graphQLOverHTTPCase{name: "a misspelt query parameter", body: `{"qeury": "{ me { id } }"}`, params: url.Values{"qeury": {"{ me { id } }"}},
			status: both(http.StatusBadRequest), code: "GRAPHQL_VALIDATION_FAILED"},
		graphQLOverHTTPCase{name: "variables that are not an object", body: `{"query": "{ me { id } }", "variables": [1]}`,
			params: url.Values{"query": {"{ me { id } }"}, "variables": {"[1]"}}, status: both(http.StatusBadRequest), code: "BAD_REQUEST"},
		graphQLOverHTTPCase{name: "extensions that are not an object", body: `{"query": "{ me { id } }", "extensions": "apq"}`,
			params: url.Values{"query": {"{ me { id } }"}, "extensions": {`"apq"`}}, status: both(http.StatusBadRequest), code: "BAD_REQUEST"},
		graphQLOverHTTPCase{name: "a query that is not a string", body: `{"query": ["{ me { id } }"]}`, status: both(http.StatusBadRequest), code: "BAD_REQUEST"},
		graphQLOverHTTPCase{name: "a body that is not JSON", body: `{"query": "{ me { id } }"`, status: both(http.StatusBadRequest), code: "BAD_REQUEST"},
		graphQLOverHTTPCase{name: "a mutation by GET", params: url.Values{"query": {`mutation { rememberSearch(serviceId: "x", term: "y") { hash } }`}},
			status: both(http.StatusMethodNotAllowed), code: "METHOD_NOT_ALLOWED", allow: "POST"},
	)

	for _, accept := range []struct {
		header, answeredIn string
	}{
		{"", mediaJSON},
		{"application/json", mediaJSON},
		{"*/*", mediaJSON},
		{"application/graphql-response+json", mediaGraphQLResponse},
		{"application/graphql-response+json, application/json;q=0.9", mediaGraphQLResponse},
		{"application/json, application/graphql-response+json", mediaJSON},
	} {
		for _, tc := range cases {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				var req *http.Request
				switch {
				case method == http.MethodPost && tc.body != "":
					req = httptest.NewRequest(method, "/graphql", strings.NewReader(tc.body))
					req.Header.Set("Content-Type", "application/json")
				case method == http.MethodGet && tc.params != nil:
					req = httptest.NewRequest(method, "/graphql?"+tc.params.Encode(), nil)
					req.Header.Set("GraphQL-Require-Preflight", "1")
				default:
					continue
				}
				t.Run(method+" "+tc.name+", Accept "+accept.header, func(t *testing.T) {
					req.Header.Set("Authorization", "Bearer "+token)
					if accept.header != "" {
						req.Header.Set("Accept", accept.header)
					}
					rec := httptest.NewRecorder()
					api.handler.ServeHTTP(rec, req)
					checkGraphQLOverHTTPAnswer(t, rec, tc, accept.answeredIn)
				})
			}
		}
	}
}

// checkGraphQLOverHTTPAnswer checks rec's status, media type and body against tc answered
// in mediaType.
func checkGraphQLOverHTTPAnswer(t *testing.T, rec *httptest.ResponseRecorder, tc graphQLOverHTTPCase, mediaType string) {
	t.Helper()
	if want := tc.status[mediaType]; rec.Code != want {
		t.Errorf("status %d, want %d: %s", rec.Code, want, rec.Body.String())
	}
	if got := rec.Header().Get("Content-Type"); got != mediaType {
		t.Errorf("Content-Type %q, want %q", got, mediaType)
	}
	if tc.allow != "" && rec.Header().Get("Allow") != tc.allow {
		t.Errorf("Allow %q, want %q", rec.Header().Get("Allow"), tc.allow)
	}
	var body map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("the answer is not a JSON object: %s", rec.Body.String())
	}
	for key := range body {
		if !slices.Contains([]string{"data", "errors", "extensions"}, key) {
			t.Errorf("the answer has an entry %q, which a GraphQL response does not: %s", key, rec.Body.String())
		}
	}
	if _, hasData := body["data"]; hasData != tc.executed {
		t.Errorf("data entry present: %v, want %v (the operation ran: %v): %s", hasData, tc.executed, tc.executed, rec.Body.String())
	}
	var errs []gqlError
	if raw, ok := body["errors"]; ok {
		if err := json.Unmarshal(raw, &errs); err != nil || len(errs) == 0 {
			t.Fatalf("errors is not a list of errors: %s", rec.Body.String())
		}
	}
	switch {
	case tc.code == "" && len(errs) > 0:
		t.Errorf("want no errors: %s", rec.Body.String())
	case tc.code != "" && (len(errs) == 0 || errs[0].Extensions["code"] != tc.code):
		t.Errorf("want the error %s first: %s", tc.code, rec.Body.String())
	}
	for _, e := range errs {
		if e.Message == "" {
			t.Errorf("an error without a message: %s", rec.Body.String())
		}
	}
}
