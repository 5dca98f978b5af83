package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"

	"notifyql/server"
)

// abuseProbe is one hostile (or, for contrast, ordinary) request and the exact answer it
// must get. A probe is an HTTP request; add a field (and a case in send) for another kind
// of request.
type abuseProbe struct {
	name string
	// development sends it to the API as development serves it; production otherwise.
	development bool

	// An HTTP request: POST /graphql unless method says otherwise. body is sent as it is;
	// query, when set instead, is sent as {"query": query}.
	method      string
	contentType string // application/json when empty; noContentType sends none
	headers     map[string]string
	body        string
	query       string
	// params is a GET's query string.
	params url.Values

	wantStatus int
	// wantCode and wantMessage are the first error's; a wantCode of "" wants no error.
	wantCode    string
	wantMessage string
	// wantHeaders are response headers that must have exactly these values.
	wantHeaders map[string]string
	// wantData, when set, is the response's data as JSON.
	wantData string
	// wantNoData wants an answer without a data entry: the operation never ran.
	wantNoData bool
}

const noContentType = "-"

// The abuse cases of issue 7 (items 1 and 2), each with its exact answer, against the API as
// serve wires it with the default limits.
func TestAbuseProbes(t *testing.T) {
	viewer := tokenFor(t, userViewer)
	persisted := persistedMeQuery(t)
	var probes []abuseProbe
	probes = append(probes, limitProbes()...)
	probes = append(probes, modeProbes()...)
	probes = append(probes, csrfProbes(persisted)...)

	var logs syncBuffer
	apis := map[bool]*testAPI{}
	apiFor := func(development bool) *testAPI {
		if apis[development] == nil {
			apis[development] = newTestAPIWith(t, testAPIOptions{development: development,
				logs: &logs, logLevel: slog.LevelDebug})
		}
		return apis[development]
	}
	// The persisted query is known to the API before a GET asks for it by its hash.
	registered := postJSON(t, apiFor(false), viewer, map[string]any{"query": persisted.query, "extensions": persisted.extensions()})
	registered.requireNoErrors(t)

	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			rec := p.send(apiFor(p.development).handler, viewer)
			p.check(t, rec)
		})
	}

	// No request's query string, where GET carries the operation and its variables,
	// reaches a log line.
	if strings.Contains(logs.String(), getProbeSecret) {
		t.Errorf("a GET's query string reached the logs:\n%s", logs.String())
	}
}

