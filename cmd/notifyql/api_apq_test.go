package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql/server"
)

// Automatic persisted queries: a hash the server does not know is answered
// PERSISTED_QUERY_NOT_FOUND, the client then sends the text with the hash, and from then on
// the hash alone is enough.
func TestAutomaticPersistedQueries(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	var b [6]byte
	_, _ = rand.Read(b[:])
	// A name of its own makes the text, and so its hash, new to the shared Redis.
	query := fmt.Sprintf("query Me%s { me { name } }", hex.EncodeToString(b[:]))
	sum := sha256.Sum256([]byte(query))
	persisted := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	token := tokenFor(t, userManager)

	miss := postJSON(t, api, token, map[string]any{"extensions": persisted})
	if len(miss.Errors) != 1 || miss.Errors[0].Extensions["code"] != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("an unknown hash: %s", miss.body)
	}
	stored := postJSON(t, api, token, map[string]any{"query": query, "extensions": persisted})
	stored.requireNoErrors(t)
	hit := postJSON(t, api, token, map[string]any{"extensions": persisted})
	hit.requireNoErrors(t)
	if got := hit.at("me", "name"); got != stored.at("me", "name") || got == nil {
		t.Errorf("by hash alone: %v, with the text: %v", got, stored.at("me", "name"))
	}

	// A text that does not match its hash is refused, not stored under it.
	wrong := postJSON(t, api, token, map[string]any{"query": "{ me { emailAddress } }", "extensions": persisted})
	if len(wrong.Errors) != 1 || wrong.Errors[0].Message != "provided APQ hash does not match query" {
		t.Errorf("a mismatched text: %s", wrong.body)
	}
}

// postJSON posts body, encoded as JSON, as a GraphQL request.
func postJSON(t *testing.T, api *testAPI, token string, body map[string]any) gqlResponse {
	t.Helper()
	encoded, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return api.postRaw(t, token, "application/json", string(encoded))
}

// apqHash is a persisted query's hash: SHA-256 of its text, in hex.
func apqHash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// apqExtensions is the extensions of a request that sends query's hash.
func apqExtensions(query string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": apqHash(query)}}
}

// newQueryMarker is a comment that makes a document's text, and so its hash, new to the
// shared Redis, without adding a token.
func newQueryMarker() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "# " + hex.EncodeToString(b[:]) + "\n"
}

// storedAPQTexts counts the texts Redis holds for hashes, and their bytes, under the
// persisted-query cache's keys (redis/apq.go: "apq-" and the hash).
func storedAPQTexts(t *testing.T, hashes []string) (texts, bytes int64) {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	defer rdb.Close()
	for _, hash := range hashes {
		n, err := rdb.StrLen(t.Context(), "apq-"+hash).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			texts++
			bytes += n
		}
	}
	return texts, bytes
}

// wantUnknownHash fails unless the API answers the hash of query alone with
// PERSISTED_QUERY_NOT_FOUND.
func wantUnknownHash(t *testing.T, api *testAPI, token, query string) {
	t.Helper()
	miss := postJSON(t, api, token, map[string]any{"extensions": apqExtensions(query)})
	if len(miss.Errors) != 1 || miss.Errors[0].Message != "PersistedQueryNotFound" ||
		miss.Errors[0].Extensions["code"] != "PERSISTED_QUERY_NOT_FOUND" {
		t.Errorf("the hash alone: %d %s, want PersistedQueryNotFound", miss.status, miss.body)
	}
}

