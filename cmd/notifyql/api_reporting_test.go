package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"notifyql/server"
)

// typeTotals is a TypeTotals as the API answers it, without byStatus.
func typeTotals(requested, delivered, failed, sending int, pct float64, shown string, warn bool) map[string]any {
	return map[string]any{"requested": float64(requested), "delivered": float64(delivered), "failed": float64(failed),
		"sending": float64(sending), "failurePercentage": pct, "failedPercentage": shown, "showWarning": warn}
}

func TestFinancialYears(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	resp := api.post(t, tokenFor(t, userMember), `query($id: ID!) { service(id: $id) { financialYears { year label current } } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	want := []any{
		map[string]any{"year": float64(2026), "label": "2026 to 2027", "current": true},
		map[string]any{"year": float64(2025), "label": "2025 to 2026", "current": false},
		map[string]any{"year": float64(2024), "label": "2024 to 2025", "current": false},
	}
	if diff := cmp.Diff(want, resp.at("service", "financialYears")); diff != "" {
		t.Errorf("financial years (-want +got):\n%s", diff)
	}
}

func TestMonthlyStatistics(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	const query = `query($id: ID!, $year: Int) { service(id: $id) { monthlyStatistics(financialYear: $year) {
		month { key name year number }
		email { requested delivered failed sending failurePercentage failedPercentage showWarning }
		sms { requested delivered failed sending failurePercentage failedPercentage showWarning }
		letter { requested delivered failed sending failurePercentage failedPercentage showWarning }
	} } }`
	zero := typeTotals(0, 0, 0, 0, 0, "0", false)
	month := func(key, name string, year, number int, email, sms, letter map[string]any) map[string]any {
		return map[string]any{"month": map[string]any{"key": key, "name": name, "year": float64(year), "number": float64(number)},
			"email": email, "sms": sms, "letter": letter}
	}
	// The clock is 15 July 2026: FY 2026 has started April to July. April has the 7 texts of
	// 1 April (the 3 of 31 March belong to FY 2025); May the 2 letters of 20 May. July adds
	// London today's live rows to the facts: emails 5 delivered (14th) + 100 failed (7th) +
	// A1, A7 delivered and A2 failed today; texts 10 delivered and 2 failed (10th; 4
	// cancelled left out) + A3 delivered (A4 is a test key); letters A5 created (A6
	// cancelled is left out).
	want := []any{
		month("2026-04", "April", 2026, 4, zero, typeTotals(7, 7, 0, 0, 0, "0.0", false), zero),
		month("2026-05", "May", 2026, 5, zero, zero, typeTotals(2, 2, 0, 0, 0, "0.0", false)),
		month("2026-06", "June", 2026, 6, zero, zero, zero),
		month("2026-07", "July", 2026, 7, typeTotals(108, 7, 101, 0, 93.5, "93.5", true), typeTotals(13, 11, 2, 0, 15.4, "15.4", true), typeTotals(1, 0, 0, 1, 0, "0.0", false)),
	}
	resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	if diff := cmp.Diff(want, resp.at("service", "monthlyStatistics")); diff != "" {
		t.Errorf("FY 2026 (-want +got):\n%s", diff)
	}

	// A past year lists all twelve months; March 2026 holds the 3 texts of 31 March.
	resp = api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": serviceA, "year": 2025})
	resp.requireNoErrors(t)
	months := resp.at("service", "monthlyStatistics").([]any)
	if len(months) != 12 {
		t.Fatalf("FY 2025 has %d months, want 12", len(months))
	}
	if diff := cmp.Diff(month("2026-03", "March", 2026, 3, zero, typeTotals(3, 3, 0, 0, 0, "0.0", false), zero), months[11]); diff != "" {
		t.Errorf("March 2026 (-want +got):\n%s", diff)
	}

	// byStatus shows every status that occurs, cancelled included.
	resp = api.post(t, tokenFor(t, userViewer), `query($id: ID!) { service(id: $id) { monthlyStatistics { sms { byStatus { status count } } } } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	wantJuly := []any{
		map[string]any{"status": "DELIVERED", "count": float64(11)},
		map[string]any{"status": "PERMANENT_FAILURE", "count": float64(2)},
		map[string]any{"status": "CANCELLED", "count": float64(4)},
	}
	if diff := cmp.Diff(wantJuly, resp.at("service", "monthlyStatistics", 3, "sms", "byStatus")); diff != "" {
		t.Errorf("July texts by status (-want +got):\n%s", diff)
	}
}

func TestTemplateUsage(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	resp := api.post(t, tokenFor(t, userViewer), `query($id: ID!) { service(id: $id) { templateUsage {
		month { key } templates { templateId name type isPrecompiledLetter count } } } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	usage := func(id, name, typ string, precompiled bool, count int) map[string]any {
		return map[string]any{"templateId": id, "name": name, "type": typ, "isPrecompiledLetter": precompiled, "count": float64(count)}
	}
	t1 := "7e000000-0000-0000-0000-000000000001"
	t2 := "7e000000-0000-0000-0000-000000000002"
	t3 := "7e000000-0000-0000-0000-000000000003"
	// July: T1 has 5 + 100 in facts and A1, A2, A7 today; T2 has 10 + 2 (4 cancelled left
	// out) and A3; T3 has A5 (A6 cancelled). Names are the templates' current names.
	want := []any{
		map[string]any{"month": map[string]any{"key": "2026-04"}, "templates": []any{usage(t2, "Appointment text", "SMS", false, 7)}},
		map[string]any{"month": map[string]any{"key": "2026-05"}, "templates": []any{usage(t3, "Pre-compiled PDF", "LETTER", true, 2)}},
		map[string]any{"month": map[string]any{"key": "2026-06"}, "templates": []any{}},
		map[string]any{"month": map[string]any{"key": "2026-07"}, "templates": []any{
			usage(t1, "Payment reminder (renamed)", "EMAIL", false, 108),
			usage(t2, "Appointment text", "SMS", false, 13),
			usage(t3, "Pre-compiled PDF", "LETTER", true, 1),
		}},
	}
	if diff := cmp.Diff(want, resp.at("service", "templateUsage")); diff != "" {
		t.Errorf("template usage (-want +got):\n%s", diff)
	}
}

func TestUsageAndFreeAllowance(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	admin, manager := tokenFor(t, userAdmin), tokenFor(t, userManager)

	// A central-government service's default allowance for FY 2025 is 2024's 30,000; for
	// FY 2026 it is 20,000. Reading creates the rows.
	resp := api.post(t, manager, `query($id: ID!) { service(id: $id) {
		y2025: freeSmsAllowance(financialYear: 2025) { financialYear allowance hasCustomAllowance highVolumeServiceLastYear }
		y2026: freeSmsAllowance { allowance hasCustomAllowance } } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	want := map[string]any{
		"y2025": map[string]any{"financialYear": float64(2025), "allowance": float64(30000), "hasCustomAllowance": false, "highVolumeServiceLastYear": false},
		"y2026": map[string]any{"allowance": float64(20000), "hasCustomAllowance": false},
	}
	if diff := cmp.Diff(want, resp.at("service")); diff != "" {
		t.Errorf("allowances (-want +got):\n%s", diff)
	}

	const set = `mutation($id: ID!, $n: Int!) { setFreeSmsAllowance(serviceId: $id, allowance: $n) { financialYear allowance hasCustomAllowance } }`
	resp = api.post(t, admin, set, map[string]any{"id": serviceA, "n": 20000})
	resp.requireNoErrors(t)
	if diff := cmp.Diff(map[string]any{"financialYear": float64(2026), "allowance": float64(20000), "hasCustomAllowance": false}, resp.at("setFreeSmsAllowance")); diff != "" {
		t.Errorf("setting the default (-want +got):\n%s", diff)
	}
	resp = api.post(t, admin, set, map[string]any{"id": serviceA, "n": 1000})
	resp.requireNoErrors(t)
	if diff := cmp.Diff(map[string]any{"financialYear": float64(2026), "allowance": float64(1000), "hasCustomAllowance": true}, resp.at("setFreeSmsAllowance")); diff != "" {
		t.Errorf("setting a custom allowance (-want +got):\n%s", diff)
	}

	// With 1,000 free fragments at £0.0240: April's 400 are free; May's 500 ×2 = 1,000 use
	// the 600 left and 400 are charged (£9.60); June's 300 are charged (£7.20). Using usage
	// rebuilds today's billing: A3 is one more fragment (£0.024), and A1, A2 and A7 three
	// more emails (A7 was sent with a team key, which counts). Letters on 20 May: 2 first
	// class at £1.56 and 4 second class at 73p, £6.04.
	money := func(amount, display string) map[string]any {
		return map[string]any{"amount": amount, "display": display}
	}
	resp = api.post(t, manager, `query($id: ID!) { service(id: $id) { usage {
		financialYear { year label }
		annual { smsFreeAllowance smsSent smsAllowanceRemaining smsCost { amount display }
			smsBreakdown { charged rate { amount display } cost { display } annualLabel }
			emailsSent emailAllowance lettersSent letterCost { amount display } }
		months { month { key } smsFreeAllowanceUsed smsFreeAllowanceUsedLabel smsCost { amount display }
			smsBreakdown { monthlyLabel } letterBreakdown { postage sent rate { amount display } cost { display } label }
			letterCost { display } total { amount display } isEmpty }
	} } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	wantAnnual := map[string]any{
		"smsFreeAllowance": float64(1000), "smsSent": float64(1701), "smsAllowanceRemaining": float64(0),
		"smsCost": money("16.824", "£16.82"),
		"smsBreakdown": []any{map[string]any{"charged": float64(701), "rate": money("0.024", "2.40p"),
			"cost": map[string]any{"display": "£16.82"}, "annualLabel": "701 at 2.40 pence per message"}},
		"emailsSent": float64(53), "emailAllowance": "Unlimited",
		"lettersSent": float64(6), "letterCost": money("6.04", "£6.04"),
	}
	if diff := cmp.Diff(wantAnnual, resp.at("service", "usage", "annual")); diff != "" {
		t.Errorf("annual usage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"year": float64(2026), "label": "2026 to 2027"}, resp.at("service", "usage", "financialYear")); diff != "" {
		t.Errorf("year (-want +got):\n%s", diff)
	}
	noSMS := []any{}
	wantMonths := []any{
		map[string]any{"month": map[string]any{"key": "2026-04"}, "smsFreeAllowanceUsed": float64(400), "smsFreeAllowanceUsedLabel": "400 free text messages",
			"smsCost": money("0", "£0.00"), "smsBreakdown": noSMS, "letterBreakdown": []any{}, "letterCost": map[string]any{"display": "£0.00"},
			"total": money("0", "£0.00"), "isEmpty": false},
		map[string]any{"month": map[string]any{"key": "2026-05"}, "smsFreeAllowanceUsed": float64(600), "smsFreeAllowanceUsedLabel": "600 free text messages",
			"smsCost": money("9.6", "£9.60"), "smsBreakdown": []any{map[string]any{"monthlyLabel": "400 text messages at 2.40p"}},
			"letterBreakdown": []any{
				map[string]any{"postage": "first class", "sent": float64(2), "rate": money("1.56", "£1.56"), "cost": map[string]any{"display": "£3.12"}, "label": "2 first class letters at £1.56"},
				map[string]any{"postage": "second class", "sent": float64(4), "rate": money("0.73", "73p"), "cost": map[string]any{"display": "£2.92"}, "label": "4 second class letters at 73p"},
			},
			"letterCost": map[string]any{"display": "£6.04"}, "total": money("15.64", "£15.64"), "isEmpty": false},
		map[string]any{"month": map[string]any{"key": "2026-06"}, "smsFreeAllowanceUsed": float64(0), "smsFreeAllowanceUsedLabel": "0 free text messages",
			"smsCost": money("7.2", "£7.20"), "smsBreakdown": []any{map[string]any{"monthlyLabel": "300 text messages at 2.40p"}},
			"letterBreakdown": []any{}, "letterCost": map[string]any{"display": "£0.00"}, "total": money("7.2", "£7.20"), "isEmpty": false},
		map[string]any{"month": map[string]any{"key": "2026-07"}, "smsFreeAllowanceUsed": float64(0), "smsFreeAllowanceUsedLabel": "0 free text messages",
			"smsCost": money("0.024", "£0.02"), "smsBreakdown": []any{map[string]any{"monthlyLabel": "1 text message at 2.40p"}},
			"letterBreakdown": []any{}, "letterCost": map[string]any{"display": "£0.00"}, "total": money("0.024", "£0.02"), "isEmpty": false},
	}
	if diff := cmp.Diff(wantMonths, resp.at("service", "usage", "months")); diff != "" {
		t.Errorf("monthly usage (-want +got):\n%s", diff)
	}

	// The dashboard widget is this year's annual figures.
	resp = api.post(t, manager, `query($id: ID!) { service(id: $id) { usageThisYear { smsSent smsCost { display } lettersSent letterCost { display } emailsSent } } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	wantWidget := map[string]any{"smsSent": float64(1701), "smsCost": map[string]any{"display": "£16.82"}, "lettersSent": float64(6), "letterCost": map[string]any{"display": "£6.04"}, "emailsSent": float64(53)}
	if diff := cmp.Diff(wantWidget, resp.at("service", "usageThisYear")); diff != "" {
		t.Errorf("usage this year (-want +got):\n%s", diff)
	}
}

func TestReportingBadInput(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	viewer, admin := tokenFor(t, userViewer), tokenFor(t, userAdmin)
	tests := []struct {
		name, token, query string
		vars               map[string]any
		path               []any
		wantCode, wantMsg  string
	}{
		{"a year before 2016", viewer, `query($id: ID!) { service(id: $id) { monthlyStatistics(financialYear: 2015) { month { key } } } }`, map[string]any{"id": serviceA},
			[]any{"service", "monthlyStatistics"}, "BAD_USER_INPUT", "year must be a financial year from 2016 to 2026"},
		{"a future year", viewer, `query($id: ID!) { service(id: $id) { templateUsage(financialYear: 2027) { month { key } } } }`, map[string]any{"id": serviceA},
			[]any{"service", "templateUsage"}, "BAD_USER_INPUT", "year must be a financial year from 2016 to 2026"},
		{"a future year for usage", admin, `query($id: ID!) { service(id: $id) { usage(financialYear: 3000) { annual { smsSent } } } }`, map[string]any{"id": serviceA},
			[]any{"service", "usage"}, "BAD_USER_INPUT", "year must be a financial year"},
		{"not a number", viewer, `query($id: ID!) { service(id: $id) { monthlyStatistics(financialYear: "2025") { month { key } } } }`, map[string]any{"id": serviceA},
			nil, "GRAPHQL_VALIDATION_FAILED", "Int cannot represent"},
		{"another service's id", viewer, `query($id: ID!) { service(id: $id) { monthlyStatistics { month { key } } } }`, map[string]any{"id": serviceB},
			[]any{"service"}, "NOT_FOUND", "service not found"},
		{"a negative allowance", admin, `mutation($id: ID!) { setFreeSmsAllowance(serviceId: $id, allowance: -1) { allowance } }`, map[string]any{"id": serviceA},
			[]any{"setFreeSmsAllowance"}, "BAD_USER_INPUT", ""},
		{"an invalid service id", admin, `mutation { setFreeSmsAllowance(serviceId: "x", allowance: 5) { allowance } }`, nil,
			[]any{"setFreeSmsAllowance"}, "BAD_USER_INPUT", "invalid service id"},
		{"an unknown service", admin, `mutation { setFreeSmsAllowance(serviceId: "5d000000-0000-0000-0000-00000000000d", allowance: 5) { allowance } }`, nil,
			[]any{"setFreeSmsAllowance"}, "NOT_FOUND", "service not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.post(t, tt.token, tt.query, tt.vars)
			if len(resp.Errors) == 0 {
				t.Fatalf("want an error: %s", resp.body)
			}
			if tt.path != nil {
				if got := resp.codeAt(tt.path...); got != tt.wantCode {
					t.Errorf("code at %v = %q, want %q: %s", tt.path, got, tt.wantCode, resp.body)
				}
			} else if got, _ := resp.Errors[0].Extensions["code"].(string); got != tt.wantCode {
				t.Errorf("code %q, want %q: %s", got, tt.wantCode, resp.body)
			}
			if msg := resp.Errors[0].Message; len(tt.wantMsg) > 0 && !containsFold(msg, tt.wantMsg) {
				t.Errorf("message %q does not say %q", msg, tt.wantMsg)
			}
		})
	}
}
