package notifyql

import (
	"strings"
	"testing"
)

func TestNeutraliseCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-SUM(A1)", "'-SUM(A1)"},
		// Only digits and phone punctuation: a phone number by the rule, left alone.
		{"-2+3", "-2+3"},
		{"@cmd", "'@cmd"},
		{"\tindented", "'\tindented"},
		{"\rreturn", "'\rreturn"},
		{"a=b", "a=b"},
		{" =leading space", " =leading space"},
		{"ok, fine", "ok, fine"},
		// Plain phone numbers stay as they are.
		{"+447911123456", "+447911123456"},
		{"+44 (0)7911 123-456", "+44 (0)7911 123-456"},
		{"-", "'-"},
		{"+", "'+"},
		{"+44 7911 x", "'+44 7911 x"},
		{"=1", "'=1"},
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
	} {
		if got := InboxCSVMessage(tt.in); got != tt.want {
			t.Errorf("InboxCSVMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// formulaStarts are the first characters a spreadsheet reads as the start of a formula, or
// that hide one (DOMAIN.md §7.1).
const formulaStarts = "=+-@\t\r"

// FuzzNeutraliseCell: a neutralised cell is the value itself or the value after one ', it
// never begins with a formula character unless it is a plain phone number (digits, spaces
// and + - ( ) only, which stays as it is), and neutralising twice changes nothing more.
// The inbox CSV's message drops every leading = + - @ and then never begins with a formula
// character at all, and keeps the rest of the text.
func FuzzNeutraliseCell(f *testing.F) {
	for _, seed := range []string{
		"", "plain", "=HYPERLINK(\"x\")", "+SUM(A1)", "-2+3", "@cmd", "\tindented", "\rreturn",
		"+447911123456", "+44 (0)7911 123-456", "-", "+", "+44 7911 x", "=1", "'=1", " =x",
		"\n=x", "\u00a0=x", "=\xff", "-- ()", "+\t1", "(", "=+-@=+-@", "@\t=1", "\xef\xbc\x9d1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NeutraliseCell(s)
		if got != s && got != "'"+s {
			t.Fatalf("NeutraliseCell(%q) = %q: neither the value nor the value after '", s, got)
		}
		if got != "" && strings.ContainsRune(formulaStarts, rune(got[0])) {
			if got != s || !plainPhoneNumber(got) {
				t.Errorf("NeutraliseCell(%q) = %q begins with %q and is not a plain phone number", s, got, got[0])
			}
		}
		if got == "'"+s && (s == "" || !strings.ContainsRune(formulaStarts, rune(s[0]))) {
			t.Errorf("NeutraliseCell(%q) = %q: guarded a cell that needs no guard", s, got)
		}
		if again := NeutraliseCell(got); again != got {
			t.Errorf("NeutraliseCell is not idempotent: %q → %q → %q", s, got, again)
		}

		message := InboxCSVMessage(s)
		rest := strings.TrimLeft(s, "=+-@")
		if message != rest && message != "'"+rest {
			t.Fatalf("InboxCSVMessage(%q) = %q: lost more than the leading = + - @", s, message)
		}
		if message != "" && strings.ContainsRune(formulaStarts, rune(message[0])) {
			t.Errorf("InboxCSVMessage(%q) = %q begins with %q", s, message, message[0])
		}
	})
}

// plainPhoneNumber is the documented exception, written out independently of the code
// under test: at least one digit, and nothing but digits, spaces, + - ( and ).
func plainPhoneNumber(s string) bool {
	return strings.ContainsAny(s, "0123456789") && strings.Trim(s, "0123456789 +-()") == ""
}
