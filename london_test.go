package notifyql

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mustLondon loads Europe/London or fails the test.
func mustLondon(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := LoadLondon()
	if err != nil {
		tb.Fatalf("LoadLondon: %v", err)
	}
	return loc
}

// utc parses an RFC 3339 instant or fails the test.
func utc(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return t.UTC()
}

func date(y int, m time.Month, d int) Date { return Date{Year: y, Month: m, Day: d} }

func TestLondonDate(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		name string
		at   string
		want Date
	}{
		{"summer, first hour after London midnight", "2025-07-20T23:40:00Z", date(2025, 7, 21)},
		{"summer, last instant of the London day", "2025-07-20T22:59:59.999999Z", date(2025, 7, 20)},
		{"summer, London midnight itself", "2025-07-20T23:00:00Z", date(2025, 7, 21)},
		{"winter, UTC and London agree", "2025-01-15T23:59:59Z", date(2025, 1, 15)},
		{"winter, London midnight", "2025-01-16T00:00:00Z", date(2025, 1, 16)},
		{"BST ends: 00:20 BST on 29 Oct", "2023-10-28T23:20:00Z", date(2023, 10, 29)},
		{"BST ends: 23:20 GMT on 29 Oct", "2023-10-29T23:20:00Z", date(2023, 10, 29)},
		{"BST ends: the repeated 01:xx hour", "2023-10-29T00:30:00Z", date(2023, 10, 29)},
		{"BST starts: 00:59 GMT", "2024-03-31T00:59:59Z", date(2024, 3, 31)},
		{"BST starts: 23:00 UTC is London midnight", "2024-03-31T23:00:00Z", date(2024, 4, 1)},
		{"BST starts: 22:59 UTC is still 31 March", "2024-03-31T22:59:59Z", date(2024, 3, 31)},
		{"FY boundary example", "2025-03-31T23:15:00Z", date(2025, 4, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, LondonDate(utc(t, tt.at), loc)); diff != "" {
				t.Errorf("LondonDate(%s) (-want +got):\n%s", tt.at, diff)
			}
		})
	}
}

func TestLondonMidnight(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		date Date
		want string
	}{
		{date(2025, 7, 21), "2025-07-20T23:00:00Z"},
		{date(2025, 1, 8), "2025-01-08T00:00:00Z"},
		{date(2023, 10, 29), "2023-10-28T23:00:00Z"}, // still BST at midnight
		{date(2023, 10, 30), "2023-10-30T00:00:00Z"},
		{date(2024, 3, 31), "2024-03-31T00:00:00Z"}, // still GMT at midnight
		{date(2024, 4, 1), "2024-03-31T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.date.String(), func(t *testing.T) {
			got := LondonMidnight(tt.date, loc)
			if diff := cmp.Diff(utc(t, tt.want), got); diff != "" {
				t.Errorf("LondonMidnight (-want +got):\n%s", diff)
			}
			if got.Location() != time.UTC {
				t.Errorf("LondonMidnight returned location %v, want UTC", got.Location())
			}
		})
	}
}

func TestLondonDayLengths(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		date Date
		want time.Duration
	}{
		{date(2023, 10, 29), 25 * time.Hour},
		{date(2024, 3, 31), 23 * time.Hour},
		{date(2024, 6, 1), 24 * time.Hour},
	}
	for _, tt := range tests {
		got := LondonMidnight(tt.date.AddDays(1), loc).Sub(LondonMidnight(tt.date, loc))
		if got != tt.want {
			t.Errorf("London day %s lasts %v, want %v", tt.date, got, tt.want)
		}
	}
}

