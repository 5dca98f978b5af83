package seed

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"notifyql"
)

// Personalisation for seeded notifications (RENDERING.md §1.4, §2): a JSON object with a
// realistic value for every placeholder of the template, keyed as a caller's CSV heading
// would be, and for letters the address lines the recipient entry was built from.

// seedFillKind says what sort of value a placeholder gets.
type seedFillKind int

const (
	fillText seedFillKind = iota
	fillFirstName
	fillLastName
	fillFullName
	fillCode
	fillReference
	fillDate
	fillTime
	fillAmount
	fillPlace
	fillLink
	fillList
	fillYear
	fillMonth
	fillNumber
	fillWeekday
	// fillFlag answers a conditional placeholder (§2.4): yes or no, as text or a boolean.
	fillFlag
)

// seedFill is one placeholder of a template: the key its value is stored under and how it
// is filled.
type seedFill struct {
	key  string
	kind seedFillKind
}

// seedPlaceholders lists the placeholders of texts by their normal form (§2.3), first
// occurrence first, as §2.1 finds them: "((", a body without brackets, "))"; a body with
// "??" is a conditional named by what precedes it.
func seedPlaceholders(texts ...string) []seedFill {
	var fills []seedFill
	seen := map[string]bool{}
	for _, text := range texts {
		for {
			start := strings.Index(text, "((")
			if start < 0 {
				break
			}
			body := text[start+2:]
			end := strings.IndexAny(body, "()")
			if end < 0 {
				break
			}
			if end == 0 || !strings.HasPrefix(body[end:], "))") {
				// "(((" or a stray bracket: the match starts again one further on.
				text = text[start+1:]
				continue
			}
			name, conditional := body[:end], false
			if i := strings.Index(name, "??"); i >= 0 {
				name, conditional = name[:i], true
			}
			text = body[end+2:]
			norm := seedNormaliseName(name)
			if norm == "" || seen[norm] {
				continue
			}
			seen[norm] = true
			key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), " ", "_")
			fills = append(fills, seedFill{key: key, kind: seedKindOf(norm, conditional)})
		}
	}
	return fills
}

// seedNormaliseName is §2.3's normal form for the names the seeds write: spaces, "_" and
// "-" deleted, lower-cased. (The seeds' names hold no character references.)
func seedNormaliseName(name string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(name))
}

func seedKindOf(norm string, conditional bool) seedFillKind {
	switch {
	case conditional:
		return fillFlag
	case strings.Contains(norm, "firstname"):
		return fillFirstName
	case strings.Contains(norm, "lastname"), norm == "surname":
		return fillLastName
	case strings.Contains(norm, "name"):
		return fillFullName
	case strings.Contains(norm, "code"):
		return fillCode
	case strings.Contains(norm, "reference"), strings.Contains(norm, "accountnumber"):
		return fillReference
	case strings.Contains(norm, "date"):
		return fillDate
	case strings.HasSuffix(norm, "day"):
		return fillWeekday
	case strings.Contains(norm, "time"):
		return fillTime
	case strings.Contains(norm, "amount"):
		return fillAmount
	case strings.Contains(norm, "clinic"), strings.Contains(norm, "location"):
		return fillPlace
	case strings.Contains(norm, "link"), strings.Contains(norm, "url"):
		return fillLink
	case strings.Contains(norm, "documents"), strings.Contains(norm, "items"):
		return fillList
	case strings.Contains(norm, "year"):
		return fillYear
	case strings.Contains(norm, "month"):
		return fillMonth
	case strings.Contains(norm, "minutes"), strings.Contains(norm, "days"):
		return fillNumber
	}
	return fillText
}

var (
	seedPlaces    = []string{"Riverside Health Centre", "St Mary's Clinic", "Town Hall, Room 4", "Northgate Surgery", "The Jobcentre, Market Street"}
	seedDocuments = []string{"your passport", "a recent utility bill", "your National Insurance number", "your tenancy agreement",
		"a bank statement", "your birth certificate"}
	seedTexts = []string{"Standard", "Priority", "Renewal", "First request", "Follow-up"}
)

// fills returns the template's placeholders, read from its content once.
func (t *seedTemplate) placeholderFills() []seedFill {
	if t.fills == nil {
		t.fills = seedPlaceholders(t.subject, t.content, t.welshSubject, t.welshContent)
		if t.fills == nil {
			t.fills = []seedFill{}
		}
	}
	return t.fills
}

// personalisation writes n's personalisation (seedPersonalisation).
func (s *seeder) personalisation(r seedRand, n *seedNotification, address []string, postcode bool) []byte {
	return seedPersonalisation(r, s.london, n.template.placeholderFills(), n.createdAt, n.to, address, postcode)
}

