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

// parse parses leniently: the number as given if it is valid; otherwise again with any
// leading "+" and "0" characters stripped, read as an international number; and failing
// both, the number as given if it is at least a possible number (fictional ranges such as
// 07700 900xxx are possible but not valid).
func parse(raw string) (*phonenumbers.PhoneNumber, bool) {
	if !onlyPhoneCharacters(raw) {
		return nil, false
	}
	asGiven, err := phonenumbers.Parse(raw, defaultRegion)
	if err == nil && phonenumbers.IsValidNumber(asGiven) {
		return asGiven, true
	}
	if stripped := strings.TrimLeft(strings.TrimSpace(raw), "+0"); stripped != "" {
		international, err := phonenumbers.Parse("+"+stripped, defaultRegion)
		if err == nil && phonenumbers.IsValidNumber(international) {
			return international, true
		}
	}
	if err == nil && phonenumbers.IsPossibleNumber(asGiven) {
		return asGiven, true
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
// cannot be parsed.
func Format(stored string) string {
	n, ok := parse(stored)
	if !ok {
		return stored
	}
	if int(n.GetCountryCode()) == ukCountryCode {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
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
