package seed_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres/seed"
)

// seedNow is a fixed clock for the seed tests: a Thursday evening in winter (GMT).
var seedNow = time.Date(2025, time.November, 13, 18, 45, 12, 0, time.UTC)

func mustSeed(t *testing.T, pool *pgxpool.Pool, opts seed.Options) *seed.Report {
	t.Helper()
	report, err := seed.Load(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("Load(%+v): %v", opts, err)
	}
	return report
}

func seedCount(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	empty, err := seed.IsEmpty(ctx, pool)
	if err != nil || !empty {
		t.Fatalf("IsEmpty before seeding = %v, %v; want true", empty, err)
	}
	report := mustSeed(t, pool, seed.Options{Profile: seed.Demo, Seed: 1, Now: seedNow})
	// How long it took is logged, not asserted: a test's timing says more about the machine
	// (2 cores shared with the rest of the suite) than about the seed.
	t.Log(report)
	if empty, err := seed.IsEmpty(ctx, pool); err != nil || empty {
		t.Fatalf("IsEmpty after seeding = %v, %v; want false", empty, err)
	}

	testSeededContent(t, pool)

	t.Run("every status valid for each type appears, and no other", func(t *testing.T) {
		valid := map[string][]string{
			"email": {"created", "delivered", "failed", "permanent-failure", "sending", "sent", "technical-failure", "temporary-failure"},
			"sms": {"created", "delivered", "failed", "pending", "permanent-failure", "sending", "sent", "technical-failure",
				"temporary-failure"},
			"letter": {"cancelled", "created", "delivered", "failed", "pending-virus-check", "permanent-failure", "returned-letter",
				"sending", "technical-failure", "validation-failed", "virus-scan-failed"},
		}
		rows, _ := pool.Query(ctx, `SELECT notification_type, array_agg(DISTINCT notification_status ORDER BY notification_status)
			FROM notifications GROUP BY 1`)
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct {
			typ      string
			statuses []string
		}, error) {
			var v struct {
				typ      string
				statuses []string
			}
			return v, row.Scan(&v.typ, &v.statuses)
		})
		if err != nil {
			t.Fatal(err)
		}
		gotMap := map[string][]string{}
		for _, g := range got {
			gotMap[g.typ] = g.statuses
		}
		if diff := cmp.Diff(valid, gotMap); diff != "" {
			t.Errorf("statuses by type (-want +got):\n%s", diff)
		}
	})

	t.Run("every postage appears", func(t *testing.T) {
		rows, _ := pool.Query(ctx, `SELECT DISTINCT postage FROM notifications WHERE notification_type = 'letter' ORDER BY 1`)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"economy", "europe", "first", "rest-of-world", "second"}, got); diff != "" {
			t.Errorf("postages (-want +got):\n%s", diff)
		}
	})

	checks := []struct {
		name  string
		query string
		want  func(int64) bool
	}{
		{"times are ordered and not in the future", `SELECT count(*) FROM notifications
			WHERE sent_at < created_at OR updated_at < coalesce(sent_at, created_at) OR greatest(created_at, sent_at, updated_at) > $1`, isZero},
		{"letters have postage, others do not", `SELECT count(*) FROM notifications
			WHERE (notification_type = 'letter') <> (postage IS NOT NULL)`, isZero},
		{"sms numbers are normalised to E.164 digits", `SELECT count(*) FROM notifications
			WHERE notification_type = 'sms' AND NOT (normalised_to ~ '^[0-9]{10,15}$'
			  AND (international OR ("to" ~ '^07700900[0-9]{3}$' AND normalised_to = '44' || substr("to", 2))))`, isZero},
		{"email recipients are lower-cased when normalised", `SELECT count(*) FROM notifications
			WHERE notification_type = 'email' AND normalised_to <> lower("to")`, isZero},
		{"letter addresses are normalised without whitespace", `SELECT count(*) FROM notifications
			WHERE notification_type = 'letter' AND (position(E'\n' IN "to") = 0 OR normalised_to <> lower(regexp_replace("to", '\s', '', 'g')))`, isZero},
		{"international sms carry a prefix and a multiplier from the reference table", `SELECT count(*) FROM notifications n
			WHERE n.international AND n.notification_type = 'sms' AND n.rate_multiplier =
			  (SELECT multiplier FROM international_sms_rates WHERE prefix = n.phone_prefix)`, isPositive},
		{"validation-failed letters explain themselves", `SELECT count(*) FROM notifications
			WHERE notification_status = 'validation-failed' AND (letter_validation IS NULL OR page_count IS NULL)`, isZero},
		{"job rows name the uploader, api sends their key", `SELECT count(*) FROM notifications
			WHERE (job_id IS NOT NULL AND (created_by_id IS NULL OR job_row_number IS NULL OR api_key_id IS NOT NULL))
			   OR (api_key_id IS NULL AND created_by_id IS NULL)`, isZero},
		{"test and team keys were used", `SELECT count(DISTINCT key_type) FROM notifications`, equals(3)},
		{"precompiled letters were sent", `SELECT count(*) FROM notifications n JOIN templates t ON t.id = n.template_id
			WHERE t.hidden AND t.name = 'Pre-compiled PDF'`, isPositive},
		{"a few thousand notifications", `SELECT count(*) FROM notifications`, between(2000, 6000)},
		{"status history came from the trigger", `SELECT count(*) FROM notifications n
			WHERE NOT EXISTS (SELECT 1 FROM notification_status_history h WHERE h.notification_id = n.id)`, isZero},
		{"inbound sms in the last week and before", `SELECT count(DISTINCT created_at >= $1::timestamp - interval '7 days') FROM inbound_sms`, equals(2)},
		{"a scheduled job in the future", `SELECT count(*) FROM jobs WHERE job_status = 'scheduled' AND scheduled_for > $1`, isPositive},
		{"one revoked key", `SELECT count(*) FROM api_keys WHERE expiry_date IS NOT NULL`, equals(1)},
		{"history rows", `SELECT count(*) FROM notification_history`, isPositive},
		{"facts reach back to the previous financial year", `SELECT count(DISTINCT bst_date) FROM ft_notification_status
			WHERE bst_date < '2025-04-01'`, isPositive},
		{"no facts for today", `SELECT count(*) FROM ft_billing WHERE bst_date >= '2025-11-13'`, isZero},
		{"every fact row is priced", `SELECT count(*) FROM ft_billing WHERE notification_type <> 'email' AND rate = 0`, isZero},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			query, args := c.query, []any{}
			if strings.Contains(query, "$1") {
				args = append(args, seedNow)
			}
			if got := seedCount(t, pool, query, args...); !c.want(got) {
				t.Errorf("got %d", got)
			}
		})
	}

	t.Run("facts for days with notifications match them", func(t *testing.T) {
		// 10 November 2025 is within the 30-day sms retention of the central service.
		const query = `SELECT count(*) FROM (
			SELECT service_id, template_id, notification_status, count(*) AS n FROM notifications_all_time
			 WHERE key_type <> 'test' AND created_at >= '2025-11-10' AND created_at < '2025-11-11'
			 GROUP BY 1, 2, 3
			EXCEPT
			SELECT service_id, template_id, notification_status, sum(notification_count) FROM ft_notification_status
			 WHERE bst_date = '2025-11-10' GROUP BY 1, 2, 3) missing`
		if got := seedCount(t, pool, query); got != 0 {
			t.Errorf("%d groups differ", got)
		}
	})

	t.Run("report names the fixed users", func(t *testing.T) {
		var emails []string
		for _, u := range report.Users {
			emails = append(emails, u.Email)
		}
		want := []string{"admin@notifyql.example", "manager@notifyql.example", "viewer@notifyql.example",
			"sender@notifyql.example", "member@notifyql.example", "orguser@notifyql.example",
			"other@notifyql.example", "trial@notifyql.example"}
		if diff := cmp.Diff(want, emails); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		if !report.Users[0].PlatformAdmin || len(report.Users[5].Organisations) != 1 || len(report.Users[5].Services) != 0 {
			t.Errorf("admin or organisation user described wrongly: %+v %+v", report.Users[0], report.Users[5])
		}
	})

	t.Run("seeding again is refused and changes nothing", func(t *testing.T) {
		before := seedCount(t, pool, "SELECT count(*) FROM notifications")
		_, err := seed.Load(ctx, pool, seed.Options{Profile: seed.Demo, Seed: 1, Now: seedNow})
		if code := notifyql.ErrorCode(err); code != notifyql.ECONFLICT {
			t.Fatalf("second Seed: error %v (code %q), want %q", err, code, notifyql.ECONFLICT)
		}
		if after := seedCount(t, pool, "SELECT count(*) FROM notifications"); after != before {
			t.Errorf("notifications went from %d to %d", before, after)
		}
	})
}

