package notifyql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Letter printing, cancellation and delivery rules (DOMAIN.md §12.2–§12.4). They are pure:
// the caller passes the clock, the London location and the bank holidays.

// Holidays are the England and Wales bank holidays, keyed by date.
type Holidays map[Date]bool

// letterCutoff is 17:30 London: letters created by then on a day go out with that evening's
// print run.
const (
	cutoffHour   = 17
	cutoffMinute = 30
)

// printRunAt returns the instant (UTC) of the 17:30 London print run on date d.
func printRunAt(d Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, cutoffHour, cutoffMinute, 0, 0, orUTC(loc)).UTC()
}

// LetterPrintRun returns the print run a letter created at `created` goes out with: 17:30
// London on its creation date if created by then, otherwise 17:30 the next day.
func LetterPrintRun(created time.Time, loc *time.Location) time.Time {
	cd := LondonDate(created, loc)
	if run := printRunAt(cd, loc); !created.After(run) {
		return run
	}
	return printRunAt(cd.AddDays(1), loc)
}

// LetterTooLate reports whether printing has started for a letter created at `created`, so
// that it can no longer be cancelled, whatever its status (DOMAIN.md §12.3).
func LetterTooLate(created, now time.Time, loc *time.Location) bool {
	return !now.Before(LetterPrintRun(created, loc))
}

// LetterCancellable reports whether a letter may still be cancelled: its status is created
// or pending-virus-check and printing has not started.
func LetterCancellable(status NotificationStatus, created, now time.Time, loc *time.Location) bool {
	if status != StatusCreated && status != StatusPendingVirusCheck {
		return false
	}
	return !LetterTooLate(created, now, loc)
}

// ProcessingDate is P of DOMAIN.md §12.2: the date of the London wall-clock creation time
// plus 6h30m, so that anything created after 17:30 is processed the next day.
func ProcessingDate(created time.Time, loc *time.Location) Date {
	c := created.In(orUTC(loc))
	// Wall-clock arithmetic: add to the clock reading, not to the instant, so that a clock
	// change overnight does not move the boundary away from 17:30.
	shifted := time.Date(c.Year(), c.Month(), c.Day(), c.Hour()+6, c.Minute()+30, c.Second(), c.Nanosecond(), time.UTC)
	return DateOf(shifted)
}

// PrintStatement is the letter's printing sentence (DOMAIN.md §12.2), such as "Printing
// starts today at 5:30pm" or "Printed on 3 May at 5:30pm".
func PrintStatement(created, now time.Time, cancellable bool, loc *time.Location) string {
	today := LondonDate(now, loc)
	if cancellable {
		if created.Before(printRunAt(today, loc)) {
			return "Printing starts today at 5:30pm"
		}
		return "Printing starts tomorrow at 5:30pm"
	}
	switch p := ProcessingDate(created, loc); p.Sub(today) {
	case 0:
		return "Printed today at 5:30pm"
	case -1:
		return "Printed yesterday at 5:30pm"
	default:
		return "Printed on " + FormatShortDate(p) + " at 5:30pm"
	}
}

// LetterTooLateMessage is the error text for cancelling a letter that has gone to print:
// "It’s too late to cancel this letter. Printing started today at 5.30pm" (or "on 11
// November" when P is before today).
func LetterTooLateMessage(created, now time.Time, loc *time.Location) string {
	when := "today"
	if p := ProcessingDate(created, loc); p.Before(LondonDate(now, loc)) {
		when = "on " + FormatShortDate(p)
	}
	return "It\u2019s too late to cancel this letter. Printing started " + when + " at 5.30pm"
}

// CheckLetterCancellation applies the checks of DOMAIN.md §12.3 after the notification has
// been found, in their order, with their exact texts: EINVALID when it is not a letter,
// ECONFLICT when it is too late, already cancelled or in any other status that cannot be
// cancelled. nil means the letter may be cancelled now.
func CheckLetterCancellation(t NotificationType, status NotificationStatus, created, now time.Time, loc *time.Location) error {
	if t != TypeLetter {
		return Errorf(EINVALID, "Notification cannot be cancelled - only letters can be cancelled")
	}
	if LetterTooLate(created, now, loc) {
		return Errorf(ECONFLICT, "%s", LetterTooLateMessage(created, now, loc))
	}
	if status == StatusCancelled {
		return Errorf(ECONFLICT, "This letter has already been cancelled.")
	}
	if !LetterCancellable(status, created, now, loc) {
		return Errorf(ECONFLICT, "We could not cancel this letter. Letter status: %s, created_at: %s", status, formatCreatedAt(created))
	}
	return nil
}

// formatCreatedAt is the UTC creation time in the cancel error, with microseconds only when
// there are any.
func formatCreatedAt(t time.Time) string {
	u := t.UTC()
	if micros := u.Nanosecond() / 1000; micros != 0 {
		return u.Format(time.DateTime) + fmt.Sprintf(".%06d", micros)
	}
	return u.Format(time.DateTime)
}

// transitDays are the Royal Mail working days a class of post takes: earliest, latest.
func transitDays(p Postage) (earliest, latest int) {
	switch p {
	case PostageFirst:
		return 0, 0
	case PostageEconomy:
		return 3, 6
	case PostageEurope:
		return 3, 5
	case PostageRestOfWorld:
		return 5, 7
	}
	return 3, 4 // second class, also the default class of a letter
}

// maxWorkingDaySearch bounds the search for a working day so that a holiday table covering
// every day cannot loop for ever; no real calendar needs more than a few days.
const maxWorkingDaySearch = 366

// dvlaWorkingDay reports whether the printer (DVLA) works on d: Monday to Friday, not a bank
// holiday.
func dvlaWorkingDay(d Date, holidays Holidays) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !holidays[d]
}

