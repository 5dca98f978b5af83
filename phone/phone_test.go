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
