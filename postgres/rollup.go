package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// The fact tables (DOMAIN §3.5) are built from notifications_all_time, so a day reads the
// same whether its rows are still in notifications or were moved to notification_history;
// ft_billing of London yesterday and later, whose rows are all still in notifications, is
// built from the counters that triggers keep equal to them (see countersServe).
// A build replaces the days' rows with the aggregate in one transaction (ft_notification_status
// by delete and insert, ft_billing by an upsert that writes only what changed): the days end
// up exactly equal to their source, rows whose source has gone included, and running it
// twice leaves identical rows.
//
// The source rows of London days [from, to] are those with created_at in
// [londonMidnight(from), londonMidnight(to+1)); each row's bst_date is its London date, so
// one statement serves one day (the rollup) or many (the seed). Both halves of the view are
// filtered on created_at: notifications through its created_at index, notification_history
// through (service_id, key_type, notification_type, created_at) or a scan of a table that is
// small next to notifications.

const deleteStatusFactsSQL = `
DELETE FROM ft_notification_status WHERE bst_date >= $1 AND bst_date <= $2`

const deleteStatusFactsOfServiceSQL = deleteStatusFactsSQL + ` AND service_id = $3`

// §4.1: every status is counted, cancelled included; readers leave it out.
const insertStatusFactsSelectSQL = `
INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type, key_type,
                                    notification_status, notification_count, created_at)
SELECT (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date, template_id, service_id,
       coalesce(job_id, '00000000-0000-0000-0000-000000000000'), notification_type, key_type,
       notification_status, count(*), $3
  FROM notifications_all_time
 WHERE key_type IN ('normal', 'team') AND created_at >= $1 AND created_at < $2`

const insertStatusFactsGroupSQL = `
 GROUP BY 1, 2, 3, 4, 5, 6, 7`

const insertStatusFactsSQL = insertStatusFactsSelectSQL + insertStatusFactsGroupSQL

const insertStatusFactsOfServiceSQL = insertStatusFactsSelectSQL + ` AND service_id = $4` + insertStatusFactsGroupSQL

// §4.2. The build reads a source relation with the notification's own values, NULLs
// replaced (provider coalesce(sent_by, 'unknown'), rate_multiplier
// coalesce(rate_multiplier, 1)::int, postage coalesce(postage, 'none')), and
// notification_count rows of each: either notifications_all_time, one row each, or the
// trigger-kept counters of notification_billing_counts (migration 00006), which are cheap
// but hold only rows still in notifications. Which rows are billable and how each type is
// grouped is written once, after the source. $1 and $2 bound created_at, $3 stamps the
// rows written, $4 is the one service.
//
// Letters are grouped by sheet count to find their rate and then summed on the table's key
// (two sheet counts may share a rate). The rate of a row is looked up at London midnight of
// its day. A letter without postage counts as second class, as the seed always assumed.
// Groups that find no rate are not written but returned, so that the caller can refuse the
// whole build instead of guessing a price.
//
// The days' rows end up equal to the aggregate: rows no group wants are deleted, and the
// wanted ones are upserted on the key, updating billable_units and notifications_sent only
// where they changed. Usage rebuilds today on every request (§10.5), and most requests find
// nothing changed: they then write nothing.

const billingSourceOfNotificationsSQL = `
WITH source AS (
    SELECT (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
           template_id, service_id, notification_type, key_type, notification_status,
           coalesce(sent_by, 'unknown') AS provider, coalesce(rate_multiplier, 1)::int AS rate_multiplier,
           international, coalesce(postage, 'none') AS postage, billable_units, 1 AS notification_count
      FROM notifications_all_time
     WHERE created_at >= $1 AND created_at < $2`

const billingSourceOfCountersSQL = `
WITH source AS (
    SELECT bst_date, template_id, service_id, notification_type, key_type, notification_status,
           provider, rate_multiplier, international, postage, billable_units, notification_count
      FROM notification_billing_counts
     WHERE bst_date >= ($1::timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date
       AND bst_date < ($2::timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date`

const billingSourceOfServiceSQL = `
       AND service_id = $4`

