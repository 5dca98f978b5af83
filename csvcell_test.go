package notifyql

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
)

func TestNeutraliseCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-SUM(A1)", "'-SUM(A1)"},
		{"@cmd", "'@cmd"},
		{"\tindented", "'\tindented"},
		{"\rreturn", "'\rreturn"},
		{"a=b", "a=b"},
		{"ok, fine", "ok, fine"},
		{"=1", "'=1"},
		// A formula sign after leading whitespace, line breaks or invisible characters.
		{" =1+1", "' =1+1"},
		{"\n=1+1", "'\n=1+1"},
		{"\r\n=1+1", "'\r\n=1+1"},
		{"  \t @SUM(A1)", "'  \t @SUM(A1)"},
		{"\u00a0=1+1", "'\u00a0=1+1"},
		{"\u3000=1+1", "'\u3000=1+1"},
		{"\u200b=1+1", "'\u200b=1+1"},
		{"\ufeff+1", "'\ufeff+1"},
		{" leading space", " leading space"},
		{"\nline two", "\nline two"},
		// Full-width, small and mathematical forms read as the ASCII signs.
		{"＝1+1", "'＝1+1"},
		{"＋1", "'＋1"},
		{"－1+1", "'－1+1"},
		{"＠SUM(A1)", "'＠SUM(A1)"},
		{"﹦1", "'﹦1"},
		{"﹢1", "'﹢1"},
		{"﹣1", "'﹣1"},
		{"﹫x", "'﹫x"},
		{"−1+1", "'−1+1"},
		{" ＝1", "' ＝1"},
		{"a＝1", "a＝1"},
		// Sums that only use phone punctuation are not phone numbers.
		{"-1+1", "'-1+1"},
		{"-2+3", "'-2+3"},
		{"+1+1", "'+1+1"},
		{"+1-1", "'+1-1"},
		{"-447911123456", "'-447911123456"},
		{"+(1)-(2)", "'+(1)-(2)"},
		{"-", "'-"},
		{"+", "'+"},
		{"+44 7911 x", "'+44 7911 x"},
		{"+447911+123456", "'+447911+123456"},
		{" +447911123456", "' +447911123456"},
		// Stored and formatted phone numbers stay as they are.
		{"+447911123456", "+447911123456"},
		{"+44 (0)7911 123-456", "+44 (0)7911 123-456"},
		{"+1 202-555-0199", "+1 202-555-0199"},
		{"+33 6 12 34 56 78", "+33 6 12 34 56 78"},
		{"+6834002", "+6834002"},
		{"07911 123456", "07911 123456"},
		{"(0)7911 12", "(0)7911 12"},
	} {
		if got := NeutraliseCell(tt.in); got != tt.want {
			t.Errorf("NeutraliseCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInboxCSVMessage(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"-=+7 days", "7 days"},
		{"ok,=3+4", "ok,=3+4"},
		{"@@@", ""},
		{"+447911123456", "447911123456"},
		{"\t=tab first", "'\t=tab first"},
		{"hello", "hello"},
		{"= spaced", " spaced"},
		{"＝＋1+1", "1+1"},
		{"-＠﹦−7 days", "7 days"},
		{" =1+1", "' =1+1"},
		{"\n=1+1", "'\n=1+1"},
		{"=\n=1+1", "'\n=1+1"},
	} {
		if got := InboxCSVMessage(tt.in); got != tt.want {
			t.Errorf("InboxCSVMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The formula guard's rule (DOMAIN.md §7.1), written out independently of the code under
// test for the fuzz target: the signs a spreadsheet starts a formula with, in their ASCII,
// full-width, small and mathematical forms, and the characters that may stand before one
// unseen.
const (
	formulaSigns   = "=+-@＝＋－＠﹦﹢﹣﹫−"
	invisibleRunes = "\u180e\u200b\u200c\u200d\u2060\ufeff"
)

// needsGuard reports whether a spreadsheet could read s as a formula: it begins with TAB or
// CR, or its first character past whitespace and invisible characters is a formula sign.
func needsGuard(s string) bool {
	if strings.HasPrefix(s, "\t") || strings.HasPrefix(s, "\r") {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || strings.ContainsRune(invisibleRunes, r) {
			continue
		}
		return strings.ContainsRune(formulaSigns, r)
	}
	return false
}

// internationalNumber is the one exception: what a stored or formatted phone number looks
// like when it begins with a sign, a + then digits, spaces, hyphens and brackets, with at
// least 7 digits.
var internationalNumber = regexp.MustCompile(`^\+[0-9][0-9 ()-]*$`)

func phoneNumberCell(s string) bool {
	digits := 0
	for _, r := range s {
		if '0' <= r && r <= '9' {
			digits++
		}
	}
	return internationalNumber.MatchString(s) && digits >= 7
}

// FuzzNeutraliseCell: a neutralised cell is the value itself or the value after one '; it
// is guarded exactly when a spreadsheet could read it as a formula and it is not a phone
// number in the international form; neutralising twice changes nothing more. The inbox
// CSV's message drops every leading formula sign, keeps the rest of the text, and can never
// be read as a formula.
func FuzzNeutraliseCell(f *testing.F) {
	for _, seed := range []string{
		"", "plain", "=HYPERLINK(\"x\")", "+SUM(A1)", "-2+3", "@cmd", "\tindented", "\rreturn",
		"+447911123456", "+44 (0)7911 123-456", "-", "+", "+44 7911 x", "=1", "'=1", " =x",
		"\n=x", "\u00a0=x", "=\xff", "-- ()", "+\t1", "(", "=+-@=+-@", "@\t=1", "\xef\xbc\x9d1",
		"-1+1", "+1+1", " =1+1", "\n=1+1", "＝1+1", "\u200b=1", "+1 202-555-0199", "\xff=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NeutraliseCell(s)
		switch want := needsGuard(s) && !phoneNumberCell(s); {
		case got != s && got != "'"+s:
			t.Fatalf("NeutraliseCell(%q) = %q: neither the value nor the value after '", s, got)
		case want && got != "'"+s:
			t.Errorf("NeutraliseCell(%q) = %q: a spreadsheet could run it", s, got)
		case !want && got != s:
			t.Errorf("NeutraliseCell(%q) = %q: guarded a cell that needs no guard", s, got)
		}
		if again := NeutraliseCell(got); again != got {
			t.Errorf("NeutraliseCell is not idempotent: %q → %q → %q", s, got, again)
		}

		message := InboxCSVMessage(s)
		rest := strings.TrimLeftFunc(s, func(r rune) bool { return strings.ContainsRune(formulaSigns, r) })
		if message != rest && message != "'"+rest {
			t.Fatalf("InboxCSVMessage(%q) = %q: lost more than the leading formula signs", s, message)
		}
		if needsGuard(message) {
			t.Errorf("InboxCSVMessage(%q) = %q could be read as a formula", s, message)
		}
	})
}
