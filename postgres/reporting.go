package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// ReportingStore reads the history pages and the money (DOMAIN.md §8–§10): monthly status
// counts and template usage from the fact tables plus today's live counters, ft_billing
// rows, and the free SMS allowance, which it creates on first read.
type ReportingStore struct {
	pool *pgxpool.Pool
	// london turns instants into the London dates that months and financial years use
	// (DOMAIN.md §1).
	london *time.Location
	// now tells EnsureAllowance and SetAllowance which financial year is current; tests
	// replace it to pin the year.
	now func() time.Time
}

var _ notifyql.ReportingStore = (*ReportingStore)(nil)

// NewReportingStore returns a ReportingStore that queries through pool and reckons dates
// in loc (Europe/London).
func NewReportingStore(pool *pgxpool.Pool, loc *time.Location) *ReportingStore {
	return &ReportingStore{pool: pool, london: loc, now: time.Now}
}

// reportingDays is the bst_date range a financial-year report reads: facts from FirstDay to
// FactsTo and, when the year contains now, the live counters of Today (nil otherwise, which
// matches no counter row). Facts stop before today when today is live: the nightly run never
// writes today (§4.1), and a fact row for it must not be counted twice if one existed.
type reportingDays struct {
	FactsFrom, FactsTo time.Time
	Today              *time.Time
}

func (s *ReportingStore) reportingDays(fy notifyql.FinancialYear, now time.Time) reportingDays {
	days := reportingDays{FactsFrom: fy.FirstDay().Time(), FactsTo: fy.LastDay().Time()}
	if fy.Contains(now, s.london) {
		today := notifyql.LondonDate(now, s.london)
		days.FactsTo = today.AddDays(-1).Time()
		todayTime := today.Time()
		days.Today = &todayTime
	}
	return days
}

// monthlyStatusCountsSQL is DOMAIN.md §8: facts of the year's days and today's trigger-kept
// counters (never a scan of notifications), summed per London month of bst_date, type and
// status, test keys excluded. $2..$3 = facts range, $4 = London today or NULL. Counters that
// reached zero may linger; HAVING drops them. Cancelled rows are returned: the rules that
// total them leave them out of requested (§2.2).
//
// Speed, measured on the bench profile's big service (about 68,000 fact rows in the year
// so far): the facts are summed per day first, where sum(integer) is a bigint, and only
// then per month, where the bigint sums become numeric over a few thousand rows;
// truncating bst_date as a timestamp, not a timestamptz, skips a time zone conversion per
// row. The per-day sum groups in the order of ft_notification_status_monthly_idx
// (migration 00005), whose predicate is this query's key_type filter, so it is an
// index-only scan that streams into the sum: about 17 ms → 10 ms, generic plan or not.
const monthlyStatusCountsSQL = `
SELECT date_trunc('month', bst_date::timestamp)::date AS month_start, notification_type AS type,
       notification_status AS status, sum(n)::bigint AS count
  FROM (SELECT bst_date, notification_type, notification_status, sum(notification_count) AS n
          FROM ft_notification_status
         WHERE service_id = $1 AND key_type <> 'test' AND bst_date BETWEEN $2 AND $3
         GROUP BY bst_date, notification_type, notification_status
        UNION ALL
        SELECT bst_date, notification_type, notification_status, notification_count
          FROM notification_status_counts
         WHERE service_id = $1 AND key_type <> 'test' AND bst_date = $4) counts
 GROUP BY 1, 2, 3
HAVING sum(n) <> 0
 ORDER BY 1, 2, 3`

type monthlyStatusCountRow struct {
	MonthStart time.Time
	Type       notifyql.NotificationType
	Status     notifyql.NotificationStatus
	Count      int64
}

