package notifyql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Display formatting that needs only the standard library (DOMAIN.md §15). Times are always
// shown on London wall clocks.

// FormatCount writes a count with thousands separators: 1234567 → "1,234,567".
func FormatCount(n int64) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// FormatDateTime is the numeric London date-time, "2006-01-02 15:04".
func FormatDateTime(t time.Time, loc *time.Location) string {
	return t.In(orUTC(loc)).Format("2006-01-02 15:04")
}

// FormatCSVTime is the London time used in CSV exports, "2006-01-02 15:04:05".
func FormatCSVTime(t time.Time, loc *time.Location) string {
	return t.In(orUTC(loc)).Format(time.DateTime)
}

// FormatShortDate is the short date, "3 May".
func FormatShortDate(d Date) string {
	return fmt.Sprintf("%d %s", d.Day, d.Month)
}

// FormatClockTime is the London time of day in lower case, "4:05pm", with 12:00am shown as
// "midnight" and 12:00pm as "midday".
func FormatClockTime(t time.Time, loc *time.Location) string {
	local := t.In(orUTC(loc))
	switch {
	case local.Hour() == 0 && local.Minute() == 0:
		return "midnight"
	case local.Hour() == 12 && local.Minute() == 0:
		return "midday"
	}
	return local.Format("3:04pm")
}

// FormatRelativeDay names the London day of t relative to now: "today", "yesterday",
// "tomorrow" or "on 3 May", adding the year ("on 3 May 2024") when it is not the current
// year. An instant of exactly 00:00 belongs to the day before, so that it reads "yesterday at
// midnight" rather than "today at midnight".
func FormatRelativeDay(t, now time.Time, loc *time.Location) string {
	local := t.In(orUTC(loc))
	day := DateOf(local)
	if local.Hour() == 0 && local.Minute() == 0 && local.Second() == 0 && local.Nanosecond() == 0 {
		day = day.AddDays(-1)
	}
	today := LondonDate(now, loc)
	switch day.Sub(today) {
	case 0:
		return "today"
	case -1:
		return "yesterday"
	case 1:
		return "tomorrow"
	}
	if day.Year != today.Year {
		return fmt.Sprintf("on %s %d", FormatShortDate(day), day.Year)
	}
	return "on " + FormatShortDate(day)
}

// FormatRelativeDayTime is the combined form, "today at 4:05pm".
func FormatRelativeDayTime(t, now time.Time, loc *time.Location) string {
	return FormatRelativeDay(t, now, loc) + " at " + FormatClockTime(t, loc)
}

// SentLabel is the dashboard caption under a count: "1,234 emails sent", "1 text message
// sent", "0 letters sent". Unknown types read "messages".
func SentLabel(t NotificationType, n int64) string {
	singular, plural := "message", "messages"
	switch t {
	case TypeEmail:
		singular, plural = "email", "emails"
	case TypeSMS:
		singular, plural = "text message", "text messages"
	case TypeLetter:
		singular, plural = "letter", "letters"
	}
	noun := plural
	if n == 1 {
		noun = singular
	}
	return FormatCount(n) + " " + noun + " sent"
}

// FailureSummary is the dashboard status line: "No failures", or "12 failed – 3.0%" with an
// en dash.
func FailureSummary(t TypeTotals) string {
	if t.Failed == 0 {
		return "No failures"
	}
	return FormatCount(t.Failed) + " failed \u2013 " + t.FailedPercentage() + "%"
}

// IsStorableText reports whether PostgreSQL's text type can hold s: UTF-8 without the NUL
// character. A statement given anything else fails (SQLSTATE 22021) rather than finding
// nothing, so every text a caller sends is checked against this before it reaches one.
func IsStorableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// isInvisible reports whether r is one of the invisible characters that are removed from
// recipients before they are stored or searched (DOMAIN.md §6.3).
func isInvisible(r rune) bool {
	switch r {
	case '\u180E', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u2028', '\u2029', '\u00A0', '\u202F':
		return true
	}
	return false
}

// StripInvisible removes the invisible characters of DOMAIN.md §6.3 (U+180E, U+200B–U+200D,
// U+2060, U+FEFF, U+2028, U+2029, U+00A0, U+202F). Invalid UTF-8 becomes U+FFFD first:
// PostgreSQL text cannot hold it anyway, and keeping stray bytes would let the bytes around a
// removed character join into a new invisible one.
func StripInvisible(s string) string {
	return strings.Map(func(r rune) rune {
		if isInvisible(r) {
			return -1
		}
		return r
	}, s)
}
