package notifyql

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// holidays2025 are the England and Wales bank holidays of 2025.
func holidays2025() Holidays {
	return Holidays{
		date(2025, 1, 1): true, date(2025, 4, 18): true, date(2025, 4, 21): true,
		date(2025, 5, 5): true, date(2025, 5, 26): true, date(2025, 8, 25): true,
		date(2025, 12, 25): true, date(2025, 12, 26): true,
	}
}

func TestLetterCancellation(t *testing.T) {
	loc := mustLondon(t)
	now := "2025-11-12T17:45:00Z" // Wed 12 Nov 2025, 17:45 GMT
	type result struct {
		Code, Message string
		Cancellable   bool
	}
	tests := []struct {
		name    string
		typ     NotificationType
		status  NotificationStatus
		created string
		now     string
		want    result
	}{
		{"DOMAIN example: created 09:00 the same day", TypeLetter, StatusCreated, "2025-11-12T09:00:00Z", now,
			result{ECONFLICT, "It’s too late to cancel this letter. Printing started today at 5.30pm", false}},
		{"DOMAIN example: created 17:40 the same day", TypeLetter, StatusCreated, "2025-11-12T17:40:00Z", now,
			result{"", "", true}},
		{"DOMAIN example: created Mon 18:00", TypeLetter, StatusCreated, "2025-11-10T18:00:00Z", now,
			result{ECONFLICT, "It’s too late to cancel this letter. Printing started on 11 November at 5.30pm", false}},
		{"pending virus check can be cancelled", TypeLetter, StatusPendingVirusCheck, "2025-11-12T17:40:00Z", now,
			result{"", "", true}},
		{"not a letter comes first", TypeEmail, StatusCreated, "2025-11-01T09:00:00Z", now,
			result{EINVALID, "Notification cannot be cancelled - only letters can be cancelled", false}},
		{"too late beats already cancelled", TypeLetter, StatusCancelled, "2025-11-12T09:00:00Z", now,
			result{ECONFLICT, "It’s too late to cancel this letter. Printing started today at 5.30pm", false}},
		{"already cancelled", TypeLetter, StatusCancelled, "2025-11-12T17:40:00Z", now,
			result{ECONFLICT, "This letter has already been cancelled.", false}},
		{"other status", TypeLetter, StatusSending, "2025-11-12T17:40:00Z", now,
			result{ECONFLICT, "We could not cancel this letter. Letter status: sending, created_at: 2025-11-12 17:40:00", false}},
		{"other status with microseconds", TypeLetter, StatusValidationFailed, "2025-11-12T17:40:00.000123Z", now,
			result{ECONFLICT, "We could not cancel this letter. Letter status: validation-failed, created_at: 2025-11-12 17:40:00.000123", false}},
		{"created exactly at the cutoff goes that evening", TypeLetter, StatusCreated, "2025-11-12T17:30:00Z", "2025-11-12T17:30:00Z",
			result{ECONFLICT, "It’s too late to cancel this letter. Printing started today at 5.30pm", false}},
		{"one second before the run", TypeLetter, StatusCreated, "2025-11-12T09:00:00Z", "2025-11-12T17:29:59Z",
			result{"", "", true}},
		{"created the evening before, cancelled next morning", TypeLetter, StatusCreated, "2025-11-11T18:00:00Z", "2025-11-12T10:00:00Z",
			result{"", "", true}},
		{"summer: cutoff is 16:30 UTC", TypeLetter, StatusCreated, "2025-07-01T09:00:00Z", "2025-07-01T16:30:00Z",
			result{ECONFLICT, "It’s too late to cancel this letter. Printing started today at 5.30pm", false}},
		{"summer: 16:29 UTC is before the cutoff", TypeLetter, StatusCreated, "2025-07-01T09:00:00Z", "2025-07-01T16:29:59Z",
			result{"", "", true}},
		{"created after the cutoff on BST's last day, run is 17:30 GMT next day", TypeLetter, StatusCreated, "2025-10-25T16:45:00Z", "2025-10-26T17:29:59Z",
			result{"", "", true}},
		{"BST's last day run passed", TypeLetter, StatusCreated, "2025-10-25T16:45:00Z", "2025-10-26T17:30:00Z",
			result{ECONFLICT, "It’s too late to cancel this letter. Printing started today at 5.30pm", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, at := utc(t, tt.created), utc(t, tt.now)
			err := CheckLetterCancellation(tt.typ, tt.status, created, at, loc)
			got := result{ErrorCode(err), ErrorMessage(err), LetterCancellable(tt.status, created, at, loc)}
			if tt.typ != TypeLetter {
				got.Cancellable = false
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// tooLateAsSpecified is DOMAIN.md §12.3's definition, word for word.
func tooLateAsSpecified(c, now time.Time, loc *time.Location) bool {
	cutoff := func(d Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 17, 30, 0, 0, loc) }
	cd, today := LondonDate(c, loc), LondonDate(now, loc)
	a := !now.Before(cutoff(today)) && !c.After(cutoff(today))
	b := !c.After(cutoff(cd)) && cd.Before(today)
	return a || b || today.Sub(cd) > 1
}

func TestLetterTooLateMatchesTheSpecification(t *testing.T) {
	loc := mustLondon(t)
	for _, start := range []string{"2023-10-27T12:00:00Z", "2024-03-29T12:00:00Z", "2025-11-10T12:00:00Z"} {
		base := utc(t, start)
		// Every 20 minutes over four days for both instants, now after created.
		for i := 0; i < 4*72; i++ {
			created := base.Add(time.Duration(i) * 20 * time.Minute)
			for j := i; j < 4*72; j += 3 {
				now := base.Add(time.Duration(j) * 20 * time.Minute)
				if got, want := LetterTooLate(created, now, loc), tooLateAsSpecified(created, now, loc); got != want {
					t.Fatalf("LetterTooLate(created %s, now %s) = %v, specification says %v", created, now, got, want)
				}
			}
		}
	}
}

func TestPrintStatement(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		name        string
		created     string
		now         string
		cancellable bool
		want        string
	}{
		{"cancellable before today's run", "2025-11-12T09:00:00Z", "2025-11-12T10:00:00Z", true, "Printing starts today at 5:30pm"},
		{"cancellable from last evening", "2025-11-11T18:00:00Z", "2025-11-12T10:00:00Z", true, "Printing starts today at 5:30pm"},
		{"cancellable after today's run", "2025-11-12T17:40:00Z", "2025-11-12T17:45:00Z", true, "Printing starts tomorrow at 5:30pm"},
		{"printed today", "2025-11-12T09:00:00Z", "2025-11-12T17:45:00Z", false, "Printed today at 5:30pm"},
		{"printed yesterday (created after the cutoff two days ago)", "2025-11-10T18:00:00Z", "2025-11-12T17:45:00Z", false, "Printed yesterday at 5:30pm"},
		{"printed on a date", "2025-11-01T10:00:00Z", "2025-11-12T17:45:00Z", false, "Printed on 1 November at 5:30pm"},
		{"summer: 17:29 BST is still today", "2025-07-01T16:29:00Z", "2025-07-01T20:00:00Z", false, "Printed today at 5:30pm"},
		{"summer: 17:31 BST is processed tomorrow", "2025-07-01T16:31:00Z", "2025-07-02T20:00:00Z", false, "Printed today at 5:30pm"},
		{"after the cutoff on the night BST ends", "2023-10-28T17:00:00Z", "2023-10-30T12:00:00Z", false, "Printed yesterday at 5:30pm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PrintStatement(utc(t, tt.created), utc(t, tt.now), tt.cancellable, loc); got != tt.want {
				t.Errorf("PrintStatement = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProcessingDate(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		created string
		want    Date
	}{
		{"2025-05-01T15:00:00Z", date(2025, 5, 1)}, // 16:00 BST
		{"2025-05-01T17:00:00Z", date(2025, 5, 2)}, // 18:00 BST
		{"2025-05-01T16:29:59Z", date(2025, 5, 1)}, // 17:29:59 BST
		{"2025-05-01T16:30:00Z", date(2025, 5, 2)}, // 17:30 BST + 6h30m is midnight
		{"2025-01-15T17:29:00Z", date(2025, 1, 15)},
		{"2023-10-28T16:31:00Z", date(2023, 10, 29)}, // wall-clock arithmetic across BST's end
		{"2024-03-30T17:31:00Z", date(2024, 3, 31)},  // and across its start
	}
	for _, tt := range tests {
		if got := ProcessingDate(utc(t, tt.created), loc); got != tt.want {
			t.Errorf("ProcessingDate(%s) = %v, want %v", tt.created, got, tt.want)
		}
	}
}

func TestEstimatedDelivery(t *testing.T) {
	loc := mustLondon(t)
	christmas := holidays2025()
	christmas[date(2026, 1, 1)] = true
	type result struct {
		PrintDay         Date
		Earliest, Latest time.Time
		Text             string
	}
	tests := []struct {
		name     string
		created  string
		postage  Postage
		holidays Holidays
		want     result
	}{
		{"DOMAIN example: second class over a bank holiday", "2025-05-01T15:00:00Z", PostageSecond, holidays2025(),
			result{date(2025, 5, 2), utc(t, "2025-05-09T15:00:00Z"), utc(t, "2025-05-12T15:00:00Z"), "Estimated delivery by Monday 12 May"}},
		{"DOMAIN example: first class delivers on Saturday", "2025-05-01T15:00:00Z", PostageFirst, holidays2025(),
			result{date(2025, 5, 2), utc(t, "2025-05-03T15:00:00Z"), utc(t, "2025-05-03T15:00:00Z"), "Estimated delivery by Saturday 3 May"}},
		{"DOMAIN example: created at 18:00 prints on Tuesday", "2025-05-01T17:00:00Z", PostageSecond, holidays2025(),
			result{date(2025, 5, 6), utc(t, "2025-05-12T15:00:00Z"), utc(t, "2025-05-13T15:00:00Z"), "Estimated delivery by Tuesday 13 May"}},
		{"economy", "2025-05-01T15:00:00Z", PostageEconomy, holidays2025(),
			result{date(2025, 5, 2), utc(t, "2025-05-09T15:00:00Z"), utc(t, "2025-05-14T15:00:00Z"), "Estimated delivery by Wednesday 14 May"}},
		{"europe", "2025-05-01T15:00:00Z", PostageEurope, holidays2025(),
			result{date(2025, 5, 2), utc(t, "2025-05-09T15:00:00Z"), utc(t, "2025-05-13T15:00:00Z"), "Estimated delivery by Tuesday 13 May"}},
		{"rest of world", "2025-05-01T15:00:00Z", PostageRestOfWorld, holidays2025(),
			result{date(2025, 5, 2), utc(t, "2025-05-13T15:00:00Z"), utc(t, "2025-05-15T15:00:00Z"), "Estimated delivery by Thursday 15 May"}},
		{"unknown postage counts as second class", "2025-05-01T15:00:00Z", "carrier-pigeon", holidays2025(),
			result{date(2025, 5, 2), utc(t, "2025-05-09T15:00:00Z"), utc(t, "2025-05-12T15:00:00Z"), "Estimated delivery by Monday 12 May"}},
		{"no holidays known", "2025-05-01T15:00:00Z", PostageSecond, nil,
			result{date(2025, 5, 2), utc(t, "2025-05-08T15:00:00Z"), utc(t, "2025-05-09T15:00:00Z"), "Estimated delivery by Friday 9 May"}},
		{"delivery after BST ends is 16:00 GMT", "2025-10-23T14:00:00Z", PostageSecond, holidays2025(),
			result{date(2025, 10, 24), utc(t, "2025-10-30T16:00:00Z"), utc(t, "2025-10-31T16:00:00Z"), "Estimated delivery by Friday 31 October"}},
		{"Friday evening prints on Monday", "2025-10-24T18:00:00Z", PostageFirst, holidays2025(),
			result{date(2025, 10, 27), utc(t, "2025-10-28T16:00:00Z"), utc(t, "2025-10-28T16:00:00Z"), "Estimated delivery by Tuesday 28 October"}},
		{"Christmas and New Year", "2025-12-23T12:00:00Z", PostageSecond, christmas,
			result{date(2025, 12, 24), utc(t, "2026-01-02T16:00:00Z"), utc(t, "2026-01-05T16:00:00Z"), "Estimated delivery by Monday 5 January"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created := utc(t, tt.created)
			earliest, latest := EstimatedDelivery(created, tt.postage, tt.holidays, loc)
			got := result{PrintDay(created, tt.holidays, loc), earliest, latest, EstimatedDeliveryText(latest, loc)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEstimatedDeliveryTerminatesWhenEveryDayIsAHoliday(t *testing.T) {
	loc := mustLondon(t)
	created := utc(t, "2025-05-01T15:00:00Z")
	everyDay := Holidays{}
	for d := date(2025, 1, 1); d.Before(date(2028, 1, 1)); d = d.AddDays(1) {
		everyDay[d] = true
	}
	earliest, latest := EstimatedDelivery(created, PostageSecond, everyDay, loc)
	if latest.Before(earliest) || earliest.Before(created) {
		t.Errorf("EstimatedDelivery = %s, %s: out of order", earliest, latest)
	}
}

func TestLetterValidationMessage(t *testing.T) {
	const address = "There’s a problem with the address for this letter"
	type result struct{ Title, Summary string }
	tests := []struct {
		key   string
		pages []int
		count int
		want  result
	}{
		{"letter-not-a4-portrait-oriented", []int{3}, 0, result{"Your letter is not A4 portrait size", "Validation failed because page 3 is not A4 portrait size."}},
		{"letter-not-a4-portrait-oriented", []int{2, 1}, 0, result{"Your letter is not A4 portrait size", "Validation failed because pages 1 and 2 are not A4 portrait size."}},
		{"letter-not-a4-portrait-oriented", []int{4, 1, 2, 2}, 0, result{"Your letter is not A4 portrait size", "Validation failed because pages 1, 2 and 4 are not A4 portrait size."}},
		{"letter-not-a4-portrait-oriented", nil, 0, result{"Your letter is not A4 portrait size", "Validation failed because some pages are not A4 portrait size."}},
		{"content-outside-printable-area", []int{1, 2, 4}, 0, result{"Your content is outside the printable area", "Validation failed because content is outside the printable area on pages 1, 2 and 4."}},
		{"content-outside-printable-area", []int{7}, 0, result{"Your content is outside the printable area", "Validation failed because content is outside the printable area on page 7."}},
		{"letter-too-long", nil, 12, result{"Your letter is too long", "Validation failed because this letter is 12 pages long. Letters must be 10 pages or less (5 double-sided sheets of paper)."}},
		{"unable-to-read-the-file", nil, 0, result{"There’s a problem with your file", "Validation failed because Notify cannot read this PDF. Save a new copy of your file and try again."}},
		{"address-is-empty", nil, 0, result{"The address block is empty", "Validation failed because the address block is empty."}},
		{"not-a-real-uk-postcode", nil, 0, result{address, "Validation failed because the last line of the address is not a real UK postcode."}},
		{"cant-send-international-letters", nil, 0, result{address, "Validation failed because your service cannot send letters to other countries."}},
		{"not-a-real-uk-postcode-or-country", nil, 0, result{address, "Validation failed because the last line of the address is not a UK postcode or another country."}},
		{"not-enough-address-lines", nil, 0, result{address, "Validation failed because the address must be at least 3 lines long."}},
		{"too-many-address-lines", nil, 0, result{address, "Validation failed because the address must be no more than 7 lines long."}},
		{"invalid-char-in-address", nil, 0, result{address, `Validation failed because address lines must not start with any of the following characters: @ ( ) = [ ] ” \ / , < > ~`}},
		{"has-country-for-bfpo-address", nil, 0, result{address, "Validation failed because the last line of the BFPO address is a country."}},
		{"invalid-address-line-1-or-2", nil, 0, result{address, "Validation failed because there is not an alphanumeric character in lines 1 and 2 of the address."}},
		{"notify-tag-found-in-content", []int{1}, 0, result{"There’s a problem with your letter", "Validation failed because your file includes a letter you’ve downloaded from Notify on page 1."}},
		{"no-fixed-abode-address", nil, 0, result{"There is a problem", "Validation failed because this is not a real address."}},
		{"no-encoded-string", nil, 0, result{"Sanitise failed - No encoded string", ""}},
		{"something-new", []int{1}, 3, result{"Validation failed", ""}},
		{"", nil, 0, result{"Validation failed", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			title, summary := LetterValidationMessage(tt.key, tt.pages, tt.count)
			if diff := cmp.Diff(tt.want, result{title, summary}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLetterSheets(t *testing.T) {
	for _, tt := range []struct{ pages, want int }{
		{-1, 0}, {0, 0}, {1, 1}, {2, 1}, {3, 2}, {9, 5}, {10, 5}, {11, 6},
	} {
		if got := LetterSheets(tt.pages); got != tt.want {
			t.Errorf("LetterSheets(%d) = %d, want %d", tt.pages, got, tt.want)
		}
	}
}

func FuzzLetterRules(f *testing.F) {
	loc := mustLondon(f)
	f.Add(int64(1746111600), int64(1746115200), "second", 3)
	f.Add(int64(-62135596800), int64(253402300799), "first", -1)
	f.Fuzz(func(t *testing.T, createdUnix, nowUnix int64, postage string, pages int) {
		created, now := time.Unix(createdUnix, 0), time.Unix(nowUnix, 0)
		cancellable := LetterCancellable(StatusCreated, created, now, loc)
		_ = PrintStatement(created, now, cancellable, loc)
		_ = CheckLetterCancellation(TypeLetter, StatusSending, created, now, nil)
		earliest, latest := EstimatedDelivery(created, Postage(postage), holidays2025(), loc)
		if latest.Before(earliest) {
			t.Errorf("latest %s before earliest %s", latest, earliest)
		}
		_ = EstimatedDeliveryText(latest, loc)
		_, _ = LetterValidationMessage(postage, []int{pages, -pages}, pages)
		if LetterSheets(pages) < 0 {
			t.Errorf("LetterSheets(%d) < 0", pages)
		}
	})
}
