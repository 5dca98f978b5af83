package notifyql

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The address limits of RENDERING.md §6.4.
const (
	MinAddressLines = 3
	MaxAddressLines = 7
)

// PostalAddress is an address as a letter is posted to it (RENDERING.md §5.2). Every field
// is personal data.
type PostalAddress struct {
	// Lines are the normalised lines: a UK address's lines with the postcode formatted; an
	// international address's lines and then its canonical country name; a BFPO address's
	// lines and then "BFPO NNNN".
	Lines []string
	// Country is the canonical English name of the address's country, UnitedKingdom when
	// no line names one.
	Country string
	// BFPO is the British Forces Post Office number, "" when the address has none.
	BFPO string
	// Postcode is the formatted UK postcode of the last line of a UK or BFPO address, ""
	// when it is not one.
	Postcode string

	// read is the line-normalised text before the BFPO and country lines were taken out:
	// the no-fixed-abode test reads it.
	read []string
	// international says whether the service may send letters abroad (§6.4, error 6).
	international bool
}

// NormalisePostalAddress parses an address's text (RENDERING.md §5.2): its lines are
// cleaned, a BFPO line and trailing country lines are taken out, and the normalised lines
// are built. allowInternational is the service's international_letters feature; it changes
// only which problem Problem reports.
func NormalisePostalAddress(text string, allowInternational bool) PostalAddress {
	a := PostalAddress{Country: UnitedKingdom, international: allowInternational}
	for _, line := range splitAddressLines(text) {
		if line = normaliseAddressLine(line); line != "" {
			a.read = append(a.read, line)
		}
	}

	var lines []string
	for _, line := range a.read {
		if n, ok := bfpoNumber(line); ok {
			if a.BFPO == "" {
				a.BFPO = n
			}
			continue
		}
		lines = append(lines, line)
	}

	if len(lines) > 0 {
		if country, ok := LookupCountry(lines[len(lines)-1]); ok {
			lines = lines[:len(lines)-1]
			a.Country = country
			// "Cardiff\nCF99 1SN\nCymru\nUK": every trailing line naming the UK or one of
			// its nations goes, so that the postcode is last again.
			for country == UnitedKingdom && len(lines) > 0 {
				if country, ok = LookupCountry(lines[len(lines)-1]); !ok || country != UnitedKingdom {
					break
				}
				lines = lines[:len(lines)-1]
			}
		}
	}

	// An international address's lines are printed as written.
	if len(lines) > 0 && (a.BFPO != "" || a.Country == UnitedKingdom) {
		last := lines[len(lines)-1]
		if IsUKPostcode(last) {
			a.Postcode = FormatUKPostcode(last)
		}
	}
	switch {
	case a.BFPO != "":
		a.Lines = append(withPostcode(lines, a.Postcode), "BFPO "+a.BFPO)
	case a.Country != UnitedKingdom:
		a.Lines = append(lines, a.Country)
	default:
		a.Lines = withPostcode(lines, a.Postcode)
	}
	if len(a.Lines) == 0 {
		a.Lines = nil // every line was a country: no lines, as for an empty text
	}
	return a
}

// withPostcode is lines with the last one replaced by the formatted postcode, if there is
// one.
func withPostcode(lines []string, postcode string) []string {
	if postcode == "" {
		return lines
	}
	return append(lines[:len(lines)-1:len(lines)-1], postcode)
}

// Problem returns the first of the address errors of RENDERING.md §6.4, as its DOMAIN.md
// §12.4 key, or "" for an address a letter can be sent to.
func (a PostalAddress) Problem() string {
	switch {
	case len(a.read) == 0:
		return "address-is-empty"
	case len(a.Lines) < MinAddressLines:
		return "not-enough-address-lines"
	case len(a.Lines) > MaxAddressLines:
		return "too-many-address-lines"
	case !hasLetterOrDigit(a.Lines[0]) || !hasLetterOrDigit(a.Lines[1]):
		return "invalid-address-line-1-or-2"
	case a.BFPO != "" && a.Country != UnitedKingdom:
		return "has-country-for-bfpo-address"
	case !a.hasValidLastLine():
		switch {
		case a.international:
			return "not-a-real-uk-postcode-or-country"
		case a.Country != UnitedKingdom:
			return "cant-send-international-letters"
		}
		return "not-a-real-uk-postcode"
	case a.hasInvalidFirstCharacter():
		return "invalid-char-in-address"
	case a.hasNoFixedAbode():
		return "no-fixed-abode-address"
	}
	return ""
}

// hasValidLastLine: the last line is a UK postcode, a country when the service may send
// abroad, or a BFPO number (with no country, which Problem has ruled out by then).
func (a PostalAddress) hasValidLastLine() bool {
	switch {
	case a.BFPO != "":
		return a.Country == UnitedKingdom
	case a.Country != UnitedKingdom:
		return a.international
	}
	return a.Postcode != ""
}