func (p abuseProbe) send(handler http.Handler, token string) *httptest.ResponseRecorder {
	method := p.method
	if method == "" {
		method = http.MethodPost
	}
	body := p.body
	if p.query != "" {
		encoded, _ := json.Marshal(map[string]any{"query": p.query})
		body = string(encoded)
	}
	target := "/graphql"
	if p.params != nil {
		target += "?" + p.params.Encode()
	}
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	switch {
	case p.contentType == noContentType:
	case p.contentType != "":
		req.Header.Set("Content-Type", p.contentType)
	case method == http.MethodPost:
		req.Header.Set("Content-Type", "application/json")
	}
	for name, value := range p.headers {
		req.Header.Set(name, value)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec
}

func (p abuseProbe) check(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != p.wantStatus {
		t.Errorf("status %d, want %d: %s", rec.Code, p.wantStatus, rec.Body.String())
	}
	for name, want := range p.wantHeaders {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response is not JSON: %s", rec.Body.String())
	}
	if p.wantCode == "" {
		if len(resp.Errors) > 0 {
			t.Errorf("want no errors: %s", rec.Body.String())
		}
	} else {
		if len(resp.Errors) == 0 {
			t.Fatalf("want the error %s: %s", p.wantCode, rec.Body.String())
		}
		if got := resp.Errors[0].Extensions["code"]; got != p.wantCode {
			t.Errorf("code %v, want %s: %s", got, p.wantCode, rec.Body.String())
		}
		if got := resp.Errors[0].Message; got != p.wantMessage {
			t.Errorf("message %q, want %q", got, p.wantMessage)
		}
	}
	if p.wantNoData && resp.Data != nil {
		t.Errorf("data %s, want none: the operation never ran", resp.Data)
	}
	if p.wantData != "" {
		var got, want any
		_ = json.Unmarshal(resp.Data, &got)
		if err := json.Unmarshal([]byte(p.wantData), &want); err != nil {
			t.Fatalf("wantData: %v", err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("data %s, want %s", resp.Data, p.wantData)
		}
	}
}

// limitProbes are the operations too big, deep, costly or repetitive to run (item 1).
func limitProbes() []abuseProbe {
	aliases := func(n int) string {
		var q strings.Builder
		q.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&q, "a%d: me { id } ", i)
		}
		q.WriteString("}")
		return q.String()
	}
	// Eight aliases in a fragment, spread twice under an alias: 8 + 8 + 1 = 17.
	aliasesInFragments := `{ me { ...Ids } other: me { ...Ids } } fragment Ids on User { ` +
		`a: id b: id c: id d: id e: id f: id g: id h: id }`
	// 13 fields deep: me, memberships, service, notifications, edges, node, createdBy, and
	// round again.
	deep := `{ me { memberships { service { notifications { edges { node { createdBy { ` +
		`memberships { service { notifications { edges { node { id } } } } } } } } } } } } }`
	// 1 + 20 × (1 + 100 × (edges 1 + (node 1 + id 1))) = 6,021.
	costly := `{ services { notifications(first: 100) { edges { node { id } } } } }`
	// 1,994 or 1,999 comment lines, { me { id } } and the document's end, each a token to
	// the parser: 2,000 tokens (the limit) or 2,005. (Padding with a field repeated would
	// meet the validation step limit first.)
	tokensAtTheLimit := strings.Repeat("# padding\n", 1994) + `{ me { id } }`
	manyTokens := strings.Repeat("# padding\n", 1999) + `{ me { id } }`
	// One field 200 times in one place: validation would compare 19,900 pairs of them.
	repeatedField := `{ me { ` + strings.Repeat("id ", 200) + `} }`
	// The known directive overload: one field repeating @include (250 of them keep the
	// document under the token limit).
	repeatedInclude := `{ me ` + strings.Repeat("@include(if: true) ", 250) + `{ id } }`
	chain, chainCycle := fragmentChain(150)
	return []abuseProbe{
		{name: "15 aliases run", query: aliases(15), wantStatus: 200},
		{name: "16 aliases are refused", query: aliases(16), wantStatus: 200,
			wantCode: "ALIAS_LIMIT_EXCEEDED", wantMessage: "the operation uses more than the limit of 15 aliases", wantNoData: true},
		{name: "aliases inside fragments count each time they are spread", query: aliasesInFragments, wantStatus: 200,
			wantCode: "ALIAS_LIMIT_EXCEEDED", wantMessage: "the operation uses more than the limit of 15 aliases"},
		{name: "too deep", query: deep, wantStatus: 200,
			wantCode: "DEPTH_LIMIT_EXCEEDED", wantMessage: "operation is nested deeper than the limit of 12"},
		{name: "too complex", query: costly, wantStatus: 200,
			wantCode: "COMPLEXITY_LIMIT_EXCEEDED", wantMessage: "operation has complexity 6021, which exceeds the limit of 5000"},
		{name: "tokens up to the limit run", query: tokensAtTheLimit, wantStatus: 200},
		{name: "too many tokens", query: manyTokens, wantStatus: 200,
			wantCode: "TOKEN_LIMIT_EXCEEDED", wantMessage: "the document has more than the limit of 2000 tokens"},
		{name: "one field repeated 200 times", query: repeatedField, wantStatus: 200, wantCode: "VALIDATION_LIMIT_EXCEEDED",
			wantMessage: "the document would take more than the limit of 10000 steps to validate: it repeats a field, or spreads fragments, too often"},
		{name: "one field repeated 100 times", query: `{ me { ` + strings.Repeat("id ", 100) + `} }`, wantStatus: 200},
		{name: "one directive repeated on a field", query: `{ me @include(if: true) @include(if: true) { id } }`, wantStatus: 200,
			wantCode: "DIRECTIVE_LIMIT_EXCEEDED", wantMessage: `field "me" carries the directive @include more than once`},
		{name: "a directive repeated 250 times", query: repeatedInclude, wantStatus: 200,
			wantCode: "DIRECTIVE_LIMIT_EXCEEDED", wantMessage: `field "me" carries 250 directives, more than the limit of 5`},
		{name: "six directives on a fragment spread", query: `{ me { ...F @a @b @c @d @e @f } } fragment F on User { id }`, wantStatus: 200,
			wantCode: "DIRECTIVE_LIMIT_EXCEEDED", wantMessage: `the spread of fragment "F" carries 6 directives, more than the limit of 5`},
		{name: "body too large", body: `{"query": "` + strings.Repeat(" ", 64<<10) + `{ me { id } }"}`, wantStatus: 413,
			wantCode: "BODY_TOO_LARGE", wantMessage: "request body is larger than the limit of 65536 bytes"},
		{name: "batched operations", body: `[{"query": "{ me { id } }"}, {"query": "{ me { name } }"}]`, wantStatus: 400,
			wantCode: "BATCHING_NOT_SUPPORTED", wantMessage: "batched operations are not supported: send one operation per request"},
		{name: "batched operations after white space", body: " \n\t[{\"query\": \"{ me { id } }\"}]", wantStatus: 400,
			wantCode: "BATCHING_NOT_SUPPORTED", wantMessage: "batched operations are not supported: send one operation per request"},
		{name: "circular fragments", query: `{ me { ...A } } fragment A on User { id ...B } fragment B on User { name ...A }`, wantStatus: 200, wantNoData: true,
			wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: `Cannot spread fragment "A" within itself.`},
		{name: "a fragment spreading itself", query: `{ me { ...A } } fragment A on User { memberships { service { id } } me: id ...A }`, wantStatus: 200, wantNoData: true,
			wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: `Cannot spread fragment "A" within itself.`},
		{name: "a long chain of fragments, each spreading the next and the first", query: chain, wantStatus: 200, wantNoData: true,
			wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: chainCycle},
	}
}

