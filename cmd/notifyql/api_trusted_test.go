package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"notifyql/server"
)

// The trusted documents' modes, over HTTP and over a WebSocket (server/trusteddocuments.go).

// listedQuery is the one document the tests' manifest lists; unlistedQuery is any other.
const (
	listedQuery   = "query Me { me { name } }"
	unlistedQuery = "query MyId { me { id } }"
)

// trustedManifest is a manifest listing listedQuery, keyed as the client preset keys it.
func trustedManifest(t testing.TB) []byte {
	t.Helper()
	manifest, err := json.Marshal(map[string]string{"sha256:" + apqHash(listedQuery): listedQuery})
	if err != nil {
		t.Fatal(err)
	}
	return manifest
}

// trustedAPI is an API whose trusted documents are trustedManifest's in mode, with its
// request metrics.
type trustedAPI struct {
	*testAPI
	metrics *server.RequestMetrics
}

func newTrustedAPI(t *testing.T, mode server.TrustedDocumentsMode, development bool) trustedAPI {
	t.Helper()
	trusted := server.TrustedDocuments{Mode: mode}
	if err := trusted.AddManifest(trustedManifest(t)); err != nil {
		t.Fatal(err)
	}
	metrics := server.NewRequestMetrics()
	api := newTestAPIWith(t, testAPIOptions{limits: server.DefaultLimits(), trusted: trusted, requestMetrics: metrics, development: development})
	return trustedAPI{testAPI: api, metrics: metrics}
}

