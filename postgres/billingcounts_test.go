package postgres_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres"
)

// notification_billing_counts (migration 00006) must always equal a GROUP BY over
// notifications, and ft_billing built from it must equal ft_billing built from
// notifications_all_time.

// billingCounter is one row of notification_billing_counts, or of the GROUP BY it stands for.
type billingCounter struct {
	Service, Day, Template, Type, KeyType, Status, Provider string
	Multiplier                                              int
	International                                           bool
	Postage                                                 string
	Units                                                   int
	Count                                                   int64
}

const billingCountersSQL = `
SELECT service_id::text, bst_date::text, template_id::text, notification_type, key_type, notification_status,
       provider, rate_multiplier, international, postage, billable_units, notification_count
  FROM notification_billing_counts
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11`

// Written here independently of the triggers' SQL.
const billingCountersWantedSQL = `
SELECT service_id::text, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date::text, template_id::text,
       notification_type, key_type, notification_status, coalesce(sent_by, 'unknown'),
       coalesce(rate_multiplier, 1)::int, international, coalesce(postage, 'none'), billable_units, count(*)
  FROM notifications
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11`

func queryBillingCounters(t *testing.T, pool *pgxpool.Pool, sql string) []billingCounter {
	t.Helper()
	rows, _ := pool.Query(context.Background(), sql)
	counters, err := pgx.CollectRows(rows, pgx.RowToStructByPos[billingCounter])
	if err != nil {
		t.Fatal(err)
	}
	return counters
}

// checkBillingCounters fails the test when the counters differ from a GROUP BY over
// notifications; a counter left at zero counts as a difference.
func checkBillingCounters(t *testing.T, pool *pgxpool.Pool, after string) {
	t.Helper()
	want := queryBillingCounters(t, pool, billingCountersWantedSQL)
	got := queryBillingCounters(t, pool, billingCountersSQL)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("after %s, notification_billing_counts (-group by over notifications +counters):\n%s", after, diff)
	}
}

// billingCountsWorld generates live notifications (none in history: the counters count
// only notifications) over London days around the spring clock change of 2026 and the SMS
// rate change of 1 April 2026, as the rollup property test does.
func billingCountsWorld(t *testing.T, pool *pgxpool.Pool, loc *time.Location, n int) (from, to notifyql.Date) {
	t.Helper()
	w := rollupFixture(t, pool)
	from, to = notifyql.Date{Year: 2026, Month: time.March, Day: 27}, notifyql.Date{Year: 2026, Month: time.April, Day: 1}
	var midnights []time.Time
	for d := from; !d.After(to.AddDays(1)); d = d.AddDays(1) {
		midnights = append(midnights, notifyql.LondonMidnight(d, loc))
	}
	sources := w.generate(rand.New(rand.NewPCG(20260401, 6)), n, midnights[0], midnights[len(midnights)-1],
		midnights[:len(midnights)-1])
	for i := range sources {
		sources[i].history = false
	}
	rollupInsert(t, pool, sources)
	return from, to
}

func TestBillingCountsFollowNotifications(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	billingCountsWorld(t, pool, loc, 3000)
	checkBillingCounters(t, pool, "COPY")
	if len(queryBillingCounters(t, pool, billingCountersSQL)) < 500 {
		t.Fatal("the generated notifications fill too few counters to test anything")
	}

	statements := []struct{ name, sql string }{
		{"INSERT of copies (existing and new keys)", `
			INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", key_type,
			                           notification_status, billable_units, rate_multiplier, international, postage,
			                           sent_by, created_at)
			SELECT gen_random_uuid(), service_id, template_id, template_version, notification_type, "to", key_type,
			       notification_status, billable_units + (row_number() OVER (ORDER BY id))::int % 2, rate_multiplier,
			       international, postage, sent_by, created_at
			  FROM notifications ORDER BY id LIMIT 400`},
		{"UPDATE of statuses", `
			UPDATE notifications SET notification_status = 'delivered' WHERE notification_status IN ('sending', 'pending')`},
		{"UPDATE swapping statuses within one key", `
			UPDATE notifications
			   SET notification_status = CASE notification_status WHEN 'delivered' THEN 'sent' ELSE 'delivered' END
			 WHERE notification_status IN ('delivered', 'sent') AND notification_type = 'sms'`},
		{"UPDATE of sent_by", `UPDATE notifications SET sent_by = 'firetext' WHERE sent_by = 'mmg'`},
		{"UPDATE of sent_by to NULL", `UPDATE notifications SET sent_by = NULL WHERE id::text < '4'`},
		{"UPDATE outside every key", `UPDATE notifications SET updated_at = created_at, sent_at = created_at`},
		{"UPDATE of multiplier, postage, units and day", `
			UPDATE notifications
			   SET rate_multiplier = CASE WHEN rate_multiplier IS NULL THEN 1 END,
			       postage = CASE notification_type WHEN 'letter' THEN 'economy' END,
			       billable_units = billable_units + 1,
			       created_at = created_at + interval '23 hours'
			 WHERE id::text > 'c'`},
		{"DELETE of a key type", `DELETE FROM notifications WHERE key_type = 'team'`},
		{"DELETE of one service's day", `
			DELETE FROM notifications
			 WHERE service_id = '` + rollupServiceA + `'
			   AND (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date = '2026-03-29'`},
		{"TRUNCATE", `TRUNCATE notifications, notification_status_history, letter_files`},
	}
	for _, s := range statements {
		tag, err := pool.Exec(ctx, s.sql)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if tag.RowsAffected() == 0 && s.name != "TRUNCATE" {
			t.Fatalf("%s changed no notification", s.name)
		}
		checkBillingCounters(t, pool, s.name)
	}
	if n := len(queryBillingCounters(t, pool, billingCountersSQL)); n != 0 {
		t.Errorf("after TRUNCATE, %d counters are left", n)
	}
}

