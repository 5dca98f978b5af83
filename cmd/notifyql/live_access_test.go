package main

import (
	"strings"
	"testing"
	"time"
)

// liveTotalsQuery subscribes to a service's dashboard totals for today.
const liveTotalsQuery = `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`

// insertEmailSQL writes one email notification of service A created now, as a sender would.
const insertEmailSQL = `INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
	VALUES (COALESCE($2::uuid, gen_random_uuid()), $1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'created', now() AT TIME ZONE 'utc')`

// forbiddenWithin waits for the subscription to end with a FORBIDDEN error and complete.
func forbiddenWithin(t *testing.T, stream <-chan map[string]any, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	sawForbidden := false
	for {
		select {
		case msg, ok := <-stream:
			if !ok {
				t.Fatal("the connection closed before the subscription completed")
			}
			errs, isErr := msg["errors"].(string)
			switch {
			case msg["type"] == "complete":
				if !sawForbidden {
					t.Fatalf("completed without a FORBIDDEN error")
				}
				return
			case isErr && strings.Contains(errs, `"code":"FORBIDDEN"`):
				sawForbidden = true
			case isErr:
				t.Fatalf("unexpected errors: %s", errs)
			}
		case <-deadline:
			t.Fatalf("no FORBIDDEN and complete within %s (saw FORBIDDEN: %v)", within, sawForbidden)
		}
	}
}

func TestSubscriptionEndsForbiddenWhenPermissionIsRevoked(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	stream := subscribeOverWebSocket(t, wsURL, userViewer, liveTotalsQuery, map[string]any{"id": serviceA})
	next(t, stream, 10*time.Second)
	// The relay may still be taking office: its election makes every subscription
	// re-check, which passes, and the revocation below must still be heard.
	time.Sleep(200 * time.Millisecond)

	exec(`DELETE FROM permissions WHERE user_id = $1 AND service_id = $2 AND permission = 'view_activity'`, userViewer, serviceA)
	forbiddenWithin(t, stream, 2*time.Second)
}

func TestSubscriptionEndsForbiddenWhenTheServiceIsDeactivated(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	stream := subscribeOverWebSocket(t, wsURL, userViewer, liveTotalsQuery, map[string]any{"id": serviceA})
	next(t, stream, 10*time.Second)
	time.Sleep(200 * time.Millisecond)

	exec(`UPDATE services SET active = false WHERE id = $1`, serviceA)
	forbiddenWithin(t, stream, 2*time.Second)
}

func TestInboxSubscriptionEndsForbiddenWhenTheFeatureIsSwitchedOff(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	stream := subscribeOverWebSocket(t, wsURL, userViewer,
		`subscription($id: ID!) { inbox(serviceId: $id) { summary { count } } }`, map[string]any{"id": serviceA})
	next(t, stream, 10*time.Second)
	time.Sleep(200 * time.Millisecond)

	exec(`DELETE FROM service_permissions WHERE service_id = $1 AND permission = 'inbound_sms'`, serviceA)
	forbiddenWithin(t, stream, 2*time.Second)
}

func TestSubscriptionOutlivesAnotherUsersRevocation(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	stream := subscribeOverWebSocket(t, wsURL, userViewer, liveTotalsQuery, map[string]any{"id": serviceA})
	first := next(t, stream, 10*time.Second)
	requested := first["dashboardTotals"].(map[string]any)["email"].(map[string]any)["requested"].(float64)

	exec(`DELETE FROM permissions WHERE user_id = $1`, userOther)
	exec(`DELETE FROM permissions WHERE user_id = $1 AND permission = 'send_texts'`, userSender)
	time.Sleep(500 * time.Millisecond) // long enough for a wrong ending to arrive
	exec(insertEmailSQL, serviceA, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		totals := next(t, stream, time.Until(deadline))["dashboardTotals"].(map[string]any)
		if totals["email"].(map[string]any)["requested"].(float64) == requested+1 {
			return
		}
	}
}

