package notifyql

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// UnitedKingdom is the canonical name of the country of every UK address, and of a BFPO
// address without another country.
const UnitedKingdom = "United Kingdom"

// countriesTSV lists each country or territory's canonical English name and then its
// synonyms, tab-separated, one a line (postaldata/NOTICE says where it comes from).
//
//go:embed postaldata/countries.tsv
var countriesTSV string

// countryIndex maps the key of every name in countriesTSV to its canonical name. It is
// built on first use, since most requests never read an address.
var countryIndex = sync.OnceValue(func() map[string]string {
	return parseCountries(countriesTSV)
})

// parseCountries indexes the lines of a countries file by countryKey. Were two lines to give
// names with the same key, the first line would win; a test checks the embedded file has
// no such names.
func parseCountries(data string) map[string]string {
	index := make(map[string]string, 2048)
	for line := range strings.Lines(data) {
		names := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		canonical := names[0]
		if canonical == "" {
			continue
		}
		for _, name := range names {
			k := countryKey(name)
			if _, taken := index[k]; k != "" && !taken {
				index[k] = canonical
			}
		}
	}
	return index
}

// countryKey is the form in which names are compared: lower case, "&" and "+" read as
// "and", and everything but letters, marks and numbers (spaces, punctuation) removed, so
// "St. Kitts & Nevis" and "st kitts and nevis" are one name.
func countryKey(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r == '&' || r == '+':
			b.WriteString("and")
		case unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LookupCountry returns the canonical English name of the country or territory a line
// names, ignoring case, spacing and punctuation. A leading "the", or the Welsh "yr" or "y",
// may be left out: "Gambia" finds "The Gambia", "Alban" finds "Yr Alban".
func LookupCountry(line string) (canonical string, ok bool) {
	k := countryKey(line)
	if k == "" {
		return "", false
	}
	index := countryIndex()
	for _, prefix := range []string{"", "the", "yr", "y"} {
		if c, ok := index[prefix+k]; ok {
			return c, true
		}
	}
	return "", false
}
