package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statisticsView is what the monthly statistics view showed (readStatistics in
// browser/dashboard-statistics.mjs).
type statisticsView struct {
	Path, Title, Heading, Message, Current string
	OverviewShown                          bool
	// Bars are the chart's bar segments' titles; ChartLabel its accessible name.
	Bars       []string
	ChartLabel string
	Years      []struct {
		Value, Label string
		Selected     bool
	}
	Rows []struct {
		Month string
		Cells []string
	}
}

// monthlyStatisticsQuery is what the test asks the API for, to hold the page to.
const monthlyStatisticsQuery = `query($id: ID!, $year: Int) { service(id: $id) {
	financialYears { year label current }
	monthlyStatistics(financialYear: $year) { month { key name year }
		email { requested failed failedPercentage } sms { requested failed failedPercentage } letter { requested failed failedPercentage } } } }`

type apiTypeMonth struct {
	Requested, Failed int
	FailedPercentage  string
}

type apiStatistics struct {
	FinancialYears []struct {
		Year    int
		Label   string
		Current bool
	}
	MonthlyStatistics []struct {
		Month struct {
			Key, Name string
			Year      int
		}
		Email, SMS, Letter apiTypeMonth
	}
}

// askMonthlyStatistics asks the API at origin, as token's user, for service's statistics.
func askMonthlyStatistics(t *testing.T, origin, token, service string, year *int) apiStatistics {
	t.Helper()
	var data struct{ Service apiStatistics }
	askOrigin(t, origin, token, map[string]any{"query": monthlyStatisticsQuery, "variables": map[string]any{"id": service, "year": year}}, &data)
	return data.Service
}

// checkStatisticsTable fails unless the page's rows are the API's months, each type's
// requested count and failures with their percentage as the API gives them.
func checkStatisticsTable(t *testing.T, where string, shown statisticsView, api apiStatistics) {
	t.Helper()
	if len(shown.Rows) != len(api.MonthlyStatistics) {
		t.Errorf("%s: %d rows, the API has %d months", where, len(shown.Rows), len(api.MonthlyStatistics))
		return
	}
	cell := func(m apiTypeMonth) []string {
		return []string{formatCount(m.Requested), fmt.Sprintf("%s (%s%%)", formatCount(m.Failed), m.FailedPercentage)}
	}
	for i, m := range api.MonthlyStatistics {
		want := append([]string{fmt.Sprintf("%s %d", m.Month.Name, m.Month.Year)}, slices.Concat(cell(m.Email), cell(m.SMS), cell(m.Letter))...)
		if row := shown.Rows[i]; row.Month != m.Month.Key || !slices.Equal(row.Cells, want) {
			t.Errorf("%s: row %d is %s %q, the API says %s %q", where, i, row.Month, row.Cells, m.Month.Key, want)
		}
	}
}

// typeWords are the page's names of the types, in the API's order of the fields.
var typeWords = []string{"Email", "Text message", "Letter"}

// checkStatisticsChart fails unless the chart has an accessible name and a bar segment for
// each month and type that the API counts messages for, titled with the same figures as the
// table, and no bar the API does not give.
func checkStatisticsChart(t *testing.T, where string, shown statisticsView, api apiStatistics) {
	t.Helper()
	if shown.ChartLabel == "" {
		t.Errorf("%s: the chart has no accessible name", where)
	}
	want := map[string]bool{}
	var nonZero []string
	for _, m := range api.MonthlyStatistics {
		for i, tm := range []apiTypeMonth{m.Email, m.SMS, m.Letter} {
			title := fmt.Sprintf("%s %d, %s: %s requested, %s failed (%s%%)", m.Month.Name, m.Month.Year, typeWords[i],
				formatCount(tm.Requested), formatCount(tm.Failed), tm.FailedPercentage)
			want[title] = true
			if tm.Requested > 0 {
				nonZero = append(nonZero, title)
			}
		}
	}
	for _, bar := range shown.Bars {
		if bar != "" && !want[bar] {
			t.Errorf("%s: the chart has a bar %q the API does not give", where, bar)
		}
	}
	for _, title := range nonZero {
		if !slices.Contains(shown.Bars, title) {
			t.Errorf("%s: the chart has no bar %q (bars %q)", where, title, shown.Bars)
		}
	}
}

// formatCount writes n as en-GB does, with thousands separated by commas.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The monthly statistics view shows the API's months for the current financial year, as a
// stacked bar chart whose bars carry the table's figures and as the table, and,
// through its year selector (the API's financialYears), for another, each with its own URL
// that a reload opens again; it asks over the page's one socket (no HTTP request), does not
// scroll the page sideways at 320 px, and axe finds nothing.
func TestDashboardPageShowsMonthlyStatistics(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	token := tokenFor(t, userViewer)
	browser := startBrowser(t, "dashboard-statistics.mjs", api.httpURL, token, serviceA)

	var shown struct {
		Current, Older, Reloaded statisticsView
		Widths                   map[string]int
		RequestsInView, Sockets  []string
	}
	decodeText(t, browser.expect("statistics", 90*time.Second), &shown)

	current := askMonthlyStatistics(t, api.httpURL, token, serviceA, nil)
	if shown.Current.Path != "/dashboard/services/"+serviceA+"/statistics" || shown.Current.OverviewShown ||
		shown.Current.Current != "Monthly statistics" || !strings.HasPrefix(shown.Current.Title, "Monthly statistics") {
		t.Errorf("the statistics link opened %+v", shown.Current)
	}
	if len(shown.Current.Years) != len(current.FinancialYears) {
		t.Fatalf("the year selector offers %+v, the API %+v", shown.Current.Years, current.FinancialYears)
	}
	for i, y := range current.FinancialYears {
		if got := shown.Current.Years[i]; got.Value != strconv.Itoa(y.Year) || got.Label != y.Label || got.Selected != y.Current {
			t.Errorf("year option %d: %+v, the API says %+v", i, got, y)
		}
	}
	checkStatisticsTable(t, "this year", shown.Current, current)
	checkStatisticsChart(t, "this year", shown.Current, current)
	emailsThisMonth := 0
	for _, m := range current.MonthlyStatistics {
		emailsThisMonth += m.Email.Failed
	}
	if emailsThisMonth == 0 {
		t.Errorf("the API counts no failed email this year: the test's write did not land")
	}

	oldest := current.FinancialYears[len(current.FinancialYears)-1].Year
	older := askMonthlyStatistics(t, api.httpURL, token, serviceA, &oldest)
	wantPath := fmt.Sprintf("/dashboard/services/%s/statistics/%d", serviceA, oldest)
	if shown.Older.Path != wantPath {
		t.Errorf("choosing %d went to %s, want %s", oldest, shown.Older.Path, wantPath)
	}
	checkStatisticsTable(t, "the oldest year", shown.Older, older)
	checkStatisticsChart(t, "the oldest year", shown.Older, older)
	if shown.Reloaded.Path != wantPath {
		t.Errorf("the reload opened %s, want %s", shown.Reloaded.Path, wantPath)
	}
	checkStatisticsTable(t, "the oldest year, reloaded", shown.Reloaded, older)
	if len(shown.RequestsInView) != 0 || !slices.Equal(shown.Sockets, []string{"/graphql", "/graphql"}) {
		t.Errorf("the view made the requests %q and opened the sockets %q, want none and one for each page load",
			shown.RequestsInView, shown.Sockets)
	}
	checkNoSidewaysScrolling(t, shown.Widths)
	browser.finish(30 * time.Second)
}