func TestNotificationSubscriptionSeesStatusChanges(t *testing.T) {
	const id = "a0000000-0000-0000-0000-0000000000f1"
	wsURL, exec := newLiveAPI(t)
	exec(insertEmailSQL, serviceA, id)
	const query = `subscription($id: ID!) { notification(id: $id) { id status statusHistory { status } } }`
	stream := subscribeOverWebSocket(t, wsURL, userSender, query, map[string]any{"id": id})
	first := next(t, stream, 10*time.Second)["notification"].(map[string]any)
	if first["status"] != "CREATED" || len(first["statusHistory"].([]any)) != 1 {
		t.Fatalf("first snapshot = %v, want created with one history row", first)
	}

	exec(`UPDATE notifications SET notification_status = 'delivered' WHERE id = $1`, id)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := next(t, stream, time.Until(deadline))["notification"].(map[string]any)
		if n["status"] == "DELIVERED" {
			if history := n["statusHistory"].([]any); len(history) != 2 {
				t.Errorf("status history = %v, want created then delivered", history)
			}
			return
		}
	}
}

func TestNotificationSubscriptionChecksPermissions(t *testing.T) {
	const id = "a0000000-0000-0000-0000-0000000000f2"
	wsURL, exec := newLiveAPI(t)
	exec(insertEmailSQL, serviceA, id)
	const query = `subscription($id: ID!) { notification(id: $id) { status } }`
	for _, tt := range []struct{ user, want string }{
		{userMember, "FORBIDDEN"},
		{userOther, "NOT_FOUND"},
		{userOrg, "NOT_FOUND"},
	} {
		stream := subscribeOverWebSocket(t, wsURL, tt.user, query, map[string]any{"id": id})
		select {
		case msg := <-stream:
			if errs, _ := msg["errors"].(string); !strings.Contains(errs, tt.want) {
				t.Errorf("%s: %v, want %s", tt.user, msg, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no answer", tt.user)
		}
	}
}

func TestUpcomingJobsSubscriptionSeesANewScheduledJob(t *testing.T) {
	wsURL, exec := newLiveAPI(t)
	const query = `subscription($id: ID!) { upcomingJobs(serviceId: $id) { id originalFileName scheduledFor } }`
	stream := subscribeOverWebSocket(t, wsURL, userViewer, query, map[string]any{"id": serviceA})
	if jobs := next(t, stream, 10*time.Second)["upcomingJobs"].([]any); len(jobs) != 0 {
		t.Fatalf("first snapshot = %v, want no upcoming jobs", jobs)
	}

	exec(`INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, job_status, scheduled_for)
		VALUES ('10b00000-0000-0000-0000-0000000000f1', $1, '7e000000-0000-0000-0000-000000000001', 1, 'later.csv', 'scheduled', (now() AT TIME ZONE 'utc') + interval '1 hour'),
		       ('10b00000-0000-0000-0000-0000000000f2', $1, '7e000000-0000-0000-0000-000000000001', 1, 'sooner.csv', 'scheduled', (now() AT TIME ZONE 'utc') + interval '10 minutes')`, serviceA)
	jobs := next(t, stream, 5*time.Second)["upcomingJobs"].([]any)
	var names []string
	for _, j := range jobs {
		names = append(names, j.(map[string]any)["originalFileName"].(string))
	}
	if strings.Join(names, ",") != "sooner.csv,later.csv" {
		t.Errorf("upcoming jobs = %v, want sooner.csv then later.csv", names)
	}
}

func TestUpcomingJobsSubscriptionNeedsViewActivity(t *testing.T) {
	wsURL, _ := newLiveAPI(t)
	const query = `subscription($id: ID!) { upcomingJobs(serviceId: $id) { id } }`
	stream := subscribeOverWebSocket(t, wsURL, userSender, query, map[string]any{"id": serviceA})
	select {
	case msg := <-stream:
		if errs, _ := msg["errors"].(string); !strings.Contains(errs, "FORBIDDEN") {
			t.Errorf("sender: %v, want FORBIDDEN", msg)
		}
	case <-time.After(5 * time.Second):
		t.Error("sender: no answer")
	}
}
