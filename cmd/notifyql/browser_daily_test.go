package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dailyType is what the overview's day chart showed for one type (the "daily" part of
// browser/dashboard-update.mjs): its table's rows (day, requested, delivered, failed), its
// bars' titles and the chart's accessible name.
type dailyType struct {
	Rows []struct {
		Day   string
		Cells []string
	}
	Bars  []string
	Label string
}

type apiDayTotals struct{ Requested, Delivered, Failed int }

type apiDayWindow struct {
	Email, SMS, Letter apiDayTotals
}

// askDayWindows asks the API for service's counts of today alone (totals(days: 0)) and of
// the 7 days before and today (totals(days: 7)). The server runs only the page's trusted
// documents, so it asks with the page's DailyTotals document, by its hash, and reads those
// two of its windows: the page's arithmetic on the others is what is checked.
func askDayWindows(t *testing.T, origin, token, service string) (today, week apiDayWindow) {
	t.Helper()
	documentID, _ := dashboardDocument(t, "query DailyTotals(")
	var data struct {
		Service struct {
			Today apiDayWindow `json:"d0"`
			Week  apiDayWindow `json:"d7"`
		}
	}
	askOrigin(t, origin, token, map[string]any{"documentId": documentID, "variables": map[string]any{"serviceId": service}}, &data)
	return data.Service.Today, data.Service.Week
}

// checkDaily fails unless each type's day table has eight London days whose figures add up
// to the API's 7-day totals, today's row is the API's today, and the chart has an
// accessible name and a bar titled with each figure above zero and no other.
func checkDaily(t *testing.T, shown map[string]dailyType, today, week apiDayWindow) {
	t.Helper()
	types := []struct {
		key, words   string
		today, total apiDayTotals
	}{{"email", "Emails", today.Email, week.Email}, {"sms", "Text messages", today.SMS, week.SMS}, {"letter", "Letters", today.Letter, week.Letter}}
	for _, ty := range types {
		daily, ok := shown[ty.key]
		if !ok || len(daily.Rows) != 8 {
			t.Errorf("%s: the day chart shows %+v, want 8 days", ty.key, daily)
			continue
		}
		if daily.Label == "" {
			t.Errorf("%s: the day chart has no accessible name", ty.key)
		}
		var sum [3]int
		want := map[string]bool{}
		var nonZero []string
		for _, row := range daily.Rows {
			if len(row.Cells) != 4 {
				t.Fatalf("%s: row %q", ty.key, row.Cells)
			}
			for i, word := range []string{"requested", "delivered", "failed"} {
				n, err := strconv.Atoi(strings.ReplaceAll(row.Cells[i+1], ",", ""))
				if err != nil {
					t.Fatalf("%s: row %q: %v", ty.key, row.Cells, err)
				}
				sum[i] += n
				title := fmt.Sprintf("%s, %s: %s %s", ty.words, row.Cells[0], row.Cells[i+1], word)
				want[title] = true
				if n > 0 {
					nonZero = append(nonZero, title)
				}
			}
		}
		if got := (apiDayTotals{sum[0], sum[1], sum[2]}); got != ty.total {
			t.Errorf("%s: the days add up to %+v, the API's 7 days and today to %+v", ty.key, got, ty.total)
		}
		last := daily.Rows[7].Cells
		if wantToday := []string{last[0], formatCount(ty.today.Requested), formatCount(ty.today.Delivered), formatCount(ty.today.Failed)}; !slices.Equal(last, wantToday) {
			t.Errorf("%s: today's row is %q, the API says %q", ty.key, last, wantToday)
		}
		for _, bar := range daily.Bars {
			if bar != "" && !want[bar] {
				t.Errorf("%s: the chart has a bar %q that is not in the table", ty.key, bar)
			}
		}
		for _, title := range nonZero {
			if !slices.Contains(daily.Bars, title) {
				t.Errorf("%s: the chart has no bar %q (bars %q)", ty.key, title, daily.Bars)
			}
		}
	}
}
