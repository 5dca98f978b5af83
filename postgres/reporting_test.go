package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// reportingFactsSQL holds alpha's status facts either side of the FY 2024/2025 boundary and
// in July 2025, plus rows every reader must skip: a test key, another service, and a fact
// for fxNow's London today (21 July), which the nightly run never writes (§4.1) and which
// must not be counted beside today's live counters. 7e..09 is a template that no longer
// exists: monthly statistics count it, template usage (a join to templates) cannot name it.
const reportingFactsSQL = `
INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type,
                                    key_type, notification_status, notification_count)
SELECT f.bst_date::date, f.template_id::uuid, f.service_id::uuid,
       '00000000-0000-0000-0000-000000000000', f.notification_type, f.key_type,
       f.notification_status, f.notification_count
  FROM (VALUES
    ('2025-03-31', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'normal', 'delivered', 7),
    ('2025-04-01', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'normal', 'delivered', 3),
    ('2025-04-30', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'email', 'normal', 'delivered', 2),
    ('2025-04-30', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'email', 'test', 'delivered', 100),
    ('2025-05-10', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000002', 'email', 'normal', 'delivered', 9),
    ('2025-06-15', '7e000000-0000-4000-8000-000000000009', '5e000000-0000-4000-8000-000000000001', 'sms', 'normal', 'failed', 4),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'email', 'team', 'delivered', 5),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001', 'letter', 'normal', 'cancelled', 1),
    ('2025-07-20', '7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001', 'letter', 'normal', 'delivered', 2),
    ('2025-07-21', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'email', 'normal', 'delivered', 1000)
  ) AS f (bst_date, template_id, service_id, notification_type, key_type, notification_status, notification_count);
`