func TestWindowStart(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		name string
		now  string
		days int
		want string
	}{
		{"DOMAIN §1 example", "2025-07-20T23:40:00Z", 7, "2025-07-13T23:00:00Z"},
		{"DOMAIN §14 example", "2025-01-15T10:00:00Z", 7, "2025-01-08T00:00:00Z"},
		{"today only", "2025-07-20T23:40:00Z", 0, "2025-07-20T23:00:00Z"},
		{"window crosses BST end", "2023-11-02T12:00:00Z", 7, "2023-10-25T23:00:00Z"},
		{"window starts on BST end day", "2023-11-05T12:00:00Z", 7, "2023-10-28T23:00:00Z"},
		{"window crosses BST start", "2024-04-03T12:00:00Z", 7, "2024-03-27T00:00:00Z"},
		{"window starts on BST start day", "2024-04-07T12:00:00Z", 7, "2024-03-31T00:00:00Z"},
		{"90 days", "2025-07-01T12:00:00Z", 90, "2025-04-01T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WindowStart(utc(t, tt.now), tt.days, loc)
			if diff := cmp.Diff(utc(t, tt.want), got); diff != "" {
				t.Errorf("WindowStart (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"AddDays forward over month end", date(2025, 1, 31).AddDays(1), date(2025, 2, 1)},
		{"AddDays over leap day", date(2024, 2, 28).AddDays(1), date(2024, 2, 29)},
		{"AddDays backwards over year", date(2025, 1, 1).AddDays(-1), date(2024, 12, 31)},
		{"AddDays zero", date(2025, 5, 5).AddDays(0), date(2025, 5, 5)},
		{"Sub same", date(2025, 5, 5).Sub(date(2025, 5, 5)), 0},
		{"Sub across BST change", date(2024, 4, 1).Sub(date(2024, 3, 30)), 2},
		{"Sub negative", date(2024, 3, 30).Sub(date(2024, 4, 1)), -2},
		{"Sub leap year", date(2025, 1, 1).Sub(date(2024, 1, 1)), 366},
		{"String", date(2025, 5, 3).String(), "2025-05-03"},
		{"String zero", Date{}.String(), "0000-00-00"},
		{"Before by year", date(2024, 12, 31).Before(date(2025, 1, 1)), true},
		{"Before by month", date(2025, 1, 31).Before(date(2025, 2, 1)), true},
		{"Before by day", date(2025, 2, 1).Before(date(2025, 2, 2)), true},
		{"not Before itself", date(2025, 2, 1).Before(date(2025, 2, 1)), false},
		{"not Before later", date(2025, 2, 2).Before(date(2025, 2, 1)), false},
		{"After", date(2025, 2, 2).After(date(2025, 2, 1)), true},
		{"Weekday", date(2025, 5, 12).Weekday(), time.Monday},
		{"Weekday Sunday", date(2023, 10, 29).Weekday(), time.Sunday},
		{"Time is UTC midnight", date(2025, 7, 21).Time(), time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)},
		{"DateOf keeps the location", DateOf(time.Date(2025, 7, 21, 0, 30, 0, 0, time.FixedZone("x", 3600))), date(2025, 7, 21)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    Date
		wantErr bool
	}{
		{in: "2025-05-03", want: date(2025, 5, 3)},
		{in: "2024-02-29", want: date(2024, 2, 29)},
		{in: "2025-02-29", wantErr: true},
		{in: "2025-13-01", wantErr: true},
		{in: "2025-5-3", wantErr: true},
		{in: "2025-05-03T00:00:00Z", wantErr: true},
		{in: "", wantErr: true},
		{in: " 2025-05-03", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if tt.wantErr {
				if ErrorCode(err) != EINVALID {
					t.Fatalf("ParseDate(%q) error = %v, want code %s", tt.in, err, EINVALID)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want round trip %q", got.String(), tt.in)
			}
		})
	}
}

func TestFinancialYearOf(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		at   string
		want FinancialYear
	}{
		{"2025-03-31T23:15:00Z", 2025}, // 00:15 BST on 1 April
		{"2026-03-31T22:59:59Z", 2025}, // 23:59:59 BST on 31 March
		{"2026-03-31T23:00:00Z", 2026},
		{"2024-03-31T22:59:59Z", 2023},
		{"2024-03-31T23:00:00Z", 2024},
		{"2025-01-01T00:00:00Z", 2024},
		{"2025-12-31T23:59:59Z", 2025},
		{"2016-04-01T00:00:00Z", 2016},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			if got := FinancialYearOf(utc(t, tt.at), loc); got != tt.want {
				t.Errorf("FinancialYearOf(%s) = %d, want %d", tt.at, got, tt.want)
			}
		})
	}
}