// fragmentChain is a document of n fragments where each spreads the next and the first:
// every fragment is on a cycle, and a walk that followed spreads without remembering would
// never end; gqlparser's check that fields merge recurses through it until the stack
// overflows once n is in the thousands. cycle is the error it gets.
func fragmentChain(n int) (doc, cycle string) {
	var text strings.Builder
	text.WriteString("{ me { ...F0 } }")
	for i := range n {
		fmt.Fprintf(&text, " fragment F%d on User { id ...F%d ...F0 }", i, (i+1)%n)
	}
	return text.String(), `Cannot spread fragment "F0" within itself.`
}

// modeProbes are what production hides and development shows: introspection and "did you
// mean" suggestions.
func modeProbes() []abuseProbe {
	introspection := `{ __schema { queryType { name } } }`
	typo := `{ me { nam } }`
	return []abuseProbe{
		{name: "introspection in production", query: introspection, wantStatus: 200,
			wantCode: "INTROSPECTION_DISABLED", wantMessage: "introspection is off in production", wantNoData: true},
		{name: "introspection in production inside a fragment", query: `{ ...Q } fragment Q on Query { __type(name: "User") { name } }`, wantStatus: 200,
			wantCode: "INTROSPECTION_DISABLED", wantMessage: "introspection is off in production"},
		{name: "__typename in production", query: `{ __typename me { __typename } }`, wantStatus: 200,
			wantData: `{"__typename": "Query", "me": {"__typename": "User"}}`},
		{name: "introspection in development", development: true, query: introspection, wantStatus: 200,
			wantData: `{"__schema": {"queryType": {"name": "Query"}}}`},
		{name: "no suggestions in production", query: typo, wantStatus: 200, wantNoData: true,
			wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: `Cannot query field "nam" on type "User".`},
		{name: "suggestions in development", development: true, query: typo, wantStatus: 200, wantNoData: true,
			wantCode: "GRAPHQL_VALIDATION_FAILED", wantMessage: `Cannot query field "nam" on type "User". Did you mean "name"?`},
	}
}

