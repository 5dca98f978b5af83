package notifyql

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// month is a test shorthand for a Month.
func month(y int, m time.Month) Month { return Month{Year: y, Month: m} }

// smsRow is one ft_billing SMS row of the given template, fragments, multiplier and rate.
func smsRow(d Date, templateID string, fragments int64, multiplier int, rate Money) BillingRow {
	return BillingRow{
		Date: d, Type: TypeSMS, TemplateID: templateID, Provider: "mmg", RateMultiplier: multiplier,
		International: multiplier > 1, Rate: rate, Postage: "none", BillableUnits: fragments, NotificationsSent: fragments,
	}
}

// letterRow is one ft_billing letter row.
func letterRow(d Date, postage Postage, sent int64, rate Money) BillingRow {
	return BillingRow{
		Date: d, Type: TypeLetter, TemplateID: "letter", Provider: "dvla", RateMultiplier: 1,
		International: postage == PostageEurope || postage == PostageRestOfWorld,
		Rate:          rate, Postage: string(postage), BillableUnits: sent, NotificationsSent: sent,
	}
}

func ptr[T any](v T) *T { return &v }

// emptyMonth is a listed month with nothing in it.
func emptyMonth(m Month) MonthlyUsage {
	return MonthlyUsage{Month: m, SMSBreakdown: []SMSCharge{}, LetterBreakdown: []LetterCharge{}}
}