func isZero(n int64) bool     { return n == 0 }
func isPositive(n int64) bool { return n > 0 }
func equals(want int64) func(int64) bool {
	return func(n int64) bool { return n == want }
}
func between(lo, hi int64) func(int64) bool {
	return func(n int64) bool { return n >= lo && n <= hi }
}

// seedDigests returns an md5 of every row of each seeded table, in a fixed order.
func seedDigests(t *testing.T, pool *pgxpool.Pool, report *seed.Report) map[string]string {
	t.Helper()
	digests := map[string]string{}
	for _, c := range report.Counts {
		var digest string
		query := "SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM " +
			pgx.Identifier{c.Table}.Sanitize() + " t"
		if err := pool.QueryRow(context.Background(), query).Scan(&digest); err != nil {
			t.Fatalf("digest %s: %v", c.Table, err)
		}
		digests[c.Table] = digest
	}
	return digests
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, opts := range []seed.Options{
		{Profile: seed.Demo, Seed: 42, Now: seedNow},
		{Profile: seed.Bench, Seed: 42, Now: seedNow, Scale: 0.0005},
	} {
		t.Run(opts.Profile, func(t *testing.T) {
			t.Parallel()
			first, second := pgtest.NewPool(t), pgtest.NewPool(t)
			a := seedDigests(t, first, mustSeed(t, first, opts))
			b := seedDigests(t, second, mustSeed(t, second, opts))
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("two runs differ (-first +second):\n%s", diff)
			}
			if opts.Profile != seed.Demo {
				return
			}
			opts.Seed++
			third := pgtest.NewPool(t)
			c := seedDigests(t, third, mustSeed(t, third, opts))
			if a["notifications"] == c["notifications"] {
				t.Error("a different seed gave the same notifications")
			}
		})
	}
}

