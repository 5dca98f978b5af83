package notifyql

import "testing"

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