// invalidFirstCharacters are the characters no address line may start with (§6.4, error 7).
const invalidFirstCharacters = `@()=[]"\/,<>~`

func (a PostalAddress) hasInvalidFirstCharacter() bool {
	for _, line := range a.Lines {
		if first, _ := utf8.DecodeRuneInString(line); strings.ContainsRune(invalidFirstCharacters, first) {
			return true
		}
	}
	return false
}

// hasNoFixedAbode: a line that is just "NFA", or "no fixed abode" or "no fixed address"
// anywhere in the text, case ignored.
func (a PostalAddress) hasNoFixedAbode() bool {
	for _, line := range a.read {
		if strings.EqualFold(line, "NFA") {
			return true
		}
	}
	text := strings.ToLower(strings.Join(a.read, " "))
	return strings.Contains(text, "no fixed abode") || strings.Contains(text, "no fixed address")
}

func hasLetterOrDigit(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// splitAddressLines splits text at every line break the text-as-sent rules know (LF, CRLF,
// CR, U+000B, U+000C, U+001C–U+001E, U+0085, U+2028, U+2029), as an address typed in any
// system may use any of them.
func splitAddressLines(text string) []string {
	return strings.FieldsFunc(strings.ReplaceAll(text, "\r\n", "\n"), func(r rune) bool {
		switch r {
		case '\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
			return true
		}
		return false
	})
}

// normaliseAddressLine cleans one line (§5.2): U+00A0 is a space, zero-width characters go,
// whitespace is collapsed and trimmed, whitespace before "," or "." goes, and so do
// trailing spaces and commas. An empty result means the line is dropped.
func normaliseAddressLine(line string) string {
	var b strings.Builder
	space := false
	for _, r := range line {
		switch {
		case isAddressZeroWidth(r):
			continue
		case isAddressSpace(r):
			space = true
			continue
		case space && b.Len() > 0 && r != ',' && r != '.':
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ,")
}

func isAddressZeroWidth(r rune) bool {
	switch r {
	case '\u180E', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
		return true
	}
	return false
}

// isAddressSpace is the whitespace of the text-as-sent rules, U+00A0 and U+202F included.
func isAddressSpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= '\x1c' && r <= '\x1f', r == ' ', r == '\u0085',
		r == '\u00A0', r == '\u1680', r >= '\u2000' && r <= '\u200A', r == '\u2028',
		r == '\u2029', r == '\u202F', r == '\u205F', r == '\u3000':
		return true
	}
	return false
}

// bfpoPattern is a BFPO line once its whitespace is gone and it is lower-cased: "BFPO",
// optionally "c/o", then the number.
var bfpoPattern = regexp.MustCompile(`^bfpo(?:c/o)?([0-9]+)$`)

// bfpoNumber reports whether a line is a BFPO line, and its number.
func bfpoNumber(line string) (string, bool) {
	m := bfpoPattern.FindStringSubmatch(strings.ToLower(removeSpaces(line)))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ukPostcodePattern is the postcode test of §5.2: an area, a digit, an optional digit or
// letter, a digit and two letters of the inward code's alphabet.
var ukPostcodePattern = regexp.MustCompile(`^(?:AB|AL|B|BA|BB|BD|BF|BH|BL|BN|BR|BS|BT|BX|CA|CB|CF|CH|CM|CO|CR|CT|CV|CW|` +
	`DA|DD|DE|DG|DH|DL|DN|DT|DY|E|EC|EH|EN|EX|FK|FY|G|GIR|GL|GU|GY|HA|HD|HG|HP|HR|HS|HU|HX|` +
	`IG|IM|IP|IV|JE|KA|KT|KW|KY|L|LA|LD|LE|LL|LN|LS|LU|M|ME|MK|ML|N|NE|NG|NN|NP|NR|NW|OL|OX|` +
	`PA|PE|PH|PL|PO|PR|RG|RH|RM|S|SA|SE|SG|SK|SL|SM|SN|SO|SP|SR|SS|ST|SW|SY|TA|TD|TF|TN|TQ|TR|` +
	`TS|TW|UB|W|WA|WC|WD|WF|WN|WR|WS|WV|YO|ZE)[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{2}$`)

// IsUKPostcode reports whether s is a real UK postcode, spaces and case aside.
func IsUKPostcode(s string) bool {
	return ukPostcodePattern.MatchString(strings.ToUpper(removeSpaces(s)))
}

// FormatUKPostcode writes a postcode as it is printed: upper case, no spaces but one before
// the last three characters ("sw1a1aa" → "SW1A 1AA"). s must pass IsUKPostcode.
func FormatUKPostcode(s string) string {
	p := strings.ToUpper(removeSpaces(s))
	if len(p) < 4 {
		return p
	}
	return p[:len(p)-3] + " " + p[len(p)-3:]
}

func removeSpaces(s string) string {
	return strings.Map(func(r rune) rune {
		if isAddressSpace(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
