package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"notifyql"
)

func TestExportRows(t *testing.T) {
	pool := newFixturePool(t)
	store := NewExportStore(pool)
	ctx := context.Background()
	since := fxTime(t, "2025-07-14T23:00:00Z") // London midnight, 15 July 2025

	// A job send by a user with template version 1, an API send with a reference and the
	// current template version, and rows each filter must leave out.
	fxExec(t, pool, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
		    "to", client_reference, key_type, notification_status, created_at, job_id,
		    job_row_number, api_key_id, created_by_id)
		VALUES
		  ($1, $2, $3, 1, 'email', ' ann@example.org', NULL, 'normal', 'delivered',
		   '2025-07-20 09:15:00', $4, 0, NULL, $5),
		  ($6, $2, $3, 2, 'email', 'bob@example.org', 'INV-0042', 'team', 'sending',
		   '2025-07-21 09:15:00.5', NULL, NULL, $7, NULL),
		  ($8, $2, $3, 2, 'email', 'test@example.org', NULL, 'test', 'delivered',
		   '2025-07-21 09:00:00', NULL, NULL, $9, NULL)`,
		fxNotificationID(1), fxAlphaID, fxEmailTemplateID, fxJobID, fxMemberID,
		fxNotificationID(2), fxLiveKeyID, fxNotificationID(3), fxTestKeyID)
	insertNotifications(t, pool,
		// Before the window by one microsecond.
		fxNotification{ID: fxNotificationID(4), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-14T22:59:59.999999Z"},
		// Exactly at the window's start: in.
		fxNotification{ID: fxNotificationID(5), Type: notifyql.TypeEmail, Status: notifyql.StatusPermanentFailure, CreatedAt: "2025-07-14T23:00:00Z"},
		// Another type, another service, a status outside the filter.
		fxNotification{ID: fxNotificationID(6), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-20T10:00:00Z"},
		fxNotification{ID: fxNotificationID(7), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-20T10:00:00Z"},
		fxNotification{ID: fxNotificationID(8), Type: notifyql.TypeEmail, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-20T10:00:00Z"},
	)
	filter := notifyql.ExportFilter{
		ServiceID: fxAlphaID, Type: notifyql.TypeEmail,
		Statuses: notifyql.ExpandStatusFilter(nil), Since: since,
	}
	got, err := store.ExportRows(ctx, filter, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []notifyql.ExportRow{
		{ID: fxNotificationID(2), CreatedAt: fxTime(t, "2025-07-21T09:15:00.5Z"), Recipient: "bob@example.org",
			Reference: "INV-0042", Template: "Payment reminder", Type: notifyql.TypeEmail,
			Status: notifyql.StatusSending, APIKeyName: "Live key"},
		{ID: fxNotificationID(1), CreatedAt: fxTime(t, "2025-07-20T09:15:00Z"), Recipient: " ann@example.org",
			Template: "Reminder", Type: notifyql.TypeEmail, SentBy: "Max Member",
			SentByEmail: "max@example.gov.uk", Job: "july.csv", Status: notifyql.StatusDelivered},
		{ID: fxNotificationID(5), CreatedAt: fxTime(t, "2025-07-14T23:00:00Z"), Recipient: "someone",
			Template: "Payment reminder", Type: notifyql.TypeEmail, Status: notifyql.StatusPermanentFailure},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExportRows (-want +got):\n%s", diff)
	}

	t.Run("status filter", func(t *testing.T) {
		f := filter
		f.Statuses = notifyql.ExpandStatusFilter([]notifyql.NotificationStatus{notifyql.StatusCancelled})
		got, err := store.ExportRows(ctx, f, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != fxNotificationID(8) {
			t.Errorf("cancelled only = %+v, want notification 8 alone", got)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		noStatuses, noType := filter, filter
		noStatuses.Statuses = nil
		noType.Type = ""
		for name, call := range map[string]func() error{
			"limit 0":       func() error { _, err := store.ExportRows(ctx, filter, nil, 0); return err },
			"no statuses":   func() error { _, err := store.ExportRows(ctx, noStatuses, nil, 10); return err },
			"no type":       func() error { _, err := store.ExportRows(ctx, noType, nil, 10); return err },
			"cursor not id": func() error { _, err := store.ExportRows(ctx, filter, &notifyql.Cursor{ID: "x"}, 10); return err },
		} {
			if code := notifyql.ErrorCode(call()); code != notifyql.EINVALID {
				t.Errorf("%s: code %q, want EINVALID", name, code)
			}
		}
		bad := filter
		bad.ServiceID = "not-a-uuid"
		got, err := store.ExportRows(ctx, bad, nil, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("service id not a UUID = %v, %v; want no rows", got, err)
		}
	})
}

// TestExportRowsBatchEdges pages through rows of which many share one created_at, with
// batch sizes that put the batch edges inside the tie: every row must come exactly once,
// in (created_at, id) DESC order.
func TestExportRowsBatchEdges(t *testing.T) {
	pool := newFixturePool(t)
	store := NewExportStore(pool)
	ctx := context.Background()
	var notifications []fxNotification
	for i := 1; i <= 40; i++ {
		created := "2025-07-20T12:00:00Z" // 30 rows share this instant
		switch {
		case i > 35:
			created = fmt.Sprintf("2025-07-20T13:00:0%dZ", i-35)
		case i > 30:
			created = fmt.Sprintf("2025-07-20T11:00:0%dZ", i-30)
		}
		notifications = append(notifications, fxNotification{ID: fxNotificationID(i), Type: notifyql.TypeSMS,
			Status: notifyql.StatusDelivered, CreatedAt: created})
	}
	insertNotifications(t, pool, notifications...)
	filter := notifyql.ExportFilter{ServiceID: fxAlphaID, Type: notifyql.TypeSMS,
		Statuses: notifyql.RequestedStatuses(), Since: fxTime(t, "2025-07-14T23:00:00Z")}

	rows, err := pool.Query(ctx, `
		SELECT id::text FROM notifications WHERE service_id = $1 ORDER BY created_at DESC, id DESC`, fxAlphaID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 3, 7, 10, 40, 41} {
		var got []string
		var after *notifyql.Cursor
		batches := 0
		for {
			batch, err := store.ExportRows(ctx, filter, after, size)
			if err != nil {
				t.Fatal(err)
			}
			if batches++; batches > len(want)+1 {
				t.Fatalf("batch size %d: still reading after %d batches", size, batches)
			}
			for _, r := range batch {
				got = append(got, r.ID)
			}
			if len(batch) < size {
				break
			}
			c := batch[len(batch)-1].Cursor()
			after = &c
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("batch size %d: ids (-want +got):\n%s", size, diff)
		}
		if wantBatches := len(want)/size + 1; batches != wantBatches {
			t.Errorf("batch size %d: %d batches, want %d", size, batches, wantBatches)
		}
	}
}

func TestExportEstimate(t *testing.T) {
	pool := newFixturePool(t)
	store := NewExportStore(pool)
	ctx := context.Background()
	fxExec(t, pool, `
		INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider,
		    rate_multiplier, international, rate, postage, billable_units, notifications_sent)
		VALUES
		  ('2025-07-13', $1, $3, 'sms', 'mmg', 1, false, 0.0227, 'none', 1, 1000),   -- before from
		  ('2025-07-14', $1, $3, 'sms', 'mmg', 1, false, 0.0227, 'none', 1, 200),    -- from
		  ('2025-07-14', $1, $3, 'sms', 'firetext', 1, false, 0.0227, 'none', 1, 30),
		  ('2025-07-21', $1, $3, 'sms', 'mmg', 2, true, 0.0227, 'none', 2, 4),       -- today
		  ('2025-07-20', $2, $3, 'email', 'ses', 1, false, 0, 'none', 0, 50000),     -- another type
		  ('2025-07-20', $1, $4, 'sms', 'mmg', 1, false, 0.0227, 'none', 1, 70000)   -- another service`,
		fxSMSTemplateID, fxEmailTemplateID, fxAlphaID, fxBetaID)
	from := notifyql.Date{Year: 2025, Month: time.July, Day: 14}
	for _, tc := range []struct {
		service string
		typ     notifyql.NotificationType
		want    int64
	}{
		{fxAlphaID, notifyql.TypeSMS, 234},
		{fxAlphaID, notifyql.TypeEmail, 50000},
		{fxAlphaID, notifyql.TypeLetter, 0},
		{fxDeltaID, notifyql.TypeSMS, 0},
		{"not-a-uuid", notifyql.TypeSMS, 0},
	} {
		got, err := store.ExportEstimate(ctx, tc.service, tc.typ, from)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("ExportEstimate(%s, %s) = %d, want %d", tc.service, tc.typ, got, tc.want)
		}
	}
}
