// Package phone parses, normalises and formats phone numbers the way DOMAIN.md §15 says,
// with libphonenumber's rules (github.com/nyaruka/phonenumbers).
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"notifyql"
)

// defaultRegion is where a number without a country code is taken to be.
const defaultRegion = "GB"

// ukCountryCode covers the UK and the crown dependencies, which are shown in national form.
const ukCountryCode = 44

// read is the one way this package reads a number, for display (Format), storage
// (Normalise), search (NationalSignificantNumber) and conversations (ConversationWith), so
// that a number shown, stored and searched for is the same number everywhere. It is
// parseLenient's reading: DOMAIN.md §15's lenient parse with GB as the default region.
//
// A number's stored form (E.164 digits without "+") is not read again through read: bare
// digits are ambiguous (2304031001 is Mauritius's +230 403 1001 stored, and also a valid GB
// number without its trunk 0), so a stored form is compared as it is (storedForm) or read
// with its "+" put back. A number whose stored form, so read, would be another number
// (some numbers that are possible but not valid, such as 810000000000) is refused: it
// could not be shown, searched or matched once stored.
func read(raw string) (*phonenumbers.PhoneNumber, bool) {
	n, ok := parseLenient(raw)
	if !ok {
		return nil, false
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if e164 == raw {
		return n, true
	}
	again, ok := parseLenient(e164)
	if !ok || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		return nil, false
	}
	return n, true
}

// storedForm is the form numbers are stored in: E.164 digits without "+".
func storedForm(n *phonenumbers.PhoneNumber) string {
	return strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
}

// parseLenient parses leniently: the number as given if it is valid; otherwise again with any
// leading "+" and "0" characters stripped, read as an international number; and failing
// both, the first of those two readings that is at least a possible number of full length
// (fictional ranges such as 07700 900xxx are possible but not valid). A number possible
// only as a local number without its area code is refused.
func parseLenient(raw string) (*phonenumbers.PhoneNumber, bool) {
	if !onlyPhoneCharacters(raw) {
		return nil, false
	}
	asGiven, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		asGiven = nil
	}
	if asGiven != nil && phonenumbers.IsValidNumber(asGiven) {
		return asGiven, true
	}
	var international *phonenumbers.PhoneNumber
	if stripped := strings.TrimLeft(strings.TrimSpace(raw), "+0"); stripped != "" {
		international, err = phonenumbers.Parse("+"+stripped, defaultRegion)
		if err != nil {
			international = nil
		}
		if international != nil && phonenumbers.IsValidNumber(international) {
			return international, true
		}
	}
	for _, n := range []*phonenumbers.PhoneNumber{asGiven, international} {
		if n != nil && phonenumbers.IsPossibleNumberWithReason(n) == phonenumbers.IS_POSSIBLE {
			return n, true
		}
	}
	return nil, false
}

// onlyPhoneCharacters reports whether s holds only digits, whitespace and ()-+.
func onlyPhoneCharacters(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '(', r == ')', r == '-', r == '+', r == ' ', r == '\t', r == '\n', r == '\r':
		default:
			return false
		}
	}
	return true
}

// Format returns the number in its human form: national format for +44 numbers (crown
// dependencies included), international format otherwise, and the input unchanged when it
// cannot be parsed. A human form must read back as the same number: a national form that
// would not (a number the lenient parse only just accepts) gives way to the international
// one, and failing that the input is shown unchanged.
func Format(stored string) string {
	if human, ok := formatUKMobile(stored); ok {
		return human
	}
	n, ok := read(stored)
	if !ok {
		return stored
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	formats := []phonenumbers.PhoneNumberFormat{phonenumbers.INTERNATIONAL}
	if int(n.GetCountryCode()) == ukCountryCode {
		formats = []phonenumbers.PhoneNumberFormat{phonenumbers.NATIONAL, phonenumbers.INTERNATIONAL}
	}
	for _, format := range formats {
		human := phonenumbers.Format(n, format)
		if again, ok := read(human); ok && phonenumbers.Format(again, phonenumbers.E164) == e164 {
			return human
		}
	}
	return stored
}

// formatUKMobile formats the stored forms of a UK mobile number (07…, 447…, +447…) without
// libphonenumber's parser, which costs tens of microseconds a number: lists show dozens.
// It covers only the ranges 071–075 and 077–079, where the national format is always
// "07xxx xxxxxx" (TestFormatUKMobileMatchesLibphonenumber holds it to that).
func formatUKMobile(stored string) (string, bool) {
	digits := strings.TrimPrefix(stored, "+")
	if len(digits) == 12 && strings.HasPrefix(digits, "44") {
		digits = "0" + digits[2:]
	}
	if len(digits) != 11 || digits[0] != '0' || digits[1] != '7' || digits[2] == '0' || digits[2] == '6' {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return digits[:5] + " " + digits[5:], true
}

// Normalise returns the E.164 digits without "+" (447911123456), the form numbers are
// stored, searched and billed by. It returns EINVALID for something that is not a number.
func Normalise(raw string) (string, error) {
	n, ok := read(raw)
	if !ok {
		return "", notifyql.Errorf(notifyql.EINVALID, "not a valid phone number")
	}
	return storedForm(n), nil
}

// NationalSignificantNumber returns the number without country code or trunk 0 when raw
// reads (as everywhere else, leniently) as a valid number, for searching (DOMAIN.md §6.3):
// "0+44(0)7779123456", which is stored as 447779123456, is searched for by 7779123456.
// A number that is only possible (the drama range 07700 900xxx) is searched for by its
// digits, as §6.3 says for a term that is not a valid number.
func NationalSignificantNumber(raw string) (string, bool) {
	n, ok := read(raw)
	if !ok || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	return phonenumbers.GetNationalSignificantNumber(n), true
}
