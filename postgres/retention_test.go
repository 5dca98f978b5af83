package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// Retention in the store fixture: alpha keeps email 3 days and letters 30, sms the default
// 7; beta keeps sms 90; delta gets sms 30 here. At fxNow (11:00 BST, 21 July 2025) the
// windows start at these London midnights, written out by hand rather than computed:
//
//	7 days:  14 July 00:00 BST = 2025-07-13T23:00:00Z
//	3 days:  18 July 00:00 BST = 2025-07-17T23:00:00Z
//	30 days: 21 June 00:00 BST = 2025-06-20T23:00:00Z
//	90 days: 22 April 00:00 BST = 2025-04-21T23:00:00Z
const rtFixtureSQL = `
INSERT INTO service_data_retention (service_id, notification_type, days_of_retention) VALUES
    ('5e000000-0000-4000-8000-000000000004', 'sms', 30);`

// rtWindowsSQL lists every service and type whose window is not the 7-day default, for the
// checks that compare the tables with the hand-written windows above.
const rtWindowsSQL = `(VALUES
    ('5e000000-0000-4000-8000-000000000001'::uuid, 'email', timestamp '2025-07-17 23:00:00'),
    ('5e000000-0000-4000-8000-000000000001'::uuid, 'letter', timestamp '2025-06-20 23:00:00'),
    ('5e000000-0000-4000-8000-000000000002'::uuid, 'sms', timestamp '2025-04-21 23:00:00'),
    ('5e000000-0000-4000-8000-000000000004'::uuid, 'sms', timestamp '2025-06-20 23:00:00'))
    AS w (service_id, notification_type, window_start)`

const rtDefaultWindowStart = `timestamp '2025-07-13 23:00:00'`

// rtPersonalDataMarker starts every personal value the fixtures write, so that a search of
// the history tables' text can prove none arrived there.
const rtPersonalDataMarker = "PII-"

// rtNotification is a notification with personal data in every personal column.
type rtNotification struct {
	ID        string
	ServiceID string
	Type      notifyql.NotificationType
	CreatedAt string // RFC 3339
}

func rtInsertNotifications(tb testing.TB, pool *pgxpool.Pool, notifications ...rtNotification) {
	tb.Helper()
	templates := map[notifyql.NotificationType]struct {
		id      string
		version int
	}{
		notifyql.TypeEmail:  {fxEmailTemplateID, 2},
		notifyql.TypeSMS:    {fxSMSTemplateID, 1},
		notifyql.TypeLetter: {fxLetterTemplateID, 1},
	}
	batch := &pgx.Batch{}
	for _, n := range notifications {
		template := templates[n.Type]
		pii := rtPersonalDataMarker + n.ID
		batch.Queue(`
			INSERT INTO notifications (id, service_id, template_id, template_version,
			    notification_type, "to", normalised_to, personalisation, reply_to_text,
			    letter_validation, client_reference, key_type, notification_status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6 || '-to', $6 || '-normalised',
			        jsonb_build_object('name', $6 || '-personalisation'), $6 || '-reply',
			        jsonb_build_object('address', $6 || '-address'), $8, 'normal', 'created', $7)`,
			n.ID, n.ServiceID, template.id, template.version, string(n.Type), pii, fxTime(tb, n.CreatedAt),
			"ref-"+n.ID)
		if n.Type == notifyql.TypeLetter {
			// Every letter has a file here, so that the move can be seen to take it along.
			batch.Queue(`INSERT INTO letter_files (notification_id, pdf) VALUES ($1, convert_to($2 || '-pdf', 'UTF8'))`,
				n.ID, pii)
		}
		// A second status, so that each moved row has more than one status history row.
		batch.Queue(`UPDATE notifications SET notification_status = 'delivered' WHERE id = $1`, n.ID)
	}
	if err := pool.SendBatch(context.Background(), batch).Close(); err != nil {
		tb.Fatalf("insert notifications: %v", err)
	}
}

