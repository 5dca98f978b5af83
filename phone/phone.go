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

// parse reads a number as parseLenient does, and refuses one whose E.164 digits, the form
// numbers are stored in, would read back as another number: a stored number is shown,
// searched and matched by reading it again.
func parse(raw string) (*phonenumbers.PhoneNumber, bool) {
	n, ok := parseLenient(raw)
	if !ok {
		return nil, false
	}
	stored := strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
	if stored == raw {
		return n, true
	}
	again, ok := parseLenient(stored)
	if !ok || phonenumbers.Format(again, phonenumbers.E164) != "+"+stored {
		return nil, false
	}
	return n, true
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
	n, ok := parse(stored)
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
		if again, ok := parse(human); ok && phonenumbers.Format(again, phonenumbers.E164) == e164 {
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
	n, ok := parse(raw)
	if !ok {
		return "", notifyql.Errorf(notifyql.EINVALID, "not a valid phone number")
	}
	return strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"), nil
}

// NationalSignificantNumber returns the number without country code or trunk 0 when raw
// is a valid number, for searching (DOMAIN.md §6.3).
func NationalSignificantNumber(raw string) (string, bool) {
	n, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	return phonenumbers.GetNationalSignificantNumber(n), true
}