// unlistedCount is notifyql_trusted_documents_unlisted_total for the operation named name.
func (a trustedAPI) unlistedCount(t *testing.T, name string) float64 {
	t.Helper()
	registry := prometheus.NewRegistry()
	registry.MustRegister(a.metrics)
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, family := range families {
		if family.GetName() != "notifyql_trusted_documents_unlisted_total" {
			continue
		}
		for _, m := range family.GetMetric() {
			for _, label := range m.GetLabel() {
				if label.GetName() == "operation_name" && label.GetValue() == name {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// getQuery sends GET /graphql with params, and no preflight header.
func (a trustedAPI) getQuery(t *testing.T, token string, params url.Values) gqlResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/graphql?"+params.Encode(), nil)
	return a.serveGraphQL(t, req, token)
}

// socket opens a signed-in graphql-transport-ws socket to the API.
func (a trustedAPI) socket(t *testing.T) *websocket.Conn {
	t.Helper()
	httpServer := httptest.NewServer(a.handler)
	t.Cleanup(httpServer.Close)
	return dialSignedIn(t, "graphql-transport-ws", "ws"+strings.TrimPrefix(httpServer.URL, "http")+"/graphql", userViewer)
}

// runOnSocket runs payload as operation id and returns the messages up to its end.
func runOnSocket(t *testing.T, conn *websocket.Conn, id string, payload map[string]any) []wsMessage {
	t.Helper()
	encoded, _ := json.Marshal(payload)
	if err := conn.WriteJSON(wsMessage{ID: id, Type: "subscribe", Payload: encoded}); err != nil {
		t.Fatal(err)
	}
	var got []wsMessage
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var msg wsMessage
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("%s: %v after %+v", id, err, got)
		}
		got = append(got, msg)
		if msg.ID == id && (msg.Type == "complete" || msg.Type == "error") {
			return got
		}
	}
}

// socketAnswered fails unless the operation's first message is a next with data and no
// errors.
func socketAnswered(t *testing.T, what string, got []wsMessage) {
	t.Helper()
	if len(got) != 2 || got[0].Type != "next" || strings.Contains(string(got[0].Payload), `"errors"`) ||
		!strings.Contains(string(got[0].Payload), `"me"`) {
		t.Errorf("%s over the socket: %+v, want it answered", what, got)
	}
}

// socketRefused fails unless the operation's messages carry code and, when message is
// set, that message.
func socketRefused(t *testing.T, what string, got []wsMessage, code, message string) {
	t.Helper()
	text := ""
	for _, msg := range got {
		text += string(msg.Payload)
	}
	if !strings.Contains(text, `"code":"`+code+`"`) || !strings.Contains(text, message) || strings.Contains(text, `"data":{`) {
		t.Errorf("%s over the socket: %+v, want %s (%q) and no data", what, got, code, message)
	}
}

// answered fails unless resp ran the query and has no errors.
func answered(t *testing.T, what string, resp gqlResponse) {
	t.Helper()
	if len(resp.Errors) != 0 || resp.at("me") == nil {
		t.Errorf("%s: %d %s, want it answered", what, resp.status, resp.body)
	}
}

// refused fails unless resp carries one error with code and message, and no data.
func refused(t *testing.T, what string, resp gqlResponse, code, message string) {
	t.Helper()
	if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != code || !strings.Contains(resp.Errors[0].Message, message) ||
		strings.Contains(resp.body, `"data"`) {
		t.Errorf("%s: %d %s, want %s (%q) and no data", what, resp.status, resp.body, code, message)
	}
}

const (
	notTrustedMessage   = "this server runs only its trusted documents"
	registrationRefused = "persisted query registration is refused"
	unknownHashMessage  = "no trusted document has this hash"
)

// Under enforce only listed documents run: by their hash (extensions.persistedQuery, or
// documentId over POST, GET and the socket) or as their exact text. Any other text, an
// unknown hash and a persisted-query registration are refused before they run, and the
// registration stores nothing.
func TestTrustedDocumentsEnforce(t *testing.T) {
	t.Parallel()
	api := newTrustedAPI(t, server.TrustedDocumentsEnforce, false)
	token := tokenFor(t, userViewer)
	documentID := "sha256:" + apqHash(listedQuery)

	answered(t, "the listed document by extensions.persistedQuery", postJSON(t, api.testAPI, token, map[string]any{"extensions": apqExtensions(listedQuery)}))
	answered(t, "the listed document by documentId", postJSON(t, api.testAPI, token, map[string]any{"documentId": documentID}))
	answered(t, "the listed document by a bare hash as documentId", postJSON(t, api.testAPI, token, map[string]any{"documentId": apqHash(listedQuery)}))
	answered(t, "the listed document's text", postJSON(t, api.testAPI, token, map[string]any{"query": listedQuery}))
	answered(t, "the listed document's text with its hash", postJSON(t, api.testAPI, token, map[string]any{"query": listedQuery, "extensions": apqExtensions(listedQuery)}))
	answered(t, "GET of the listed document by documentId", api.getQuery(t, token, url.Values{"documentId": {documentID}}))

	refused(t, "an unlisted text", postJSON(t, api.testAPI, token, map[string]any{"query": unlistedQuery}), "OPERATION_NOT_TRUSTED", notTrustedMessage)
	refused(t, "the listed text respaced", postJSON(t, api.testAPI, token, map[string]any{"query": listedQuery + " "}), "OPERATION_NOT_TRUSTED", notTrustedMessage)
	refused(t, "an unknown hash", postJSON(t, api.testAPI, token, map[string]any{"extensions": apqExtensions(unlistedQuery)}), "OPERATION_NOT_TRUSTED", unknownHashMessage)
	refused(t, "an unknown documentId", postJSON(t, api.testAPI, token, map[string]any{"documentId": "sha256:" + apqHash(unlistedQuery)}), "OPERATION_NOT_TRUSTED", unknownHashMessage)
	refused(t, "GET of an unlisted text", api.getQuery(t, token, url.Values{"query": {unlistedQuery}}), "PREFLIGHT_REQUIRED", "")
	marked := newQueryMarker() + unlistedQuery
	registration := postJSON(t, api.testAPI, token, map[string]any{"query": marked, "extensions": apqExtensions(marked)})
	refused(t, "a persisted query registration", registration, "OPERATION_NOT_TRUSTED", registrationRefused)
	if texts, _ := storedAPQTexts(t, []string{apqHash(marked)}); texts != 0 {
		t.Errorf("the refused registration was stored")
	}
	// The status, where the client accepts the media type that carries it: 400.
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query": "`+unlistedQuery+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	if resp := api.serveGraphQL(t, req, token); resp.status != http.StatusBadRequest {
		t.Errorf("an unlisted text asking for application/graphql-response+json: %d, want 400", resp.status)
	}

	conn := api.socket(t)
	socketAnswered(t, "the listed document by documentId", runOnSocket(t, conn, "by-id", map[string]any{"documentId": documentID}))
	socketAnswered(t, "the listed document by documentId beside an empty query (graphql-ws)", runOnSocket(t, conn, "by-id-empty-query", map[string]any{"query": "", "documentId": documentID}))
	socketAnswered(t, "the listed document by extensions.persistedQuery", runOnSocket(t, conn, "by-hash", map[string]any{"query": "", "extensions": apqExtensions(listedQuery)}))
	socketAnswered(t, "the listed document's text", runOnSocket(t, conn, "by-text", map[string]any{"query": listedQuery}))
	socketRefused(t, "an unlisted text", runOnSocket(t, conn, "unlisted", map[string]any{"query": unlistedQuery}), "OPERATION_NOT_TRUSTED", notTrustedMessage)
	socketRefused(t, "an unknown documentId", runOnSocket(t, conn, "unknown", map[string]any{"documentId": "sha256:" + apqHash(unlistedQuery)}), "OPERATION_NOT_TRUSTED", unknownHashMessage)
	socketMarked := newQueryMarker() + unlistedQuery
	socketRefused(t, "a persisted query registration", runOnSocket(t, conn, "register", map[string]any{"query": socketMarked, "extensions": apqExtensions(socketMarked)}),
		"OPERATION_NOT_TRUSTED", registrationRefused)
	if texts, _ := storedAPQTexts(t, []string{apqHash(socketMarked)}); texts != 0 {
		t.Errorf("the registration refused on the socket was stored")
	}
}

// A text registered as a persisted query while the trusted documents were off (in the
// Redis that instances share) does not run by its hash once they are enforced.
func TestTrustedDocumentsEnforceIgnoresRegisteredPersistedQueries(t *testing.T) {
	t.Parallel()
	token := tokenFor(t, userViewer)
	registered := newQueryMarker() + unlistedQuery
	off := newTestAPI(t, server.DefaultLimits())
	answered(t, "the registration with the trusted documents off", postJSON(t, off, token, map[string]any{"query": registered, "extensions": apqExtensions(registered)}))
	answered(t, "the registered hash with the trusted documents off", postJSON(t, off, token, map[string]any{"extensions": apqExtensions(registered)}))

	enforced := newTrustedAPI(t, server.TrustedDocumentsEnforce, false)
	refused(t, "the registered hash under enforce", postJSON(t, enforced.testAPI, token, map[string]any{"extensions": apqExtensions(registered)}),
		"OPERATION_NOT_TRUSTED", unknownHashMessage)
}

// Under audit everything runs, and each unlisted operation that runs is counted by name,
// over HTTP and on the socket; a listed one is not counted, however it is sent.
func TestTrustedDocumentsAudit(t *testing.T) {
	t.Parallel()
	api := newTrustedAPI(t, server.TrustedDocumentsAudit, false)
	token := tokenFor(t, userViewer)

	answered(t, "an unlisted text", postJSON(t, api.testAPI, token, map[string]any{"query": unlistedQuery}))
	marked := newQueryMarker() + unlistedQuery
	answered(t, "a persisted query registration", postJSON(t, api.testAPI, token, map[string]any{"query": marked, "extensions": apqExtensions(marked)}))
	answered(t, "the registered hash", postJSON(t, api.testAPI, token, map[string]any{"extensions": apqExtensions(marked)}))
	if got := api.unlistedCount(t, "MyId"); got != 3 {
		t.Errorf("after three unlisted operations over HTTP, MyId counted %v", got)
	}
	answered(t, "the listed document by documentId", postJSON(t, api.testAPI, token, map[string]any{"documentId": "sha256:" + apqHash(listedQuery)}))
	answered(t, "the listed document's text", postJSON(t, api.testAPI, token, map[string]any{"query": listedQuery}))
	if got := api.unlistedCount(t, "Me"); got != 0 {
		t.Errorf("the listed document counted %v times as unlisted", got)
	}
	// A listed text sent with its hash is found by hash from then on without being stored.
	if texts, _ := storedAPQTexts(t, []string{apqHash(listedQuery)}); texts != 0 {
		t.Errorf("the listed document was stored as a persisted query")
	}
	// An operation that does not validate never ran: it is not counted.
	postJSON(t, api.testAPI, token, map[string]any{"query": "query Broken { me { noSuchField } }"})
	if got := api.unlistedCount(t, "Broken"); got != 0 {
		t.Errorf("an operation that did not validate was counted %v times", got)
	}

	conn := api.socket(t)
	socketAnswered(t, "an unlisted text", runOnSocket(t, conn, "unlisted", map[string]any{"query": unlistedQuery}))
	socketAnswered(t, "the listed document by documentId", runOnSocket(t, conn, "listed", map[string]any{"query": "", "documentId": "sha256:" + apqHash(listedQuery)}))
	if got := api.unlistedCount(t, "MyId"); got != 4 {
		t.Errorf("after a fourth unlisted operation, on the socket, MyId counted %v", got)
	}
	if got := api.unlistedCount(t, "Me"); got != 0 {
		t.Errorf("the listed document counted %v times as unlisted", got)
	}
}

// Off (the default) checks and counts nothing, and still finds the listed documents by
// hash.
func TestTrustedDocumentsOff(t *testing.T) {
	t.Parallel()
	api := newTrustedAPI(t, server.TrustedDocumentsOff, false)
	token := tokenFor(t, userViewer)
	answered(t, "an unlisted text", postJSON(t, api.testAPI, token, map[string]any{"query": unlistedQuery}))
	answered(t, "the listed document by documentId", postJSON(t, api.testAPI, token, map[string]any{"documentId": "sha256:" + apqHash(listedQuery)}))
	conn := api.socket(t)
	socketAnswered(t, "an unlisted text", runOnSocket(t, conn, "unlisted", map[string]any{"query": unlistedQuery}))
	socketAnswered(t, "the listed document by documentId", runOnSocket(t, conn, "listed", map[string]any{"documentId": "sha256:" + apqHash(listedQuery)}))
	if got := api.unlistedCount(t, "MyId"); got != 0 {
		t.Errorf("with the trusted documents off, MyId counted %v", got)
	}
	// Without any trusted documents an unknown hash is the persisted queries' miss.
	wantUnknownHash(t, api.testAPI, token, newQueryMarker()+unlistedQuery)
}

// In development, enforce lets GraphiQL work: an operation sent as plain text (as GraphiQL
// sends what is typed in it) runs and is counted as under audit, over HTTP and on the
// socket. Unknown hashes and registrations are refused there too.
func TestTrustedDocumentsEnforceInDevelopment(t *testing.T) {
	t.Parallel()
	api := newTrustedAPI(t, server.TrustedDocumentsEnforce, true)
	token := tokenFor(t, userViewer)
	answered(t, "an unlisted text", postJSON(t, api.testAPI, token, map[string]any{"query": unlistedQuery}))
	introspection := postJSON(t, api.testAPI, token, map[string]any{"query": "query IntrospectionQuery { __schema { queryType { name } } }"})
	if len(introspection.Errors) != 0 || introspection.at("__schema", "queryType", "name") != "Query" {
		t.Errorf("GraphiQL's introspection: %s", introspection.body)
	}
	conn := api.socket(t)
	socketAnswered(t, "an unlisted text", runOnSocket(t, conn, "unlisted", map[string]any{"query": unlistedQuery}))
	if got := api.unlistedCount(t, "MyId"); got != 2 {
		t.Errorf("after two unlisted texts, MyId counted %v", got)
	}
	refused(t, "an unknown hash", postJSON(t, api.testAPI, token, map[string]any{"extensions": apqExtensions(unlistedQuery)}), "OPERATION_NOT_TRUSTED", unknownHashMessage)
	marked := newQueryMarker() + unlistedQuery
	refused(t, "a persisted query registration", postJSON(t, api.testAPI, token, map[string]any{"query": marked, "extensions": apqExtensions(marked)}),
		"OPERATION_NOT_TRUSTED", registrationRefused)
	socketRefused(t, "a persisted query registration", runOnSocket(t, conn, "register", map[string]any{"query": marked, "extensions": apqExtensions(marked)}),
		"OPERATION_NOT_TRUSTED", registrationRefused)
}

// A documentId that is not a SHA-256 hash, or that comes with a query or a persisted
// query's hash, is refused with a clear error, over POST, GET and the socket.
func TestDocumentIDWrongValues(t *testing.T) {
	t.Parallel()
	api := newTrustedAPI(t, server.TrustedDocumentsEnforce, false)
	token := tokenFor(t, userViewer)
	hash := apqHash(listedQuery)
	for _, tt := range []struct {
		name    string
		body    map[string]any
		message string
	}{
		{"too short", map[string]any{"documentId": "sha256:abc"}, "documentId must be sha256: and the 64 hex digits of the document's SHA-256 hash"},
		{"empty", map[string]any{"documentId": ""}, "documentId must be sha256: and the 64 hex digits of the document's SHA-256 hash"},
		{"another algorithm", map[string]any{"documentId": "sha1:" + hash[:40]}, "documentId must be sha256: and the 64 hex digits of the document's SHA-256 hash"},
		{"not hex", map[string]any{"documentId": "sha256:" + strings.Repeat("z", 64)}, "documentId must be sha256: and the 64 hex digits of the document's SHA-256 hash"},
		{"with a query", map[string]any{"documentId": "sha256:" + hash, "query": listedQuery}, "send documentId or query, not both"},
		{"with a persisted query", map[string]any{"documentId": "sha256:" + hash, "extensions": apqExtensions(listedQuery)}, "send documentId or extensions.persistedQuery, not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := postJSON(t, api.testAPI, token, tt.body)
			if resp.status != http.StatusBadRequest || len(resp.Errors) != 1 || resp.Errors[0].Message != tt.message ||
				resp.Errors[0].Extensions["code"] != "BAD_REQUEST" {
				t.Errorf("POST: %d %s, want 400 %q", resp.status, resp.body, tt.message)
			}
			params := url.Values{}
			for name, value := range tt.body {
				switch value := value.(type) {
				case string:
					params.Set(name, value)
				default:
					encoded, _ := json.Marshal(value)
					params.Set(name, string(encoded))
				}
			}
			req := httptest.NewRequest(http.MethodGet, "/graphql?"+params.Encode(), nil)
			req.Header.Set("GraphQL-Require-Preflight", "1")
			if resp := api.serveGraphQL(t, req, token); resp.status != http.StatusBadRequest || !strings.Contains(resp.body, tt.message) {
				t.Errorf("GET: %d %s, want 400 %q", resp.status, resp.body, tt.message)
			}
			conn := api.socket(t)
			got := runOnSocket(t, conn, "wrong", tt.body)
			if last := got[len(got)-1]; last.Type != "error" || !strings.Contains(string(last.Payload), tt.message) {
				t.Errorf("socket: %+v, want an error %q", got, tt.message)
			}
		})
	}
	// Not a string at all: the body's shape is wrong.
	resp := postJSON(t, api.testAPI, token, map[string]any{"documentId": 12})
	if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "documentId strings") {
		t.Errorf("a number as documentId: %d %s", resp.status, resp.body)
	}
}