// getProbeSecret stands for personal data a careless client puts in a GET's variables: it
// must not reach a log line.
const getProbeSecret = "07700900123"

// csrfProbes are the requests a page on another site could make a signed-in browser send
// (item 2), and the ones only a trusted client can send, for contrast.
func csrfProbes(persisted persistedQuery) []abuseProbe {
	me := `{"me": {"id": "` + userViewer + `"}}`
	meBody := `{"query": "{ me { id } }"}`
	refused := "send the operation as a JSON body with Content-Type: application/json"
	multipartRefused := "a multipart request must carry a GraphQL-Require-Preflight header and run validateLetterPdf alone with one file: the preflight header is missing"
	preflight := "a GET operation needs a GraphQL-Require-Preflight or X-Requested-With header, unless it runs a persisted query by its hash alone"
	getMe := url.Values{"query": {"{ me { id } }"}}
	withSecret := url.Values{"query": {`query($id: ID!) { service(id: $id) { name } }`}, "variables": {`{"id": "` + getProbeSecret + `"}`}}
	byHash := url.Values{"extensions": {persisted.extensionsJSON()}}
	byHashWithText := url.Values{"query": {persisted.query}, "extensions": {persisted.extensionsJSON()}}
	return []abuseProbe{
		{name: "application/json", body: meBody, wantStatus: 200, wantData: me},
		{name: "application/json with a charset", contentType: "application/json; charset=utf-8", body: meBody, wantStatus: 200, wantData: me},
		{name: "application/graphql-response+json", contentType: "application/graphql-response+json", body: meBody, wantStatus: 200, wantData: me},
		{name: "text/plain", contentType: "text/plain", body: meBody, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: refused},
		{name: "a form", contentType: "application/x-www-form-urlencoded", body: "query=" + url.QueryEscape("{ me { id } }"), wantStatus: 415,
			wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: refused},
		// The one multipart request taken is a letter upload, which needs a preflight header.
		{name: "multipart", contentType: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\n{ me { id } }\r\n--x--\r\n",
			wantStatus: 400, wantCode: "MULTIPART_REFUSED", wantMessage: multipartRefused},
		{name: "no Content-Type", contentType: noContentType, body: meBody, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: refused},
		{name: "a garbage Content-Type", contentType: "json, please", body: meBody, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: refused},
		{name: "application/graphql", contentType: "application/graphql", body: "{ me { id } }", wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: refused},

		{name: "GET without a preflight header", method: http.MethodGet, params: getMe, wantStatus: 400,
			wantCode: "PREFLIGHT_REQUIRED", wantMessage: preflight},
		{name: "GET with an empty preflight header", method: http.MethodGet, params: getMe, headers: map[string]string{"X-Requested-With": ""},
			wantStatus: 400, wantCode: "PREFLIGHT_REQUIRED", wantMessage: preflight},
		{name: "GET with Content-Type text/plain", method: http.MethodGet, params: getMe, contentType: "text/plain",
			wantStatus: 400, wantCode: "PREFLIGHT_REQUIRED", wantMessage: preflight},
		{name: "GET with GraphQL-Require-Preflight", method: http.MethodGet, params: getMe, headers: map[string]string{"GraphQL-Require-Preflight": "1"},
			wantStatus: 200, wantData: me, wantHeaders: map[string]string{"Cache-Control": "no-store", "Content-Type": "application/json"}},
		{name: "GET with X-Requested-With", method: http.MethodGet, params: getMe, headers: map[string]string{"X-Requested-With": "XMLHttpRequest"},
			wantStatus: 200, wantData: me},
		{name: "GET with Content-Type application/json", method: http.MethodGet, params: getMe, contentType: "application/json",
			wantStatus: 200, wantData: me},
		{name: "GET with variables in the URL", method: http.MethodGet, params: withSecret, headers: map[string]string{"GraphQL-Require-Preflight": "1"},
			wantStatus: 200, wantCode: "BAD_USER_INPUT", wantMessage: "invalid service id"},
		{name: "GET of a persisted query by its hash alone", method: http.MethodGet, params: byHash,
			wantStatus: 200, wantData: `{"me": {"name": "Vera Viewer"}}`},
		{name: "GET of a persisted query with its text, without a preflight header", method: http.MethodGet, params: byHashWithText,
			wantStatus: 400, wantCode: "PREFLIGHT_REQUIRED", wantMessage: preflight},
		{name: "GET of a mutation", method: http.MethodGet, headers: map[string]string{"GraphQL-Require-Preflight": "1"},
			params:     url.Values{"query": {`mutation { rememberSearch(serviceId: "` + serviceA + `", term: "x") { hash } }`}},
			wantStatus: 405, wantCode: "METHOD_NOT_ALLOWED", wantMessage: "GET runs queries only: send a mutation with POST",
			wantHeaders: map[string]string{"Allow": "POST"}},
		{name: "GET of a mutation without a preflight header", method: http.MethodGet,
			params:     url.Values{"query": {`mutation { rememberSearch(serviceId: "` + serviceA + `", term: "x") { hash } }`}},
			wantStatus: 400, wantCode: "PREFLIGHT_REQUIRED", wantMessage: preflight},
		{name: "GET of a subscription", method: http.MethodGet, headers: map[string]string{"GraphQL-Require-Preflight": "1"},
			params:     url.Values{"query": {`subscription { upcomingJobs(serviceId: "` + serviceA + `") { id } }`}},
			wantStatus: 405, wantCode: "METHOD_NOT_ALLOWED", wantMessage: "GET runs queries only: subscribe over a WebSocket",
			wantHeaders: map[string]string{"Allow": "POST"}},
		{name: "GET with variables that are not an object", method: http.MethodGet, headers: map[string]string{"GraphQL-Require-Preflight": "1"},
			params:     url.Values{"query": {"{ me { id } }"}, "variables": {"[1]"}},
			wantStatus: 400, wantCode: "BAD_REQUEST", wantMessage: "variables must be a JSON object"},
		{name: "PUT", method: http.MethodPut, body: meBody, wantStatus: 405, wantCode: "METHOD_NOT_ALLOWED", wantMessage: "use POST with a JSON body",
			wantHeaders: map[string]string{"Allow": "GET, POST"}},
	}
}

