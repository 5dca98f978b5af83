package notifyql

import "strings"

// CSV cell rules shared by every export (DOMAIN.md §7.1, §7.3). The files themselves are
// written with encoding/csv (UseCRLF), which quotes as the rules ask; these functions decide
// what goes into each cell.

// NeutraliseCell guards a cell against spreadsheet formulas: a cell that begins with =, +,
// -, @, TAB or CR gets a single ' in front, unless it is a plain phone number (only
// digits, spaces, +, -, ( and )), which stays as it is.
func NeutraliseCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || isPlainPhoneNumber(s) {
		return s
	}
	return "'" + s
}

// isPlainPhoneNumber reports whether s holds only the characters a phone number is written
// with, and at least one digit.
func isPlainPhoneNumber(s string) bool {
	digits := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits
}

// InboxCSVMessage is an inbound text as the inbox CSV shows it: every leading =, +, - and @
// removed, in any number and mix, then the formula guard.
func InboxCSVMessage(content string) string {
	return NeutraliseCell(strings.TrimLeft(content, "=+-@"))
}