// rtInsertManyNotifications inserts n notifications spread over the services and types and
// over 100 days before fxNow, with varied statuses and keys.
func rtInsertManyNotifications(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	fxExec(tb, pool, `
		INSERT INTO notifications (service_id, template_id, template_version, notification_type,
		    "to", normalised_to, personalisation, reply_to_text, letter_validation, key_type,
		    notification_status, created_at)
		SELECT (ARRAY['5e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000002',
		              '5e000000-0000-4000-8000-000000000004'])[g % 3 + 1]::uuid,
		       t.id, t.version, t.type, 'PII-' || g || '-to', 'PII-' || g || '-normalised',
		       jsonb_build_object('name', 'PII-' || g || '-personalisation'), 'PII-' || g || '-reply',
		       jsonb_build_object('address', 'PII-' || g || '-address'),
		       (ARRAY['normal', 'team', 'test'])[g % 5 % 3 + 1],
		       (ARRAY['created', 'sending', 'delivered', 'permanent-failure'])[g % 4 + 1],
		       $2::timestamp - (g::bigint * 100 * 24 * 3600 / $1) * interval '1 second'
		  FROM generate_series(1, $1) g
		  JOIN (VALUES (0, '7e000000-0000-4000-8000-000000000001'::uuid, 2, 'email'),
		               (1, '7e000000-0000-4000-8000-000000000002'::uuid, 1, 'sms'),
		               (2, '7e000000-0000-4000-8000-000000000003'::uuid, 1, 'letter'))
		       AS t (k, id, version, type) ON t.k = g / 3 % 3`, n, fxNow)
	fxExec(tb, pool, `
		INSERT INTO letter_files (notification_id, pdf)
		SELECT id, convert_to('PII-pdf-' || id, 'UTF8') FROM notifications WHERE notification_type = 'letter'`)
	// Later statuses, so that status history has several rows per notification.
	fxExec(tb, pool, `UPDATE notifications SET notification_status = 'delivered' WHERE notification_status = 'sending'`)
}

// rtCounts is how many rows each table holds.
type rtCounts struct {
	Notifications, NotificationHistory, StatusHistory, InboundSMS, InboundSMSHistory int64
}

func rtCount(tb testing.TB, pool *pgxpool.Pool) rtCounts {
	tb.Helper()
	var c rtCounts
	err := pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM notifications), (SELECT count(*) FROM notification_history),
		       (SELECT count(*) FROM notification_status_history),
		       (SELECT count(*) FROM inbound_sms), (SELECT count(*) FROM inbound_sms_history)`).
		Scan(&c.Notifications, &c.NotificationHistory, &c.StatusHistory, &c.InboundSMS, &c.InboundSMSHistory)
	if err != nil {
		tb.Fatalf("count rows: %v", err)
	}
	return c
}

func rtIDs(tb testing.TB, pool *pgxpool.Pool, table string) []string {
	tb.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id::text FROM `+table+` ORDER BY id`)
	if err != nil {
		tb.Fatalf("list %s: %v", table, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatalf("list %s: %v", table, err)
	}
	return ids
}

// rtCounter is one row of notification_status_counts, or of the GROUP BY it must equal.
type rtCounter struct {
	ServiceID, BSTDate, TemplateID, Type, Key, Status string
	Count                                             int64
}

// rtCheckCounters fails unless the live counters equal a GROUP BY over notifications.
func rtCheckCounters(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	query := func(sql string) []rtCounter {
		rows, err := pool.Query(context.Background(), sql)
		if err != nil {
			tb.Fatalf("read counters: %v", err)
		}
		counters, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rtCounter])
		if err != nil {
			tb.Fatalf("read counters: %v", err)
		}
		return counters
	}
	kept := query(`
		SELECT service_id::text, bst_date::text, template_id::text, notification_type, key_type,
		       notification_status, notification_count
		  FROM notification_status_counts
		 ORDER BY 1, 2, 3, 4, 5, 6`)
	recounted := query(`
		SELECT service_id::text, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date::text,
		       template_id::text, notification_type, key_type, notification_status, count(*)
		  FROM notifications
		 GROUP BY 1, 2, 3, 4, 5, 6
		 ORDER BY 1, 2, 3, 4, 5, 6`)
	if diff := cmp.Diff(recounted, kept); diff != "" {
		tb.Errorf("notification_status_counts differs from a GROUP BY over notifications (-recounted +counters):\n%s", diff)
	}
}