// persistedQuery is an automatic persisted query of the viewer's name, new to the shared
// Redis in each run.
type persistedQuery struct{ query, hash string }

func persistedMeQuery(t *testing.T) persistedQuery {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	query := fmt.Sprintf("query Me%s { me { name } }", hex.EncodeToString(b[:]))
	sum := sha256.Sum256([]byte(query))
	return persistedQuery{query: query, hash: hex.EncodeToString(sum[:])}
}

func (p persistedQuery) extensions() map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": p.hash}}
}

func (p persistedQuery) extensionsJSON() string {
	encoded, _ := json.Marshal(p.extensions())
	return string(encoded)
}

// hostileFragmentsAPI is the API's edge over the real schema, with the token limit at
// maxTokens and a body limit that lets such a document through, so that a document of
// thousands of fragments gets past them to validation. It needs no database: an operation
// that passes every limit is answered with analysedCode instead of being run
// (stopBeforeResolvers), and the others are refused before anything runs.
func hostileFragmentsAPI(tb testing.TB, maxTokens int) http.Handler {
	tb.Helper()
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		tb.Fatal(err)
	}
	limits := server.Limits{MaxTokens: maxTokens, MaxBodyBytes: 4 << 20}
	return server.New(server.Config{Limits: limits, Extensions: []graphql.HandlerExtension{stopBeforeResolvers{}}}, executable,
		server.NewAuthenticator([]byte(testSecret), nil)).Handler()
}