func TestComputeUsage(t *testing.T) {
	const rate2025 Money = 233 // 0.0233 from 1 April 2025 (DOMAIN.md §3.6)
	tests := []struct {
		name        string
		fy          FinancialYear
		allowance   int64
		rows        []BillingRow
		months      []Month
		wantAnnual  AnnualUsage
		wantMonthly []MonthlyUsage
	}{
		{
			name: "§10.3 worked example", fy: 2025, allowance: 1000,
			rows: []BillingRow{
				smsRow(date(2025, 6, 2), "t", 300, 1, rate2025),
				smsRow(date(2025, 4, 10), "t", 400, 1, rate2025),
				smsRow(date(2025, 5, 12), "t", 500, 2, rate2025),
			},
			months: []Month{month(2025, 4), month(2025, 5), month(2025, 6), month(2025, 7)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSFreeAllowance: 1000, SMSSent: 1700, SMSAllowanceRemaining: ptr[int64](0),
				SMSCost: 163100, SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 700, Cost: 163100}},
			},
			wantMonthly: []MonthlyUsage{
				{Month: month(2025, 4), SMSFreeAllowanceUsed: 400, SMSBreakdown: []SMSCharge{}, LetterBreakdown: []LetterCharge{}},
				{Month: month(2025, 5), SMSFreeAllowanceUsed: 600, SMSCost: 93200, Total: 93200,
					SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 400, Cost: 93200}}, LetterBreakdown: []LetterCharge{}},
				{Month: month(2025, 6), SMSCost: 69900, Total: 69900,
					SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 300, Cost: 69900}}, LetterBreakdown: []LetterCharge{}},
				emptyMonth(month(2025, 7)),
			},
		},
		{
			name: "§10.5 letter example", fy: 2025, allowance: 5000,
			rows: []BillingRow{
				letterRow(date(2025, 4, 3), PostageSecond, 4, 6800),
				letterRow(date(2025, 4, 3), PostageFirst, 2, 14900),
				letterRow(date(2025, 4, 4), PostageEconomy, 3, 5900),
				letterRow(date(2025, 4, 4), PostageEurope, 2, 17200),
				letterRow(date(2025, 4, 5), PostageRestOfWorld, 1, 17200),
				letterRow(date(2025, 4, 6), PostageSecond, 1, 7300),
			},
			months: []Month{month(2025, 4)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSFreeAllowance: 5000, SMSAllowanceRemaining: ptr[int64](5000),
				SMSBreakdown: []SMSCharge{}, LettersSent: 13, LetterCost: 133600,
			},
			wantMonthly: []MonthlyUsage{{
				Month: month(2025, 4), SMSBreakdown: []SMSCharge{}, LetterCost: 133600, Total: 133600,
				LetterBreakdown: []LetterCharge{
					{Group: PostageGroupFirst, Rate: 14900, Sent: 2, Cost: 29800},
					{Group: PostageGroupSecond, Rate: 6800, Sent: 4, Cost: 27200},
					{Group: PostageGroupSecond, Rate: 7300, Sent: 1, Cost: 7300},
					{Group: PostageGroupEconomy, Rate: 5900, Sent: 3, Cost: 17700},
					{Group: PostageGroupInternational, Rate: 17200, Sent: 3, Cost: 51600},
				},
			}},
		},
		{
			// 0.0161 until London midnight on 1 May 2022, 0.0172 after (DOMAIN.md §3.6).
			name: "rate change within the year splits the breakdown by rate", fy: 2022, allowance: 100,
			rows: []BillingRow{
				smsRow(date(2022, 5, 1), "t", 200, 1, 172),
				smsRow(date(2022, 4, 30), "t", 150, 1, 161),
			},
			months: []Month{month(2022, 4), month(2022, 5)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2022, SMSFreeAllowance: 100, SMSSent: 350, SMSAllowanceRemaining: ptr[int64](0),
				SMSCost: 8050 + 34400,
				SMSBreakdown: []SMSCharge{
					{Rate: 161, Charged: 50, Cost: 8050},
					{Rate: 172, Charged: 200, Cost: 34400},
				},
			},
			wantMonthly: []MonthlyUsage{
				{Month: month(2022, 4), SMSFreeAllowanceUsed: 100, SMSCost: 8050, Total: 8050,
					SMSBreakdown: []SMSCharge{{Rate: 161, Charged: 50, Cost: 8050}}, LetterBreakdown: []LetterCharge{}},
				{Month: month(2022, 5), SMSCost: 34400, Total: 34400,
					SMSBreakdown: []SMSCharge{{Rate: 172, Charged: 200, Cost: 34400}}, LetterBreakdown: []LetterCharge{}},
			},
		},
		{
			// 31 March 2025 is the last day of FY 2024 at 0.0227; 1 April 2025 starts FY 2025
			// at 0.0233. The earlier row must neither consume FY 2025's allowance nor count.
			name: "the year starts on 1 April London: the day before belongs to the year before", fy: 2025, allowance: 10,
			rows: []BillingRow{
				smsRow(date(2025, 3, 31), "t", 1000, 1, 227),
				smsRow(date(2025, 4, 1), "t", 15, 1, 233),
				smsRow(date(2026, 4, 1), "t", 1000, 1, 240),
			},
			months: []Month{month(2025, 4)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSFreeAllowance: 10, SMSSent: 15, SMSAllowanceRemaining: ptr[int64](0),
				SMSCost: 1165, SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 5, Cost: 1165}},
			},
			wantMonthly: []MonthlyUsage{
				{Month: month(2025, 4), SMSFreeAllowanceUsed: 10, SMSCost: 1165, Total: 1165,
					SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 5, Cost: 1165}}, LetterBreakdown: []LetterCharge{}},
			},
		},
		{
			// Units are fragments × multiplier; within a day rows consume in (template,
			// provider, multiplier, international) order, whatever order they arrive in.
			name: "international multipliers consume the allowance in window order", fy: 2025, allowance: 300,
			rows: []BillingRow{
				smsRow(date(2025, 4, 2), "b-template", 50, 8, rate2025), // Nigeria: 400 units
				smsRow(date(2025, 4, 2), "a-template", 100, 1, rate2025),
				smsRow(date(2025, 4, 3), "a-template", 10, 2, rate2025), // Ireland: 20 units
			},
			months: []Month{month(2025, 4)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSFreeAllowance: 300, SMSSent: 520, SMSAllowanceRemaining: ptr[int64](0),
				SMSCost: 233 * 220, SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 220, Cost: 233 * 220}},
			},
			wantMonthly: []MonthlyUsage{
				{Month: month(2025, 4), SMSFreeAllowanceUsed: 300, SMSCost: 233 * 220, Total: 233 * 220,
					SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 220, Cost: 233 * 220}}, LetterBreakdown: []LetterCharge{}},
			},
		},
		{
			name: "a zero allowance charges everything and shows no remainder", fy: 2025, allowance: 0,
			rows: []BillingRow{
				smsRow(date(2025, 5, 1), "t", 10, 1, rate2025),
				{Date: date(2025, 5, 1), Type: TypeEmail, TemplateID: "e", Provider: "ses", Postage: "none", NotificationsSent: 1234},
			},
			months: []Month{month(2025, 4), month(2025, 5)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSSent: 10, SMSCost: 2330,
				SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 10, Cost: 2330}}, EmailsSent: 1234,
			},
			wantMonthly: []MonthlyUsage{
				emptyMonth(month(2025, 4)),
				{Month: month(2025, 5), SMSCost: 2330, Total: 2330,
					SMSBreakdown: []SMSCharge{{Rate: 233, Charged: 10, Cost: 2330}}, LetterBreakdown: []LetterCharge{}},
			},
		},
		{
			name: "allowance left over; SMS and letters add up in the month's total", fy: 2025, allowance: 10000,
			rows: []BillingRow{
				smsRow(date(2025, 4, 9), "t", 7, 1, rate2025),
				letterRow(date(2025, 4, 9), PostageSecond, 1, 6800),
			},
			months: []Month{month(2025, 4)},
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSFreeAllowance: 10000, SMSSent: 7, SMSAllowanceRemaining: ptr[int64](9993),
				SMSBreakdown: []SMSCharge{}, LettersSent: 1, LetterCost: 6800,
			},
			wantMonthly: []MonthlyUsage{
				{Month: month(2025, 4), SMSFreeAllowanceUsed: 7, SMSBreakdown: []SMSCharge{}, LetterCost: 6800, Total: 6800,
					LetterBreakdown: []LetterCharge{{Group: PostageGroupSecond, Rate: 6800, Sent: 1, Cost: 6800}}},
			},
		},
		{
			name: "no rows and no months", fy: 2025, allowance: 250,
			wantAnnual: AnnualUsage{
				FinancialYear: 2025, SMSFreeAllowance: 250, SMSAllowanceRemaining: ptr[int64](250), SMSBreakdown: []SMSCharge{},
			},
			wantMonthly: []MonthlyUsage{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			annual, monthly := ComputeUsage(tt.fy, tt.allowance, tt.rows, tt.months)
			if diff := cmp.Diff(tt.wantAnnual, annual); diff != "" {
				t.Errorf("annual (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMonthly, monthly); diff != "" {
				t.Errorf("monthly (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeUsageWorkedExampleLabels(t *testing.T) {
	rows := []BillingRow{
		smsRow(date(2025, 4, 10), "t", 400, 1, 233),
		smsRow(date(2025, 5, 12), "t", 500, 2, 233),
		smsRow(date(2025, 6, 2), "t", 300, 1, 233),
	}
	annual, monthly := ComputeUsage(2025, 1000, rows, []Month{month(2025, 4), month(2025, 5), month(2025, 6)})
	type shown struct {
		Cost, Breakdown string
		Free            string
		Empty           bool
	}
	var got []shown
	for _, m := range monthly {
		var breakdown string
		for _, c := range m.SMSBreakdown {
			breakdown += c.MonthlyLabel()
		}
		got = append(got, shown{m.SMSCost.Display(), breakdown, m.FreeAllowanceLabel(), m.IsEmpty()})
	}
	want := []shown{
		{"£0.00", "", "400 free text messages", false},
		{"£9.32", "400 text messages at 2.33p", "600 free text messages", false},
		{"£6.99", "300 text messages at 2.33p", "0 free text messages", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("monthly labels (-want +got):\n%s", diff)
	}
	if got, want := annual.SMSCost.Display(), "£16.31"; got != want {
		t.Errorf("annual cost = %q, want %q", got, want)
	}
	if got, want := annual.SMSBreakdown[0].AnnualLabel(), "700 at 2.33 pence per message"; got != want {
		t.Errorf("annual breakdown = %q, want %q", got, want)
	}
}

// Costs are summed exactly and rounded only for display, so a year of fractions of a
// penny is not the sum of its rounded months.
func TestComputeUsageRoundsOnlyForDisplay(t *testing.T) {
	rows := []BillingRow{
		smsRow(date(2016, 5, 18), "t", 1, 1, 165),
		smsRow(date(2016, 6, 1), "t", 1, 1, 165),
		smsRow(date(2016, 7, 1), "t", 1, 1, 165),
	}
	annual, monthly := ComputeUsage(2016, 0, rows, []Month{month(2016, 5), month(2016, 6), month(2016, 7)})
	for _, m := range monthly {
		if m.SMSCost != 165 || m.SMSCost.Display() != "£0.02" {
			t.Errorf("%s cost = %d (%s), want 165 (£0.02)", m.Month.Key(), m.SMSCost, m.SMSCost.Display())
		}
	}
	if annual.SMSCost != 495 || annual.SMSCost.Display() != "£0.05" {
		t.Errorf("annual cost = %d (%s), want 495 (£0.05, not the £0.06 of rounded months)", annual.SMSCost, annual.SMSCost.Display())
	}
}

func TestComputeUsageIgnoresRowOrder(t *testing.T) {
	rows := []BillingRow{
		smsRow(date(2025, 4, 2), "a", 100, 1, 233),
		smsRow(date(2025, 4, 2), "b", 50, 8, 233),
		{Date: date(2025, 4, 2), Type: TypeSMS, TemplateID: "a", Provider: "firetext", RateMultiplier: 1, Rate: 233, Postage: "none", BillableUnits: 30},
		smsRow(date(2025, 5, 1), "a", 70, 1, 233),
	}
	months := []Month{month(2025, 4), month(2025, 5)}
	wantAnnual, wantMonthly := ComputeUsage(2025, 120, rows, months)
	reversed := []BillingRow{rows[3], rows[2], rows[1], rows[0]}
	annual, monthly := ComputeUsage(2025, 120, reversed, months)
	if diff := cmp.Diff(wantAnnual, annual); diff != "" {
		t.Errorf("annual depends on row order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantMonthly, monthly); diff != "" {
		t.Errorf("monthly depends on row order (-want +got):\n%s", diff)
	}
	if wantMonthly[0].SMSFreeAllowanceUsed != 120 || wantAnnual.SMSSent != 600 {
		t.Errorf("April free = %d, year sent = %d; want 120 and 600", wantMonthly[0].SMSFreeAllowanceUsed, wantAnnual.SMSSent)
	}
}

func TestChargeLabels(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{SMSCharge{Rate: 233, Charged: 700}.AnnualLabel(), "700 at 2.33 pence per message"},
		{SMSCharge{Rate: 240, Charged: 1234567}.AnnualLabel(), "1,234,567 at 2.40 pence per message"},
		{SMSCharge{Rate: 233, Charged: 300}.MonthlyLabel(), "300 text messages at 2.33p"},
		{SMSCharge{Rate: 233, Charged: 1}.MonthlyLabel(), "1 text message at 2.33p"},
		{SMSCharge{Rate: 240, Charged: 1500}.MonthlyLabel(), "1,500 text messages at 2.40p"},
		{LetterCharge{Group: PostageGroupFirst, Rate: 14900, Sent: 2}.Label(), "2 first class letters at £1.49"},
		{LetterCharge{Group: PostageGroupSecond, Rate: 7300, Sent: 1}.Label(), "1 second class letter at 73p"},
		{LetterCharge{Group: PostageGroupInternational, Rate: 17200, Sent: 3}.Label(), "3 international letters at £1.72"},
		{LetterCharge{Group: PostageGroupEconomy, Rate: 6380, Sent: 1000}.Label(), "1,000 economy mail letters at 64p"},
		{MonthlyUsage{SMSFreeAllowanceUsed: 1}.FreeAllowanceLabel(), "1 free text message"},
		{MonthlyUsage{SMSFreeAllowanceUsed: 25000}.FreeAllowanceLabel(), "25,000 free text messages"},
	} {
		if tt.got != tt.want {
			t.Errorf("label = %q, want %q", tt.got, tt.want)
		}
	}
}

func TestMonthlyUsageIsEmpty(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    MonthlyUsage
		want bool
	}{
		{"nothing", MonthlyUsage{}, true},
		{"free use only", MonthlyUsage{SMSFreeAllowanceUsed: 1}, false},
		{"SMS cost", MonthlyUsage{SMSCost: 1}, false},
		{"letters", MonthlyUsage{LetterBreakdown: []LetterCharge{{Group: PostageGroupSecond, Sent: 1}}}, false},
	} {
		if got := tt.m.IsEmpty(); got != tt.want {
			t.Errorf("%s: IsEmpty = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPostageGroupOf(t *testing.T) {
	for postage, want := range map[string]PostageGroup{
		"first": PostageGroupFirst, "second": PostageGroupSecond, "economy": PostageGroupEconomy,
		"europe": PostageGroupInternational, "rest-of-world": PostageGroupInternational, "carrier-pigeon": "carrier-pigeon",
	} {
		if got := PostageGroupOf(postage); got != want {
			t.Errorf("PostageGroupOf(%q) = %q, want %q", postage, got, want)
		}
	}
}