const billingFactsWantedSQL = `
), billable AS (
    SELECT bst_date, template_id, service_id, notification_type,
           CASE notification_type WHEN 'email' THEN 'ses' ELSE provider END AS provider,
           CASE notification_type WHEN 'email' THEN 0 ELSE rate_multiplier END AS rate_multiplier,
           CASE notification_type WHEN 'email' THEN false ELSE international END AS international,
           CASE notification_type WHEN 'letter' THEN billable_units ELSE 0 END AS sheets,
           CASE WHEN notification_type <> 'letter' THEN 'none'
                WHEN postage = 'none' THEN 'second'
                ELSE postage END AS postage,
           CASE notification_type WHEN 'email' THEN 0 ELSE billable_units END * notification_count AS units,
           notification_count
      FROM source
     WHERE key_type IN ('normal', 'team')
       AND CASE notification_type
             WHEN 'email' THEN notification_status IN ('sending', 'delivered', 'temporary-failure', 'permanent-failure')
             WHEN 'sms' THEN notification_status IN ('sending', 'sent', 'delivered', 'pending', 'temporary-failure', 'permanent-failure')
             ELSE notification_status IN ('sending', 'delivered', 'returned-letter')
           END
), grouped AS (
    SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international,
           sheets, postage, sum(units) AS units, sum(notification_count) AS sent,
           (bst_date::timestamp AT TIME ZONE 'Europe/London') AT TIME ZONE 'UTC' AS day_start
      FROM billable
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
), priced AS MATERIALIZED (
    SELECT g.*,
           CASE g.notification_type
             WHEN 'sms' THEN (SELECT r.rate FROM rates r
                               WHERE r.notification_type = 'sms' AND r.valid_from <= g.day_start
                               ORDER BY r.valid_from DESC LIMIT 1)
             WHEN 'letter' THEN CASE WHEN g.sheets = 0 THEN 0 ELSE
                                (SELECT l.rate FROM letter_rates l
                                  WHERE l.crown AND l.post_class = g.postage AND l.sheet_count = g.sheets
                                    AND l.start_date <= g.day_start
                                  ORDER BY l.start_date DESC LIMIT 1) END
             ELSE 0
           END AS rate
      FROM grouped g
), wanted AS MATERIALIZED (
    SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international, rate,
           postage, sum(units)::int AS billable_units, sum(sent)::int AS notifications_sent
      FROM priced
     WHERE rate IS NOT NULL
     GROUP BY bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international,
              rate, postage
), existing AS MATERIALIZED (
    SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international, rate,
           postage, billable_units, notifications_sent
      FROM ft_billing f
     WHERE f.bst_date >= ($1::timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date
       AND f.bst_date < ($2::timestamp AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date`

const billingFactsOfServiceSQL = `
       AND f.service_id = $4`

// The rows to delete and to write are found by EXCEPT, hashed or sorted, rather than by
// anti-joins that a planner blind to the CTEs' sizes may run as a loop over one per row of
// the other.
const billingFactsWriteSQL = `
), unwanted AS (
    DELETE FROM ft_billing f
     USING (SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
                   international, rate, postage
              FROM existing
            EXCEPT
            SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
                   international, rate, postage
              FROM wanted) gone
     WHERE (f.bst_date, f.template_id, f.service_id, f.notification_type, f.provider, f.rate_multiplier,
            f.international, f.rate, f.postage)
         = (gone.bst_date, gone.template_id, gone.service_id, gone.notification_type, gone.provider,
            gone.rate_multiplier, gone.international, gone.rate, gone.postage)
    RETURNING 1
), upserted AS (
    INSERT INTO ft_billing AS f (bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
                                 international, rate, postage, billable_units, notifications_sent, created_at)
    SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international, rate,
           postage, billable_units, notifications_sent, $3
      FROM (SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international,
                   rate, postage, billable_units, notifications_sent
              FROM wanted
            EXCEPT
            SELECT bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international,
                   rate, postage, billable_units, notifications_sent
              FROM existing) changed
     ORDER BY bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international,
              rate, postage
    ON CONFLICT (bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international,
                 rate, postage)
    DO UPDATE SET billable_units = EXCLUDED.billable_units, notifications_sent = EXCLUDED.notifications_sent,
                  updated_at = EXCLUDED.created_at
    RETURNING 1
)
SELECT bst_date, notification_type, postage, sheets
  FROM priced
 WHERE rate IS NULL
 ORDER BY bst_date, notification_type, postage, sheets
 LIMIT 1`