func TestFinancialYearBounds(t *testing.T) {
	loc := mustLondon(t)
	type bounds struct {
		Label             string
		FirstDay, LastDay Date
		Start, End        time.Time
	}
	tests := []struct {
		year FinancialYear
		want bounds
	}{
		{2024, bounds{"2024 to 2025", date(2024, 4, 1), date(2025, 3, 31), utc(t, "2024-03-31T23:00:00Z"), utc(t, "2025-03-31T23:00:00Z")}},
		{2025, bounds{"2025 to 2026", date(2025, 4, 1), date(2026, 3, 31), utc(t, "2025-03-31T23:00:00Z"), utc(t, "2026-03-31T23:00:00Z")}},
		{2016, bounds{"2016 to 2017", date(2016, 4, 1), date(2017, 3, 31), utc(t, "2016-03-31T23:00:00Z"), utc(t, "2017-03-31T23:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Label, func(t *testing.T) {
			got := bounds{tt.year.Label(), tt.year.FirstDay(), tt.year.LastDay(), tt.year.Start(loc), tt.year.End(loc)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !tt.year.Contains(got.Start, loc) || tt.year.Contains(got.End, loc) || !tt.year.Contains(got.End.Add(-time.Nanosecond), loc) {
				t.Errorf("Contains disagrees with [Start, End)")
			}
		})
	}
}

func TestFinancialYearOptions(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		now  string
		want []FinancialYear
	}{
		{"2025-07-01T12:00:00Z", []FinancialYear{2025, 2024, 2023}},
		{"2025-03-31T22:59:59Z", []FinancialYear{2024, 2023, 2022}},
		{"2025-03-31T23:00:00Z", []FinancialYear{2025, 2024, 2023}},
	}
	for _, tt := range tests {
		t.Run(tt.now, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FinancialYearOptions(utc(t, tt.now), loc)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinancialYearMonths(t *testing.T) {
	loc := mustLondon(t)
	keys := func(ms []Month) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.Key()+" "+m.Name())
		}
		return out
	}
	tests := []struct {
		name string
		year FinancialYear
		now  string
		want []string
	}{
		{"before the year starts", 2025, "2025-03-31T22:59:59Z", []string{}},
		{"at the year's London midnight: not strictly before", 2025, "2025-03-31T23:00:00Z", []string{}},
		{"just after it starts", 2025, "2025-03-31T23:00:01Z", []string{"2025-04 April"}},
		{"May starts at 23:00 UTC on 30 April", 2025, "2025-04-30T23:00:01Z", []string{"2025-04 April", "2025-05 May"}},
		{"22:59 UTC on 30 April is still April", 2025, "2025-04-30T22:59:59Z", []string{"2025-04 April"}},
		{"November starts at 00:00 UTC (GMT)", 2023, "2023-11-01T00:00:01Z", []string{
			"2023-04 April", "2023-05 May", "2023-06 June", "2023-07 July", "2023-08 August",
			"2023-09 September", "2023-10 October", "2023-11 November"}},
		{"a past year lists all twelve", 2023, "2025-07-01T00:00:00Z", []string{
			"2023-04 April", "2023-05 May", "2023-06 June", "2023-07 July", "2023-08 August",
			"2023-09 September", "2023-10 October", "2023-11 November", "2023-12 December",
			"2024-01 January", "2024-02 February", "2024-03 March"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, keys(tt.year.Months(utc(t, tt.now), loc))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateFinancialYear(t *testing.T) {
	loc := mustLondon(t)
	now := utc(t, "2025-07-01T12:00:00Z")
	tests := []struct {
		year     int
		wantCode string
	}{
		{2015, EINVALID},
		{2016, ""},
		{2024, ""},
		{2025, ""},
		{2026, EINVALID},
		{-1, EINVALID},
	}
	for _, tt := range tests {
		err := ValidateFinancialYear(tt.year, now, loc)
		if got := ErrorCode(err); got != tt.wantCode {
			t.Errorf("ValidateFinancialYear(%d) code = %q, want %q (%v)", tt.year, got, tt.wantCode, err)
		}
	}
	if got, want := ErrorMessage(ValidateFinancialYear(2026, now, loc)), "year must be a financial year from 2016 to 2025"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestNilLocationDoesNotPanic(t *testing.T) {
	now := utc(t, "2025-07-20T23:40:00Z")
	if got, want := LondonDate(now, nil), date(2025, 7, 20); got != want {
		t.Errorf("LondonDate with nil location = %v, want UTC date %v", got, want)
	}
	_ = WindowStart(now, 7, nil)
	_ = FinancialYear(2025).Months(now, nil)
}

// The window's first date is a London date: 23:30 UTC on 14 July is already 15 July there.
func TestWindowFirstDate(t *testing.T) {
	loc := mustLondon(t)
	now := time.Date(2026, 7, 14, 23, 30, 0, 0, time.UTC)
	for days, want := range map[int]Date{0: {2026, 7, 15}, 7: {2026, 7, 8}} {
		if got := WindowFirstDate(now, days, loc); got != want {
			t.Errorf("WindowFirstDate(%s, %d) = %v, want %v", now, days, got, want)
		}
	}
}