// postHostileFragments sends fragmentChain(n) and checks that it is refused as a cycle.
func postHostileFragments(tb testing.TB, handler http.Handler, body []byte, cycle string) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	handler.ServeHTTP(rec, req)
	var resp gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != http.StatusOK ||
		len(resp.Errors) == 0 || resp.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" || resp.Errors[0].Message != cycle {
		tb.Fatalf("status %d, want 200 with the cycle: %.300s", rec.Code, rec.Body.String())
	}
}

// A document of 3,000 fragments that all spread one another round a cycle is refused with
// the validation error that names the cycle: no walk over it follows spreads forever.
func TestHostileFragmentDocumentIsRefused(t *testing.T) {
	doc, cycle := fragmentChain(3000)
	body, _ := json.Marshal(map[string]string{"query": doc})
	postHostileFragments(t, hostileFragmentsAPI(t, 100_000), body, cycle)
}

// How long the API takes over each hostile document, by family and size, at the default
// token limit and a raised one: "analysis" is the document and operation limits alone
// (parsing once, then depth, complexity, aliases, directives and cycles), "request" all
// that the API does before a resolver would run (gqlgen's parsing and validation too).
// Each reports the document's bytes and tokens beside ns/op and allocs/op:
// go test -run '^$' -bench HostileFragmentDocument -benchmem ./cmd/notifyql
func BenchmarkHostileFragmentDocument(b *testing.B) {
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		b.Fatal(err)
	}
	for _, maxTokens := range []int{server.DefaultLimits().MaxTokens, raisedTokenLimit} {
		handler := hostileFragmentsAPI(b, maxTokens)
		for _, family := range hostileDocumentFamilies {
			doc := family.largestWithin(b, maxTokens)
			name := fmt.Sprintf("tokens=%d/%s/n=%d", maxTokens, family.name, doc.n)
			b.Run(name+"/analysis", func(b *testing.B) {
				analyse := documentAnalysis(b, executable, maxTokens, doc.text)
				for b.Loop() {
					analyse()
				}
				doc.report(b)
			})
			b.Run(name+"/request", func(b *testing.B) {
				// Each request's document is new to the API (white space after it numbers it): a
				// document the API has validated before is not validated again.
				for i := 0; b.Loop(); i++ {
					body, _ := json.Marshal(map[string]string{"query": doc.text + numberedSpace(i)})
					postHostileDocument(b, handler, body)
				}
				doc.report(b)
			})
		}
	}
	// Fragments round a cycle, past the default token limit: refused as validation refuses them.
	handler := hostileFragmentsAPI(b, 100_000)
	for _, n := range []int{150, 1000, 3000} {
		doc, cycle := fragmentChain(n)
		body, _ := json.Marshal(map[string]string{"query": doc})
		b.Run(fmt.Sprintf("tokens=100000/cycle/fragments=%d/request", n), func(b *testing.B) {
			for b.Loop() {
				postHostileFragments(b, handler, body, cycle)
			}
		})
	}
}