const (
	buildBillingFactsSQL = billingSourceOfNotificationsSQL +
		billingFactsWantedSQL + billingFactsWriteSQL
	buildBillingFactsOfServiceSQL = billingSourceOfNotificationsSQL + billingSourceOfServiceSQL +
		billingFactsWantedSQL + billingFactsOfServiceSQL + billingFactsWriteSQL
	buildBillingFactsFromCountersSQL = billingSourceOfCountersSQL +
		billingFactsWantedSQL + billingFactsWriteSQL
	buildBillingFactsOfServiceFromCountersSQL = billingSourceOfCountersSQL + billingSourceOfServiceSQL +
		billingFactsWantedSQL + billingFactsOfServiceSQL + billingFactsWriteSQL
)

// Transaction-level advisory locks serialise builds of the same day and table (the nightly
// run, the frequent run of today and usage's on-demand rebuild may meet): two concurrent
// delete-and-insert transactions would otherwise collide on the primary key. The first key
// names the table, the second is the day.
const lockFactDaysSQL = `
SELECT pg_advisory_xact_lock($1::int4, day) FROM generate_series($2::int4, $3::int4) AS day ORDER BY day`

// lockDay numbers a day for a lock key: days since 2000-01-01.
func lockDay(d notifyql.Date) int {
	return d.Sub(notifyql.Date{Year: 2000, Month: time.January, Day: 1})
}

const (
	statusFactsLockKey  int32 = 0x6e71_0001
	billingFactsLockKey int32 = 0x6e71_0002
)

// factBuild is one rebuild of one fact table: London days [from, to], of one service or
// (serviceID "") all of them.
type factBuild struct {
	from, to  notifyql.Date
	serviceID string
	london    *time.Location
	// createdAt stamps the inserted rows.
	createdAt time.Time
	// fromCounters builds ft_billing from notification_billing_counts rather than
	// notifications_all_time: only right while every row of the days is in notifications.
	fromCounters bool
}

func (b factBuild) sourceStart() time.Time { return notifyql.LondonMidnight(b.from, b.london) }
func (b factBuild) sourceEnd() time.Time   { return notifyql.LondonMidnight(b.to.AddDays(1), b.london) }

func lockFactDays(ctx context.Context, tx pgx.Tx, key int32, b factBuild) error {
	if _, err := tx.Exec(ctx, lockFactDaysSQL, key, lockDay(b.from), lockDay(b.to)); err != nil {
		return fmt.Errorf("lock fact days %s to %s: %w", b.from, b.to, err)
	}
	return nil
}

// rebuildStatusFacts replaces ft_notification_status for the build's days (DOMAIN §4.1).
func rebuildStatusFacts(ctx context.Context, tx pgx.Tx, b factBuild) error {
	if err := lockFactDays(ctx, tx, statusFactsLockKey, b); err != nil {
		return err
	}
	var err error
	if b.serviceID == "" {
		_, err = tx.Exec(ctx, deleteStatusFactsSQL, b.from.Time(), b.to.Time())
	} else {
		_, err = tx.Exec(ctx, deleteStatusFactsOfServiceSQL, b.from.Time(), b.to.Time(), b.serviceID)
	}
	if err != nil {
		return fmt.Errorf("delete ft_notification_status %s to %s: %w", b.from, b.to, err)
	}
	if b.serviceID == "" {
		_, err = tx.Exec(ctx, insertStatusFactsSQL, b.sourceStart(), b.sourceEnd(), b.createdAt)
	} else {
		_, err = tx.Exec(ctx, insertStatusFactsOfServiceSQL, b.sourceStart(), b.sourceEnd(), b.createdAt, b.serviceID)
	}
	if err != nil {
		return fmt.Errorf("build ft_notification_status %s to %s: %w", b.from, b.to, err)
	}
	return nil
}

// unpricedGroup is a billable group for which no rate is known.
type unpricedGroup struct {
	Day     time.Time `db:"bst_date"`
	Type    string    `db:"notification_type"`
	Postage string    `db:"postage"`
	Sheets  int       `db:"sheets"`
}

