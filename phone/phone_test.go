package phone

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"notifyql"
)

func TestFormat(t *testing.T) {
	tests := []struct{ stored, want string }{
		{"07911123456", "07911 123456"},
		{"447911123456", "07911 123456"},
		{"+447911123456", "07911 123456"},
		{"+33612345678", "+33 6 12 34 56 78"},
		{"33612345678", "+33 6 12 34 56 78"},
		{"+12025550199", "+1 202-555-0199"},
		{"447781123456", "07781 123456"}, // Guernsey: a crown dependency, national form
		{"not a number", "not a number"},
		{"", ""},
		{"12", "12"},
	}
	for _, tt := range tests {
		if got := Format(tt.stored); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.stored, got, tt.want)
		}
	}
}

func TestNormalise(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"07911 123456", "447911123456", true},
		{"+44 (0)7911 123456", "447911123456", true},
		{"+33 6 12 34 56 78", "33612345678", true},
		{"hello", "", false},
		{"", "", false},
		{"+", "", false},
	}
	for _, tt := range tests {
		got, err := Normalise(tt.raw)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Normalise(%q) = %q, %v; want %q, ok=%v", tt.raw, got, err, tt.want, tt.ok)
		}
	}
}

func TestNationalSignificantNumber(t *testing.T) {
	if got, ok := NationalSignificantNumber("+44 (0)7911 123456"); !ok || got != "7911123456" {
		t.Errorf("got %q, %v", got, ok)
	}
	if _, ok := NationalSignificantNumber("(0)7911 12"); ok {
		t.Error("a short number should not be valid")
	}
}

func TestFormatFictionalNumbers(t *testing.T) {
	// Ofcom's drama range is possible but not valid; it is still shown in national form.
	if got := Format("07700900123"); got != "07700 900123" {
		t.Errorf("Format = %q", got)
	}
}

