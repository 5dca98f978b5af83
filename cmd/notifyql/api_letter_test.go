package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql/server"
)

// precompiledLetterTemplate is service A's letter template in testdata/fixture.sql.
const precompiledLetterTemplate = "7e000000-0000-0000-0000-000000000003"

const cancelLetterMutation = `mutation($service: ID!, $id: ID!) { cancelLetter(serviceId: $service, notificationId: $id) {
	id status updatedAt statusHistory { status } } }`

// settableClock is a clock a test moves between requests.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// insertLetter adds a letter of service A with the status and creation time (UTC) given.
func insertLetter(t *testing.T, api *testAPI, id, status string, createdAt time.Time) {
	t.Helper()
	if _, err := api.pool.Exec(context.Background(), `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, billable_units, postage, created_at)
		VALUES ($1, $2, $3, 1, 'letter', E'A Person\n1 Road\nSW1A 2AA', '1roadsw1a2aa', 'normal', $4, 1, 'second', $5)`,
		id, serviceA, precompiledLetterTemplate, status, createdAt); err != nil {
		t.Fatal(err)
	}
}

func letterID(n int) string { return fmt.Sprintf("1e000000-0000-0000-0000-%012d", n) }

func mustUTC(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every window and message of DOMAIN.md §12.3, through the API with a moving clock: before
// and after 17:30 today, yesterday's letters on each side of the cut-off, older ones, and
// both sides of each summer-time change (Sunday 29 March and Sunday 25 October 2026).
func TestCancelLetterWindows(t *testing.T) {
	clock := &settableClock{}
	api := newTestAPIWithClock(t, server.Limits{}, clock.Now)
	tok := tokenFor(t, userViewer)
	const tooLate = "It’s too late to cancel this letter. Printing started "
	tests := []struct {
		name, status, created, now string
		want                       string // "" for a successful cancel, else the error message
	}{
		// Wed 12 Nov 2025 (GMT), DOMAIN.md's example day.
		{"created this morning, one second before the run", "created", "2025-11-12T09:00:00Z", "2025-11-12T17:29:59Z", ""},
		{"created this morning, at the run", "created", "2025-11-12T09:00:00Z", "2025-11-12T17:30:00Z", tooLate + "today at 5.30pm"},
		{"created this morning, after the run", "created", "2025-11-12T09:00:00Z", "2025-11-12T17:45:00Z", tooLate + "today at 5.30pm"},
		{"created exactly at 17:30 goes that evening", "created", "2025-11-12T17:30:00Z", "2025-11-12T17:30:00Z", tooLate + "today at 5.30pm"},
		{"created after 17:30 today", "created", "2025-11-12T17:40:00Z", "2025-11-12T17:45:00Z", ""},
		{"pending virus check after 17:30 today", "pending-virus-check", "2025-11-12T17:40:00Z", "2025-11-12T23:59:59Z", ""},
		{"yesterday after the cut-off, this morning", "created", "2025-11-11T18:00:00Z", "2025-11-12T10:00:00Z", ""},
		{"yesterday after the cut-off, at today's run", "created", "2025-11-11T18:00:00Z", "2025-11-12T17:30:00Z", tooLate + "today at 5.30pm"},
		{"yesterday before the cut-off", "created", "2025-11-11T10:00:00Z", "2025-11-12T09:00:00Z", tooLate + "on 11 November at 5.30pm"},
		{"Monday 18:00, on Wednesday evening (DOMAIN.md example)", "created", "2025-11-10T18:00:00Z", "2025-11-12T17:45:00Z", tooLate + "on 11 November at 5.30pm"},
		{"two days ago after the cut-off, this morning", "created", "2025-11-10T18:00:00Z", "2025-11-12T09:00:00Z", tooLate + "on 11 November at 5.30pm"},
		{"older than a day", "created", "2025-11-05T12:00:00Z", "2025-11-12T09:00:00Z", tooLate + "on 5 November at 5.30pm"},
		{"too late whatever the status", "delivered", "2025-11-05T12:00:00Z", "2025-11-12T09:00:00Z", tooLate + "on 5 November at 5.30pm"},
		{"too late comes before already cancelled", "cancelled", "2025-11-12T09:00:00Z", "2025-11-12T17:45:00Z", tooLate + "today at 5.30pm"},
		{"already cancelled", "cancelled", "2025-11-12T17:40:00Z", "2025-11-12T17:45:00Z", "This letter has already been cancelled."},
		{"sending", "sending", "2025-11-12T17:40:00Z", "2025-11-12T17:45:00Z", "We could not cancel this letter. Letter status: sending, created_at: 2025-11-12 17:40:00"},
		{"validation failed, created with microseconds", "validation-failed", "2025-11-12T17:40:00.000123Z", "2025-11-12T17:45:00Z",
			"We could not cancel this letter. Letter status: validation-failed, created_at: 2025-11-12 17:40:00.000123"},
		{"virus scan failed", "virus-scan-failed", "2025-11-12T17:40:00Z", "2025-11-12T17:45:00Z", "We could not cancel this letter. Letter status: virus-scan-failed, created_at: 2025-11-12 17:40:00"},

		// Clocks go forward at 01:00 UTC on Sunday 29 March 2026: 17:30 BST is 16:30 UTC.
		{"March: Saturday after the cut-off (GMT), Sunday before the run (BST)", "created", "2026-03-28T18:00:00Z", "2026-03-29T16:29:59Z", ""},
		{"March: Saturday after the cut-off (GMT), Sunday's run at 16:30 UTC", "created", "2026-03-28T18:00:00Z", "2026-03-29T16:30:00Z", tooLate + "today at 5.30pm"},
		{"March: Saturday before the cut-off (GMT), Sunday morning", "created", "2026-03-28T17:29:00Z", "2026-03-29T09:00:00Z", tooLate + "on 28 March at 5.30pm"},
		{"March: created Sunday 00:30 GMT, before the run", "created", "2026-03-29T00:30:00Z", "2026-03-29T16:29:59Z", ""},
		{"March: created Sunday 00:30 GMT, at the run", "created", "2026-03-29T00:30:00Z", "2026-03-29T16:30:00Z", tooLate + "today at 5.30pm"},
		{"March: Sunday 17:31 BST (16:31 UTC) is after the cut-off", "created", "2026-03-29T16:31:00Z", "2026-03-29T22:00:00Z", ""},
		{"March: Sunday 17:31 BST letter, Monday's run", "created", "2026-03-29T16:31:00Z", "2026-03-30T16:30:00Z", tooLate + "today at 5.30pm"},

		// Clocks go back at 01:00 UTC on Sunday 25 October 2026: 17:30 GMT is 17:30 UTC.
		{"October: Saturday before the cut-off (BST), at its run 16:30 UTC", "created", "2026-10-24T16:00:00Z", "2026-10-24T16:30:00Z", tooLate + "today at 5.30pm"},
		{"October: Saturday before the cut-off (BST), Sunday", "created", "2026-10-24T16:00:00Z", "2026-10-25T09:00:00Z", tooLate + "on 24 October at 5.30pm"},
		{"October: Saturday 18:00 BST, Sunday 17:29:59 GMT", "created", "2026-10-24T17:00:00Z", "2026-10-25T17:29:59Z", ""},
		{"October: Saturday 18:00 BST, Sunday's run at 17:30 UTC", "created", "2026-10-24T17:00:00Z", "2026-10-25T17:30:00Z", tooLate + "today at 5.30pm"},
		{"October: created Sunday 00:30 BST (Saturday 23:30 UTC), before the run", "created", "2026-10-24T23:30:00Z", "2026-10-25T17:29:59Z", ""},
		{"October: created Sunday 00:30 BST (Saturday 23:30 UTC), at the run", "created", "2026-10-24T23:30:00Z", "2026-10-25T17:30:00Z", tooLate + "today at 5.30pm"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := letterID(i + 1)
			insertLetter(t, api, id, tt.status, mustUTC(t, tt.created))
			now := mustUTC(t, tt.now)
			clock.set(now)
			resp := api.post(t, tok, cancelLetterMutation, map[string]any{"service": serviceA, "id": id})
			if tt.want == "" {
				resp.requireNoErrors(t)
				got := resp.at("cancelLetter").(map[string]any)
				if got["status"] != "CANCELLED" || got["updatedAt"] != now.Format(time.RFC3339) {
					t.Errorf("cancelled letter: %v", got)
				}
				return
			}
			if len(resp.Errors) != 1 || resp.Errors[0].Message != tt.want || resp.codeAt("cancelLetter") != "CONFLICT" {
				t.Fatalf("want CONFLICT %q: %s", tt.want, resp.body)
			}
			var status string
			if err := api.pool.QueryRow(context.Background(), `SELECT notification_status FROM notifications WHERE id = $1`, id).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if status != tt.status {
				t.Errorf("a refused cancel changed the status from %s to %s", tt.status, status)
			}
		})
	}
}

