package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fourPagesOfService asks for four pages of notifications at once: four fields that each
// wait on the database, all pending when the client hangs up.
const fourPagesOfService = `query($id: ID!) {
	a: service(id: $id) { notifications(first: 1) { edges { node { id } } } }
	b: service(id: $id) { notifications(first: 2) { edges { node { id } } } }
	c: service(id: $id) { notifications(first: 3) { edges { node { id } } } }
	d: service(id: $id) { notifications(first: 4) { edges { node { id } } } }
}`

// A client that hangs up while many of its fields wait is one line at DEBUG or INFO (a
// client went away, with the request id), not a line per pending field, and never an ERROR
// or WARN; nothing is counted as an error. The bench's hang-ups logged 5,924 lines for
// 779 requests.
func TestClientHangUpWithManyPendingFieldsIsOneLine(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	_ = lockNotifications(t, api.pool)
	clientCtx, hangUp := context.WithCancel(context.Background())
	answered := make(chan gqlAnswer, 1)
	token := tokenFor(t, userManager)
	go func() {
		answered <- postOverHTTP(clientCtx, api.url, token, fourPagesOfService, map[string]any{"id": serviceA})
	}()
	waitForNotificationsPage(t, api.pool)
	hangUp()
	if answer := <-answered; answer.err == nil {
		t.Fatalf("the client that hung up got an answer: %s", answer.res.body)
	}

	const wentAway = `"msg":"client went away"`
	waitUntil(t, connectionTestWait, "a client went away line", func() bool { return strings.Contains(api.stderr.String(), wentAway) })
	// Time for any line a later field would log.
	time.Sleep(500 * time.Millisecond)
	requestID := ""
	for line := range strings.Lines(api.stderr.String()) {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("a client's hang-up logged: %s", line)
		}
		if strings.Contains(line, wentAway) {
			if !strings.Contains(line, `"level":"DEBUG"`) && !strings.Contains(line, `"level":"INFO"`) {
				t.Errorf("the hang-up is not logged at DEBUG or INFO: %s", line)
			}
			_, after, ok := strings.Cut(line, `"request_id":"`)
			if !ok {
				t.Fatalf("the hang-up's line has no request id: %s", line)
			}
			requestID, _, _ = strings.Cut(after, `"`)
		}
	}
	lines := 0
	for line := range strings.Lines(api.stderr.String()) {
		if strings.Contains(line, `"request_id":"`+requestID+`"`) {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("the request that hung up logged %d lines, want 1:\n%s", lines, api.stderr.String())
	}
	metrics := scrapeMetrics(t, api.metricsURL)
	for name, v := range metrics {
		if strings.HasPrefix(name, "notifyql_graphql_errors_total") && v != 0 {
			t.Errorf("%s = %v after a hang-up, want none", name, v)
		}
	}
}

// A socket that closes while an operation on it waits is as quiet as an HTTP client that
// hangs up: one "client went away" line at DEBUG, no ERROR or WARN, no error counted.
func TestSocketClosedMidOperationIsOneLine(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	_ = lockNotifications(t, api.pool)
	conn := dialSignedIn(t, "graphql-transport-ws", "ws"+strings.TrimPrefix(api.url, "http"), userManager)
	payload, _ := json.Marshal(map[string]any{"query": fourPagesOfService, "variables": map[string]any{"id": serviceA}})
	if err := conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	waitForNotificationsPage(t, api.pool)
	// Gone without a close frame, as a client whose network dropped.
	conn.Close()

	const wentAway = `"msg":"client went away"`
	waitUntil(t, connectionTestWait, "a client went away line", func() bool { return strings.Contains(api.stderr.String(), wentAway) })
	time.Sleep(500 * time.Millisecond)
	if n := strings.Count(api.stderr.String(), wentAway); n != 1 {
		t.Errorf("%d %s lines for one socket, want 1:\n%s", n, wentAway, api.stderr.String())
	}
	_, after, _ := strings.Cut(api.stderr.String()[strings.Index(api.stderr.String(), wentAway):], `"request_id":"`)
	requestID, _, _ := strings.Cut(after, `"`)
	if n := strings.Count(api.stderr.String(), `"request_id":"`+requestID+`"`); requestID == "" || n != 1 {
		t.Errorf("the socket (request id %q) logged %d lines, want 1:\n%s", requestID, n, api.stderr.String())
	}
	for line := range strings.Lines(api.stderr.String()) {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("a closed socket logged: %s", line)
		}
		if strings.Contains(line, wentAway) && !strings.Contains(line, `"level":"DEBUG"`) {
			t.Errorf("the closed socket is not logged at DEBUG: %s", line)
		}
	}
	for name, v := range scrapeMetrics(t, api.metricsURL) {
		if strings.HasPrefix(name, "notifyql_graphql_errors_total") && v != 0 {
			t.Errorf("%s = %v after a socket closed, want none", name, v)
		}
	}
}