// rtCheckWindows fails unless every notification left is inside its hand-written window and
// every history row is outside it: everything due moved, nothing else did.
func rtCheckWindows(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	var overdue, early int64
	err := pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM notifications n LEFT JOIN `+rtWindowsSQL+`
		           ON w.service_id = n.service_id AND w.notification_type = n.notification_type
		         WHERE n.created_at < coalesce(w.window_start, `+rtDefaultWindowStart+`)),
		       (SELECT count(*) FROM notification_history n LEFT JOIN `+rtWindowsSQL+`
		           ON w.service_id = n.service_id AND w.notification_type = n.notification_type
		         WHERE n.created_at >= coalesce(w.window_start, `+rtDefaultWindowStart+`))`).
		Scan(&overdue, &early)
	if err != nil {
		tb.Fatalf("check windows: %v", err)
	}
	if overdue != 0 || early != 0 {
		tb.Errorf("%d notifications left past their window, %d history rows still inside it; want 0 and 0", overdue, early)
	}
}

// rtCheckNoPersonalData fails if a history table has a personal column or any history
// row's text holds a personal value.
func rtCheckNoPersonalData(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		SELECT table_name || '.' || column_name
		  FROM information_schema.columns
		 WHERE table_schema = current_schema()
		   AND table_name IN ('notification_history', 'inbound_sms_history')
		   AND column_name IN ('to', 'normalised_to', 'personalisation', 'reply_to_text',
		                       'letter_validation', 'user_number', 'content')`)
	if err != nil {
		tb.Fatalf("list history columns: %v", err)
	}
	personalColumns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatalf("list history columns: %v", err)
	}
	if len(personalColumns) > 0 {
		tb.Errorf("history tables have personal columns: %v", personalColumns)
	}
	var leaks int64
	err = pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM notification_history h WHERE strpos(h::text, $1) > 0)
		     + (SELECT count(*) FROM inbound_sms_history h WHERE strpos(h::text, $1) > 0)`,
		rtPersonalDataMarker).Scan(&leaks)
	if err != nil {
		tb.Fatalf("search history for personal data: %v", err)
	}
	if leaks > 0 {
		tb.Errorf("%d history rows hold personal data", leaks)
	}
	// The fixtures store a file for every letter: a moved letter's file must have gone with
	// it, and a letter still in notifications must keep its own.
	var missing, orphaned int64
	err = pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM notifications n
		         WHERE n.notification_type = 'letter'
		           AND NOT EXISTS (SELECT 1 FROM letter_files f WHERE f.notification_id = n.id)),
		       (SELECT count(*) FROM letter_files f JOIN notification_history h ON h.id = f.notification_id)`).
		Scan(&missing, &orphaned)
	if err != nil {
		tb.Fatalf("check letter files: %v", err)
	}
	if missing > 0 || orphaned > 0 {
		tb.Errorf("%d letters in notifications lost their file, %d moved letters kept theirs; want 0 and 0", missing, orphaned)
	}
}

func rtNewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool := newFixturePool(tb)
	fxExec(tb, pool, rtFixtureSQL)
	return pool
}