// seedPersonalisation writes a personalisation object: a value for each of fills, then
// for a letter its address lines (the last as postcode when postcode is set), matching
// its recipient to: names are the addressee's. Dates are London dates after createdAt.
func seedPersonalisation(r seedRand, london *time.Location, fills []seedFill, createdAt time.Time, to string,
	address []string, postcode bool) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	first, last := seedPersonName(r)
	if local, _, ok := strings.Cut(to, "@"); ok {
		// An email greets its recipient: ann.smith42@example.com is Ann Smith.
		if f, l, ok := strings.Cut(strings.TrimRight(local, "0123456789"), "."); ok && f != "" && l != "" {
			first, last = strings.ToUpper(f[:1])+f[1:], strings.ToUpper(l[:1])+l[1:]
		}
	}
	if len(address) > 0 {
		// The letter greets the person it is addressed to: "Sgt Dev Patel" is Dev Patel.
		if words := strings.Fields(address[0]); len(words) >= 2 {
			first, last = words[len(words)-2], words[len(words)-1]
		}
	}
	for _, f := range fills {
		b = seedJSONKey(b, f.key)
		switch f.kind {
		case fillFirstName:
			b = seedJSONString(b, first)
		case fillLastName:
			b = seedJSONString(b, last)
		case fillFullName:
			b = seedJSONString(b, first+" "+last)
		case fillCode:
			b = seedJSONString(b, fmt.Sprintf("%06d", r.IntN(1_000_000)))
		case fillReference:
			b = seedJSONString(b, fmt.Sprintf("%c%c%07d", 'A'+r.IntN(26), 'A'+r.IntN(26), r.IntN(10_000_000)))
		case fillDate:
			day := createdAt.In(london).AddDate(0, 0, r.between(3, 28))
			b = seedJSONString(b, day.Format("Monday 2 January 2006"))
		case fillTime:
			b = seedJSONString(b, time.Date(2000, 1, 1, r.between(8, 16), 15*r.IntN(4), 0, 0, time.UTC).Format("3:04pm"))
		case fillAmount:
			b = seedJSONString(b, fmt.Sprintf("£%d.%02d", r.between(20, 1900), r.IntN(100)))
		case fillPlace:
			b = seedJSONString(b, seedPick(r, seedPlaces))
		case fillLink:
			b = seedJSONString(b, "https://www.example.gov.uk/account/"+r.hex(12))
		case fillList:
			// A list value (§2.2): a bulleted list in email and letter bodies.
			b = append(b, '[')
			start := r.IntN(len(seedDocuments))
			for i := range r.between(1, 3) {
				if i > 0 {
					b = append(b, ',')
				}
				b = seedJSONString(b, seedDocuments[(start+i)%len(seedDocuments)])
			}
			b = append(b, ']')
		case fillYear:
			y := notifyql.FinancialYearOf(createdAt, london)
			b = seedJSONString(b, fmt.Sprintf("%d to %d", int(y), int(y)+1))
		case fillMonth:
			b = seedJSONString(b, createdAt.In(london).Format("January"))
		case fillWeekday:
			b = seedJSONString(b, time.Weekday(r.between(1, 5)).String())
		case fillNumber:
			b = strconv.AppendInt(b, int64(5*r.between(2, 12)), 10)
		case fillFlag:
			// Callers answer conditionals both ways: "yes"/"no" in a CSV, booleans by API.
			yes := r.chance(0.4)
			if r.chance(0.5) {
				b = strconv.AppendBool(b, yes)
			} else if yes {
				b = seedJSONString(b, "yes")
			} else {
				b = seedJSONString(b, "no")
			}
		default:
			b = seedJSONString(b, seedPick(r, seedTexts))
		}
	}
	for i, line := range address {
		key := "address_line_" + strconv.Itoa(i+1)
		if postcode && i == len(address)-1 {
			key = "postcode"
		}
		b = seedJSONKey(b, key)
		b = seedJSONString(b, line)
	}
	return append(b, '}')
}

// seedJSONKey writes a key, after a comma unless it is the object's first.
func seedJSONKey(b []byte, key string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = seedJSONString(b, key)
	return append(b, ':')
}

// seedJSONString writes s as a JSON string. Seeded values are valid UTF-8; quotes,
// backslashes and control characters are escaped.
func seedJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = fmt.Appendf(b, `\u%04x`, c)
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+size]...)
			i += size
		}
	}
	return append(b, '"')
}
