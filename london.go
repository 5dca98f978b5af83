package notifyql

import (
	"fmt"
	"sync"
	"time"
)

// Calendar logic is London logic (DOMAIN.md §1): every "today", day bucket, month and
// financial year is the London date of a UTC instant, never its UTC date.

// LoadLondon loads Europe/London. The program imports time/tzdata so that this works on
// machines without system time zone data. The zone is read once: time.LoadLocation reads
// and parses it on every call, and a letter's content asks for it on every render.
func LoadLondon() (*time.Location, error) { return loadLondonOnce() }

var loadLondonOnce = sync.OnceValues(func() (*time.Location, error) {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return nil, fmt.Errorf("load Europe/London time zone: %w", err)
	}
	return loc, nil
})

// orUTC keeps the date helpers total: a nil location would make the time package panic,
// and a rule that cannot panic is easier to call from resolvers and fuzz tests.
func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// Date is a calendar date with no time zone: a London date wherever it comes from
// LondonDate, and the value of `bst_date` columns.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// LondonDate is londonDate(t): the calendar date of instant t on London wall clocks.
func LondonDate(t time.Time, loc *time.Location) Date {
	return DateOf(t.In(orUTC(loc)))
}

// LondonMidnight is londonMidnight(d): the instant, in UTC, at which London date d begins.
// Clocks change at 01:00 UTC, so London midnight always exists exactly once.
func LondonMidnight(d Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, orUTC(loc)).UTC()
}

// WindowStart is windowStart(days): London midnight `days` London dates before today, so
// "the last N days" is today plus the N previous London dates.
func WindowStart(now time.Time, days int, loc *time.Location) time.Time {
	return LondonMidnight(WindowFirstDate(now, days, loc), loc)
}

// WindowFirstDate is the first London date of the last `days` days: today less days.
func WindowFirstDate(now time.Time, days int, loc *time.Location) Date {
	return LondonDate(now, loc).AddDays(-days)
}

// ParseDate parses a "2006-01-02" date, rejecting impossible dates such as 2025-02-30.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, Errorf(EINVALID, "a date must be a real date written as YYYY-MM-DD")
	}
	return DateOf(t), nil
}

// Time returns midnight UTC of the calendar date, the form pgx reads and writes for `date`
// columns. It is not the instant the London day begins: use LondonMidnight for that.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// AddDays returns the date n calendar days later (earlier when n < 0).
func (d Date) AddDays(n int) Date {
	return DateOf(d.Time().AddDate(0, 0, n))
}

// Sub returns the number of calendar days from o to d: d.Sub(o) == n when o.AddDays(n) == d.
func (d Date) Sub(o Date) int {
	// Both are UTC midnights, so every day lasts exactly 24 hours and the division is exact.
	return int(d.Time().Sub(o.Time()) / (24 * time.Hour))
}

// String formats the date as "2006-01-02".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Before reports whether d is an earlier calendar date than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// After reports whether d is a later calendar date than o.
func (d Date) After(o Date) bool { return o.Before(d) }

// Weekday returns the day of the week of the date.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// Month is a calendar month, as listed in monthly statistics and usage.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month that date d falls in.
func MonthOf(d Date) Month { return Month{Year: d.Year, Month: d.Month} }

// Key is the London "YYYY-MM" key of the month.
func (m Month) Key() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Name is the full English name of the month, "April".
func (m Month) Name() string { return m.Month.String() }

// Number is the month's number, 1 to 12.
func (m Month) Number() int { return int(m.Month) }

// FirstDay is the first date of the month.
func (m Month) FirstDay() Date { return Date{Year: m.Year, Month: m.Month, Day: 1} }

// FinancialYear is the financial year that starts on 1 April of the given year.
type FinancialYear int

// EarliestFinancialYear is the first financial year the API reports on (DOMAIN.md §10.1).
const EarliestFinancialYear FinancialYear = 2016

// Label is the selector text, "2024 to 2025".
func (y FinancialYear) Label() string { return fmt.Sprintf("%d to %d", int(y), int(y)+1) }

// FirstDay is 1 April of the year, the first `bst_date` in it.
func (y FinancialYear) FirstDay() Date { return Date{Year: int(y), Month: time.April, Day: 1} }

// LastDay is 31 March of the next year, the last `bst_date` in it.
func (y FinancialYear) LastDay() Date { return Date{Year: int(y) + 1, Month: time.March, Day: 31} }

// Start is the instant (UTC) the year begins: London midnight on 1 April.
func (y FinancialYear) Start(loc *time.Location) time.Time {
	return LondonMidnight(y.FirstDay(), loc)
}

// End is the instant (UTC) the year ends, exclusive: London midnight on the next 1 April.
func (y FinancialYear) End(loc *time.Location) time.Time {
	return LondonMidnight((y + 1).FirstDay(), loc)
}

// Contains reports whether instant t falls within the year.
func (y FinancialYear) Contains(t time.Time, loc *time.Location) bool {
	return FinancialYearOf(t, loc) == y
}

// FinancialYearOf is fyOf(t): the financial year of the London date of t.
func FinancialYearOf(t time.Time, loc *time.Location) FinancialYear {
	d := LondonDate(t, loc)
	if d.Month >= time.April {
		return FinancialYear(d.Year)
	}
	return FinancialYear(d.Year - 1)
}

// FinancialYearOptions lists the years the selectors offer: the current one and the two
// before it, newest first.
func FinancialYearOptions(now time.Time, loc *time.Location) []FinancialYear {
	current := FinancialYearOf(now, loc)
	return []FinancialYear{current, current - 1, current - 2}
}

// Months lists the months of the year, April to March, that have started by now: a month is
// listed only when London midnight on its first day is strictly before now.
func (y FinancialYear) Months(now time.Time, loc *time.Location) []Month {
	months := make([]Month, 0, 12)
	first := y.FirstDay()
	for i := range 12 {
		m := MonthOf(DateOf(first.Time().AddDate(0, i, 0)))
		if !LondonMidnight(m.FirstDay(), loc).Before(now) {
			break
		}
		months = append(months, m)
	}
	return months
}

// ValidateFinancialYear rejects years before 2016 and years that have not started yet.
func ValidateFinancialYear(y int, now time.Time, loc *time.Location) error {
	current := FinancialYearOf(now, loc)
	if y < int(EarliestFinancialYear) || y > int(current) {
		return Errorf(EINVALID, "year must be a financial year from %d to %d", int(EarliestFinancialYear), int(current))
	}
	return nil
}
