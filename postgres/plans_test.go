package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// TestDashboardStatusCountsKeepCustomPlans runs the dashboard's status-count statement ten
// times the way the dashboard does (NotificationStore.StatusCountsWithTemplates, on one
// connection) and reads the plan PostgreSQL executed each time from auto_explain. A
// prepared statement is planned with its parameters' values for its first five executions,
// then with a generic plan whose conditions name $1..$3: the bench's big service then got a
// plan that expected 73 rows where there were 4,431. Every execution's plan must name the
// service's id.
func TestDashboardStatusCountsKeepCustomPlans(t *testing.T) {
	requireCustomStatusCountPlans(t, func(ctx context.Context, store *NotificationStore, from notifyql.Date, now time.Time) (int, error) {
		counts, _, err := store.StatusCountsWithTemplates(ctx, fxAlphaID, from, now)
		return len(counts.ByStatus), err
	})
	requireCustomStatusCountPlans(t, func(ctx context.Context, store *NotificationStore, from notifyql.Date, now time.Time) (int, error) {
		counts, err := store.StatusCounts(ctx, fxAlphaID, from, now)
		return len(counts), err
	})
	// And when the service comes in the same round trip.
	requireCustomStatusCountPlans(t, func(ctx context.Context, store *NotificationStore, from notifyql.Date, now time.Time) (int, error) {
		counts, related, err := store.StatusCountsWithService(ctx, fxAlphaID, from, now)
		if err == nil && (len(related.Services) != 1 || related.Services[0].Service.ID != fxAlphaID || len(related.Templates) == 0) {
			err = fmt.Errorf("the counts brought back services %+v and %d templates, want their own service and its templates", related.Services, len(related.Templates))
		}
		return len(counts.ByStatus), err
	})
}

// TestPageStatusCountsKeepCustomPlans: the notifications page's pills count with the same
// statement, sent in the page's batch, whose statements cannot each choose how they are
// sent; the batch asks for custom plans for it, which must hold from the sixth execution
// on as well.
func TestPageStatusCountsKeepCustomPlans(t *testing.T) {
	requireCustomStatusCountPlans(t, func(ctx context.Context, store *NotificationStore, from notifyql.Date, now time.Time) (int, error) {
		f := notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: notifyql.RequestedStatuses(), First: 5,
			Since: map[notifyql.NotificationType]time.Time{}, Include: notifyql.PageIncludes{StatusCountsFrom: &from, Now: now}}
		for _, typ := range notifyql.NotificationTypes {
			f.Since[typ] = now.AddDate(0, 0, -7)
		}
		page, err := store.ListNotifications(ctx, f)
		if err != nil {
			return 0, err
		}
		counts, err := page.StatusCounts()
		return len(counts.ByStatus), err
	})
	// And when the page reads its service and windows in the same batch.
	requireCustomStatusCountPlans(t, func(ctx context.Context, store *NotificationStore, from notifyql.Date, now time.Time) (int, error) {
		f := notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: notifyql.RequestedStatuses(), First: 5,
			WindowsAt: now, Include: notifyql.PageIncludes{StatusCountsFrom: &from, Now: now}}
		page, err := store.ListNotifications(ctx, f)
		if err != nil {
			return 0, err
		}
		if len(page.Related.Services) != 1 {
			return 0, fmt.Errorf("the page brought back %d services, want its own", len(page.Related.Services))
		}
		counts, err := page.StatusCounts()
		return len(counts.ByStatus), err
	})
}

// requireCustomStatusCountPlans runs count ten times on one connection and fails unless
// every plan auto_explain logs for the status-count statement names the service's id.
func requireCustomStatusCountPlans(t *testing.T, count func(context.Context, *NotificationStore, notifyql.Date, time.Time) (int, error)) {
	t.Helper()
	ctx := context.Background()
	fixtures := newFixturePool(t)
	fxExec(t, fixtures, statsFactsSQL)

	cfg, err := pgxpool.ParseConfig(fixtures.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // every execution on the same connection, as a busy pool's are
	var (
		mu    sync.Mutex
		plans []string
	)
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.HasPrefix(n.Message, "duration:") {
			mu.Lock()
			plans = append(plans, n.Message)
			mu.Unlock()
		}
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;
			SET auto_explain.log_level = notice; SET auto_explain.log_format = text`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := NewNotificationStore(pool, fxLondon(t))

	from := notifyql.Date{Year: 2025, Month: time.July, Day: 18}
	now := fxTime(t, "2025-07-21T10:00:00Z")
	const runs = 10
	for i := range runs {
		mu.Lock()
		plans = plans[:0]
		mu.Unlock()
		n, err := count(ctx, store, from, now)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if n == 0 {
			t.Fatalf("run %d: no rows", i+1)
		}
		mu.Lock()
		got := slices.Clone(plans)
		mu.Unlock()
		var plan string
		for _, p := range got {
			if strings.Contains(p, "ft_notification_status") {
				plan = p
			}
		}
		if plan == "" {
			t.Fatalf("run %d: auto_explain logged no plan of the statement; notices: %q", i+1, got)
		}
		// The plan's conditions, not the query text auto_explain prints above them.
		var conds []string
		for line := range strings.Lines(plan) {
			if strings.Contains(line, "Cond:") || strings.Contains(line, "Filter:") {
				conds = append(conds, line)
			}
		}
		cond := strings.Join(conds, "")
		if strings.Contains(cond, "$1") || !strings.Contains(cond, fxAlphaID) {
			t.Fatalf("run %d of %d ran a generic plan (conditions on $n, not the service's id):\n%s", i+1, runs, plan)
		}
	}
}
