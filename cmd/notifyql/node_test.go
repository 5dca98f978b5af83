package main

import (
	"encoding/json"
	"testing"
	"time"
)

// nodeTotals is the part of a dashboardTotals payload this test reads, as the Node client
// prints it: one JSON object per line.
type nodeTotals struct {
	Data struct {
		DashboardTotals emailTotals `json:"dashboardTotals"`
	} `json:"data"`
}

// emailTotals is the part of a dashboardTotals snapshot the client tests follow.
type emailTotals struct {
	Email struct {
		Requested int `json:"requested"`
		Failed    int `json:"failed"`
	} `json:"email"`
}

// The real client: the npm graphql-ws client, over the ws package, subscribes to
// dashboardTotals; a plain SQL write through pgx commits and the update reaches it.
func TestNodeGraphQLWSClientSeesAPlainSQLWrite(t *testing.T) {
	wsURL, execSQL := newLiveAPI(t)
	// Two payloads: the snapshot at once, then the one with the write.
	client := startNode(t, 20*time.Second, nil, "subscribe.mjs", wsURL, tokenFor(t, userViewer), serviceA, "2", "15000")
	nextLine := func(within time.Duration) nodeTotals {
		t.Helper()
		line := client.nextLine(within)
		var payload nodeTotals
		if err := json.Unmarshal([]byte(line), &payload); err != nil {
			t.Fatalf("the Node client printed %q: %v", line, err)
		}
		return payload
	}

	first := nextLine(10 * time.Second).Data.DashboardTotals.Email
	execSQL(`INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'permanent-failure', $2)`,
		serviceA, time.Now().UTC())
	second := nextLine(10 * time.Second).Data.DashboardTotals.Email
	if second.Requested != first.Requested+1 || second.Failed != first.Failed+1 {
		t.Errorf("after one failed email: %+v, want requested %d and failed %d", second, first.Requested+1, first.Failed+1)
	}

	// Two payloads asked for, two received: the client disposes itself and exits 0.
	client.wait()
}
