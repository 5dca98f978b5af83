package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

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
