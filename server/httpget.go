package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
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
		if err == nil && params.Get("query") == "" && persistedQueryHash(params.Get("extensions")) != "" {
			next.ServeHTTP(w, r)
			return
		}
		writeGraphQLError(w, http.StatusBadRequest, "PREFLIGHT_REQUIRED",
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
		writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "the query string is not URL-encoded")
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
				writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", p.name+" must be a JSON object")
				return
			}
		}
	}
	params.ReadTime.End = graphql.Now()

	responseType := responseMediaType(r)
	w.Header().Set("Content-Type", responseType)
	opCtx, errs := exec.CreateOperationContext(r.Context(), params)
	if errs != nil {
		w.WriteHeader(allowanceRefusalStatus(w.Header(), errs, requestErrorStatus(errs, responseType)))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(r.Context(), opCtx), errs))
		return
	}
	if kind := opCtx.Operation.Operation; kind != ast.Query {
		// GraphQL over HTTP: 405, and Allow names the method that does take it.
		w.Header().Set("Allow", http.MethodPost)
		message := "GET runs queries only: send a mutation with POST"
		if kind == ast.Subscription {
			message = "GET runs queries only: subscribe over a WebSocket"
		}
		writeGraphQLError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", message)
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), opCtx)
	writeResponse(w, responses(ctx))
}

func decodeJSONObject(text string, dest *map[string]any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return dec.Decode(dest)
}

// responseMediaType is the media type the client accepts, as gqlgen's transports choose it:
// application/json unless only application/graphql-response+json is named.
func responseMediaType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return "application/json"
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", "application/json":
			return "application/json"
		case "application/graphql-response+json":
			return mediaType
		}
	}
	return "application/graphql-response+json"
}

// requestErrorStatus is the status of an operation refused before it ran, as gqlgen's POST
// transport answers it: a parse or validation failure is 422 (400 for a client that accepts
// application/graphql-response+json), anything else (a limit) 200 with the error.
func requestErrorStatus(errs gqlerror.List, responseType string) int {
	if errcode.GetErrorKind(errs) != errcode.KindProtocol {
		return http.StatusOK
	}
	if responseType == "application/graphql-response+json" {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// writeResponse writes resp as encoding/json's Encoder writes a graphql.Response. The data,
// which gqlgen wrote as JSON, is copied as it is when it holds nothing the Encoder would
// escape (<, > and & for HTML, U+2028 and U+2029 for JavaScript): the Encoder checks and
// compacts a json.RawMessage byte by byte, a second pass over the answer that cost about 6%
// of a 50-row page's CPU.
func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	if bytes.IndexAny(resp.Data, "<>&") >= 0 || bytes.IndexByte(resp.Data, 0xe2) >= 0 {
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	var b bytes.Buffer
	b.Grow(len(resp.Data) + 64)
	b.WriteByte('{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			_ = json.NewEncoder(w).Encode(resp)
			return
		}
		b.WriteString(`"errors":`)
		b.Write(errs)
		b.WriteByte(',')
	}
	b.WriteString(`"data":`)
	if resp.Data == nil {
		b.WriteString("null")
	} else {
		b.Write(resp.Data)
	}
	rest, err := json.Marshal(responseRest{Label: resp.Label, Path: resp.Path, HasNext: resp.HasNext, Extensions: resp.Extensions})
	if err != nil {
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	if len(rest) > len("{}") {
		b.WriteByte(',')
		b.Write(rest[1 : len(rest)-1])
	}
	b.WriteString("}\n")
	_, _ = w.Write(b.Bytes())
}

// responseRest is a graphql.Response's fields after its data, as it encodes them.
type responseRest struct {
	Label      string         `json:"label,omitempty"`
	Path       ast.Path       `json:"path,omitempty"`
	HasNext    *bool          `json:"hasNext,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}
