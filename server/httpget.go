package server

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// preflightHeaders are the request headers that a page on another origin cannot send
// without a CORS preflight, which the API never allows: a GET carrying one (with a value)
// was sent by a client the API's origin trusts, or by one outside a browser.
var preflightHeaders = []string{"GraphQL-Require-Preflight", "X-Requested-With"}

// requirePreflight admits a GET operation only when a browser must have asked first to
// send it: it carries a preflight header, or a Content-Type of application/json (also not
// one a page may send freely). A GET that runs a persisted query by its hash alone is let
// through without either: it can only run a query the API has already been sent. Anything
// else could come from an <img> or a link on another site, riding a signed-in browser.
func requirePreflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, name := range preflightHeaders {
			if r.Header.Get(name) != "" {
				next.ServeHTTP(w, r)
				return
			}
		}
		if mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mediaType == "application/json" {
			next.ServeHTTP(w, r)
			return
		}
		params, err := url.ParseQuery(r.URL.RawQuery)
		if err == nil && params.Get("query") == "" && (persistedQueryHash(params.Get("extensions")) != "" || params.Get("documentId") != "") {
			next.ServeHTTP(w, r)
			return
		}
		writeRequestError(w, r, http.StatusBadRequest, "PREFLIGHT_REQUIRED",
			"a GET operation needs a GraphQL-Require-Preflight or X-Requested-With header, unless it runs a persisted query by its hash alone")
	})
}

// persistedQueryHash is the sha256Hash of an extensions parameter's persistedQuery, or "".
func persistedQueryHash(extensions string) string {
	var ext struct {
		PersistedQuery struct {
			Hash string `json:"sha256Hash"`
		} `json:"persistedQuery"`
	}
	if extensions == "" || json.Unmarshal([]byte(extensions), &ext) != nil {
		return ""
	}
	return ext.PersistedQuery.Hash
}

// getTransport runs queries sent as GET /graphql?query=...&variables=...&operationName=
// ...&extensions=... (GraphQL over HTTP). It refuses mutations and subscriptions with 405:
// they change things or last, and GET is for reading. gqlgen's own GET transport answers
// those with 406 and its own error shape. Its answers are never stored by the browser or
// a proxy: they are answered for one user.
type getTransport struct{}

var _ graphql.Transport = getTransport{}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Cache-Control", "no-store")
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST", "the query string is not URL-encoded")
		return
	}
	params := &graphql.RawParams{
		Query:         query.Get("query"),
		OperationName: query.Get("operationName"),
		Headers:       r.Header,
	}
	params.ReadTime.Start = graphql.Now()
	for _, p := range []struct {
		name string
		dest *map[string]any
	}{{"variables", &params.Variables}, {"extensions", &params.Extensions}} {
		if v := query.Get(p.name); v != "" {
			if err := decodeJSONObject(v, p.dest); err != nil {
				writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST", p.name+" must be a JSON object")
				return
			}
		}
	}
	if query.Has("documentId") {
		documentID := query.Get("documentId")
		if err := useDocumentID(params, &documentID); err != nil {
			writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
	}
	params.ReadTime.End = graphql.Now()

	runOperation(w, r, exec, params, refuseAllButQueries)
}

// refuseAllButQueries answers a mutation or a subscription sent by GET with 405, and Allow
// naming the method that does take it (GraphQL over HTTP).
func refuseAllButQueries(w http.ResponseWriter, r *http.Request, kind ast.Operation) bool {
	if kind == ast.Query {
		return false
	}
	w.Header().Set("Allow", http.MethodPost)
	message := "GET runs queries only: send a mutation with POST"
	if kind == ast.Subscription {
		message = "GET runs queries only: subscribe over a WebSocket"
	}
	writeRequestError(w, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", message)
	return true
}

func decodeJSONObject(text string, dest *map[string]any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return dec.Decode(dest)
}