// rebuildBillingFacts replaces ft_billing for the build's days (DOMAIN §4.2). It fails with
// EINVALID, leaving the transaction to be rolled back, when a billable group has no rate.
func rebuildBillingFacts(ctx context.Context, tx pgx.Tx, b factBuild) error {
	if err := lockFactDays(ctx, tx, billingFactsLockKey, b); err != nil {
		return err
	}
	var rows pgx.Rows
	var err error
	switch {
	case b.fromCounters && b.serviceID == "":
		rows, err = tx.Query(ctx, buildBillingFactsFromCountersSQL, b.sourceStart(), b.sourceEnd(), b.createdAt)
	case b.fromCounters:
		rows, err = tx.Query(ctx, buildBillingFactsOfServiceFromCountersSQL, b.sourceStart(), b.sourceEnd(), b.createdAt, b.serviceID)
	case b.serviceID == "":
		rows, err = tx.Query(ctx, buildBillingFactsSQL, b.sourceStart(), b.sourceEnd(), b.createdAt)
	default:
		rows, err = tx.Query(ctx, buildBillingFactsOfServiceSQL, b.sourceStart(), b.sourceEnd(), b.createdAt, b.serviceID)
	}
	if err != nil {
		return fmt.Errorf("build ft_billing %s to %s: %w", b.from, b.to, err)
	}
	unpriced, err := pgx.CollectRows(rows, pgx.RowToStructByName[unpricedGroup])
	if err != nil {
		return fmt.Errorf("build ft_billing %s to %s: %w", b.from, b.to, err)
	}
	if len(unpriced) > 0 {
		u := unpriced[0]
		day := notifyql.DateOf(u.Day)
		if u.Type == string(notifyql.TypeLetter) {
			return notifyql.Errorf(notifyql.EINVALID,
				"no letter rate is known for %s post with %d sheets on %s: add it to letter_rates before building that day",
				u.Postage, u.Sheets, day)
		}
		return notifyql.Errorf(notifyql.EINVALID,
			"no %s rate is known on %s: add it to rates before building that day", u.Type, day)
	}
	return nil
}

// BuildFactsInTx builds both fact tables for the London days [from, to] of every service
// inside tx, stamping the rows createdAt. It is the rollup's own build, exported for the
// seed generator, which builds the facts of what it loads in its loading transaction so
// that a failed seed leaves no facts behind. It returns EINVALID when a billable group has
// no rate.
func BuildFactsInTx(ctx context.Context, tx pgx.Tx, from, to notifyql.Date, london *time.Location, createdAt time.Time) error {
	b := factBuild{from: from, to: to, london: london, createdAt: createdAt}
	if err := rebuildStatusFacts(ctx, tx, b); err != nil {
		return err
	}
	return rebuildBillingFacts(ctx, tx, b)
}

// Rollup builds the fact tables ft_notification_status and ft_billing for London days
// (DOMAIN §4.1, §4.2). It is safe to run from several instances at once.
type Rollup struct {
	pool   *pgxpool.Pool
	london *time.Location
	logger *slog.Logger
	// now tells which London days can be built from the billing counters.
	now func() time.Time
}

var _ notifyql.BillingRebuilder = (*Rollup)(nil)

// NewRollup returns a Rollup on pool; loc is Europe/London. A nil logger discards.
func NewRollup(pool *pgxpool.Pool, loc *time.Location, logger *slog.Logger) *Rollup {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Rollup{pool: pool, london: loc, logger: logger, now: time.Now}
}

// WithClock returns a copy of r that takes London today from now instead of time.Now.
func (r *Rollup) WithClock(now func() time.Time) *Rollup {
	clocked := *r
	clocked.now = now
	return &clocked
}

// countersServe reports whether ft_billing for day can be built from
// notification_billing_counts, which count only the rows still in notifications: true from
// London yesterday on. Retention (DOMAIN §14) keeps at least 3 London days, so it has moved
// no row of yesterday, today or later; an older day may have rows in notification_history.
func (r *Rollup) countersServe(day notifyql.Date) bool {
	yesterday := notifyql.LondonDate(r.now(), r.london).AddDays(-1)
	return !day.Before(yesterday)
}