// The WebSocket abuse cases of issue 7 (item 3), each with its exact answer, against the API
// as serve wires it with the default limits: a cross-site Origin, one socket past a user's
// cap, and messages faster than a socket's rate.
func TestAbuseProbesOverWebSockets(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{})
	httpServer := httptest.NewServer(api.handler)
	t.Cleanup(httpServer.Close)
	wsURL := "ws" + strings.TrimPrefix(httpServer.URL, "http") + "/graphql"
	defaults := server.DefaultWebSocketConfig()

	dial := func(t *testing.T, origin string) (*websocket.Conn, *http.Response, error) {
		header := http.Header{}
		if origin != "" {
			header.Set("Origin", origin)
		}
		conn, resp, err := (&websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}).Dial(wsURL, header)
		if conn != nil {
			t.Cleanup(func() { conn.Close() })
		}
		return conn, resp, err
	}
	signIn := func(t *testing.T, conn *websocket.Conn, userID string) (string, error) {
		init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + tokenFor(t, userID)}})
		if err := conn.WriteMessage(websocket.TextMessage, init); err != nil {
			return "", err
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		return string(data), err
	}
	// signedIn dials without an Origin and signs in as userID, failing unless acknowledged.
	signedIn := func(t *testing.T, userID string) *websocket.Conn {
		t.Helper()
		conn, _, err := dial(t, "")
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := signIn(t, conn, userID); err != nil || !strings.Contains(ack, "connection_ack") {
			t.Fatalf("%q, %v", ack, err)
		}
		return conn
	}
	// readUntilClosed reads and drops messages until the socket fails, and returns why.
	readUntilClosed := func(conn *websocket.Conn) error {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return err
			}
		}
	}
	wantClose := func(t *testing.T, err error, code int, reason string) {
		t.Helper()
		var closeErr *websocket.CloseError
		if !errors.As(err, &closeErr) || closeErr.Code != code || closeErr.Text != reason {
			t.Errorf("got %v, want close %d %q", err, code, reason)
		}
	}

	t.Run("a cross-site origin", func(t *testing.T) {
		_, resp, err := dial(t, "https://evil.example")
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("upgrade from another site: %v, %v; want 403", resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"code":"FORBIDDEN"`) || !strings.Contains(string(body), "this origin may not open a WebSocket to the API") {
			t.Errorf("body %s", body)
		}
	})
	t.Run("the API's own origin", func(t *testing.T) {
		conn, _, err := dial(t, httpServer.URL)
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := signIn(t, conn, userViewer); err != nil || !strings.Contains(ack, "connection_ack") {
			t.Errorf("got %q, %v; want connection_ack", ack, err)
		}
	})
	t.Run("one socket past the user's cap", func(t *testing.T) {
		var open []*websocket.Conn
		for range defaults.MaxConnectionsPerUser {
			conn, _, err := dial(t, "")
			if err != nil {
				t.Fatal(err)
			}
			if ack, err := signIn(t, conn, userManager); err != nil || !strings.Contains(ack, "connection_ack") {
				t.Fatalf("socket %d: %q, %v", len(open)+1, ack, err)
			}
			open = append(open, conn)
		}
		conn, _, err := dial(t, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = signIn(t, conn, userManager)
		wantClose(t, err, 4429, "Too many connections")
		// Another user is not held back by the first one's sockets.
		other, _, err := dial(t, "")
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := signIn(t, other, userAdmin); err != nil || !strings.Contains(ack, "connection_ack") {
			t.Errorf("another user: %q, %v", ack, err)
		}
	})
	t.Run("messages faster than the rate", func(t *testing.T) {
		conn := signedIn(t, userViewer)
		// The burst, less connection_init, then one more at once.
		for range defaults.MessageBurst {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
				t.Fatal(err)
			}
		}
		// The pongs, then the close.
		wantClose(t, readUntilClosed(conn), 4429, "Too many messages")
	})
	t.Run("control-frame pings faster than the rate", func(t *testing.T) {
		conn := signedIn(t, userViewer)
		// Each ping costs the server a pong: they spend the message allowance.
		for range 4 * defaults.MessageBurst {
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
				break // the server has closed
			}
		}
		// The pongs are handled inside, then the close.
		wantClose(t, readUntilClosed(conn), 4429, "Too many messages")
	})
}