// MonthlyStatusCounts sums ft_notification_status per London month, type and status within
// fy (test keys excluded) and, when fy contains now, adds London today's live counters to
// the current month (DOMAIN.md §8). An id that is not a UUID has no rows.
func (s *ReportingStore) MonthlyStatusCounts(ctx context.Context, serviceID string, fy notifyql.FinancialYear, now time.Time) ([]notifyql.MonthlyStatusCount, error) {
	if !notifyql.IsUUID(serviceID) {
		return nil, nil
	}
	days := s.reportingDays(fy, now)
	rows, err := s.pool.Query(ctx, monthlyStatusCountsSQL, serviceID, days.FactsFrom, days.FactsTo, days.Today)
	if err != nil {
		return nil, fmt.Errorf("load monthly status counts of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[monthlyStatusCountRow])
	if err != nil {
		return nil, fmt.Errorf("load monthly status counts of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	counts := make([]notifyql.MonthlyStatusCount, len(found))
	for i, row := range found {
		counts[i] = notifyql.MonthlyStatusCount{
			Month:  notifyql.MonthOf(notifyql.DateOf(row.MonthStart)),
			Type:   row.Type,
			Status: row.Status,
			Count:  row.Count,
		}
	}
	return counts, nil
}

// templateUsageSQL is DOMAIN.md §9: the same two sources as monthly statistics without
// cancelled rows, summed per template and London month, then joined to the current
// templates row for its name, type and hidden flag (a template that no longer exists drops
// out, as the spec's join does). $2..$3 = facts range, $4 = London today or NULL. Facts are
// summed per day first for the reason monthlyStatusCountsSQL gives, grouped by bst_date
// then template_id, the order of ft_notification_status_template_usage_idx (migration
// 00005), so the sum streams from an index-only scan instead of hashing about 12,000
// groups: about 40 ms (the generic plan sorted the big service's rows) → 10 ms for the
// bench profile's big service.
const templateUsageSQL = `
SELECT u.template_id::text AS template_id, t.name, t.template_type AS type, t.hidden,
       u.month_start, u.count
  FROM (SELECT template_id, date_trunc('month', bst_date::timestamp)::date AS month_start,
               sum(n)::bigint AS count
          FROM (SELECT template_id, bst_date, sum(notification_count) AS n
                  FROM ft_notification_status
                 WHERE service_id = $1 AND key_type <> 'test' AND notification_status <> 'cancelled'
                   AND bst_date BETWEEN $2 AND $3
                 GROUP BY bst_date, template_id
                UNION ALL
                SELECT template_id, bst_date, notification_count
                  FROM notification_status_counts
                 WHERE service_id = $1 AND key_type <> 'test' AND notification_status <> 'cancelled'
                   AND bst_date = $4) counts
         GROUP BY 1, 2
        HAVING sum(n) <> 0) u
  JOIN templates t ON t.id = u.template_id
 ORDER BY u.month_start, t.name, u.template_id`

type templateUsageRow struct {
	TemplateID string
	Name       string
	Type       notifyql.NotificationType
	Hidden     bool
	MonthStart time.Time
	Count      int64
}

// TemplateUsage returns counts per template and London month within fy (facts, plus London
// today's live counters when fy contains now), test keys and cancelled excluded, with the
// template's current name, type and hidden flag (DOMAIN.md §9). An id that is not a UUID
// has no rows.
func (s *ReportingStore) TemplateUsage(ctx context.Context, serviceID string, fy notifyql.FinancialYear, now time.Time) ([]notifyql.TemplateUsageRow, error) {
	if !notifyql.IsUUID(serviceID) {
		return nil, nil
	}
	days := s.reportingDays(fy, now)
	rows, err := s.pool.Query(ctx, templateUsageSQL, serviceID, days.FactsFrom, days.FactsTo, days.Today)
	if err != nil {
		return nil, fmt.Errorf("load template usage of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[templateUsageRow])
	if err != nil {
		return nil, fmt.Errorf("load template usage of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	usage := make([]notifyql.TemplateUsageRow, len(found))
	for i, row := range found {
		usage[i] = notifyql.TemplateUsageRow{
			TemplateID: row.TemplateID,
			Name:       row.Name,
			Type:       row.Type,
			Hidden:     row.Hidden,
			Month:      notifyql.MonthOf(notifyql.DateOf(row.MonthStart)),
			Count:      row.Count,
		}
	}
	return usage, nil
}

// billingRowsSQL reads one financial year of ft_billing (DOMAIN.md §3.5) summed per day,
// type, rate multiplier, international, rate and postage: template and provider are left
// out. §10.3 consumes the free allowance in date order, and within a day SMS has one rate,
// so how a day's units are split between its rows changes neither the day's nor the
// month's free units, charges or costs; letter and email figures are plain sums. Summing
// in SQL returns about 2,500 rows instead of 18,500 for the bench profile's big service,
// and the grouping follows ft_billing_usage_idx (migration 00005), an index-only scan in
// that order: about 50 ms → 5 ms.
const billingRowsSQL = `
SELECT f.bst_date, f.notification_type AS type, f.rate_multiplier, f.international, f.rate::text AS rate, f.postage,
       sum(f.billable_units)::bigint AS billable_units, sum(f.notifications_sent)::bigint AS notifications_sent
  FROM ft_billing f
 WHERE f.service_id = $1 AND f.bst_date BETWEEN $2 AND $3
 GROUP BY f.bst_date, f.notification_type, f.rate_multiplier, f.international, f.rate, f.postage
 ORDER BY f.bst_date, f.notification_type, f.rate_multiplier, f.international, f.rate, f.postage`

type billingRow struct {
	BstDate           time.Time
	Type              notifyql.NotificationType
	RateMultiplier    int
	International     bool
	Rate              string
	Postage           string
	BillableUnits     int64
	NotificationsSent int64
}

// BillingRows returns the service's ft_billing rows with bst_date within fy, summed per
// day, type, rate multiplier, international, rate and postage (TemplateID and Provider are
// ""), rates read exactly into notifyql.Money from numeric's text form. A stored rate
// finer than a ten-thousandth of a pound is an error rather than a rounded guess. An id that is not a
// UUID has no rows.
func (s *ReportingStore) BillingRows(ctx context.Context, serviceID string, fy notifyql.FinancialYear) ([]notifyql.BillingRow, error) {
	if !notifyql.IsUUID(serviceID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, billingRowsSQL, serviceID, fy.FirstDay().Time(), fy.LastDay().Time())
	if err != nil {
		return nil, fmt.Errorf("load billing rows of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[billingRow])
	if err != nil {
		return nil, fmt.Errorf("load billing rows of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	billing := make([]notifyql.BillingRow, len(found))
	for i, row := range found {
		rate, err := notifyql.ParseMoney(row.Rate)
		if err != nil {
			return nil, fmt.Errorf("billing row of service %s on %s: rate: %w",
				serviceID, notifyql.DateOf(row.BstDate), err)
		}
		billing[i] = notifyql.BillingRow{
			Date:              notifyql.DateOf(row.BstDate),
			Type:              row.Type,
			RateMultiplier:    row.RateMultiplier,
			International:     row.International,
			Rate:              rate,
			Postage:           row.Postage,
			BillableUnits:     row.BillableUnits,
			NotificationsSent: row.NotificationsSent,
		}
	}
	return billing, nil
}

// The allowance ------------------------------------------------------------------------------

const annualBillingSQL = `
SELECT service_id::text AS service_id, financial_year_start,
       free_sms_fragment_limit::bigint AS free_sms_fragment_limit,
       high_volume_service_last_year, has_custom_allowance
  FROM annual_billing
 WHERE service_id = $1 AND financial_year_start = $2`

type annualBillingRow struct {
	ServiceID                 string
	FinancialYearStart        int
	FreeSMSFragmentLimit      int64
	HighVolumeServiceLastYear bool
	HasCustomAllowance        bool
}

func (r annualBillingRow) annualBilling() *notifyql.AnnualBilling {
	return &notifyql.AnnualBilling{
		ServiceID:                 r.ServiceID,
		FinancialYear:             notifyql.FinancialYear(r.FinancialYearStart),
		FreeSMSFragmentLimit:      r.FreeSMSFragmentLimit,
		HighVolumeServiceLastYear: r.HighVolumeServiceLastYear,
		HasCustomAllowance:        r.HasCustomAllowance,
	}
}

// annualBilling returns the (service, fy) row, or nil when there is none.
func (s *ReportingStore) annualBilling(ctx context.Context, serviceID string, fy notifyql.FinancialYear) (*notifyql.AnnualBilling, error) {
	rows, err := s.pool.Query(ctx, annualBillingSQL, serviceID, int(fy))
	if err != nil {
		return nil, fmt.Errorf("load allowance of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[annualBillingRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load allowance of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	return row.annualBilling(), nil
}

// allowanceInputsSQL reads what §10.1 decides with, for one service: its own
// organisation_type column (NULL counts as "other", which DefaultAllowanceFor applies) and
// its chargeable SMS units (billable_units × rate_multiplier) in the year before.
// $2..$3 = the bst_date range of FY−1.
const allowanceInputsSQL = `
SELECT s.organisation_type,
       (SELECT coalesce(sum(f.billable_units::bigint * f.rate_multiplier), 0)::bigint
          FROM ft_billing f
         WHERE f.service_id = s.id AND f.notification_type = 'sms'
           AND f.bst_date BETWEEN $2 AND $3) AS last_year_chargeable_units
  FROM services s
 WHERE s.id = $1`

const defaultAllowancesSQL = `
SELECT valid_from_financial_year_start, organisation_type, allowance::bigint AS allowance
  FROM default_annual_allowance
 WHERE notification_type = 'sms'
 ORDER BY valid_from_financial_year_start, organisation_type`

// allowanceInputs is everything the allowance rules need about one service and year.
type allowanceInputs struct {
	lastYearChargeableUnits int64
	defaultAllowance        int64
}

// loadAllowanceInputs returns ENOTFOUND when the service does not exist.
func (s *ReportingStore) loadAllowanceInputs(ctx context.Context, serviceID string, fy notifyql.FinancialYear) (allowanceInputs, error) {
	var (
		organisationType *string
		inputs           allowanceInputs
	)
	lastYear := fy - 1
	err := s.pool.QueryRow(ctx, allowanceInputsSQL, serviceID, lastYear.FirstDay().Time(), lastYear.LastDay().Time()).
		Scan(&organisationType, &inputs.lastYearChargeableUnits)
	if errors.Is(err, pgx.ErrNoRows) {
		return allowanceInputs{}, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	if err != nil {
		return allowanceInputs{}, fmt.Errorf("load allowance inputs of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	rows, err := s.pool.Query(ctx, defaultAllowancesSQL)
	if err != nil {
		return allowanceInputs{}, fmt.Errorf("load default allowances: %w", err)
	}
	var (
		validFrom int
		orgType   string
		allowance int64
		defaults  []notifyql.DefaultAllowance
	)
	_, err = pgx.ForEachRow(rows, []any{&validFrom, &orgType, &allowance}, func() error {
		defaults = append(defaults, notifyql.DefaultAllowance{
			ValidFrom:        notifyql.FinancialYear(validFrom),
			OrganisationType: orgType,
			Allowance:        allowance,
		})
		return nil
	})
	if err != nil {
		return allowanceInputs{}, fmt.Errorf("load default allowances: %w", err)
	}
	inputs.defaultAllowance = notifyql.DefaultAllowanceFor(defaults, organisationType, fy)
	return inputs, nil
}

// Concurrent first reads race to insert; DO NOTHING lets the loser wait for the winner's
// commit and keep its row, and the SELECT that follows returns that row to both.
const insertAllowanceSQL = `
INSERT INTO annual_billing (service_id, financial_year_start, free_sms_fragment_limit,
                            high_volume_service_last_year, has_custom_allowance)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (service_id, financial_year_start) DO NOTHING`

// validateAllowanceYear keeps rows for years the API does not report on out of the table.
func (s *ReportingStore) validateAllowanceYear(fy notifyql.FinancialYear) error {
	return notifyql.ValidateFinancialYear(int(fy), s.now(), s.london)
}

// EnsureAllowance returns annual_billing for (service, fy), creating it first as
// notifyql.DecideAllowance says when it is missing (DOMAIN.md §10.1). Concurrent callers
// get the same row. It returns EINVALID for a year before 2016 or after the current one
// (and creates nothing), and ENOTFOUND for a service that does not exist.
func (s *ReportingStore) EnsureAllowance(ctx context.Context, serviceID string, fy notifyql.FinancialYear) (*notifyql.AnnualBilling, error) {
	if err := s.validateAllowanceYear(fy); err != nil {
		return nil, err
	}
	if !notifyql.IsUUID(serviceID) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	serviceID = notifyql.NormaliseID(serviceID)
	existing, err := s.annualBilling(ctx, serviceID, fy)
	if err != nil || existing != nil {
		return existing, err
	}
	inputs, err := s.loadAllowanceInputs(ctx, serviceID, fy)
	if err != nil {
		return nil, err
	}
	lastYear, err := s.annualBilling(ctx, serviceID, fy-1)
	if err != nil {
		return nil, err
	}
	decided := notifyql.DecideAllowance(fy, inputs.lastYearChargeableUnits, lastYear, inputs.defaultAllowance)
	_, err = s.pool.Exec(ctx, insertAllowanceSQL, serviceID, int(fy), decided.FreeSMSFragmentLimit,
		decided.HighVolumeServiceLastYear, decided.HasCustomAllowance)
	if err != nil {
		return nil, fmt.Errorf("create allowance of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	created, err := s.annualBilling(ctx, serviceID, fy)
	if err != nil {
		return nil, err
	}
	if created == nil {
		return nil, fmt.Errorf("create allowance of service %s for %s: row missing after insert", serviceID, fy.Label())
	}
	return created, nil
}

// The row exists (EnsureAllowance made sure), so this is the update half of the upsert;
// the high-volume flag the row was created with is kept.
const updateAllowanceSQL = `
UPDATE annual_billing
   SET free_sms_fragment_limit = $3, has_custom_allowance = $4,
       updated_at = (now() AT TIME ZONE 'utc')
 WHERE service_id = $1 AND financial_year_start = $2`

// SetAllowance sets the free SMS allowance for (service, fy), recording whether it differs
// from the organisation type's default (DOMAIN.md §10.1), and returns the row. It creates
// the row first when it is missing. EINVALID for a negative limit or a year outside
// 2016..current; ENOTFOUND for a service that does not exist.
func (s *ReportingStore) SetAllowance(ctx context.Context, serviceID string, fy notifyql.FinancialYear, limit int64) (*notifyql.AnnualBilling, error) {
	current, err := s.EnsureAllowance(ctx, serviceID, fy)
	if err != nil {
		return nil, err
	}
	serviceID = current.ServiceID
	inputs, err := s.loadAllowanceInputs(ctx, serviceID, fy)
	if err != nil {
		return nil, err
	}
	updated, err := notifyql.SetAllowance(*current, limit, inputs.defaultAllowance)
	if err != nil {
		return nil, err
	}
	_, err = s.pool.Exec(ctx, updateAllowanceSQL, serviceID, int(fy), updated.FreeSMSFragmentLimit, updated.HasCustomAllowance)
	if err != nil {
		return nil, fmt.Errorf("set allowance of service %s for %s: %w", serviceID, fy.Label(), err)
	}
	row, err := s.annualBilling(ctx, serviceID, fy)
	if err != nil {
		return nil, err
	}
	return row, nil
}
