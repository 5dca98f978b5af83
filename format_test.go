package notifyql

import (
	"math"
	"testing"
)

func TestFormatCount(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"}, {123456, "123,456"},
		{1234567, "1,234,567"}, {-1234, "-1,234"}, {-999, "-999"},
		{math.MaxInt64, "9,223,372,036,854,775,807"}, {math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := FormatCount(tt.n); got != tt.want {
			t.Errorf("FormatCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatTimes(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		at                       string
		dateTime, csvTime, clock string
	}{
		{"2025-06-02T09:15:00Z", "2025-06-02 10:15", "2025-06-02 10:15:00", "10:15am"},
		{"2025-07-20T23:40:05Z", "2025-07-21 00:40", "2025-07-21 00:40:05", "12:40am"},
		{"2025-07-20T23:00:00Z", "2025-07-21 00:00", "2025-07-21 00:00:00", "midnight"},
		{"2025-01-15T00:00:59Z", "2025-01-15 00:00", "2025-01-15 00:00:59", "midnight"},
		{"2025-01-15T12:00:00Z", "2025-01-15 12:00", "2025-01-15 12:00:00", "midday"},
		{"2025-07-15T11:00:00Z", "2025-07-15 12:00", "2025-07-15 12:00:00", "midday"},
		{"2025-07-15T11:01:00Z", "2025-07-15 12:01", "2025-07-15 12:01:00", "12:01pm"},
		{"2025-01-15T16:05:00Z", "2025-01-15 16:05", "2025-01-15 16:05:00", "4:05pm"},
		{"2023-10-29T00:30:00Z", "2023-10-29 01:30", "2023-10-29 01:30:00", "1:30am"}, // first 01:30 (BST)
		{"2023-10-29T01:30:00Z", "2023-10-29 01:30", "2023-10-29 01:30:00", "1:30am"}, // second 01:30 (GMT)
		{"2024-03-31T01:00:00Z", "2024-03-31 02:00", "2024-03-31 02:00:00", "2:00am"},
	}
	for _, tt := range tests {
		at := utc(t, tt.at)
		if got := FormatDateTime(at, loc); got != tt.dateTime {
			t.Errorf("FormatDateTime(%s) = %q, want %q", tt.at, got, tt.dateTime)
		}
		if got := FormatCSVTime(at, loc); got != tt.csvTime {
			t.Errorf("FormatCSVTime(%s) = %q, want %q", tt.at, got, tt.csvTime)
		}
		if got := FormatClockTime(at, loc); got != tt.clock {
			t.Errorf("FormatClockTime(%s) = %q, want %q", tt.at, got, tt.clock)
		}
	}
}

func TestFormatShortDate(t *testing.T) {
	tests := []struct {
		d    Date
		want string
	}{
		{date(2025, 5, 3), "3 May"}, {date(2025, 11, 11), "11 November"}, {date(2024, 12, 25), "25 December"},
	}
	for _, tt := range tests {
		if got := FormatShortDate(tt.d); got != tt.want {
			t.Errorf("FormatShortDate(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestFormatRelativeDayTime(t *testing.T) {
	loc := mustLondon(t)
	now := utc(t, "2025-07-21T10:00:00Z") // 11:00 BST, Monday 21 July
	tests := []struct {
		at   string
		want string
	}{
		{"2025-07-21T15:05:00Z", "today at 4:05pm"},
		{"2025-07-20T23:00:00Z", "yesterday at midnight"}, // exactly 00:00 London on 21 July
		{"2025-07-20T23:00:01Z", "today at midnight"},
		{"2025-07-20T22:59:00Z", "yesterday at 11:59pm"},
		{"2025-07-22T08:00:00Z", "tomorrow at 9:00am"},
		{"2025-07-19T11:00:00Z", "on 19 July at midday"},
		{"2024-12-31T17:30:00Z", "on 31 December 2024 at 5:30pm"},
	}
	for _, tt := range tests {
		if got := FormatRelativeDayTime(utc(t, tt.at), now, loc); got != tt.want {
			t.Errorf("FormatRelativeDayTime(%s) = %q, want %q", tt.at, got, tt.want)
		}
	}
}

func TestSentLabel(t *testing.T) {
	tests := []struct {
		typ  NotificationType
		n    int64
		want string
	}{
		{TypeEmail, 0, "0 emails sent"},
		{TypeEmail, 1, "1 email sent"},
		{TypeEmail, 1234, "1,234 emails sent"},
		{TypeSMS, 1, "1 text message sent"},
		{TypeSMS, 2, "2 text messages sent"},
		{TypeLetter, 1, "1 letter sent"},
		{TypeLetter, 3, "3 letters sent"},
		{"fax", 3, "3 messages sent"},
	}
	for _, tt := range tests {
		if got := SentLabel(tt.typ, tt.n); got != tt.want {
			t.Errorf("SentLabel(%s, %d) = %q, want %q", tt.typ, tt.n, got, tt.want)
		}
	}
}

func TestFailureSummary(t *testing.T) {
	tests := []struct {
		totals TypeTotals
		want   string
	}{
		{TypeTotals{}, "No failures"},
		{TypeTotals{Requested: 10}, "No failures"},
		{TypeTotals{Requested: 400, Failed: 12}, "12 failed – 3.0%"},
		{TypeTotals{Requested: 7, Failed: 1}, "1 failed – 14.3%"},
		{TypeTotals{Requested: 100000, Failed: 5000}, "5,000 failed – 5.0%"},
	}
	for _, tt := range tests {
		if got := FailureSummary(tt.totals); got != tt.want {
			t.Errorf("FailureSummary(%+v) = %q, want %q", tt.totals, got, tt.want)
		}
	}
}

func TestStripInvisible(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "ann@example.org", "ann@example.org"},
		{"empty", "", ""},
		{"every listed character", "a\u180Eb\u200Bc\u200Cd\u200De\u2060f\uFEFFg\u2028h\u2029i\u00A0j\u202Fk", "abcdefghijk"},
		{"only invisible", "\u200B\uFEFF", ""},
		{"ordinary space kept", "07911 123456", "07911 123456"},
		{"other unicode kept", "Zoë\u2019s", "Zoë\u2019s"},
		{"invalid UTF-8 replaced", "a\xffb\u200Bc", "a\uFFFDbc"},
		{"bytes around a removed character do not join", "\xe2\u200b\x80\x8b", "\uFFFD\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		if got := StripInvisible(tt.in); got != tt.want {
			t.Errorf("%s: StripInvisible(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func FuzzStripInvisible(f *testing.F) {
	f.Add("a\u200Bb")
	f.Add("\xff\u00A0")
	f.Fuzz(func(t *testing.T, s string) {
		got := StripInvisible(s)
		if StripInvisible(got) != got {
			t.Errorf("StripInvisible is not idempotent on %q", s)
		}
		for _, r := range got {
			if isInvisible(r) {
				t.Errorf("StripInvisible(%q) kept %U", s, r)
			}
		}
	})
}