func TestRetentionMoverMovesNotificationsPastTheirWindow(t *testing.T) {
	const (
		alpha = fxAlphaID
		beta  = fxBetaID
		delta = fxDeltaID
		gamma = fxGammaID
	)
	type row struct {
		service   string
		typ       notifyql.NotificationType
		createdAt string
		moves     bool
	}
	tests := []struct {
		name string
		now  time.Time
		rows []row
	}{
		{
			name: "summer: windows start at London midnight (23:00 UTC)",
			now:  fxNow,
			rows: []row{
				// Default 7 days: the window starts 14 July 00:00 BST.
				{alpha, notifyql.TypeSMS, "2025-07-13T22:59:59Z", true},
				{alpha, notifyql.TypeSMS, "2025-07-13T23:00:00Z", false},
				{gamma, notifyql.TypeEmail, "2025-07-13T22:59:59Z", true},
				{gamma, notifyql.TypeLetter, "2025-07-13T23:00:00Z", false},
				// A UTC-midnight cutoff would get these two wrong.
				{gamma, notifyql.TypeSMS, "2025-07-13T23:30:00Z", false},
				{beta, notifyql.TypeEmail, "2025-07-13T23:59:59Z", false},
				// Alpha email: 3 days, from 18 July 00:00 BST.
				{alpha, notifyql.TypeEmail, "2025-07-17T22:59:59Z", true},
				{alpha, notifyql.TypeEmail, "2025-07-17T23:00:00Z", false},
				// Alpha letter: 30 days, from 21 June 00:00 BST.
				{alpha, notifyql.TypeLetter, "2025-06-20T22:59:59Z", true},
				{alpha, notifyql.TypeLetter, "2025-06-20T23:00:00Z", false},
				// Delta sms: 30 days.
				{delta, notifyql.TypeSMS, "2025-06-20T22:59:59Z", true},
				{delta, notifyql.TypeSMS, "2025-07-01T00:00:00Z", false},
				// Delta email keeps the default although its sms retention is 30.
				{delta, notifyql.TypeEmail, "2025-07-01T00:00:00Z", true},
				// Beta sms: 90 days, from 22 April 00:00 BST.
				{beta, notifyql.TypeSMS, "2025-04-21T22:59:59Z", true},
				{beta, notifyql.TypeSMS, "2025-04-21T23:00:00Z", false},
				// Today's rows never move.
				{beta, notifyql.TypeSMS, "2025-07-21T09:00:00Z", false},
			},
		},
		{
			name: "winter: windows start at London midnight (00:00 UTC)",
			// DOMAIN.md §14's example: at 10:00 GMT on 15 January, 7 days keep rows from
			// 8 January 00:00 GMT.
			now: time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC),
			rows: []row{
				{alpha, notifyql.TypeSMS, "2025-01-07T23:59:59Z", true},
				{alpha, notifyql.TypeSMS, "2025-01-08T00:00:00Z", false},
				// 3 days: from 12 January.
				{alpha, notifyql.TypeEmail, "2025-01-11T23:59:59Z", true},
				{alpha, notifyql.TypeEmail, "2025-01-12T00:00:00Z", false},
			},
		},
		{
			name: "just after London midnight the new day has begun",
			// 00:30 BST on 22 July, still the 21st in UTC: the 7-day window is from 15 July.
			now: time.Date(2025, 7, 21, 23, 30, 0, 0, time.UTC),
			rows: []row{
				{alpha, notifyql.TypeSMS, "2025-07-14T22:59:59Z", true},
				{alpha, notifyql.TypeSMS, "2025-07-14T23:00:00Z", false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := rtNewPool(t)
			ctx := context.Background()
			var notifications []rtNotification
			var wantMoved, wantKept []string
			for i, r := range tt.rows {
				id := fxNotificationID(i + 1)
				notifications = append(notifications, rtNotification{ID: id, ServiceID: r.service, Type: r.typ, CreatedAt: r.createdAt})
				if r.moves {
					wantMoved = append(wantMoved, id)
				} else {
					wantKept = append(wantKept, id)
				}
			}
			rtInsertNotifications(t, pool, notifications...)
			before := rtCount(t, pool)
			mover := NewRetentionMover(pool, fxLondon(t), nil)

			due, err := mover.NotificationsDue(ctx, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if due != int64(len(wantMoved)) {
				t.Errorf("NotificationsDue = %d, want %d", due, len(wantMoved))
			}
			if got := rtCount(t, pool); got != before {
				t.Errorf("NotificationsDue changed the tables: %+v, was %+v", got, before)
			}

			moved, err := mover.MoveNotifications(ctx, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if moved != int64(len(wantMoved)) {
				t.Errorf("MoveNotifications moved %d, want %d", moved, len(wantMoved))
			}
			if diff := cmp.Diff(wantMoved, rtIDs(t, pool, "notification_history")); diff != "" {
				t.Errorf("notification_history ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantKept, rtIDs(t, pool, "notifications")); diff != "" {
				t.Errorf("notifications ids (-want +got):\n%s", diff)
			}
			after := rtCount(t, pool)
			if after.Notifications+after.NotificationHistory != before.Notifications+before.NotificationHistory {
				t.Errorf("notifications + history = %d after, %d before", after.Notifications+after.NotificationHistory,
					before.Notifications+before.NotificationHistory)
			}
			// Each fixture notification has two status history rows; the moved ones' go.
			if want := 2 * int64(len(wantKept)); after.StatusHistory != want {
				t.Errorf("status history rows = %d, want %d (2 per kept notification)", after.StatusHistory, want)
			}
			rtCheckCounters(t, pool)
			rtCheckNoPersonalData(t, pool)

			again, err := mover.MoveNotifications(ctx, tt.now)
			if err != nil || again != 0 {
				t.Errorf("second run moved %d, %v; want 0, nil", again, err)
			}
		})
	}
}

func TestRetentionMoverCopiesEverythingButPersonalData(t *testing.T) {
	pool := rtNewPool(t)
	ctx := context.Background()
	id := fxNotificationID(1)
	fxExec(t, pool, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
		    "to", normalised_to, client_reference, key_type, notification_status, billable_units,
		    rate_multiplier, international, phone_prefix, postage, created_at, updated_at, sent_at,
		    sent_by, job_id, job_row_number, api_key_id, created_by_id, reply_to_text,
		    personalisation, letter_validation, page_count)
		VALUES ($1, $2, $3, 1, 'sms', 'PII-to', 'PII-normalised', 'ref-7', 'normal', 'delivered', 3,
		        1.5, true, '33', NULL, '2025-07-01 08:00:00', '2025-07-01 08:01:00',
		        '2025-07-01 08:00:30', 'mmg', $4, 7, $5, $6, 'PII-reply', '{"name": "PII-name"}',
		        '{"address": "PII-address"}', 2)`,
		id, fxAlphaID, fxSMSTemplateID, fxJobID, fxLiveKeyID, fxMemberID)
	want := rtAllColumns(t, pool, "notifications", id)
	for _, personal := range []string{"to", "normalised_to", "personalisation", "reply_to_text", "letter_validation"} {
		delete(want, personal)
	}

	if _, err := NewRetentionMover(pool, fxLondon(t), nil).MoveNotifications(ctx, fxNow); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rtAllColumns(t, pool, "notification_history", id)); diff != "" {
		t.Errorf("history row (-notification without personal data +history):\n%s", diff)
	}
	rtCheckNoPersonalData(t, pool)
}

// rtAllColumns returns a row's columns as text, keyed by name.
func rtAllColumns(tb testing.TB, pool *pgxpool.Pool, table, id string) map[string]string {
	tb.Helper()
	var row map[string]string
	err := pool.QueryRow(context.Background(),
		`SELECT (SELECT jsonb_object_agg(key, value) FROM jsonb_each_text(to_jsonb(t))) FROM `+table+` t WHERE id = $1`, id).
		Scan(&row)
	if err != nil {
		tb.Fatalf("read %s row: %v", table, err)
	}
	return row
}

func TestRetentionMoverInterruptedRunLosesNothing(t *testing.T) {
	pool := rtNewPool(t)
	ctx := context.Background()
	rtInsertManyNotifications(t, pool, 600)
	before := rtCount(t, pool)
	mover := NewRetentionMover(pool, fxLondon(t), nil).BatchSize(7)
	due, err := mover.NotificationsDue(ctx, fxNow)
	if err != nil {
		t.Fatal(err)
	}
	if due < 100 {
		t.Fatalf("only %d notifications due: the fixture should give several batches", due)
	}

	// Cancel the run when its third batch has committed.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var batches int
	mover.afterBatch = func(int64) {
		if batches++; batches == 3 {
			cancel()
		}
	}
	moved, err := mover.MoveNotifications(runCtx, fxNow)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	if moved != 3*7 {
		t.Errorf("interrupted run moved %d, want %d (three batches of 7)", moved, 3*7)
	}
	mid := rtCount(t, pool)
	if mid.Notifications+mid.NotificationHistory != before.Notifications+before.NotificationHistory ||
		mid.NotificationHistory != moved {
		t.Errorf("after the interruption: %+v, before: %+v; want the %d moved rows in history and none lost", mid, before, moved)
	}
	rtCheckCounters(t, pool)

	mover.afterBatch = nil
	rest, err := mover.MoveNotifications(ctx, fxNow)
	if err != nil {
		t.Fatal(err)
	}
	if moved+rest != due {
		t.Errorf("moved %d then %d, want %d in all", moved, rest, due)
	}
	after := rtCount(t, pool)
	if after.Notifications+after.NotificationHistory != before.Notifications+before.NotificationHistory ||
		after.NotificationHistory != due {
		t.Errorf("after the rerun: %+v, before: %+v; want all %d due in history and none lost", after, before, due)
	}
	rtCheckWindows(t, pool)
	rtCheckCounters(t, pool)
	rtCheckNoPersonalData(t, pool)
	var orphans int64
	if err := pool.QueryRow(ctx, `
		SELECT count(*) FROM notification_status_history s
		 WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = s.notification_id)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d status history rows outlived their notification", orphans)
	}
}

// A writer holding an old notification does not stop the run: the row is skipped and moves
// next time. The batch does wait for the writer's commit when both touch the same live
// counter row (here: alpha, 1 July, sms, delivered), which the counter triggers serialise.
func TestRetentionMoverRunsBesideAWriter(t *testing.T) {
	pool := rtNewPool(t)
	ctx := context.Background()
	held, free := fxNotificationID(1), fxNotificationID(2)
	rtInsertNotifications(t, pool,
		rtNotification{ID: held, ServiceID: fxAlphaID, Type: notifyql.TypeSMS, CreatedAt: "2025-07-01T08:00:00Z"},
		rtNotification{ID: free, ServiceID: fxAlphaID, Type: notifyql.TypeSMS, CreatedAt: "2025-07-01T09:00:00Z"},
	)
	writer, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback(ctx)
	if _, err := writer.Exec(ctx, `UPDATE notifications SET notification_status = 'permanent-failure' WHERE id = $1`, held); err != nil {
		t.Fatal(err)
	}

	mover := NewRetentionMover(pool, fxLondon(t), nil)
	runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	type result struct {
		moved int64
		err   error
	}
	done := make(chan result, 1)
	go func() {
		moved, err := mover.MoveNotifications(runCtx, fxNow)
		done <- result{moved, err}
	}()
	// Commit once the run is waiting on the writer's counter row lock.
	for waiting := false; !waiting; {
		select {
		case r := <-done:
			t.Fatalf("run finished (%d, %v) without waiting for the counter row", r.moved, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if err := pool.QueryRow(ctx, `
			SELECT count(*) > 0 FROM pg_stat_activity
			 WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.moved != 1 {
		t.Fatalf("run beside a writer moved %d, %v; want 1 (the row it did not hold), nil", r.moved, r.err)
	}
	if diff := cmp.Diff([]string{free}, rtIDs(t, pool, "notification_history")); diff != "" {
		t.Errorf("history after the first run (-want +got):\n%s", diff)
	}
	moved, err := mover.MoveNotifications(ctx, fxNow)
	if err != nil || moved != 1 {
		t.Fatalf("next run moved %d, %v; want 1, nil", moved, err)
	}
	var status string
	if err := pool.QueryRow(ctx, `SELECT notification_status FROM notification_history WHERE id = $1`, held).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "permanent-failure" {
		t.Errorf("held row moved with status %q, want the writer's permanent-failure", status)
	}
	rtCheckCounters(t, pool)
}

func TestRetentionMoverMovesInboundSMS(t *testing.T) {
	// Alpha has an inbound number but no sms retention row: 7 days. Delta has an inbound
	// number (inactive: still its number) and sms 30. Beta has sms 90 but no inbound
	// number: 7 days.
	const inboundSQL = `
		INSERT INTO inbound_numbers (number, service_id, active) VALUES
		    ('447700900001', '5e000000-0000-4000-8000-000000000001', true),
		    ('447700900004', '5e000000-0000-4000-8000-000000000004', false);`
	tests := []struct {
		name      string
		service   string
		createdAt string
		moves     bool
	}{
		{"inbound number, no sms retention: 7 days, just before", fxAlphaID, "2025-07-13T22:59:59Z", true},
		{"inbound number, no sms retention: 7 days, from London midnight", fxAlphaID, "2025-07-13T23:00:00Z", false},
		{"inbound number and sms 30: just before", fxDeltaID, "2025-06-20T22:59:59Z", true},
		{"inbound number and sms 30: from London midnight", fxDeltaID, "2025-06-20T23:00:00Z", false},
		{"inbound number and sms 30: 10 days old", fxDeltaID, "2025-07-11T12:00:00Z", false},
		{"sms 90 without inbound number: 7 days", fxBetaID, "2025-07-11T12:00:00Z", true},
		{"sms 90 without inbound number: inside 7 days", fxBetaID, "2025-07-14T12:00:00Z", false},
		{"no retention and no number: 7 days", fxGammaID, "2025-07-01T12:00:00Z", true},
	}
	pool := rtNewPool(t)
	ctx := context.Background()
	fxExec(t, pool, inboundSQL)
	batch := &pgx.Batch{}
	var wantMoved, wantKept []string
	for i, tt := range tests {
		id := fmt.Sprintf("1b000000-0000-4000-8000-%012d", i+1)
		batch.Queue(`
			INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider,
			    provider_reference, provider_date, created_at)
			VALUES ($1, $2, '447700900001', $4 || '-number', $4 || '-content',
			        'mmg', 'provider-ref', $3, $3)`, id, tt.service, fxTime(t, tt.createdAt), rtPersonalDataMarker+id)
		if tt.moves {
			wantMoved = append(wantMoved, id)
		} else {
			wantKept = append(wantKept, id)
		}
	}
	if err := pool.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	before := rtCount(t, pool)
	mover := NewRetentionMover(pool, fxLondon(t), nil).BatchSize(2)

	due, err := mover.InboundSMSDue(ctx, fxNow)
	if err != nil || due != int64(len(wantMoved)) {
		t.Errorf("InboundSMSDue = %d, %v; want %d", due, err, len(wantMoved))
	}
	moved, err := mover.MoveInboundSMS(ctx, fxNow)
	if err != nil || moved != int64(len(wantMoved)) {
		t.Errorf("MoveInboundSMS = %d, %v; want %d", moved, err, len(wantMoved))
	}
	if diff := cmp.Diff(wantMoved, rtIDs(t, pool, "inbound_sms_history")); diff != "" {
		t.Errorf("inbound_sms_history ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantKept, rtIDs(t, pool, "inbound_sms")); diff != "" {
		t.Errorf("inbound_sms ids (-want +got):\n%s", diff)
	}
	after := rtCount(t, pool)
	if after.InboundSMS+after.InboundSMSHistory != before.InboundSMS+before.InboundSMSHistory {
		t.Errorf("inbound rows: %+v after, %+v before", after, before)
	}
	rtCheckNoPersonalData(t, pool)
	var provider, reference string
	var providerDate, createdAt time.Time
	err = pool.QueryRow(ctx, `
		SELECT provider, provider_reference, provider_date, created_at FROM inbound_sms_history WHERE id = $1`,
		wantMoved[0]).Scan(&provider, &reference, &providerDate, &createdAt)
	if err != nil {
		t.Fatal(err)
	}
	if provider != "mmg" || reference != "provider-ref" || !createdAt.Equal(fxTime(t, tests[0].createdAt)) || !providerDate.Equal(createdAt) {
		t.Errorf("history keeps %q %q %s %s; want the inbound row's provider, reference and times", provider, reference, providerDate, createdAt)
	}
	if again, err := mover.MoveInboundSMS(ctx, fxNow); err != nil || again != 0 {
		t.Errorf("second run moved %d, %v; want 0, nil", again, err)
	}
}

func TestRetentionMoverLogsNoPersonalData(t *testing.T) {
	pool := rtNewPool(t)
	rtInsertManyNotifications(t, pool, 60)
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mover := NewRetentionMover(pool, fxLondon(t), logger).BatchSize(5)
	if _, err := mover.MoveNotifications(context.Background(), fxNow); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), rtPersonalDataMarker) {
		t.Errorf("logs hold personal data:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "moved notifications to history") {
		t.Errorf("logs do not report the move:\n%s", logs.String())
	}
}

func TestRetentionMoverBatchSizeIsAtLeastOne(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 500} {
		if got := (&RetentionMover{}).BatchSize(n).batchSize; got != max(n, 1) {
			t.Errorf("BatchSize(%d) = %d, want %d", n, got, max(n, 1))
		}
	}
	if got := NewRetentionMover(nil, nil, nil).batchSize; got != DefaultRetentionBatchSize {
		t.Errorf("default batch size = %d, want %d", got, DefaultRetentionBatchSize)
	}
}

// TestRetentionMoverVolume moves tens of thousands of rows in default-size batches and
// reports the time, for the closing note.
func TestRetentionMoverVolume(t *testing.T) {
	if testing.Short() {
		t.Skip("volume test")
	}
	pool := rtNewPool(t)
	ctx := context.Background()
	rtInsertManyNotifications(t, pool, 30_000)
	before := rtCount(t, pool)
	start := time.Now()
	moved, err := NewRetentionMover(pool, fxLondon(t), nil).MoveNotifications(ctx, fxNow)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Logf("moved %d of %d notifications (%d status history rows) in %s", moved, before.Notifications,
		before.StatusHistory, elapsed.Round(time.Millisecond))
	after := rtCount(t, pool)
	if after.Notifications+after.NotificationHistory != before.Notifications || after.NotificationHistory != moved {
		t.Errorf("after: %+v, before: %+v", after, before)
	}
	rtCheckWindows(t, pool)
	rtCheckCounters(t, pool)
	if moved <= DefaultRetentionBatchSize {
		t.Errorf("moved %d, want more than one default batch", moved)
	}
}

func TestRetentionMoverJobs(t *testing.T) {
	pool := rtNewPool(t)
	ctx := context.Background()
	fxExec(t, pool, `
		INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at)
		VALUES ($1, '447700900001', 'PII-number', 'PII-content', 'mmg', '2025-07-01 12:00:00')`, fxAlphaID)
	rtInsertNotifications(t, pool,
		rtNotification{ID: fxNotificationID(1), ServiceID: fxAlphaID, Type: notifyql.TypeSMS, CreatedAt: "2025-07-01T12:00:00Z"})
	jobs := NewRetentionMover(pool, fxLondon(t), nil).Jobs(func() time.Time { return fxNow })
	if err := validateJobs(jobs); err != nil {
		t.Fatal(err)
	}
	type schedule struct {
		Name    string
		DailyAt time.Duration
	}
	var got []schedule
	for _, j := range jobs {
		got = append(got, schedule{j.Name, j.DailyAt})
		if err := j.Run(ctx); err != nil {
			t.Fatalf("run %s: %v", j.Name, err)
		}
	}
	want := []schedule{
		{"retention-inbound-sms", time.Hour + 40*time.Minute},
		{"retention-notifications", 3 * time.Hour},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if c := rtCount(t, pool); c.NotificationHistory != 1 || c.InboundSMSHistory != 1 || c.Notifications != 0 || c.InboundSMS != 0 {
		t.Errorf("after the jobs ran: %+v; want both rows in history", c)
	}
}
