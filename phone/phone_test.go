package phone

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
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
			n, parsed := parse(stored)
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
