package server

import (
	"net/http"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"notifyql"
)

// An operation refused before it ran answers 200 in application/json, and in
// application/graphql-response+json the status of its error's code where errorCodes has
// one, 400 otherwise; a request with nothing to run is 400 in both, and a used-up
// allowance 429 with Retry-After in both.
func TestRefusalStatus(t *testing.T) {
	coded := func(code string) gqlerror.List {
		return gqlerror.List{{Message: "refused", Extensions: map[string]any{"code": code}}}
	}
	query := &graphql.RawParams{Query: "{ me { id } }"}
	hashOnly := &graphql.RawParams{Extensions: map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": "ab"}}}
	nothing := &graphql.RawParams{}
	for _, tc := range []struct {
		name                  string
		errs                  gqlerror.List
		params                *graphql.RawParams
		json, graphQLResponse int
	}{
		{"a validation failure", coded("GRAPHQL_VALIDATION_FAILED"), query, 200, 400},
		{"a limit", coded("COMPLEXITY_LIMIT_EXCEEDED"), query, 200, 400},
		{"no time left", coded(GraphQLCode(notifyql.EUNAVAILABLE)), query, 200, 503},
		{"a persisted query not known", coded("PERSISTED_QUERY_NOT_FOUND"), hashOnly, 200, 400},
		{"nothing to run", coded("GRAPHQL_VALIDATION_FAILED"), nothing, 400, 400},
		{"an error without a code", gqlerror.List{{Message: "refused"}}, query, 200, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusalStatus(tc.errs, tc.params, mediaTypeJSON); got != tc.json {
				t.Errorf("application/json: %d, want %d", got, tc.json)
			}
			if got := refusalStatus(tc.errs, tc.params, mediaTypeGraphQLResponse); got != tc.graphQLResponse {
				t.Errorf("application/graphql-response+json: %d, want %d", got, tc.graphQLResponse)
			}
		})
	}
	rateLimited := gqlerror.List{{Message: "too many", Extensions: map[string]any{"code": GraphQLCode(notifyql.ERATELIMITED), retryAfterExtension: 7}}}
	for _, mediaType := range []string{mediaTypeJSON, mediaTypeGraphQLResponse} {
		header := http.Header{}
		if got := allowanceRefusalStatus(header, rateLimited, refusalStatus(rateLimited, query, mediaType)); got != http.StatusTooManyRequests || header.Get("Retry-After") != "7" {
			t.Errorf("%s: a used-up allowance answers %d, Retry-After %q; want 429, 7", mediaType, got, header.Get("Retry-After"))
		}
	}
}

// The status table answers for the GraphQL codes it maps, and only for those.
func TestHTTPStatusOfGraphQLCode(t *testing.T) {
	for domain, c := range errorCodes {
		if got, ok := httpStatusOfGraphQLCode(c.graphQL); !ok || got != c.httpStatus {
			t.Errorf("%s (%s): %d, %v; want %d", c.graphQL, domain, got, ok, c.httpStatus)
		}
	}
	if status, ok := httpStatusOfGraphQLCode("GRAPHQL_PARSE_FAILED"); ok {
		t.Errorf("gqlgen's own code has the status %d", status)
	}
}
