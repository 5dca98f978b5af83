package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"notifyql"
)

// The batch lookups node(id) uses: rows found among the ids, in one statement each; ids
// that are not UUIDs or name nothing are simply absent.

func TestNotificationsWithRelated(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	insertNotifications(t, pool,
		fxNotification{ID: fxNotificationID(1), Type: notifyql.TypeSMS, Status: notifyql.StatusCreated, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(2), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:00:00Z"},
		fxNotification{ID: fxNotificationID(3), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:00:00Z"})
	ids := []string{fxNotificationID(1), fxNotificationID(2), fxNotificationID(3), fxMissingID, "not-a-uuid"}
	now := time.Date(2025, 7, 21, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		scope notifyql.NotificationScope
		want  []string
	}{
		{"any service", notifyql.NotificationScope{AnyService: true}, []string{fxNotificationID(1), fxNotificationID(2), fxNotificationID(3)}},
		{"alpha only", notifyql.NotificationScope{ServiceIDs: []string{fxAlphaID}}, []string{fxNotificationID(1), fxNotificationID(2)}},
		{"no service", notifyql.NotificationScope{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			found, related, err := store.NotificationsWithRelated(context.Background(), ids, tt.scope, notifyql.NotificationIncludes{ServiceFacts: true}, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range found {
				got = append(got, n.ID)
				if n.ServiceID != fxAlphaID && n.ServiceID != fxBetaID {
					t.Errorf("%s: service %q", n.ID, n.ServiceID)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("found %v, want %v", got, tt.want)
			}
			if len(related.Services) != len(found) {
				t.Errorf("%d services read beside %d notifications", len(related.Services), len(found))
			}
		})
	}
}

func TestReportRequestsAndInboundTextsByIDs(t *testing.T) {
	pool := newFixturePool(t)
	store := NewInboxStore(pool)
	const request, text = "2e000000-0000-4000-8000-000000000001", "1a000000-0000-4000-8000-000000000001"
	fxExec(t, pool, `INSERT INTO report_requests (id, user_id, service_id, status, parameter, created_at) VALUES
		($1, $2, $3, 'deleted', '{"notification_type": "sms", "notification_status": "all"}', '2025-07-21 09:00')`, request, fxMemberID, fxAlphaID)
	fxExec(t, pool, `INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at) VALUES
		($1, $2, '07700900500', '447700900111', 'hello', 'mmg', '2025-07-21 09:00')`, text, fxBetaID)
	ids := []string{request, text, fxMissingID, "not-a-uuid"}

	requests, err := store.ReportRequestsByIDs(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 1 || requests[0].ID != request || requests[0].ServiceID != fxAlphaID || requests[0].Status != notifyql.ReportDeleted {
		t.Errorf("report requests: %+v", requests)
	}
	texts, err := store.InboundTextsByIDs(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 1 || texts[0].ID != text || texts[0].ServiceID != fxBetaID || texts[0].Content != "hello" {
		t.Errorf("inbound texts: %+v", texts)
	}
	if none, err := store.InboundTextsByIDs(t.Context(), []string{"not-a-uuid"}); err != nil || len(none) != 0 {
		t.Errorf("no UUIDs: %v, %v", none, err)
	}
}