func TestSeedRejectsUnknownProfile(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	_, err := seed.Load(context.Background(), pool, seed.Options{Profile: "huge"})
	if code := notifyql.ErrorCode(err); code != notifyql.EINVALID {
		t.Errorf("error %v (code %q), want %q", err, code, notifyql.EINVALID)
	}
}

func TestSeedBenchSmall(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	report := mustSeed(t, pool, seed.Options{Profile: seed.Bench, Seed: 7, Now: seedNow, Scale: 0.001})
	t.Log(report)
	checks := []struct {
		name  string
		query string
		want  func(int64) bool
	}{
		{"services", `SELECT count(*) FROM services`, equals(4)},
		{"the big service's notifications are all in the last 7 London days", `SELECT count(*) FROM notifications n
			JOIN services s ON s.id = n.service_id WHERE s.name = 'Bench Big Department' AND n.created_at >= '2025-11-06'`, between(2000, 2000)},
		{"the big service uses ~50 templates", `SELECT count(DISTINCT n.template_id) FROM notifications n
			JOIN services s ON s.id = n.service_id WHERE s.name = 'Bench Big Department'`, between(30, 50)},
		{"three financial years of facts", `SELECT count(DISTINCT date_trunc('month', bst_date)) FROM ft_billing
			WHERE bst_date >= '2023-04-01'`, equals(32)},
		{"inbound sms", `SELECT count(*) FROM inbound_sms`, between(80, 200)},
		{"history", `SELECT count(*) FROM notification_history`, isPositive},
		{"personalisation is an object for every row", `SELECT count(*) FROM notifications
			WHERE personalisation IS NULL OR jsonb_typeof(personalisation) <> 'object'`, isZero},
		{"uploaded letters and only they have their file", `SELECT count(*) FROM notifications n
			JOIN templates t ON t.id = n.template_id
			WHERE (t.hidden AND t.name = 'Pre-compiled PDF') <> EXISTS (SELECT 1 FROM letter_files f WHERE f.notification_id = n.id)`, isZero},
		{"uploaded letters were sent", `SELECT count(*) FROM letter_files`, isPositive},
		{"redacted templates were used", `SELECT count(*) FROM notifications n JOIN templates t ON t.id = n.template_id
			WHERE t.redact_personalisation`, isPositive},
		{"statuses valid for their type", `SELECT count(*) FROM notifications WHERE
			(notification_type <> 'letter' AND notification_status IN ('pending-virus-check', 'validation-failed',
			  'virus-scan-failed', 'returned-letter', 'cancelled'))
			OR (notification_type <> 'sms' AND notification_status = 'pending')
			OR (notification_type = 'letter' AND notification_status IN ('sent', 'temporary-failure'))`, isZero},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got := seedCount(t, pool, c.query); !c.want(got) {
				t.Errorf("got %d", got)
			}
		})
	}
}

