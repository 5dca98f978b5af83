package notifyql_test

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"notifyql"
	"notifyql/phone"
)

func TestNormaliseSearchTerm(t *testing.T) {
	sms, email, letter := notifyql.TypeSMS, notifyql.TypeEmail, notifyql.TypeLetter
	tests := []struct {
		name string
		typ  *notifyql.NotificationType
		term string
		want string
	}{
		// DOMAIN.md §6.3's examples.
		{"sms: a valid number becomes its national significant number", &sms, "+44 (0)7911 123456", "7911123456"},
		{"sms: not a valid number, brackets and spaces deleted, leading 0 stripped", &sms, "(0)7911 12", "791112"},
		{"email: a valid address is trimmed and lower-cased", &email, " Ann.Smith@Example.ORG ", "ann.smith@example.org"},
		{"letter: whitespace removed, lower-cased", &letter, "10 Downing St", "10downingst"},

		{"sms: national form", &sms, "07911 123456", "7911123456"},
		{"sms: E.164 digits", &sms, "447911123456", "7911123456"},
		{"sms: a fictional range is not valid and keeps its digits", &sms, "07700 900123", "7700900123"},
		{"sms: a fragment", &sms, "900 12", "90012"},
		{"sms: dashes deleted", &sms, "0-7700-900", "7700900"},
		{"sms: every leading + and 0 stripped", &sms, "+00 7700", "7700"},
		{"sms: zeros inside are kept", &sms, "9001 00", "900100"},
		{"sms: a name is kept as given", &sms, "Ann", "Ann"},
		{"sms: a valid foreign number", &sms, "+33 6 12 34 56 78", "612345678"},
		{"email: a fragment is lower-cased, not trimmed", &email, " Smith@", " smith@"},
		{"email: a display-name form is not a bare address", &email, "Ann <Ann@Example.org>", "ann <ann@example.org>"},
		{"email: LIKE characters are kept for the store to escape", &email, "50%_OFF", "50%_off"},
		{"letter: tabs and newlines removed", &letter, "SW1A\t2AA\n", "sw1a2aa"},
		{"no type: as letters", nil, " Ann Smith ", "annsmith"},
		{"no type: a phone number keeps its 0", nil, "07700 900123", "07700900123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notifyql.NormaliseSearchTerm(tt.typ, tt.term, phone.NationalSignificantNumber); got != tt.want {
				t.Errorf("NormaliseSearchTerm(%v, %q) = %q, want %q", tt.typ, tt.term, got, tt.want)
			}
		})
	}
}

func TestSearchHint(t *testing.T) {
	sms, email, letter := notifyql.TypeSMS, notifyql.TypeEmail, notifyql.TypeLetter
	tests := []struct {
		typ        *notifyql.NotificationType
		hasAPIKeys bool
		want       string
	}{
		{nil, false, "Search by recipient"},
		{nil, true, "Search by recipient or reference"},
		{&email, false, "Search by email address"},
		{&email, true, "Search by email address or reference"},
		{&sms, false, "Search by phone number"},
		{&sms, true, "Search by phone number or reference"},
		{&letter, false, "Search by postal address or file name"},
		{&letter, true, "Search by postal address, file name or reference"}, // DOMAIN.md §6.3's example
	}
	for _, tt := range tests {
		if got := notifyql.SearchHint(tt.typ, tt.hasAPIKeys); got != tt.want {
			t.Errorf("SearchHint(%s, hasAPIKeys=%v) = %q, want %q", typeName(tt.typ), tt.hasAPIKeys, got, tt.want)
		}
	}
}

func TestSearchHash(t *testing.T) {
	secret, err := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		t.Fatal(err)
	}
	// Computed with `printf %s TERM | openssl dgst -sha512 -mac HMAC -macopt hexkey:0001…1f`.
	tests := []struct{ term, want string }{
		{"07700 900123", "a7e79ac60ef891530dd7a3bb6d49fc7d5deb4e999f66491443bddefc163a546ad47c3022e9e9cb11b00af34101105aa5f0320cc2256fb044a323ec69538c2c9d"},
		{"Ünïcode ✓", "2fd03690b26e217283c478457aa9669a346055d3fe7b846bd577122dc97bbc76409e3884ab6b499c97660e1dc47310e30b355acfeb9ad9fefac4c7eae2f8f871"},
	}
	for _, tt := range tests {
		got := notifyql.SearchHash(secret, tt.term)
		if got != tt.want {
			t.Errorf("SearchHash(%q) = %s, want %s", tt.term, got, tt.want)
		}
		if err := notifyql.ValidateSearchHash(got); err != nil {
			t.Errorf("ValidateSearchHash refuses SearchHash's own output: %v", err)
		}
	}
	if notifyql.SearchHash([]byte("another secret, 32 bytes or more"), "07700 900123") == tests[0].want {
		t.Error("the hash does not depend on the secret")
	}
}