func TestCancelLetterRefusals(t *testing.T) {
	api := newTestAPI(t, server.Limits{})
	tok := tokenFor(t, userViewer)
	tests := []struct {
		name, service, id string
		wantCode, want    string
	}{
		{"no such notification", serviceA, "a0000000-0000-0000-0000-0000000000ff", "NOT_FOUND", "Notification not found"},
		{"another service's notification", serviceA, notificationB1, "NOT_FOUND", "Notification not found"},
		{"a notification of the service named under another service", serviceB, notificationA5, "NOT_FOUND", "service not found"},
		{"not a letter", serviceA, notificationA1, "BAD_USER_INPUT", "Notification cannot be cancelled - only letters can be cancelled"},
		{"not a letter (text message)", serviceA, notificationA3, "BAD_USER_INPUT", "Notification cannot be cancelled - only letters can be cancelled"},
		{"already cancelled (fixture letter A6)", serviceA, "a0000000-0000-0000-0000-000000000006", "CONFLICT", "This letter has already been cancelled."},
		{"malformed notification id", serviceA, "a0000000-0000", "BAD_USER_INPUT", "invalid notification id"},
		{"notification id with SQL in it", serviceA, "1' OR '1'='1", "BAD_USER_INPUT", "invalid notification id"},
		{"malformed service id", "service-a", notificationA5, "BAD_USER_INPUT", "invalid service id"},
		{"unknown service", "5d000000-0000-0000-0000-00000000000d", notificationA5, "NOT_FOUND", "service not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.post(t, tok, cancelLetterMutation, map[string]any{"service": tt.service, "id": tt.id})
			if code := resp.codeAt("cancelLetter"); code != tt.wantCode || len(resp.Errors) != 1 || resp.Errors[0].Message != tt.want {
				t.Errorf("want %s %q: %s", tt.wantCode, tt.want, resp.body)
			}
		})
	}
	// Wrong types and missing arguments fail validation before anything runs.
	for _, q := range []string{
		`mutation { cancelLetter(serviceId: true, notificationId: "x") { id } }`,
		`mutation { cancelLetter(serviceId: ["x"], notificationId: "x") { id } }`,
		`mutation { cancelLetter(notificationId: "a0000000-0000-0000-0000-000000000005") { id } }`,
		`mutation { cancelLetter(serviceId: "5a000000-0000-0000-0000-00000000000a", notificationId: null) { id } }`,
	} {
		if resp := api.post(t, tok, q, nil); resp.status != 200 || len(resp.Errors) == 0 || resp.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("%s: %s", q, resp.body)
		}
	}
	// Nothing was changed by any of it: letter A5 is still waiting to print.
	var status string
	if err := api.pool.QueryRow(context.Background(), `SELECT notification_status FROM notifications WHERE id = $1`, notificationA5).Scan(&status); err != nil || status != "created" {
		t.Errorf("letter A5: %q, %v", status, err)
	}
}