// royalMailWorkingDay reports whether Royal Mail delivers a class of post on d: first class
// Monday to Saturday, everything else Monday to Friday, never on a bank holiday.
func royalMailWorkingDay(d Date, p Postage, holidays Holidays) bool {
	switch d.Weekday() {
	case time.Sunday:
		return false
	case time.Saturday:
		if p != PostageFirst {
			return false
		}
	}
	return !holidays[d]
}

// PrintDay is the first DVLA working day strictly after the processing date. Printing must
// start by 15:00 London that day.
func PrintDay(created time.Time, holidays Holidays, loc *time.Location) Date {
	d := ProcessingDate(created, loc)
	for range maxWorkingDaySearch {
		d = d.AddDays(1)
		if dvlaWorkingDay(d, holidays) {
			break
		}
	}
	return d
}

// deliveryDay steps n Royal Mail working days forward from the print day.
func deliveryDay(from Date, n int, p Postage, holidays Holidays) Date {
	d := from
	for counted, stepped := 0, 0; counted < n && stepped < maxWorkingDaySearch; stepped++ {
		d = d.AddDays(1)
		if royalMailWorkingDay(d, p, holidays) {
			counted++
		}
	}
	return d
}

// EstimatedDelivery returns the earliest and latest estimated delivery of a letter, each at
// 16:00 London (in UTC): 1 + transit Royal Mail working days after the print day. An
// unknown postage is treated as second class.
func EstimatedDelivery(created time.Time, postage Postage, holidays Holidays, loc *time.Location) (earliest, latest time.Time) {
	printDay := PrintDay(created, holidays, loc)
	early, late := transitDays(postage)
	at4pm := func(d Date) time.Time {
		return time.Date(d.Year, d.Month, d.Day, 16, 0, 0, 0, orUTC(loc)).UTC()
	}
	return at4pm(deliveryDay(printDay, 1+early, postage, holidays)), at4pm(deliveryDay(printDay, 1+late, postage, holidays))
}

// EstimatedDeliveryText is the screen text for the latest estimate, "Estimated delivery by
// Monday 12 May".
func EstimatedDeliveryText(latest time.Time, loc *time.Location) string {
	d := LondonDate(latest, loc)
	return "Estimated delivery by " + d.Weekday().String() + " " + FormatShortDate(d)
}

// LetterSheets is the number of sheets a letter of `pages` pages is printed on, double
// sided: ⌈pages/2⌉, and 0 for no pages.
func LetterSheets(pages int) int {
	if pages <= 0 {
		return 0
	}
	return pages/2 + pages%2
}

// MaxLetterPages is the longest letter that can be sent: 10 pages, 5 sheets.
const MaxLetterPages = 10

const addressProblem = "There\u2019s a problem with the address for this letter"

// LetterValidationMessage returns the title and plain-text summary shown for a letter that
// failed validation (DOMAIN.md §12.4). The summary is empty for keys that have none.
func LetterValidationMessage(key string, invalidPages []int, pageCount int) (title, summary string) {
	const because = "Validation failed because "
	switch key {
	case "letter-not-a4-portrait-oriented":
		return "Your letter is not A4 portrait size",
			because + pagesText(invalidPages) + " " + isAre(invalidPages) + " not A4 portrait size."
	case "content-outside-printable-area":
		return "Your content is outside the printable area",
			because + "content is outside the printable area on " + pagesText(invalidPages) + "."
	case "letter-too-long":
		return "Your letter is too long",
			because + "this letter is " + strconv.Itoa(pageCount) + " pages long. Letters must be 10 pages or less (5 double-sided sheets of paper)."
	case "unable-to-read-the-file":
		return "There\u2019s a problem with your file",
			because + "Notify cannot read this PDF. Save a new copy of your file and try again."
	case "address-is-empty":
		return "The address block is empty", because + "the address block is empty."
	case "not-a-real-uk-postcode":
		return addressProblem, because + "the last line of the address is not a real UK postcode."
	case "cant-send-international-letters":
		return addressProblem, because + "your service cannot send letters to other countries."
	case "not-a-real-uk-postcode-or-country":
		return addressProblem, because + "the last line of the address is not a UK postcode or another country."
	case "not-enough-address-lines":
		return addressProblem, because + "the address must be at least 3 lines long."
	case "too-many-address-lines":
		return addressProblem, because + "the address must be no more than 7 lines long."
	case "invalid-char-in-address":
		return addressProblem, because + "address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < > ~"
	case "has-country-for-bfpo-address":
		return addressProblem, because + "the last line of the BFPO address is a country."
	case "invalid-address-line-1-or-2":
		return addressProblem, because + "there is not an alphanumeric character in lines 1 and 2 of the address."
	case "notify-tag-found-in-content":
		return "There\u2019s a problem with your letter",
			because + "your file includes a letter you\u2019ve downloaded from Notify on " + pagesText(invalidPages) + "."
	case "no-fixed-abode-address":
		return "There is a problem", because + "this is not a real address."
	case "no-encoded-string":
		return "Sanitise failed - No encoded string", ""
	}
	return "Validation failed", ""
}

// pagesText renders page numbers as "page 3", "pages 1 and 2" or "pages 1, 2 and 4", sorted
// and without repeats. With no page numbers it reads "some pages".
func pagesText(pages []int) string {
	ps := slices.Clone(pages)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = strconv.Itoa(p)
	}
	switch len(names) {
	case 0:
		return "some pages"
	case 1:
		return "page " + names[0]
	}
	return "pages " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// isAre agrees a verb with the number of distinct pages.
func isAre(pages []int) string {
	ps := slices.Clone(pages)
	slices.Sort(ps)
	if len(slices.Compact(ps)) == 1 {
		return "is"
	}
	return "are"
}