func TestValidateSearchHash(t *testing.T) {
	valid := strings.Repeat("ab", 64)
	for _, bad := range []string{"", "abc", strings.Repeat("AB", 64), strings.Repeat("zz", 64), valid + "00", valid[:126] + "/x"} {
		if code := notifyql.ErrorCode(notifyql.ValidateSearchHash(bad)); code != notifyql.EINVALID {
			t.Errorf("ValidateSearchHash(%q): code %q, want %q", bad, code, notifyql.EINVALID)
		}
	}
	if err := notifyql.ValidateSearchHash(valid); err != nil {
		t.Errorf("ValidateSearchHash(%q) = %v", valid, err)
	}
}

func TestValidateSearchTerm(t *testing.T) {
	long := strings.Repeat("é", notifyql.MaxSearchTermLength)
	tests := []struct {
		term, wantMessage string
	}{
		{"", "the search term is empty"},
		{" \t\n", "the search term is empty"},
		{long + "x", "the search term is longer than 1000 characters"},
		{"ann\xff", "the search term is not valid UTF-8"},
		{long, ""}, // 1,000 characters (2,000 bytes) is the most allowed
		{"a", ""},
	}
	for _, tt := range tests {
		err := notifyql.ValidateSearchTerm(tt.term)
		if tt.wantMessage == "" {
			if err != nil {
				t.Errorf("ValidateSearchTerm(%d characters) = %v, want nil", len([]rune(tt.term)), err)
			}
			continue
		}
		if notifyql.ErrorCode(err) != notifyql.EINVALID || notifyql.ErrorMessage(err) != tt.wantMessage {
			t.Errorf("ValidateSearchTerm(%.20q…) = %v, want EINVALID %q", tt.term, err, tt.wantMessage)
		}
	}
}

func TestSearchesReference(t *testing.T) {
	sms, email, letter := notifyql.TypeSMS, notifyql.TypeEmail, notifyql.TypeLetter
	tests := []struct {
		typ        *notifyql.NotificationType
		hasAPIKeys bool
		want       bool
	}{
		{nil, false, false}, {nil, true, true},
		{&sms, false, false}, {&sms, true, true},
		{&email, false, false}, {&email, true, true},
		{&letter, false, true}, {&letter, true, true},
	}
	for _, tt := range tests {
		if got := notifyql.SearchesReference(tt.typ, tt.hasAPIKeys); got != tt.want {
			t.Errorf("SearchesReference(%v, has API keys %t) = %t, want %t", tt.typ, tt.hasAPIKeys, got, tt.want)
		}
	}
}

