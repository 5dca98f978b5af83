package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"notifyql"
)

// statsFactsSQL holds alpha's facts around fxNow (21 July 2025), plus rows every reader
// must skip: a test key, another service, and a row for "today" that the nightly run never
// writes (§4.1) but that must not be double counted if it were.
const statsFactsSQL = `
INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type,
                                    key_type, notification_status, notification_count) VALUES
    ('2025-07-17', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'delivered', 100),
    ('2025-07-18', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'delivered', 5),
    ('2025-07-18', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     '10b00000-0000-4000-8000-000000000001', 'email', 'team', 'delivered', 2),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001',
     '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'sending', 3),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     '00000000-0000-0000-0000-000000000000', 'email', 'test', 'delivered', 4),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001',
     '00000000-0000-0000-0000-000000000000', 'letter', 'normal', 'cancelled', 1),
    ('2025-07-21', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'delivered', 50),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000002',
     '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'delivered', 9);
`

// spec51SQL is DOMAIN.md §5.1 as written, scanning notifications for today, bounded above
// by tomorrow's London midnight ($5) because the fixture holds a row from tomorrow.
const spec51SQL = `
SELECT template_id, type, status, SUM(n)::bigint AS count FROM (
  SELECT template_id, notification_type AS type, notification_status AS status, SUM(notification_count) AS n
    FROM ft_notification_status
   WHERE service_id = $1 AND key_type <> 'test' AND bst_date >= $2 AND bst_date < $3
   GROUP BY 1, 2, 3
  UNION ALL
  SELECT template_id, notification_type::text, notification_status, COUNT(*)
    FROM notifications
   WHERE service_id = $1 AND key_type <> 'test' AND created_at >= $4 AND created_at < $5
   GROUP BY 1, 2, 3) u
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3`