// TestSeedBenchFull loads the full bench profile. It takes minutes, so it runs only with
// NOTIFYQL_SEED_BENCH=1.
func TestSeedBenchFull(t *testing.T) {
	if os.Getenv("NOTIFYQL_SEED_BENCH") != "1" {
		t.Skip("set NOTIFYQL_SEED_BENCH=1 to load the full bench profile")
	}
	pool := pgtest.NewPool(t)
	report := mustSeed(t, pool, seed.Options{Profile: seed.Bench, Seed: 1,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), Now: time.Now()})
	t.Logf("bench loaded in %s: %s", report.Elapsed, report)
	counts := map[string]int64{}
	for _, c := range report.Counts {
		counts[c.Table] = c.Rows
	}
	if counts["services"] < 200 || counts["notifications"] < 2_000_000 || counts["inbound_sms"] < 100_000 {
		t.Errorf("counts too small: %v", counts)
	}
}

func TestVacuumVacuumsAndAnalysesEveryTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	vacuumed := func(table string) (vacuum, analyze bool) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL
			FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&vacuum, &analyze)
		if err != nil {
			t.Fatalf("read %s's vacuum statistics: %v", table, err)
		}
		return vacuum, analyze
	}
	for _, table := range []string{"notifications", "ft_billing"} {
		if vacuum, analyze := vacuumed(table); vacuum || analyze {
			t.Fatalf("before Vacuum, %s vacuumed %v, analysed %v; want neither", table, vacuum, analyze)
		}
	}
	if err := seed.Vacuum(ctx, pool); err != nil {
		t.Fatalf("Vacuum: %v", err)
	}
	for _, table := range []string{"notifications", "ft_billing"} {
		if vacuum, analyze := vacuumed(table); !vacuum || !analyze {
			t.Errorf("after Vacuum, %s vacuumed %v, analysed %v; want both", table, vacuum, analyze)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := seed.Vacuum(cancelled, pool); err == nil {
		t.Error("Vacuum with its context cancelled returned no error")
	}
}