func TestFormatUKMobileMatchesLibphonenumber(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		national := fmt.Sprintf("07%09d", r.IntN(1e9))
		for _, stored := range []string{national, "44" + national[1:], "+44" + national[1:]} {
			fast, ok := formatUKMobile(stored)
			if !ok {
				continue
			}
			n, parsed := read(stored)
			if !parsed {
				t.Fatalf("%s: the fast path formats a number libphonenumber cannot parse", stored)
			}
			if want := phonenumbers.Format(n, phonenumbers.NATIONAL); fast != want {
				t.Fatalf("%s: fast path %q, libphonenumber %q", stored, fast, want)
			}
		}
	}
	for _, notMobile := range []string{"07012345678", "07612345678", "0791112345", "079111234567", "0791112345x", "+33612345678", "02079460000"} {
		if got, ok := formatUKMobile(notMobile); ok {
			t.Errorf("formatUKMobile(%q) = %q, want no fast path", notMobile, got)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	for _, stored := range []string{"07911123456", "+33612345678"} {
		b.Run(stored, func(b *testing.B) {
			for b.Loop() {
				Format(stored)
			}
		})
	}
}

func TestSMSSearchTermWithLibphonenumber(t *testing.T) {
	for _, tt := range []struct{ term, want string }{
		{"+44 (0)7911 123456", "7911123456"}, // DOMAIN.md §6.3's example
		{"(0)7911 12", "791112"},             // not a valid number: punctuation and the 0 go
		{"07700900123", "7700900123"},        // fictional range: not valid, kept raw less the 0
		{"447700900123", "447700900123"},
		{"+33 6 12 34 56 78", "612345678"},
		{"GOVUK", "GOVUK"},
	} {
		if got := smsSearchTerm(tt.term); got != tt.want {
			t.Errorf("smsSearchTerm(%q) = %q, want %q", tt.term, got, tt.want)
		}
	}
}

func TestConversationWith(t *testing.T) {
	uk := ConversationWith("07700900123")
	if uk.SearchTerm != "7700900123" || uk.DigitsSuffix != "7700900123" {
		t.Errorf("UK number: %+v", uk)
	}
	for _, same := range []string{"447700900123", "+447700900123", "07700 900123", "+44 7700 900123"} {
		if !uk.Same(same) {
			t.Errorf("%q should be the same number as 07700900123", same)
		}
	}
	for _, other := range []string{"447700900124", "+337700900123", "", "hello"} {
		if uk.Same(other) {
			t.Errorf("%q should not be the same number as 07700900123", other)
		}
	}
	french := ConversationWith("+33612345678")
	if french.SearchTerm != "612345678" || french.DigitsSuffix != "612345678" || !french.Same("33612345678") || french.Same("0612345678") {
		t.Errorf("French number: %+v", french)
	}
	word := ConversationWith("GOV-UK 2")
	if word.DigitsSuffix != "2" || !word.Same("GOV-UK 2") || word.Same("GOV-UK 22") {
		t.Errorf("a sender that is not a number: %+v", word)
	}
}

// FuzzPhone: a number that normalises has an E.164 form (digits only) which
// normalises to itself, with or without its "+"; its human form (Format) parses back to
// the same number, and ends with the digits a conversation matches it by; its national
// significant number ends its E.164 form. Anything that does not normalise is shown as it
// was given.
func FuzzPhone(f *testing.F) {
	for _, seed := range []string{
		"07911 123456", "+447911123456", "447911123456", "+44 (0)7911 123-456", "07700 900123", "+33 6 12 34 56 78",
		"0033612345678", "+1 415 555 2671", "01534 123456", "+44 1624 123456", "020 7946 0000", "999", "112",
		"", " ", "+", "00", "0", "++44 7911 123456", "44", "+800 1234 5678", "+882 1234 5678", "\t07911\n123456\r",
		"07911123456789012345", "(((())))", "-7911-", "7911123456", "+7 700 900 123", "+44 7911 123456 ext 1", "٠٧٩١١١٢٣٤٥٦",
		"+2304031001", "0+44(0)7779123456", "2304031001",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		formatted := Format(raw)
		e164, err := Normalise(raw)
		if err != nil {
			if notifyql.ErrorCode(err) != notifyql.EINVALID {
				t.Fatalf("Normalise(%q): %v, want EINVALID", raw, err)
			}
			if formatted != raw {
				t.Errorf("Format(%q) = %q, want an unreadable number as given", raw, formatted)
			}
			return
		}
		// A country code and a national number of at most 17 digits, libphonenumber's bound
		// (some national numbers, such as Japan's 0037 ranges, are longer than E.164's 15).
		if e164 == "" || len(e164) > 3+17 || strings.Trim(e164, "0123456789") != "" {
			t.Fatalf("Normalise(%q) = %q, not E.164 digits", raw, e164)
		}
		// A stored number is read with its "+": bare digits can be another number (see read).
		if again, err := Normalise("+" + e164); again != e164 {
			t.Errorf("Normalise(%q) = %q; Normalise(+%q) = %q, %v", raw, e164, e164, again, err)
		}
		// Numbers are stored in E.164 and shown with Format: the human form must read back.
		shown := Format("+" + e164)
		if back, err := Normalise(shown); back != e164 {
			t.Errorf("Format(+%q) = %q, which normalises to %q, %v", e164, shown, back, err)
		}
		if back, err := Normalise(formatted); back != e164 {
			t.Errorf("Format(%q) = %q, which normalises to %q, %v, want %q", raw, formatted, back, err, e164)
		}
		// A conversation opened from the number as given finds texts from its stored form.
		with := ConversationWith(raw)
		for _, form := range []string{e164, "+" + e164} {
			if !with.Same(form) {
				t.Errorf("ConversationWith(%q).Same does not match %q", raw, form)
			}
		}
		if !strings.HasSuffix(digitsOf(shown), with.DigitsSuffix) || !strings.HasSuffix(e164, with.DigitsSuffix) {
			t.Errorf("ConversationWith(%q).DigitsSuffix = %q, which %q does not end with", raw, with.DigitsSuffix, shown)
		}
		// The search term of a conversation with a valid number is contained in the stored
		// form, so that the texts sent to it are found (a number that is only possible is
		// searched for by its digits, as §6.3 says).
		if _, valid := NationalSignificantNumber(raw); valid && !strings.Contains(e164, with.SearchTerm) {
			t.Errorf("ConversationWith(%q).SearchTerm = %q, which %q does not contain", raw, with.SearchTerm, e164)
		}
		if nsn, ok := NationalSignificantNumber(raw); ok && !strings.HasSuffix(e164, nsn) {
			t.Errorf("NationalSignificantNumber(%q) = %q, which %q does not end with", raw, nsn, e164)
		}
	})
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// One reading of a number, for display, storage, search and conversations (issue 16): a
// number whose stored digits read differently with GB as the default region, and one that
// only the lenient parse reads.
func TestOneReadingOfANumber(t *testing.T) {
	tests := []struct {
		raw, shown, stored, searchTerm string
	}{
		// Mauritius: its stored digits 2304031001 are also a GB number (023 0403 1001).
		{"+2304031001", "+230 403 1001", "2304031001", "4031001"},
		{"+230 403 1001", "+230 403 1001", "2304031001", "4031001"},
		// A leading 0 before the +: only the lenient parse reads it.
		{"0+44(0)7779123456", "07779 123456", "447779123456", "7779123456"},
		{"07779 123456", "07779 123456", "447779123456", "7779123456"},
	}
	for _, tt := range tests {
		if got := Format(tt.raw); got != tt.shown {
			t.Errorf("Format(%q) = %q, want %q", tt.raw, got, tt.shown)
		}
		if got, err := Normalise(tt.raw); err != nil || got != tt.stored {
			t.Errorf("Normalise(%q) = %q, %v; want %q", tt.raw, got, err, tt.stored)
		}
		if got := smsSearchTerm(tt.raw); got != tt.searchTerm {
			t.Errorf("smsSearchTerm(%q) = %q, want %q", tt.raw, got, tt.searchTerm)
		}
		if !strings.Contains(tt.stored, tt.searchTerm) {
			t.Fatalf("test case %q: the search term must find the stored form", tt.raw)
		}
		with := ConversationWith(tt.raw)
		if with.SearchTerm != tt.searchTerm || !with.Same(tt.stored) || !with.Same("+"+tt.stored) || !with.Same(tt.raw) {
			t.Errorf("ConversationWith(%q) = %+v: does not match the stored form %q", tt.raw, with, tt.stored)
		}
	}
	// The stored form is not mistaken for the GB number its bare digits also are.
	mauritius := ConversationWith("+2304031001")
	if mauritius.Same("442304031001") || mauritius.Same("02304031001") {
		t.Error("the Mauritius number matches the GB number 023 0403 1001")
	}
	if gb := ConversationWith("02304031001"); gb.Same("2304031001") {
		t.Error("the GB number 023 0403 1001 matches the stored Mauritius number")
	}
}

func TestInboundNumberIsTheStoredForm(t *testing.T) {
	for _, tt := range []struct{ userNumber, given, shown string }{
		{"2304031001", "+2304031001", "+230 403 1001"}, // Mauritius, not 023 0403 1001
		{"447700900123", "+447700900123", "07700 900123"},
		{"+33612345678", "+33612345678", "+33 6 12 34 56 78"},
		{"07700900123", "07700900123", "07700 900123"},
		{"+44 7700 900123", "+44 7700 900123", "07700 900123"},
		{"GOVUK", "GOVUK", "GOVUK"},
		{"", "", ""},
	} {
		if got := InboundNumber(tt.userNumber); got != tt.given {
			t.Errorf("InboundNumber(%q) = %q, want %q", tt.userNumber, got, tt.given)
		}
		if got := Format(InboundNumber(tt.userNumber)); got != tt.shown {
			t.Errorf("Format(InboundNumber(%q)) = %q, want %q", tt.userNumber, got, tt.shown)
		}
	}
	if !ConversationWith("+2304031001").Same("2304031001") {
		t.Error("a text from the stored Mauritius number is not in its conversation")
	}
}