// reportingLiveNotifications feed notification_status_counts through its triggers.
var reportingLiveNotifications = []fxNotification{
	// 00:30 BST on 21 July: fxNow's London today though still the 20th in UTC.
	{ID: fxNotificationID(1), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-20T23:30:00Z"},
	{ID: fxNotificationID(2), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:00:00Z"},
	{ID: fxNotificationID(3), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Key: notifyql.KeyTest, CreatedAt: "2025-07-21T09:00:00Z"},
	{ID: fxNotificationID(4), Type: notifyql.TypeLetter, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-21T08:00:00Z"},
	// 00:10 BST on 1 April 2025: FY 2025, though 31 March in UTC.
	{ID: fxNotificationID(5), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-03-31T23:10:00Z"},
	// 23:50 BST on 31 March 2025: FY 2024.
	{ID: fxNotificationID(6), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-03-31T22:50:00Z"},
	{ID: fxNotificationID(7), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T09:00:00Z"},
}

// fxBoundaryNow is 00:30 BST on 1 April 2025: London today is the first day of FY 2025.
var fxBoundaryNow = time.Date(2025, 3, 31, 23, 30, 0, 0, time.UTC)

func newReportingStore(t *testing.T) (*ReportingStore, *pgxpool.Pool) {
	t.Helper()
	pool := newFixturePool(t)
	store := NewReportingStore(pool, fxLondon(t))
	store.now = func() time.Time { return fxNow }
	return store, pool
}

func month(year int, m time.Month) notifyql.Month { return notifyql.Month{Year: year, Month: m} }

func TestReportingMonthlyStatusCounts(t *testing.T) {
	t.Parallel()
	store, pool := newReportingStore(t)
	fxExec(t, pool, reportingFactsSQL)
	insertNotifications(t, pool, reportingLiveNotifications...)

	count := func(m notifyql.Month, typ notifyql.NotificationType, status notifyql.NotificationStatus, n int64) notifyql.MonthlyStatusCount {
		return notifyql.MonthlyStatusCount{Month: m, Type: typ, Status: status, Count: n}
	}
	april, june, july := month(2025, time.April), month(2025, time.June), month(2025, time.July)
	tests := []struct {
		name      string
		serviceID string
		fy        notifyql.FinancialYear
		now       time.Time
		want      []notifyql.MonthlyStatusCount
	}{
		{
			name: "current year: facts before today plus today's live counters in July",
			fy:   2025, now: fxNow,
			want: []notifyql.MonthlyStatusCount{
				count(april, notifyql.TypeEmail, notifyql.StatusDelivered, 2),
				count(april, notifyql.TypeSMS, notifyql.StatusDelivered, 3),
				count(june, notifyql.TypeSMS, notifyql.StatusFailed, 4),
				// 5 facts (team key) + 1 live; the 1,000 fact for today is not read.
				count(july, notifyql.TypeEmail, notifyql.StatusDelivered, 6),
				// Cancelled is returned; the totals leave it out of requested.
				count(july, notifyql.TypeLetter, notifyql.StatusCancelled, 2),
				count(july, notifyql.TypeLetter, notifyql.StatusDelivered, 2),
				count(july, notifyql.TypeSMS, notifyql.StatusSending, 1),
			},
		},
		{
			name: "past year: facts only, 31 March in its March",
			fy:   2024, now: fxNow,
			want: []notifyql.MonthlyStatusCount{
				count(month(2025, time.March), notifyql.TypeSMS, notifyql.StatusDelivered, 7),
			},
		},
		{
			name: "00:30 BST on 1 April: the new year holds only today's live row from 23:10 UTC",
			fy:   2025, now: fxBoundaryNow,
			want: []notifyql.MonthlyStatusCount{
				count(april, notifyql.TypeEmail, notifyql.StatusDelivered, 1),
			},
		},
		{
			name: "00:30 BST on 1 April: the year just ended reads facts, no live rows",
			fy:   2024, now: fxBoundaryNow,
			want: []notifyql.MonthlyStatusCount{
				count(month(2025, time.March), notifyql.TypeSMS, notifyql.StatusDelivered, 7),
			},
		},
		{name: "a year with nothing", fy: 2026, now: fxNow},
		{name: "another service's counts stay its own", serviceID: fxDeltaID, fy: 2025, now: fxNow},
		{name: "not a uuid", serviceID: "nope", fy: 2025, now: fxNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serviceID := tt.serviceID
			if serviceID == "" {
				serviceID = fxAlphaID
			}
			got, err := store.MonthlyStatusCounts(context.Background(), serviceID, tt.fy, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("MonthlyStatusCounts(%d, %s) mismatch (-want +got):\n%s", tt.fy, tt.now.Format(time.RFC3339), diff)
			}
		})
	}
}

func TestReportingTemplateUsage(t *testing.T) {
	t.Parallel()
	store, pool := newReportingStore(t)
	fxExec(t, pool, reportingFactsSQL)
	insertNotifications(t, pool, reportingLiveNotifications...)

	code := func(m notifyql.Month, n int64) notifyql.TemplateUsageRow {
		return notifyql.TemplateUsageRow{TemplateID: fxSMSTemplateID, Name: "Code", Type: notifyql.TypeSMS, Month: m, Count: n}
	}
	reminder := func(m notifyql.Month, n int64) notifyql.TemplateUsageRow {
		return notifyql.TemplateUsageRow{TemplateID: fxEmailTemplateID, Name: "Payment reminder", Type: notifyql.TypeEmail, Month: m, Count: n}
	}
	pdf := func(m notifyql.Month, n int64) notifyql.TemplateUsageRow {
		return notifyql.TemplateUsageRow{TemplateID: fxLetterTemplateID, Name: "Pre-compiled PDF", Type: notifyql.TypeLetter, Hidden: true, Month: m, Count: n}
	}
	april, july := month(2025, time.April), month(2025, time.July)
	tests := []struct {
		name string
		fy   notifyql.FinancialYear
		now  time.Time
		want []notifyql.TemplateUsageRow
	}{
		{
			// June's only row is a template that no longer exists; cancelled letters (one
			// fact, one live) are left out; test keys and today's fact row are not read.
			name: "current year",
			fy:   2025, now: fxNow,
			want: []notifyql.TemplateUsageRow{
				code(april, 3), reminder(april, 2),
				code(july, 1), reminder(july, 6), pdf(july, 2),
			},
		},
		{name: "past year", fy: 2024, now: fxNow, want: []notifyql.TemplateUsageRow{code(month(2025, time.March), 7)}},
		{name: "00:30 BST on 1 April", fy: 2025, now: fxBoundaryNow, want: []notifyql.TemplateUsageRow{reminder(april, 1)}},
		{name: "a year with nothing", fy: 2026, now: fxNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.TemplateUsage(context.Background(), fxAlphaID, tt.fy, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("TemplateUsage(%d, %s) mismatch (-want +got):\n%s", tt.fy, tt.now.Format(time.RFC3339), diff)
			}
		})
	}
	if got := pdf(july, 2); !got.IsPrecompiledLetter() {
		t.Errorf("the hidden Pre-compiled PDF letter template is not a precompiled letter")
	}
}

const reportingBillingSQL = `
INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider,
                        rate_multiplier, international, rate, postage, billable_units, notifications_sent)
SELECT b.bst_date::date, b.template_id::uuid, b.service_id::uuid, b.notification_type, b.provider,
       b.rate_multiplier, b.international, b.rate::numeric, b.postage, b.billable_units, b.notifications_sent
  FROM (VALUES
    ('2025-03-31', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'mmg', 1, false, '0.0227', 'none', 50, 50),
    ('2025-04-01', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'mmg', 1, false, '0.0233', 'none', 400, 400),
    ('2025-04-01', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'firetext', 1, false, '0.0233', 'none', 30, 20),
    ('2025-04-01', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'sms', 'mmg', 1, false, '0.0233', 'none', 6, 5),
    ('2025-05-12', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'mmg', 2, true, '0.0233', 'none', 500, 500),
    ('2025-05-12', '7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001', 'letter', 'dvla', 1, false, '0.6800', 'second', 8, 4),
    ('2025-05-12', '7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001', 'letter', 'dvla', 1, true, '1.72', 'europe', 1, 1),
    ('2025-06-02', '7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'email', 'ses', 0, false, '0', 'none', 0, 10),
    ('2026-03-31', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'mmg', 1, false, '0.0240', 'none', 1, 1),
    ('2026-04-01', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'sms', 'mmg', 1, false, '0.0240', 'none', 9, 9),
    ('2025-05-12', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000002', 'sms', 'mmg', 1, false, '0.0233', 'none', 77, 77),
    ('2025-05-12', '7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000004', 'sms', 'mmg', 1, false, '0.02335', 'none', 1, 1)
  ) AS b (bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
          international, rate, postage, billable_units, notifications_sent);
`

func TestReportingBillingRows(t *testing.T) {
	t.Parallel()
	store, pool := newReportingStore(t)
	fxExec(t, pool, reportingBillingSQL)
	ctx := context.Background()

	sms := func(day notifyql.Date, multiplier int, international bool, rate notifyql.Money, units, sent int64) notifyql.BillingRow {
		return notifyql.BillingRow{Date: day, Type: notifyql.TypeSMS,
			RateMultiplier: multiplier, International: international, Rate: rate, Postage: "none",
			BillableUnits: units, NotificationsSent: sent}
	}
	may12 := notifyql.Date{Year: 2025, Month: time.May, Day: 12}
	// Rows are summed per day, type, multiplier, international, rate and postage, without
	// template or provider: 1 April's three SMS rows (two providers, two templates) are one.
	want := []notifyql.BillingRow{
		sms(notifyql.Date{Year: 2025, Month: time.April, Day: 1}, 1, false, 233, 400+30+6, 400+20+5),
		{Date: may12, Type: notifyql.TypeLetter,
			RateMultiplier: 1, International: false, Rate: 6800, Postage: "second", BillableUnits: 8, NotificationsSent: 4},
		{Date: may12, Type: notifyql.TypeLetter,
			RateMultiplier: 1, International: true, Rate: 17200, Postage: "europe", BillableUnits: 1, NotificationsSent: 1},
		sms(may12, 2, true, 233, 500, 500),
		{Date: notifyql.Date{Year: 2025, Month: time.June, Day: 2}, Type: notifyql.TypeEmail,
			Postage: "none", NotificationsSent: 10},
		// 31 March 2026 is the last day of FY 2025; 1 April 2026 is not.
		sms(notifyql.Date{Year: 2026, Month: time.March, Day: 31}, 1, false, 240, 1, 1),
	}
	got, err := store.BillingRows(ctx, fxAlphaID, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BillingRows(alpha, 2025) mismatch (-want +got):\n%s", diff)
	}

	// Delta's rate has a fifth decimal place: an error, not a rounded rate.
	if rows, err := store.BillingRows(ctx, fxDeltaID, 2025); err == nil {
		t.Errorf("BillingRows(delta, 2025) = %v, want an error for the rate 0.02335", rows)
	}
	if rows, err := store.BillingRows(ctx, "nope", 2025); err != nil || len(rows) != 0 {
		t.Errorf("BillingRows(nope) = %v, %v; want no rows", rows, err)
	}
}

// The allowance fixture: one service per organisation type the rules treat differently, and
// services whose last year decides this year (high volume, custom allowance).
const (
	fxGPID          = "5e000000-0000-4000-8000-000000000011" // nhs_gp
	fxSchoolID      = "5e000000-0000-4000-8000-000000000012" // school_or_college
	fxHighVolumeID  = "5e000000-0000-4000-8000-000000000013" // 300,000 chargeable units in FY 2024
	fxNearlyHighID  = "5e000000-0000-4000-8000-000000000014" // 299,999 in FY 2024
	fxCustomID      = "5e000000-0000-4000-8000-000000000015" // custom 12,345 in FY 2024
	fxNotCustomID   = "5e000000-0000-4000-8000-000000000016" // non-custom 7,777 in FY 2024
	fxHasRowID      = "5e000000-0000-4000-8000-000000000017" // already has FY 2025
	fxConcurrencyID = "5e000000-0000-4000-8000-000000000018"
)

const allowanceFixtureSQL = `
INSERT INTO services (id, name, organisation_type) VALUES
    ('5e000000-0000-4000-8000-000000000011', 'GP surgery', 'nhs_gp'),
    ('5e000000-0000-4000-8000-000000000012', 'School', 'school_or_college'),
    ('5e000000-0000-4000-8000-000000000013', 'High volume', 'central'),
    ('5e000000-0000-4000-8000-000000000014', 'Nearly high volume', 'central'),
    ('5e000000-0000-4000-8000-000000000015', 'Custom', 'local'),
    ('5e000000-0000-4000-8000-000000000016', 'Not custom', 'local'),
    ('5e000000-0000-4000-8000-000000000017', 'Has row', 'central'),
    ('5e000000-0000-4000-8000-000000000018', 'Concurrency', NULL);
INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider,
                        rate_multiplier, international, rate, postage, billable_units, notifications_sent)
SELECT b.bst_date::date, '7e000000-0000-4000-8000-000000000002', b.service_id::uuid, b.notification_type,
       'mmg', b.rate_multiplier, b.rate_multiplier > 1, 0.0227, b.postage, b.billable_units, b.billable_units
  FROM (VALUES
    -- 150,000 × 2 on the last London day of FY 2024 = 300,000: high volume. Its custom
    -- allowance (below) does not carry over.
    ('2025-03-31', '5e000000-0000-4000-8000-000000000013', 'sms', 2, 'none', 150000),
    -- 149,999 × 2 + 1 = 299,999: not high volume. Letters and FY 2025's own texts do not count.
    ('2024-04-01', '5e000000-0000-4000-8000-000000000014', 'sms', 2, 'none', 149999),
    ('2024-05-01', '5e000000-0000-4000-8000-000000000014', 'sms', 1, 'none', 1),
    ('2024-05-01', '5e000000-0000-4000-8000-000000000014', 'letter', 1, 'second', 500000),
    ('2025-04-01', '5e000000-0000-4000-8000-000000000014', 'sms', 1, 'none', 500000)
  ) AS b (bst_date, service_id, notification_type, rate_multiplier, postage, billable_units);
INSERT INTO annual_billing (service_id, financial_year_start, free_sms_fragment_limit,
                            high_volume_service_last_year, has_custom_allowance) VALUES
    ('5e000000-0000-4000-8000-000000000013', 2024, 99999, false, true),
    ('5e000000-0000-4000-8000-000000000015', 2024, 12345, false, true),
    ('5e000000-0000-4000-8000-000000000016', 2024, 7777, false, false),
    ('5e000000-0000-4000-8000-000000000017', 2025, 42, false, true);
`

func newAllowanceStore(t *testing.T) (*ReportingStore, *pgxpool.Pool) {
	t.Helper()
	store, pool := newReportingStore(t)
	fxExec(t, pool, allowanceFixtureSQL)
	return store, pool
}

func allowanceRows(t *testing.T, pool *pgxpool.Pool, serviceID string) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM annual_billing WHERE service_id::text = $1`, serviceID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnsureAllowance(t *testing.T) {
	t.Parallel()
	store, pool := newAllowanceStore(t)
	fy2026 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	row := func(serviceID string, fy notifyql.FinancialYear, limit int64, highVolume, custom bool) *notifyql.AnnualBilling {
		return &notifyql.AnnualBilling{ServiceID: serviceID, FinancialYear: fy, FreeSMSFragmentLimit: limit,
			HighVolumeServiceLastYear: highVolume, HasCustomAllowance: custom}
	}
	tests := []struct {
		name      string
		serviceID string
		fy        notifyql.FinancialYear
		now       time.Time // fxNow (FY 2025) when zero
		want      *notifyql.AnnualBilling
		wantCode  string
	}{
		{name: "central 2016", serviceID: fxAlphaID, fy: 2016, want: row(fxAlphaID, 2016, 250000, false, false)},
		{name: "central 2023", serviceID: fxAlphaID, fy: 2023, want: row(fxAlphaID, 2023, 40000, false, false)},
		{name: "central 2025 uses 2024's value", serviceID: fxAlphaID, fy: 2025, want: row(fxAlphaID, 2025, 30000, false, false)},
		{name: "central 2026", serviceID: fxAlphaID, fy: 2026, now: fy2026, want: row(fxAlphaID, 2026, 20000, false, false)},
		{name: "local 2021", serviceID: fxDeltaID, fy: 2021, want: row(fxDeltaID, 2021, 25000, false, false)},
		{name: "local 2022", serviceID: fxDeltaID, fy: 2022, want: row(fxDeltaID, 2022, 20000, false, false)},
		{name: "nhs_gp 2023", serviceID: fxGPID, fy: 2023, want: row(fxGPID, 2023, 10000, false, false)},
		{name: "nhs_gp 0 from 2024", serviceID: fxGPID, fy: 2024, want: row(fxGPID, 2024, 0, false, false)},
		{name: "school 2025", serviceID: fxSchoolID, fy: 2025, want: row(fxSchoolID, 2025, 5000, false, false)},
		{name: "NULL organisation type counts as other", serviceID: fxBetaID, fy: 2025, want: row(fxBetaID, 2025, 5000, false, false)},
		{name: "NULL organisation type counts as other, 2021", serviceID: fxBetaID, fy: 2021, want: row(fxBetaID, 2021, 10000, false, false)},
		{name: "300,000 chargeable units last year", serviceID: fxHighVolumeID, fy: 2025, want: row(fxHighVolumeID, 2025, 0, true, false)},
		{name: "299,999 chargeable units last year", serviceID: fxNearlyHighID, fy: 2025, want: row(fxNearlyHighID, 2025, 30000, false, false)},
		{name: "custom allowance carries over", serviceID: fxCustomID, fy: 2025, want: row(fxCustomID, 2025, 12345, false, true)},
		{name: "non-custom allowance does not", serviceID: fxNotCustomID, fy: 2025, want: row(fxNotCustomID, 2025, 10000, false, false)},
		{name: "an existing row is returned as it is", serviceID: fxHasRowID, fy: 2025, want: row(fxHasRowID, 2025, 42, false, true)},
		{name: "upper-case id", serviceID: "5E000000-0000-4000-8000-000000000012", fy: 2024, want: row(fxSchoolID, 2024, 5000, false, false)},
		{name: "before 2016", serviceID: fxAlphaID, fy: 2015, wantCode: notifyql.EINVALID},
		{name: "after the current year", serviceID: fxAlphaID, fy: 2026, wantCode: notifyql.EINVALID},
		{name: "no such service", serviceID: fxMissingID, fy: 2025, wantCode: notifyql.ENOTFOUND},
		{name: "not a uuid", serviceID: "nope", fy: 2025, wantCode: notifyql.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = fxNow
			}
			store := *store
			store.now = func() time.Time { return now }
			got, err := store.EnsureAllowance(context.Background(), tt.serviceID, tt.fy)
			if code := notifyql.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("EnsureAllowance(%s, %d) error = %v, want code %q", tt.serviceID, tt.fy, err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EnsureAllowance(%s, %d) mismatch (-want +got):\n%s", tt.serviceID, tt.fy, diff)
			}
		})
	}
	// Refused years created nothing: alpha has rows for 2016, 2023, 2025 and 2026 only.
	var years []int
	rows, err := pool.Query(context.Background(),
		`SELECT financial_year_start FROM annual_billing WHERE service_id = $1 ORDER BY 1`, fxAlphaID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			t.Fatal(err)
		}
		years = append(years, y)
	}
	if diff := cmp.Diff([]int{2016, 2023, 2025, 2026}, years); diff != "" {
		t.Errorf("alpha's annual_billing years mismatch (-want +got):\n%s", diff)
	}
}

func TestEnsureAllowanceConcurrently(t *testing.T) {
	t.Parallel()
	store, pool := newAllowanceStore(t)
	ctx := context.Background()
	// Each year is a fresh race between two callers released together.
	for fy := notifyql.EarliestFinancialYear; fy <= 2025; fy++ {
		var (
			start   = make(chan struct{})
			wg      sync.WaitGroup
			results [2]*notifyql.AnnualBilling
			errs    [2]error
		)
		for i := range results {
			wg.Go(func() {
				<-start
				results[i], errs[i] = store.EnsureAllowance(ctx, fxConcurrencyID, fy)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d, %d: %v", i, fy, err)
			}
		}
		if diff := cmp.Diff(results[0], results[1]); diff != "" {
			t.Errorf("%d: the two callers disagree (-first +second):\n%s", fy, diff)
		}
	}
	if got, want := allowanceRows(t, pool, fxConcurrencyID), 2025-2016+1; got != want {
		t.Errorf("annual_billing rows = %d, want one per year (%d)", got, want)
	}
}

func TestSetAllowance(t *testing.T) {
	t.Parallel()
	store, pool := newAllowanceStore(t)
	ctx := context.Background()
	steps := []struct {
		name      string
		serviceID string
		fy        notifyql.FinancialYear
		limit     int64
		want      *notifyql.AnnualBilling
		wantCode  string
	}{
		{
			name:      "a value other than the default is custom (row created first)",
			serviceID: fxAlphaID, fy: 2025, limit: 12345,
			want: &notifyql.AnnualBilling{ServiceID: fxAlphaID, FinancialYear: 2025, FreeSMSFragmentLimit: 12345, HasCustomAllowance: true},
		},
		{
			name:      "setting the default back is not custom",
			serviceID: fxAlphaID, fy: 2025, limit: 30000,
			want: &notifyql.AnnualBilling{ServiceID: fxAlphaID, FinancialYear: 2025, FreeSMSFragmentLimit: 30000},
		},
		{
			name:      "zero for a NULL organisation type (default 5,000) is custom",
			serviceID: fxBetaID, fy: 2025, limit: 0,
			want: &notifyql.AnnualBilling{ServiceID: fxBetaID, FinancialYear: 2025, FreeSMSFragmentLimit: 0, HasCustomAllowance: true},
		},
		{
			name:      "a high-volume row keeps its flag",
			serviceID: fxHighVolumeID, fy: 2025, limit: 500,
			want: &notifyql.AnnualBilling{ServiceID: fxHighVolumeID, FinancialYear: 2025, FreeSMSFragmentLimit: 500,
				HighVolumeServiceLastYear: true, HasCustomAllowance: true},
		},
		{
			name:      "an existing custom row set to the default",
			serviceID: fxHasRowID, fy: 2025, limit: 30000,
			want: &notifyql.AnnualBilling{ServiceID: fxHasRowID, FinancialYear: 2025, FreeSMSFragmentLimit: 30000},
		},
		{name: "negative", serviceID: fxAlphaID, fy: 2025, limit: -1, wantCode: notifyql.EINVALID},
		{name: "future year", serviceID: fxAlphaID, fy: 2026, limit: 1, wantCode: notifyql.EINVALID},
		{name: "no such service", serviceID: fxMissingID, fy: 2025, limit: 1, wantCode: notifyql.ENOTFOUND},
	}
	for _, step := range steps {
		got, err := store.SetAllowance(ctx, step.serviceID, step.fy, step.limit)
		if code := notifyql.ErrorCode(err); code != step.wantCode {
			t.Fatalf("%s: SetAllowance error = %v, want code %q", step.name, err, step.wantCode)
		}
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: SetAllowance mismatch (-want +got):\n%s", step.name, diff)
		}
		if step.want == nil {
			continue
		}
		again, err := store.EnsureAllowance(ctx, step.serviceID, step.fy)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(step.want, again); diff != "" {
			t.Errorf("%s: EnsureAllowance after SetAllowance mismatch (-want +got):\n%s", step.name, diff)
		}
	}
	if got := allowanceRows(t, pool, fxMissingID); got != 0 {
		t.Errorf("a missing service got %d annual_billing rows", got)
	}

	// A custom value set this year carries over when next year's row is first read.
	if _, err := store.SetAllowance(ctx, fxSchoolID, 2025, 777); err != nil {
		t.Fatal(err)
	}
	nextYear := *store
	nextYear.now = func() time.Time { return time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC) }
	got, err := nextYear.EnsureAllowance(ctx, fxSchoolID, 2026)
	if err != nil {
		t.Fatal(err)
	}
	want := &notifyql.AnnualBilling{ServiceID: fxSchoolID, FinancialYear: 2026, FreeSMSFragmentLimit: 777, HasCustomAllowance: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FY 2026 after a custom FY 2025 mismatch (-want +got):\n%s", diff)
	}
}