// Issue 15, item 8: texts sent with their hash are stored before they are parsed, so
// requests without a token, each refused, filled Redis. Now 50 of them, whose documents do
// not parse, do not validate or break a limit, store nothing; a valid one is stored and
// then runs by its hash alone.
func TestPersistedQueriesStoreOnlyWhatPassedEveryCheck(t *testing.T) {
	limits := server.DefaultLimits()
	limits.MaxDepth, limits.MaxComplexity = 3, 30
	api := newTestAPI(t, limits)
	refused := []struct{ name, doc, code string }{
		{"does not parse", "{ me { name ", "GRAPHQL_PARSE_FAILED"},
		{"an unknown field", "{ me { nosuchfield } }", "GRAPHQL_VALIDATION_FAILED"},
		{"an undefined variable", "{ service(id: $id) { name } }", "GRAPHQL_VALIDATION_FAILED"},
		{"an unknown fragment", "{ me { ...Missing } }", "GRAPHQL_VALIDATION_FAILED"},
		{"fragments in a cycle", "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }", "GRAPHQL_VALIDATION_FAILED"},
		{"too many tokens", "{ me { " + strings.Repeat("name ", limits.MaxTokens) + "} }", "TOKEN_LIMIT_EXCEEDED"},
		{"too many aliases", "{ " + aliasedMe(limits.MaxAliases+1) + " }", "ALIAS_LIMIT_EXCEEDED"},
		{"a directive twice", "{ me @include(if: true) @include(if: true) { name } }", "DIRECTIVE_LIMIT_EXCEEDED"},
		{"too deep", "{ me { memberships { service { name } } } }", "DEPTH_LIMIT_EXCEEDED"},
		{"too complex", "{ services { id name myPermissions } }", "COMPLEXITY_LIMIT_EXCEEDED"},
		{"introspection in production", "{ __schema { types { name } } }", "INTROSPECTION_DISABLED"},
	}
	var hashes []string
	for i := range 50 {
		probe := refused[i%len(refused)]
		query := newQueryMarker() + probe.doc
		hashes = append(hashes, apqHash(query))
		resp := postJSON(t, api, "", map[string]any{"query": query, "extensions": apqExtensions(query)})
		if len(resp.Errors) == 0 || resp.Errors[0].Extensions["code"] != probe.code {
			t.Fatalf("%s: %d %s, want %s", probe.name, resp.status, resp.body, probe.code)
		}
		if i < len(refused) {
			wantUnknownHash(t, api, "", query)
		}
	}
	if texts, bytes := storedAPQTexts(t, hashes); texts != 0 {
		t.Errorf("50 refused documents stored %d texts (%d bytes) in Redis, want none", texts, bytes)
	}

	// A valid document, sent without a token, is stored; its hash alone then runs it.
	query := newQueryMarker() + "query Me { me { name } }"
	first := postJSON(t, api, "", map[string]any{"query": query, "extensions": apqExtensions(query)})
	if first.codeAt("me") != "UNAUTHENTICATED" {
		t.Fatalf("a valid document without a token: %s", first.body)
	}
	if texts, _ := storedAPQTexts(t, []string{apqHash(query)}); texts != 1 {
		t.Errorf("a valid document was not stored")
	}
	hit := postJSON(t, api, tokenFor(t, userManager), map[string]any{"extensions": apqExtensions(query)})
	hit.requireNoErrors(t)
	if hit.at("me", "name") == nil {
		t.Errorf("by its hash alone: %s", hit.body)
	}
}

// aliasedMe is n fields, each me under an alias of its own.
func aliasedMe(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: me { id } ", i)
	}
	return b.String()
}