// A successful cancel shows in the notification's status history, written by the trigger,
// and in the detail's letter facts.
func TestCancelLetterShowsInTheStatusHistory(t *testing.T) {
	api := newTestAPI(t, server.Limits{})
	tok := tokenFor(t, userSender) // send_messages is enough
	resp := api.post(t, tok, cancelLetterMutation, map[string]any{"service": serviceA, "id": notificationA5})
	resp.requireNoErrors(t)
	want := map[string]any{"id": notificationA5, "status": "CANCELLED", "updatedAt": "2026-07-15T12:00:00Z",
		"statusHistory": []any{map[string]any{"status": "CREATED"}, map[string]any{"status": "SENDING"}, map[string]any{"status": "CREATED"}, map[string]any{"status": "CANCELLED"}}}
	if diff := cmp.Diff(want, resp.at("cancelLetter")); diff != "" {
		t.Errorf("cancelLetter (-want +got):\n%s", diff)
	}
	detail := api.post(t, tokenFor(t, userViewer), `query($id: ID!) { notification(id: $id) { status statusHistory { status at } letter { canBeCancelled statusNote } } }`,
		map[string]any{"id": notificationA5})
	detail.requireNoErrors(t)
	history := detail.at("notification", "statusHistory").([]any)
	if last := history[len(history)-1].(map[string]any); len(history) != 4 || last["status"] != "CANCELLED" || last["at"] == nil {
		t.Errorf("status history: %v", history)
	}
	if got := detail.at("notification", "letter"); !cmp.Equal(got, map[string]any{"canBeCancelled": false, "statusNote": "Cancelled 15 July"}) {
		t.Errorf("letter facts: %v", got)
	}
	// Cancelling again is refused, and writes no second history row.
	again := api.post(t, tok, cancelLetterMutation, map[string]any{"service": serviceA, "id": notificationA5})
	if len(again.Errors) != 1 || again.Errors[0].Message != "This letter has already been cancelled." {
		t.Errorf("second cancel: %s", again.body)
	}
	var rows int
	if err := api.pool.QueryRow(context.Background(), `SELECT count(*) FROM notification_status_history WHERE notification_id = $1 AND status = 'cancelled'`, notificationA5).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("cancelled history rows: %d, %v", rows, err)
	}
}