// factTable is one of the two fact tables and how to rebuild it.
type factTable struct {
	name    string
	rebuild func(context.Context, pgx.Tx, factBuild) error
}

func statusFacts() factTable  { return factTable{"ft_notification_status", rebuildStatusFacts} }
func billingFacts() factTable { return factTable{"ft_billing", rebuildBillingFacts} }

// BuildDays rebuilds both fact tables for every London day from from to to inclusive, each
// day in its own transaction. Building a day again gives identical rows.
func (r *Rollup) BuildDays(ctx context.Context, from, to notifyql.Date) error {
	return r.build(ctx, from, to, "", statusFacts(), billingFacts())
}

// BuildStatus rebuilds ft_notification_status for the London days from to to inclusive.
func (r *Rollup) BuildStatus(ctx context.Context, from, to notifyql.Date) error {
	return r.build(ctx, from, to, "", statusFacts())
}

// BuildBilling rebuilds ft_billing for the London days from to to inclusive.
func (r *Rollup) BuildBilling(ctx context.Context, from, to notifyql.Date) error {
	return r.build(ctx, from, to, "", billingFacts())
}

// RebuildBilling rebuilds one service's ft_billing rows for one London day; usage calls it
// for today before reading (DOMAIN §10.5).
func (r *Rollup) RebuildBilling(ctx context.Context, serviceID string, day notifyql.Date) error {
	if err := notifyql.ValidateID("service", serviceID); err != nil {
		return err
	}
	return r.build(ctx, day, day, notifyql.NormaliseID(serviceID), billingFacts())
}

func (r *Rollup) build(ctx context.Context, from, to notifyql.Date, serviceID string, tables ...factTable) error {
	if to.Before(from) {
		return notifyql.Errorf(notifyql.EINVALID, "the first day (%s) is after the last (%s)", from, to)
	}
	for day := from; !day.After(to); day = day.AddDays(1) {
		started := time.Now()
		b := factBuild{from: day, to: day, serviceID: serviceID, london: r.london, createdAt: started.UTC(),
			fromCounters: r.countersServe(day)}
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			for _, table := range tables {
				if err := table.rebuild(ctx, tx, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			var coded *notifyql.Error
			if errors.As(err, &coded) {
				return err
			}
			return fmt.Errorf("rollup of %s: %w", day, err)
		}
		r.logger.Debug("rolled up day", "day", day.String(), "tables", len(tables),
			"one_service", serviceID != "", "billing_from_counters", b.fromCounters, "elapsed", time.Since(started))
	}
	return nil
}

// Scheduled rollups (DOMAIN §4.3). ft_notification_status is rebuilt for the same 10 days
// as ft_billing for every type: sms and email settle within 4 days, so rebuilding their
// older days again changes nothing and keeps one rule.
const (
	nightlyDays         = 10
	nightlyBillingAt    = 15 * time.Minute
	nightlyStatusAt     = 30 * time.Minute
	todaysBillingPeriod = 5 * time.Minute
)

// Jobs returns the scheduled rollups: ft_billing for the 10 London days ending yesterday at
// 00:15 UTC, ft_notification_status for the same days at 00:30 UTC, and ft_billing for
// London today, every service, every 5 minutes.
func (r *Rollup) Jobs(now func() time.Time) []Job {
	lastTenDays := func() (notifyql.Date, notifyql.Date) {
		yesterday := notifyql.LondonDate(now(), r.london).AddDays(-1)
		return yesterday.AddDays(1 - nightlyDays), yesterday
	}
	return []Job{
		{Name: "rollup-billing-nightly", DailyAt: nightlyBillingAt, Run: func(ctx context.Context) error {
			from, to := lastTenDays()
			return r.BuildBilling(ctx, from, to)
		}},
		{Name: "rollup-status-nightly", DailyAt: nightlyStatusAt, Run: func(ctx context.Context) error {
			from, to := lastTenDays()
			return r.BuildStatus(ctx, from, to)
		}},
		{Name: "rollup-billing-today", Every: todaysBillingPeriod, Run: func(ctx context.Context) error {
			today := notifyql.LondonDate(now(), r.london)
			return r.BuildBilling(ctx, today, today)
		}},
	}
}
