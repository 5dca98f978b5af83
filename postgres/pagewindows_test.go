package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// TestRetentionWindowsInSQLMatchWindowStart: a page that reads its service's retention in
// its own statement bounds each type where WindowStart does, for every retention a
// service can have and at instants either side of both daylight-saving changes and of
// London midnight.
func TestRetentionWindowsInSQLMatchWindowStart(t *testing.T) {
	pool := newFixturePool(t)
	loc := fxLondon(t)
	ctx := context.Background()
	instants := []string{
		"2025-03-29T23:59:59Z", "2025-03-30T00:00:00Z", "2025-03-30T00:59:59Z", "2025-03-30T01:00:00Z",
		"2025-03-30T22:59:59Z", "2025-03-30T23:00:00Z", "2025-04-02T12:00:00Z",
		"2025-10-25T22:59:59Z", "2025-10-25T23:00:00Z", "2025-10-26T00:59:59Z", "2025-10-26T01:00:00Z",
		"2025-10-26T23:59:59Z", "2025-10-27T00:00:00Z", "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z",
		"2025-07-21T10:00:00Z",
	}
	window := "SELECT " + retentionWindowSQL("$1::uuid", "$2", "$3", "$4")
	for _, days := range []int{0, notifyql.MinRetentionDays, 7, 30, notifyql.MaxRetentionDays} {
		// days 0: no row for the type, so the default.
		fxExec(t, pool, `DELETE FROM service_data_retention WHERE service_id = '`+fxAlphaID+`' AND notification_type = 'sms'`)
		retention := notifyql.Retention{}
		if days > 0 {
			_, err := pool.Exec(ctx, `INSERT INTO service_data_retention (service_id, notification_type, days_of_retention)
				VALUES ($1, 'sms', $2)`, fxAlphaID, days)
			if err != nil {
				t.Fatal(err)
			}
			retention[notifyql.TypeSMS] = days
		}
		for _, at := range instants {
			now := fxTime(t, at)
			var got time.Time
			if err := pool.QueryRow(ctx, window, fxAlphaID, "sms", now, loc.String()).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := retention.WindowStart(notifyql.TypeSMS, now, loc); !got.Equal(want) {
				t.Errorf("retention %d days at %s: the statement's window starts %s, WindowStart %s",
					days, at, got.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339))
			}
		}
	}
}

// TestPageReadingItsWindowsWalksTheIndex: with the windows read by the statement, the page
// still walks the service's index newest first and stops at the page's end, with no sort,
// from its first execution to past the fifth (when a prepared statement's plan may turn
// generic), with and without a type.
func TestPageReadingItsWindowsWalksTheIndex(t *testing.T) {
	ctx := context.Background()
	fixtures := newFixturePool(t)
	insertNotifications(t, fixtures, listFixture...)
	pool, plans := explainedPool(t, fixtures)
	store := NewNotificationStore(pool, fxLondon(t))
	for _, typ := range []*notifyql.NotificationType{nil, fxPtr(notifyql.TypeEmail)} {
		for run := range 8 {
			plans.reset()
			f := notifyql.NotificationFilter{ServiceID: fxAlphaID, Type: typ, Statuses: notifyql.RequestedStatuses(),
				First: 2, WindowsAt: fxNow}
			if _, err := store.ListNotifications(ctx, f); err != nil {
				t.Fatal(err)
			}
			plan := plans.of("FROM notifications")
			if plan == "" {
				t.Fatalf("type %v run %d: auto_explain logged no plan of the page", typ, run+1)
			}
			steps := plan[strings.Index(plan, "\n"):] // the plan, not the statement above it
			if !strings.Contains(steps, "Index Scan Backward") || strings.Contains(steps, "Sort") || strings.Contains(steps, "Seq Scan on notifications") {
				t.Fatalf("type %v run %d: the page does not walk an index newest first:\n%s", typ, run+1, plan)
			}
		}
	}
}

// loggedPlans collects the plans auto_explain reports as notices.
type loggedPlans struct {
	mu    sync.Mutex
	plans []string
}

func (l *loggedPlans) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.plans = l.plans[:0]
}

// of returns the last plan whose text contains s.
func (l *loggedPlans) of(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.plans) - 1; i >= 0; i-- {
		if strings.Contains(l.plans[i], s) {
			return l.plans[i]
		}
	}
	return ""
}

// explainedPool returns a one-connection pool on the fixtures' database whose every
// statement's executed plan auto_explain logs into the returned plans.
func explainedPool(t *testing.T, fixtures *pgxpool.Pool) (*pgxpool.Pool, *loggedPlans) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(fixtures.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // every execution on the same connection, as a busy pool's are
	plans := &loggedPlans{}
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.HasPrefix(n.Message, "duration:") {
			plans.mu.Lock()
			plans.plans = append(plans.plans, n.Message)
			plans.mu.Unlock()
		}
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;
			SET auto_explain.log_level = notice; SET auto_explain.log_format = text`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, plans
}

// TestStatusCountsWithServiceMatchTheCountsAlone: the dashboard's counts read with their
// service are the counts read alone, and a missing service or an id that is not a UUID
// brings back no service and no counts.
func TestStatusCountsWithServiceMatchTheCountsAlone(t *testing.T) {
	ctx := context.Background()
	pool := newFixturePool(t)
	fxExec(t, pool, statsFactsSQL)
	store := NewNotificationStore(pool, fxLondon(t))
	from := notifyql.Date{Year: 2025, Month: time.July, Day: 18}
	now := fxTime(t, "2025-07-21T10:00:00Z")
	alone, templates, err := store.StatusCountsWithTemplates(ctx, fxAlphaID, from, now)
	if err != nil {
		t.Fatal(err)
	}
	counts, related, err := store.StatusCountsWithService(ctx, fxAlphaID, from, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(alone.ByStatus) == 0 || len(alone.ByTemplate) == 0 || !cmp.Equal(alone, counts) || !cmp.Equal(templates, related.Templates) {
		t.Errorf("with the service: %v and %d templates; alone: %v and %d templates", counts, len(related.Templates), alone, len(templates))
	}
	if len(related.Services) != 1 || related.Services[0].Service.ID != fxAlphaID || related.Services[0].Retention.Days(notifyql.TypeEmail) != 3 {
		t.Errorf("the service read with the counts: %+v", related.Services)
	}
	for _, id := range []string{"5e000000-0000-4000-8000-0000000000ff", "not-a-uuid"} {
		counts, related, err := store.StatusCountsWithService(ctx, id, from, now)
		if err != nil || len(counts.ByStatus)+len(counts.ByTemplate) != 0 || len(related.Services) != 0 {
			t.Errorf("service %q: counts %v, services %v, error %v; want none of them", id, counts, related.Services, err)
		}
	}
}