// A registration costs its client address's allowance as much as a request does: past it,
// the request is answered 429 RATE_LIMITED with Retry-After, and its text is not stored.
func TestPersistedQueryRegistrationsCountAgainstTheAddress(t *testing.T) {
	// 20 a minute, in bursts of 2 (one every 3 s).
	api := newTestAPIWith(t, testAPIOptions{rateLimits: server.RateLimits{PerIP: 20}, rateLimitNamespace: rateLimitNamespace(t)})
	register := func(addr, query string) *httptest.ResponseRecorder {
		body, _ := json.Marshal(map[string]any{"query": query, "extensions": apqExtensions(query)})
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.RemoteAddr = addr
		req.Header.Set("Content-Type", "application/json")
		return api.serveAs(req, "")
	}

	// One address: a request, then a registration, whose request is the second of the burst
	// and whose registration would be the third.
	wantAnswered(t, "a plain request", api.postFrom(t, "192.0.2.20:1000", ""))
	refused := newQueryMarker() + "{ me { name } }"
	wantRateLimited(t, "a registration past the allowance", register("192.0.2.20:1001", refused), "3")
	if texts, _ := storedAPQTexts(t, []string{apqHash(refused)}); texts != 0 {
		t.Errorf("the refused registration was stored")
	}

	// Another address: a registration (two of its burst) is stored, and its next request,
	// the third, is refused, as it would not be had the registration not counted.
	stored := newQueryMarker() + "{ me { name } }"
	wantAnswered(t, "a registration within the allowance", register("192.0.2.21:1000", stored))
	if texts, _ := storedAPQTexts(t, []string{apqHash(stored)}); texts != 1 {
		t.Errorf("the registration within the allowance was not stored")
	}
	wantRateLimited(t, "the request after it", api.postFrom(t, "192.0.2.21:1001", ""), "3")

	// The same over GET.
	wantAnswered(t, "a plain request", api.postFrom(t, "192.0.2.22:1000", ""))
	overGET := newQueryMarker() + "{ me { name } }"
	extensions, _ := json.Marshal(apqExtensions(overGET))
	req := httptest.NewRequest(http.MethodGet, "/graphql?"+url.Values{"query": {overGET}, "extensions": {string(extensions)}}.Encode(), nil)
	req.RemoteAddr = "192.0.2.22:1001"
	req.Header.Set("GraphQL-Require-Preflight", "1")
	wantRateLimited(t, "a registration over GET past the allowance", api.serveAs(req, ""), "3")
	if texts, _ := storedAPQTexts(t, []string{apqHash(overGET)}); texts != 0 {
		t.Errorf("the refused registration over GET was stored")
	}
}

// Over a WebSocket, registrations count against the socket's address, and a text longer
// than the body limit (a message may be longer than a body) is run but never stored.
func TestPersistedQueryRegistrationsOverAWebSocket(t *testing.T) {
	limits := server.DefaultLimits()
	limits.MaxBodyBytes = 2048
	api := newTestAPIWith(t, testAPIOptions{limits: limits, rateLimits: server.RateLimits{PerIP: 20}, rateLimitNamespace: rateLimitNamespace(t)})
	httpServer := httptest.NewServer(api.handler)
	t.Cleanup(httpServer.Close)
	conn := dialSignedIn(t, "graphql-transport-ws", "ws"+strings.TrimPrefix(httpServer.URL, "http")+"/graphql", userViewer)
	run := func(id, query string) []wsMessage {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{"query": query, "extensions": apqExtensions(query)})
		if err := conn.WriteJSON(wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
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
	answered := func(id string, got []wsMessage) {
		t.Helper()
		if len(got) != 2 || got[0].Type != "next" || strings.Contains(string(got[0].Payload), `"errors"`) {
			t.Errorf("%s: %+v, want it answered", id, got)
		}
	}

	long := newQueryMarker() + "# " + strings.Repeat("x", limits.MaxBodyBytes) + "\n{ me { name } }"
	answered("longer than a body", run("long", long))
	first := newQueryMarker() + "{ me { name } }"
	answered("the first registration", run("first", first))
	second := newQueryMarker() + "{ me { id } }"
	answered("the second registration", run("second", second))
	third := newQueryMarker() + "{ me { name id } }"
	got := run("third", third)
	if len(got) != 2 || !strings.Contains(string(got[0].Payload), `"code":"RATE_LIMITED"`) {
		t.Errorf("the third registration from the socket's address: %+v, want RATE_LIMITED", got)
	}
	if texts, _ := storedAPQTexts(t, []string{apqHash(long)}); texts != 0 {
		t.Errorf("a text longer than the body limit was stored")
	}
	if texts, _ := storedAPQTexts(t, []string{apqHash(first), apqHash(second), apqHash(third)}); texts != 2 {
		t.Errorf("%d of the three registrations were stored, want the first two", texts)
	}
}