func TestStatusCounts(t *testing.T) {
	pool := newFixturePool(t)
	loc := fxLondon(t)
	store := NewNotificationStore(pool, loc)
	ctx := context.Background()
	fxExec(t, pool, statsFactsSQL)
	insertNotifications(t, pool,
		// 00:30 BST on 21 July: today in London though still the 20th in UTC.
		fxNotification{ID: fxNotificationID(1), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-20T23:30:00Z"},
		// 23:59:59 BST on 20 July: yesterday, which the facts cover.
		fxNotification{ID: fxNotificationID(2), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-20T22:59:59Z"},
		fxNotification{ID: fxNotificationID(3), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Key: notifyql.KeyTest, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(4), Type: notifyql.TypeLetter, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-21T08:00:00Z"},
		fxNotification{ID: fxNotificationID(5), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(6), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:10:00Z"},
		fxNotification{ID: fxNotificationID(7), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:20:00Z"},
		// 00:30 BST on 22 July: tomorrow in London.
		fxNotification{ID: fxNotificationID(8), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T23:30:00Z"},
		fxNotification{ID: fxNotificationID(9), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T09:00:00Z"},
	)
	// The live counters follow updates and deletes.
	fxExec(t, pool, `UPDATE notifications SET notification_status = 'delivered' WHERE id = $1`, fxNotificationID(6))
	fxExec(t, pool, `DELETE FROM notifications WHERE id = $1`, fxNotificationID(7))

	email := func(status notifyql.NotificationStatus, n int64) notifyql.StatusCount {
		return notifyql.StatusCount{TemplateID: fxEmailTemplateID, Type: notifyql.TypeEmail, Status: status, Count: n}
	}
	sms := func(status notifyql.NotificationStatus, n int64) notifyql.StatusCount {
		return notifyql.StatusCount{TemplateID: fxSMSTemplateID, Type: notifyql.TypeSMS, Status: status, Count: n}
	}
	letter := func(status notifyql.NotificationStatus, n int64) notifyql.StatusCount {
		return notifyql.StatusCount{TemplateID: fxLetterTemplateID, Type: notifyql.TypeLetter, Status: status, Count: n}
	}
	date := func(day int) notifyql.Date { return notifyql.Date{Year: 2025, Month: time.July, Day: day} }

	tests := []struct {
		name string
		from notifyql.Date
		now  string
		want []notifyql.StatusCount
	}{
		{
			name: "3 days: facts from the 18th to the 20th plus today's counters",
			from: date(18), now: "2025-07-21T10:00:00Z",
			want: []notifyql.StatusCount{
				email(notifyql.StatusDelivered, 5+2+1),
				sms(notifyql.StatusDelivered, 1), sms(notifyql.StatusSending, 3+1),
				letter(notifyql.StatusCancelled, 1+1),
			},
		},
		{
			name: "first hour after London midnight is already the 21st",
			from: date(18), now: "2025-07-20T23:40:00Z",
			want: []notifyql.StatusCount{
				email(notifyql.StatusDelivered, 5+2+1),
				sms(notifyql.StatusDelivered, 1), sms(notifyql.StatusSending, 3+1),
				letter(notifyql.StatusCancelled, 1+1),
			},
		},
		{
			name: "last second of the 20th in London: the 20th is today",
			from: date(18), now: "2025-07-20T22:59:59Z",
			want: []notifyql.StatusCount{email(notifyql.StatusDelivered, 5+2+1)},
		},
		{
			name: "0 days: today only",
			from: date(21), now: "2025-07-21T10:00:00Z",
			want: []notifyql.StatusCount{
				email(notifyql.StatusDelivered, 1),
				sms(notifyql.StatusDelivered, 1), sms(notifyql.StatusSending, 1),
				letter(notifyql.StatusCancelled, 1),
			},
		},
		{
			name: "7 days reaches the 17th",
			from: date(14), now: "2025-07-21T10:00:00Z",
			want: []notifyql.StatusCount{
				email(notifyql.StatusDelivered, 100+5+2+1),
				sms(notifyql.StatusDelivered, 1), sms(notifyql.StatusSending, 3+1),
				letter(notifyql.StatusCancelled, 1+1),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := fxTime(t, tt.now)
			got, err := store.StatusCounts(ctx, fxAlphaID, tt.from, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("StatusCounts (-want +got):\n%s", diff)
			}

			// The counters give what §5.1's scan of notifications gives.
			today := notifyql.LondonDate(now, loc)
			rows, err := pool.Query(ctx, spec51SQL, fxAlphaID, tt.from.Time(), today.Time(),
				notifyql.LondonMidnight(today, loc), notifyql.LondonMidnight(today.AddDays(1), loc))
			if err != nil {
				t.Fatal(err)
			}
			scanned, err := pgx.CollectRows(rows, pgx.RowToStructByName[notifyql.StatusCount])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(scanned, got); diff != "" {
				t.Errorf("StatusCounts differs from DOMAIN §5.1 over notifications (-spec +got):\n%s", diff)
			}
			requireWindowSums(t, store, tt.from, now, got)
		})
	}

	t.Run("a counter that went back to zero, and a template with cancelled rows", func(t *testing.T) {
		now := fxTime(t, "2025-07-21T10:00:00Z")
		insertNotifications(t, pool,
			fxNotification{ID: fxNotificationID(10), Type: notifyql.TypeEmail, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:30:00Z"},
			fxNotification{ID: fxNotificationID(11), Type: notifyql.TypeEmail, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-21T09:40:00Z"})
		fxExec(t, pool, `UPDATE notifications SET notification_status = 'delivered' WHERE id = $1`, fxNotificationID(10))
		got, err := store.StatusCounts(ctx, fxAlphaID, date(21), now)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, email(notifyql.StatusSending, 0)) || !slices.Contains(got, email(notifyql.StatusDelivered, 2)) ||
			!slices.Contains(got, email(notifyql.StatusCancelled, 1)) {
			t.Errorf("StatusCounts = %v; want email delivered 2, cancelled 1 and no email sending row", got)
		}
		requireWindowSums(t, store, date(21), now, got)
	})

	t.Run("unknown or malformed service", func(t *testing.T) {
		for _, id := range []string{fxDeltaID, "nope"} {
			got, err := store.StatusCounts(ctx, id, date(14), fxNow)
			if err != nil || len(got) != 0 {
				t.Errorf("StatusCounts(%q) = %v, %v; want nothing", id, got, err)
			}
		}
	})
}

// requireWindowSums checks that the window's sums as the dashboard and the notifications
// page read them are the window's rows summed: by type and status with cancelled, ordered
// by type then status as bytes compare; by template as ComputeTemplateStatistics sums them
// (without cancelled, largest first, templates whose every row is cancelled left out);
// that the sums give the totals and pills the rows give; and that each template summed
// comes with its template.
func requireWindowSums(t *testing.T, store *NotificationStore, from notifyql.Date, now time.Time, rows []notifyql.StatusCount) {
	t.Helper()
	ctx := context.Background()
	want := notifyql.WindowCounts{ByTemplate: notifyql.ComputeTemplateStatistics(rows)}
	for _, r := range rows {
		at := slices.IndexFunc(want.ByStatus, func(c notifyql.StatusCount) bool { return c.Type == r.Type && c.Status == r.Status })
		if at < 0 {
			want.ByStatus = append(want.ByStatus, notifyql.StatusCount{Type: r.Type, Status: r.Status})
			at = len(want.ByStatus) - 1
		}
		want.ByStatus[at].Count += r.Count
	}
	want.ByStatus = slices.DeleteFunc(want.ByStatus, func(c notifyql.StatusCount) bool { return c.Count == 0 })
	slices.SortFunc(want.ByStatus, func(a, b notifyql.StatusCount) int {
		if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
			return c
		}
		return strings.Compare(string(a.Status), string(b.Status))
	})
	if len(want.ByStatus) == 0 {
		t.Fatal("the window has no rows to sum")
	}
	withTemplates, templates, err := store.StatusCountsWithTemplates(ctx, fxAlphaID, from, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, withTemplates, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("StatusCountsWithTemplates differs from the rows summed (-want +got):\n%s", diff)
	}
	for _, s := range withTemplates.ByTemplate {
		if tpl := templates[s.TemplateID]; tpl == nil || tpl.ID != s.TemplateID {
			t.Errorf("template %s came with %+v", s.TemplateID, tpl)
		}
	}
	if diff := cmp.Diff(notifyql.ComputeTotals(rows), notifyql.ComputeTotals(withTemplates.ByStatus)); diff != "" {
		t.Errorf("totals from the sums differ from the rows' (-rows +sums):\n%s", diff)
	}
	for _, typ := range []*notifyql.NotificationType{nil, new(notifyql.TypeEmail), new(notifyql.TypeSMS), new(notifyql.TypeLetter)} {
		if notifyql.ComputeStatusCounts(rows, typ) != notifyql.ComputeStatusCounts(withTemplates.ByStatus, typ) {
			t.Errorf("pills of %v from the sums differ from the rows'", typ)
		}
	}
	alone, err := store.windowCounts(ctx, fxAlphaID, from, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, alone, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("windowCounts differs from the rows summed (-want +got):\n%s", diff)
	}
}

// statsGammaFactsSQL gives gamma facts of its own, one of them under a test key.
const statsGammaFactsSQL = `
INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type,
                                    key_type, notification_status, notification_count) VALUES
    ('2025-07-19', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000003',
     '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'delivered', 7),
    ('2025-07-19', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000003',
     '00000000-0000-0000-0000-000000000000', 'sms', 'test', 'delivered', 11),
    ('2025-07-15', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000003',
     '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'temporary-failure', 2);
`

func TestStatusCountsByService(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	ctx := context.Background()
	fxExec(t, pool, statsFactsSQL)
	fxExec(t, pool, statsGammaFactsSQL)
	insertNotifications(t, pool,
		fxNotification{ID: fxNotificationID(1), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-20T23:30:00Z"},
		fxNotification{ID: fxNotificationID(2), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(3), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Key: notifyql.KeyTest, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(4), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(5), ServiceID: fxBetaID, Type: notifyql.TypeLetter, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-21T09:05:00Z"},
		fxNotification{ID: fxNotificationID(6), ServiceID: fxGammaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:00:00Z"},
		fxNotification{ID: fxNotificationID(7), ServiceID: fxGammaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Key: notifyql.KeyTest, CreatedAt: "2025-07-21T08:10:00Z"},
		// Tomorrow in London: no window holds it yet.
		fxNotification{ID: fxNotificationID(8), ServiceID: fxGammaID, Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T23:30:00Z"},
	)
	date := func(day int) notifyql.Date { return notifyql.Date{Year: 2025, Month: time.July, Day: day} }
	// Delta has no rows, "nope" is no UUID; an id given twice, or in capitals, is answered
	// as given.
	ids := []string{fxAlphaID, fxBetaID, fxGammaID, fxDeltaID, "nope", fxAlphaID, strings.ToUpper(fxGammaID)}

	for _, tt := range []struct {
		name string
		from notifyql.Date
		now  string
	}{
		{"7 days", date(14), "2025-07-21T10:00:00Z"},
		{"3 days", date(18), "2025-07-21T10:00:00Z"},
		{"today only", date(21), "2025-07-21T10:00:00Z"},
		{"first hour after London midnight", date(18), "2025-07-20T23:40:00Z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := fxTime(t, tt.now)
			got, err := store.StatusCountsByService(ctx, ids, tt.from, now)
			if err != nil {
				t.Fatal(err)
			}
			want := make(map[string][]notifyql.StatusCount)
			for _, id := range ids {
				rows, err := store.StatusCounts(ctx, id, tt.from, now)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) > 0 {
					want[id] = rows
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("StatusCountsByService differs from StatusCounts per service (-want +got):\n%s", diff)
			}
		})
	}

	// The fixture does reach every service, and test keys stay out of the batch.
	got, err := store.StatusCountsByService(ctx, ids, date(14), fxNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{fxAlphaID, fxBetaID, fxGammaID} {
		if len(got[id]) == 0 {
			t.Errorf("no rows for %s: the fixture no longer covers several services", id)
		}
	}
	wantGamma := []notifyql.StatusCount{
		{TemplateID: fxEmailTemplateID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Count: 1},
		{TemplateID: fxSMSTemplateID, Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, Count: 7},
		{TemplateID: fxSMSTemplateID, Type: notifyql.TypeSMS, Status: notifyql.StatusTemporaryFailure, Count: 2},
	}
	if diff := cmp.Diff(wantGamma, got[fxGammaID]); diff != "" {
		t.Errorf("gamma (-want +got):\n%s", diff)
	}
	if _, ok := got[fxDeltaID]; ok {
		t.Errorf("delta has no rows but is present: %v", got[fxDeltaID])
	}
	// The services' rows share one array: appending to one leaves the next alone.
	beta := slices.Clone(got[fxBetaID])
	_ = append(got[fxAlphaID], notifyql.StatusCount{TemplateID: "appended"})
	if diff := cmp.Diff(beta, got[fxBetaID]); diff != "" {
		t.Errorf("appending to alpha's rows changed beta's (-before +after):\n%s", diff)
	}

	for _, ids := range [][]string{nil, {}, {"nope"}} {
		got, err := store.StatusCountsByService(ctx, ids, date(14), fxNow)
		if err != nil || len(got) != 0 {
			t.Errorf("StatusCountsByService(%q) = %v, %v; want nothing", ids, got, err)
		}
	}
}
