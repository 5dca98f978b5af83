package notifyql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CSV cell rules shared by every export (DOMAIN.md §7.1, §7.3). The files themselves are
// written with encoding/csv (UseCRLF), which quotes as the rules ask; these functions decide
// what goes into each cell.

// NeutraliseCell guards a cell against spreadsheet formulas: a cell that begins with TAB or
// CR, or whose first character after any leading whitespace, line breaks and invisible
// characters is a formula sign (= + - @, or one of their full-width and small forms, which
// spreadsheets read the same way), gets a single ' in front. The one exception is a cell
// that looks like a stored international phone number (isPhoneNumberCell), which stays as
// it is.
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '\t' || s[0] == '\r' {
		return "'" + s
	}
	first, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(s, isBlankRune))
	if !isFormulaSign(first) || isPhoneNumberCell(s) {
		return s
	}
	return "'" + s
}

// isFormulaSign reports whether a spreadsheet starts a formula at r: the ASCII = + - @ and
// the full-width, small and mathematical forms that some spreadsheets and input methods
// turn into them.
func isFormulaSign(r rune) bool {
	switch r {
	case '=', '+', '-', '@',
		'＝', '＋', '－', '＠', // full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20)
		'﹦', '﹢', '﹣', '﹫', // small forms (U+FE66, U+FE62, U+FE63, U+FE6B)
		'−': // U+2212 MINUS SIGN
		return true
	}
	return false
}

// isBlankRune reports whether r is whitespace, a line break or an invisible character
// (DOMAIN.md §6.3's list): what a spreadsheet may skip, or a reader not see, before a
// formula sign.
func isBlankRune(r rune) bool {
	switch r {
	case '\u180e', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return true
	}
	return unicode.IsSpace(r)
}

// minPhoneDigits is the fewest digits an international number has (country code
// included): shorter numbers exist only inside a country, where they are not written
// with a leading +.
const minPhoneDigits = 7

// isPhoneNumberCell reports whether s looks like a phone number as one is stored or shown
// in the international form: a + followed by a digit, then only digits, spaces, hyphens and
// brackets, with no other sign, and at least minPhoneDigits digits. Phone numbers written
// any other way do not begin with a formula sign, so they need no exception; "-1+1" or
// "+1+1" are sums, not numbers, and are guarded.
func isPhoneNumberCell(s string) bool {
	rest, ok := strings.CutPrefix(s, "+")
	if !ok || rest == "" || rest[0] < '0' || rest[0] > '9' {
		return false
	}
	digits := 0
	for _, r := range rest {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= minPhoneDigits
}

// InboxCSVMessage is an inbound text as the inbox CSV shows it: every leading formula sign
// (= + - @ and their full-width and small forms) removed, in any number and mix, then the
// formula guard.
func InboxCSVMessage(content string) string {
	return NeutraliseCell(strings.TrimLeftFunc(content, isFormulaSign))
}
