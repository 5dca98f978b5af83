package postgres

import (
	"testing"
	"time"

	"notifyql"
)

func TestInboxPage(t *testing.T) {
	pool := newFixturePool(t)
	store := NewInboxStore(pool)
	// Two texts from ...111 at the same instant: the higher id is its latest. ...112 wrote
	// before the window, ...113 twice inside it, and Beta's text is not Alpha's.
	fxExec(t, pool, `INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at) VALUES
		('1a000000-0000-4000-8000-000000000001', $1, '07700900500', '447700900111', 'a', 'mmg', '2025-07-21 09:00'),
		('1a000000-0000-4000-8000-000000000002', $1, '07700900500', '447700900111', 'b', 'mmg', '2025-07-21 09:00'),
		('1a000000-0000-4000-8000-000000000003', $1, '07700900500', '447700900112', 'c', 'mmg', '2025-07-13 22:59'),
		('1a000000-0000-4000-8000-000000000004', $1, '07700900500', '447700900113', 'd', 'mmg', '2025-07-20 08:00'),
		('1a000000-0000-4000-8000-000000000005', $1, '07700900500', '447700900113', 'e', 'mmg', '2025-07-14 08:00'),
		('1a000000-0000-4000-8000-000000000006', $2, '07700900501', '447700900114', 'f', 'mmg', '2025-07-21 09:30')`, fxAlphaID, fxBetaID)
	fxExec(t, pool, `INSERT INTO inbound_numbers (number, service_id, active) VALUES ('07700900500', $1, true), ('07700900502', $1, false)`, fxAlphaID)
	since := time.Date(2025, 7, 13, 23, 0, 0, 0, time.UTC)

	page, err := store.InboxPage(t.Context(), fxAlphaID, since, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].Content != "b" || !page.HasNext || page.InboundNumber == nil || *page.InboundNumber != "07700900500" {
		t.Errorf("first page: %+v", page)
	}
	page, err = store.InboxPage(t.Context(), fxAlphaID, since, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].Content != "d" || page.HasNext || page.Offset != 1 {
		t.Errorf("second page: %+v", page)
	}
	page, err = store.InboxPage(t.Context(), fxDeltaID, since, notifyql.InboxPageSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 0 || page.HasNext || page.InboundNumber != nil {
		t.Errorf("empty inbox: %+v", page)
	}
}

func TestReportRequest(t *testing.T) {
	pool := newFixturePool(t)
	store := NewInboxStore(pool)
	const id = "2e000000-0000-4000-8000-000000000001"
	fxExec(t, pool, `INSERT INTO report_requests (id, user_id, service_id, status, parameter, created_at) VALUES
		($1, $2, $3, 'in progress', '{"notification_type": "letter", "notification_status": "delivered"}', '2025-07-21 09:00')`, id, fxMemberID, fxAlphaID)
	got, err := store.ReportRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := notifyql.ReportRequest{ID: id, ServiceID: fxAlphaID, UserID: fxMemberID, Status: notifyql.ReportInProgress,
		NotificationType: notifyql.TypeLetter, NotificationStatus: notifyql.ReportOfDelivered, CreatedAt: time.Date(2025, 7, 21, 9, 0, 0, 0, time.UTC)}
	if *got != want {
		t.Errorf("ReportRequest = %+v, want %+v", *got, want)
	}
	for _, missing := range []string{fxMissingID, "not-a-uuid"} {
		if _, err := store.ReportRequest(t.Context(), missing); notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
			t.Errorf("ReportRequest(%s): %v, want ENOTFOUND", missing, err)
		}
	}
}