func TestBillingCountsBackfilledByTheMigration(t *testing.T) {
	ctx := context.Background()
	databaseURL := pgtest.NewDatabase(t)
	pool := newPool(t, databaseURL)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	billingCountsWorld(t, pool, loc, 1000)
	// Down drops the counters and their triggers; up must count the rows already there.
	if err := postgres.MigrateDown(ctx, databaseURL); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE notifications SET notification_status = 'delivered' WHERE notification_status = 'sending'`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.MigrateUp(ctx, databaseURL); err != nil {
		t.Fatal(err)
	}
	checkBillingCounters(t, pool, "the migration's backfill")
	if len(queryBillingCounters(t, pool, billingCountersSQL)) == 0 {
		t.Error("the backfill counted nothing")
	}
}

func TestRebuildBillingFromCountersMatchesNotifications(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	from, to := billingCountsWorld(t, pool, loc, 4000)
	// Statuses move on after the insert, so the counters have been through updates too.
	if _, err := pool.Exec(ctx, `
		UPDATE notifications SET notification_status = 'delivered', sent_by = coalesce(sent_by, 'mmg')
		 WHERE notification_status IN ('sending', 'created') AND id::text < '8'`); err != nil {
		t.Fatal(err)
	}
	noonOf := func(d notifyql.Date) func() time.Time {
		return func() time.Time { return notifyql.LondonMidnight(d, loc).Add(12 * time.Hour) }
	}
	// Long after the days, they are built from notifications_all_time; the day after from,
	// every day from from on is yesterday or later and is built from the counters.
	byNotifications := postgres.NewRollup(pool, loc, nil).WithClock(noonOf(to.AddDays(30)))
	byCounters := postgres.NewRollup(pool, loc, nil).WithClock(noonOf(from.AddDays(1)))
	clearBilling := func() {
		t.Helper()
		if _, err := pool.Exec(ctx, `DELETE FROM ft_billing`); err != nil {
			t.Fatal(err)
		}
	}

	if err := byNotifications.BuildBilling(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	_, want := rollupFacts(t, pool)
	if len(want) < 100 {
		t.Fatalf("only %d ft_billing rows: the data tests too little", len(want))
	}

	clearBilling()
	if err := byCounters.BuildBilling(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	_, got := rollupFacts(t, pool)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("BuildBilling from the counters (-from notifications +from counters):\n%s", diff)
	}

	clearBilling()
	for _, service := range []string{rollupServiceA, rollupServiceB} {
		for day := from; !day.After(to); day = day.AddDays(1) {
			if err := byCounters.RebuildBilling(ctx, service, day); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, got = rollupFacts(t, pool)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("RebuildBilling from the counters (-from notifications +from counters):\n%s", diff)
	}

	// A rebuild that finds nothing changed rewrites no row; one after a change rewrites only
	// the row it changes.
	versions := func() map[string]string {
		t.Helper()
		rows, _ := pool.Query(ctx, `
			SELECT concat_ws(' ', bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
			                 international, rate, postage), xmin::text
			  FROM ft_billing`)
		byKey := map[string]string{}
		var key, xmin string
		if _, err := pgx.ForEachRow(rows, []any{&key, &xmin}, func() error {
			byKey[key] = xmin
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return byKey
	}
	rebuildTo := func() {
		t.Helper()
		for _, service := range []string{rollupServiceA, rollupServiceB} {
			if err := byCounters.RebuildBilling(ctx, service, to); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := versions()
	rebuildTo()
	if diff := gocmp.Diff(first, versions()); diff != "" {
		t.Errorf("a rebuild with nothing changed rewrote rows (-before +after):\n%s", diff)
	}
	var changedKey string
	if err := pool.QueryRow(ctx, `
		WITH one AS (
		    SELECT id FROM notifications
		     WHERE notification_type = 'email' AND key_type = 'normal' AND notification_status = 'created'
		       AND (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date = $1
		     ORDER BY id LIMIT 1)
		UPDATE notifications n SET notification_status = 'delivered' FROM one WHERE n.id = one.id
		RETURNING concat_ws(' ', $1::date, n.template_id, n.service_id, 'email', 'ses', 0, false, 0, 'none')`,
		to.Time()).Scan(&changedKey); err != nil {
		t.Fatal(err)
	}
	rebuildTo()
	second := versions()
	var rewritten []string
	for key, xmin := range second {
		if first[key] != xmin {
			rewritten = append(rewritten, key)
		}
	}
	if diff := gocmp.Diff([]string{changedKey}, rewritten); diff != "" {
		t.Errorf("rows written by the rebuild after one email was delivered (-want +got):\n%s", diff)
	}

	// Which source a day is built from: with A's counters gone (behind the triggers' back),
	// a day read from the counters loses A's rows, a day read from notifications keeps them.
	if _, err := pool.Exec(ctx, `DELETE FROM notification_billing_counts WHERE service_id = $1`, rollupServiceA); err != nil {
		t.Fatal(err)
	}
	countA := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM ft_billing WHERE service_id = $1 AND bst_date = $2`,
			rollupServiceA, to.Time()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := countA()
	if before == 0 {
		t.Fatalf("service A has no ft_billing rows on %s", to)
	}
	for _, c := range []struct {
		name string
		now  notifyql.Date
		want int
	}{
		{"the day before yesterday: notifications", to.AddDays(2), before},
		{"yesterday: counters", to.AddDays(1), 0},
		{"today: counters", to, 0},
		{"two days ahead: counters", to.AddDays(-2), 0},
	} {
		if err := byNotifications.RebuildBilling(ctx, rollupServiceA, to); err != nil {
			t.Fatal(err)
		}
		if err := postgres.NewRollup(pool, loc, nil).WithClock(noonOf(c.now)).RebuildBilling(ctx, rollupServiceA, to); err != nil {
			t.Fatal(err)
		}
		if got := countA(); got != c.want {
			t.Errorf("%s: A has %d rows on %s, want %d", c.name, got, to, c.want)
		}
	}
}

// BenchmarkRebuildBillingOfTheBigService rebuilds London yesterday's ft_billing rows of the
// bench profile's big service (a full day, about 250,000 notifications) from the counters
// and from notifications_all_time. It needs the bench database (make bench builds it):
//
//	NOTIFYQL_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifyql_bench?sslmode=disable \
//	    go test -run '^$' -bench RebuildBillingOfTheBigService ./postgres
func BenchmarkRebuildBillingOfTheBigService(b *testing.B) {
	databaseURL := os.Getenv("NOTIFYQL_BENCH_DATABASE_URL")
	if databaseURL == "" {
		b.Skip("NOTIFYQL_BENCH_DATABASE_URL is not set")
	}
	ctx := b.Context()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	loc, err := notifyql.LoadLondon()
	if err != nil {
		b.Fatal(err)
	}
	var service string
	if err := pool.QueryRow(ctx, `
		SELECT service_id::text FROM notification_billing_counts GROUP BY 1 ORDER BY sum(notification_count) DESC LIMIT 1`,
	).Scan(&service); err != nil {
		b.Fatal(err)
	}
	yesterday := notifyql.LondonDate(time.Now(), loc).AddDays(-1)
	for _, c := range []struct {
		name   string
		rollup *postgres.Rollup
	}{
		{"counters", postgres.NewRollup(pool, loc, nil)},
		{"notifications", postgres.NewRollup(pool, loc, nil).WithClock(func() time.Time { return time.Now().AddDate(1, 0, 0) })},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.rollup.RebuildBilling(ctx, service, yesterday); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