// A status another writer commits while the cancel waits for the row is not overwritten,
// and the caller is told the status it changed to.
func TestCancelLetterLosesARaceWithAStatusChange(t *testing.T) {
	api := newTestAPI(t, server.Limits{})
	ctx := context.Background()
	tx, err := api.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE notifications SET notification_status = 'sending' WHERE id = $1`, notificationA5); err != nil {
		t.Fatal(err)
	}
	done := make(chan gqlResponse, 1)
	go func() {
		done <- api.post(t, tokenFor(t, userViewer), cancelLetterMutation, map[string]any{"service": serviceA, "id": notificationA5})
	}()
	// Wait until the cancel's UPDATE waits for the row lock the open transaction holds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		if err := api.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE notifications%cancelled%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancel never waited for the row lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	resp := <-done
	if want := "We could not cancel this letter. Letter status: sending, created_at: 2026-07-15 11:00:00"; len(resp.Errors) != 1 || resp.Errors[0].Message != want {
		t.Errorf("want %q: %s", want, resp.body)
	}
	var status string
	if err := api.pool.QueryRow(ctx, `SELECT notification_status FROM notifications WHERE id = $1`, notificationA5).Scan(&status); err != nil || status != "sending" {
		t.Errorf("status after the race: %q, %v", status, err)
	}
}