// FuzzSearchTerm: a term is refused with EINVALID and one of the fixed messages (never the
// term, which is personal data) or accepted as valid UTF-8 of 1 to 1,000 characters that is
// not all whitespace. An accepted term normalises, for each type searched, to what that
// type's row of DOMAIN.md §6.3 promises, and normalising the result again changes nothing;
// its hash is one ValidateSearchHash accepts.
func FuzzSearchTerm(f *testing.F) {
	for _, seed := range []string{
		"+44 (0)7911 123456", "(0)7911 12", " Ann.Smith@Example.ORG ", "10 Downing St", "07700 900123",
		"+00 7700", "(0)33612345678", "0+44(0)7779123456", "Ann <Ann@Example.org>", "50%_OFF", "SW1A\t2AA\n", "+33 6 12 34 56 78", "447911123456",
		"", " \t\n", "ann\xff", "\u0130stanbul", "\u212a@example.org", "\u00a0x\u2028", "0", "+", "ﬀ@ß.de",
		strings.Repeat("é", notifyql.MaxSearchTermLength), strings.Repeat("é", notifyql.MaxSearchTermLength) + "x",
	} {
		f.Add(seed, []byte("0123456789abcdef0123456789abcdef"))
	}
	types := []*notifyql.NotificationType{nil, ptrTo(notifyql.TypeSMS), ptrTo(notifyql.TypeEmail), ptrTo(notifyql.TypeLetter)}
	messages := []string{"the search term is not valid UTF-8", "the search term is empty", "the search term is longer than 1000 characters"}
	f.Fuzz(func(t *testing.T, term string, secret []byte) {
		if err := notifyql.ValidateSearchTerm(term); err != nil {
			if notifyql.ErrorCode(err) != notifyql.EINVALID || !slices.Contains(messages, notifyql.ErrorMessage(err)) {
				t.Fatalf("ValidateSearchTerm(%q) = %v, want EINVALID with a fixed message", term, err)
			}
			return
		}
		if !utf8.ValidString(term) || strings.TrimSpace(term) == "" || utf8.RuneCountInString(term) > notifyql.MaxSearchTermLength {
			t.Fatalf("ValidateSearchTerm accepted %q", term)
		}
		for _, typ := range types {
			got := notifyql.NormaliseSearchTerm(typ, term, phone.NationalSignificantNumber)
			// Normalising again never narrows a search. For a text message it may widen
			// it: the digits left of a term that is not a number can read as one once its
			// brackets are gone ("(0)33612345678" gives 33612345678, which is the French
			// +33 6 12 34 56 78, searched for by 612345678), so the term found again ends
			// the first one; for the other types it is the same term.
			again := notifyql.NormaliseSearchTerm(typ, got, phone.NationalSignificantNumber)
			if typ != nil && *typ == notifyql.TypeSMS {
				if !strings.HasSuffix(got, again) {
					t.Errorf("type %s: normalising %q gives %q, and again %q, which does not end it", typeName(typ), term, got, again)
				}
			} else if again != got {
				t.Errorf("type %s: normalising %q gives %q, and again %q", typeName(typ), term, got, again)
			}
			switch {
			case typ != nil && *typ == notifyql.TypeSMS:
				if strings.ContainsAny(got, "() -") || strings.HasPrefix(got, "+") || strings.HasPrefix(got, "0") {
					t.Errorf("sms: %q normalises to %q, which keeps brackets, spaces, dashes or a leading + or 0", term, got)
				}
			case typ != nil && *typ == notifyql.TypeEmail:
				if strings.ToLower(got) != got {
					t.Errorf("email: %q normalises to %q, which is not lower case", term, got)
				}
			default:
				if strings.ToLower(got) != got || strings.IndexFunc(got, unicode.IsSpace) >= 0 {
					t.Errorf("type %s: %q normalises to %q, which is not lower case without whitespace", typeName(typ), term, got)
				}
			}
		}
		if err := notifyql.ValidateSearchHash(notifyql.SearchHash(secret, term)); err != nil {
			t.Errorf("ValidateSearchHash refuses SearchHash(%q): %v", term, err)
		}
	})
}

// FuzzValidateSearchHash: only SearchHash's shape, 128 lower-case hexadecimal digits, is
// ever looked up.
func FuzzValidateSearchHash(f *testing.F) {
	valid := strings.Repeat("ab", 64)
	for _, seed := range []string{"", "abc", valid, strings.Repeat("AB", 64), strings.Repeat("zz", 64), valid + "00", valid[:126] + "/x", valid[:127] + "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, hash string) {
		err := notifyql.ValidateSearchHash(hash)
		shaped := len(hash) == 128 && strings.Trim(hash, "0123456789abcdef") == ""
		switch {
		case err == nil && !shaped:
			t.Errorf("ValidateSearchHash accepted %q", hash)
		case err != nil && shaped:
			t.Errorf("ValidateSearchHash(%q) = %v", hash, err)
		case err != nil && (notifyql.ErrorCode(err) != notifyql.EINVALID || notifyql.ErrorMessage(err) != "invalid search hash"):
			t.Errorf("ValidateSearchHash(%q) = %v, want EINVALID \"invalid search hash\"", hash, err)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

func typeName(typ *notifyql.NotificationType) string {
	if typ == nil {
		return "(every type)"
	}
	return string(*typ)
}
