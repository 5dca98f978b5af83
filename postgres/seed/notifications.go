package seed

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"notifyql"
	"notifyql/postgres/seed/internal/seedletters"
)

// seedNotification is one generated notification. The same value fills a notifications
// row or, without the personal data, a notification_history row.
type seedNotification struct {
	id               seedID
	template         *seedTemplate
	version          int
	to               string // personal data (fake)
	normalisedTo     string // personal data (fake)
	clientReference  string
	keyType          notifyql.KeyType
	status           notifyql.NotificationStatus
	billableUnits    int
	rateMultiplier   int // 0 leaves it NULL (email)
	international    bool
	phonePrefix      string
	postage          notifyql.Postage
	createdAt        time.Time
	updatedAt        time.Time
	sentAt           time.Time
	sentBy           string
	job              *seedJob
	jobRow           int
	apiKey           *seedAPIKey
	createdBy        *seedUser
	replyTo          string // personal data (fake)
	personalisation  []byte // personal data (fake): a JSON object
	letterValidation []byte
	pageCount        int // -1 leaves it NULL
	// letterFile is an uploaded letter's PDF, stored in letter_files beside a notifications
	// row (never beside a history row: it is personal data).
	letterFile *seedletters.Letter
}

var seedNotificationColumns = []string{"id", "service_id", "template_id", "template_version", "notification_type",
	"to", "normalised_to", "client_reference", "key_type", "notification_status", "billable_units",
	"rate_multiplier", "international", "phone_prefix", "postage", "created_at", "updated_at", "sent_at",
	"sent_by", "job_id", "job_row_number", "api_key_id", "created_by_id", "reply_to_text", "personalisation",
	"letter_validation", "page_count"}

var seedHistoryColumns = []string{"id", "service_id", "template_id", "template_version",
	"notification_type", "client_reference", "key_type", "notification_status", "billable_units",
	"rate_multiplier", "international", "phone_prefix", "postage", "created_at", "updated_at", "sent_at",
	"sent_by", "job_id", "job_row_number", "api_key_id", "created_by_id", "page_count"}

// values fills row (len(seedNotificationColumns)) for a notifications COPY.
func (n *seedNotification) values(row []any) []any {
	row = row[:0]
	var jobID, jobRow, apiKeyID, createdByID, rateMultiplier, postage, validation, pageCount any
	if n.job != nil {
		jobID, jobRow = n.job.id, n.jobRow
	}
	if n.apiKey != nil {
		apiKeyID = n.apiKey.id
	}
	if n.createdBy != nil {
		createdByID = n.createdBy.id
	}
	if n.rateMultiplier != 0 {
		rateMultiplier = n.rateMultiplier
	}
	if n.postage != "" {
		postage = string(n.postage)
	}
	if n.letterValidation != nil {
		validation = n.letterValidation
	}
	if n.pageCount >= 0 {
		pageCount = n.pageCount
	}
	return append(row, n.id, n.template.service.id, n.template.id, n.version, string(n.template.typ),
		n.to, n.normalisedTo, seedText(n.clientReference), string(n.keyType), string(n.status), n.billableUnits,
		rateMultiplier, n.international, seedText(n.phonePrefix), postage, n.createdAt, seedTime(n.updatedAt),
		seedTime(n.sentAt), seedText(n.sentBy), jobID, jobRow, apiKeyID, createdByID, seedText(n.replyTo),
		n.personalisation, validation, pageCount)
}

// historyValues fills row for a notification_history COPY: no personal data (§14).
func (n *seedNotification) historyValues(row []any) []any {
	full := n.values(row)
	// Drop to, normalised_to, reply_to_text, personalisation and letter_validation.
	out := append(full[:5:5], full[7:23]...)
	return append(out, full[26])
}

// request says what to generate; zero fields are chosen by the generator.
type seedRequest struct {
	template      *seedTemplate
	createdAt     time.Time
	apiKey        *seedAPIKey
	createdBy     *seedUser
	job           *seedJob
	jobRow        int
	status        notifyql.NotificationStatus
	postage       notifyql.Postage
	international int // sms: 0 chooses, 1 forces a UK number, 2 an international one
	// letterFile, for an uploaded letter, chooses its file rather than drawing one.
	letterFile *seedletters.Letter
}

// makeNotification builds a notification consistent with its type (§2.1), its age and the
// rules of §3.4 and §6.3.
func (s *seeder) makeNotification(r seedRand, req seedRequest, n *seedNotification) {
	t := req.template
	*n = seedNotification{
		id: r.id(), template: t, version: t.versionAt(req.createdAt), createdAt: req.createdAt,
		keyType: notifyql.KeyNormal, apiKey: req.apiKey, createdBy: req.createdBy, job: req.job, jobRow: req.jobRow,
		pageCount: -1,
	}
	if req.apiKey != nil {
		n.keyType = req.apiKey.keyType
		if r.chance(0.6) {
			n.clientReference = fmt.Sprintf("REF-%06d", r.IntN(1_000_000))
		}
	}
	age := s.now.Sub(req.createdAt)
	switch t.typ {
	case notifyql.TypeSMS:
		intl := req.international == 2 || (req.international == 0 && t.service.hasFeature("international_sms") && r.chance(0.04))
		s.smsRecipient(r, n, intl)
		n.status = req.status
		if n.status == "" {
			n.status = seedSMSStatus(r, age, n.international)
		}
		n.billableUnits = seedSMSFragments(t, r.between(0, 40))
		n.replyTo = "GOVUK"
		if t.service.inbound != "" {
			n.replyTo = t.service.inbound
		}
		n.personalisation = s.personalisation(r, n, nil, false)
	case notifyql.TypeEmail:
		seedEmailRecipient(r, n)
		n.status = req.status
		if n.status == "" {
			n.status = seedEmailStatus(r, age)
		}
		n.replyTo = "replies@notifyql.example"
		n.personalisation = s.personalisation(r, n, nil, false)
	case notifyql.TypeLetter:
		s.letter(r, n, req)
	}
	s.settle(r, n)
}

// smsRecipient draws a UK number from Ofcom's drama range (07700 900000–900999), or an
// international one from a few countries; multipliers come from the reference table.
func (s *seeder) smsRecipient(r seedRand, n *seedNotification, international bool) {
	n.rateMultiplier = 1
	if !international {
		line := r.IntN(1000)
		n.to = fmt.Sprintf("07700900%03d", line)
		n.normalisedTo = fmt.Sprintf("447700900%03d", line)
		n.phonePrefix = "44"
		return
	}
	c := seedPick(r, seedCountries)
	digits := c.prefix + c.lead
	for range c.digits {
		digits += string(rune('0' + r.IntN(10)))
	}
	n.to = "+" + digits
	n.normalisedTo = digits
	n.phonePrefix = c.prefix
	n.international = true
	if m, ok := s.multipliers[c.prefix]; ok {
		n.rateMultiplier = m
	}
}

// seedCountries are international numbers shaped like real mobile numbers of each country;
// the US one uses the fictional 555-01xx range.
var seedCountries = []struct {
	prefix, lead string
	digits       int
}{
	{"33", "6", 8}, {"353", "85", 7}, {"49", "151", 8}, {"61", "4", 8}, {"91", "98", 8},
	{"1", "20255501", 2}, {"1876", "5", 6}, {"234", "803", 7}, {"7", "9", 9},
}

// seedSMSFragments counts the fragments of a GSM-7 message made of the template's content,
// the service name prefix and some personalisation (§10.2).
func seedSMSFragments(t *seedTemplate, personalisation int) int {
	length := len(t.content) + personalisation
	if t.service.prefixSMS {
		length += len(t.service.name) + 2
	}
	if length <= 160 {
		return 1
	}
	return (length + 152) / 153
}

var (
	seedFirstNames = []string{"Ann", "Ben", "Chloe", "Dev", "Efua", "Finn", "Grace", "Hamza", "Isla", "Jack",
		"Kai", "Leah", "Mo", "Nia", "Oscar", "Priya", "Quinn", "Rhys", "Sana", "Tom", "Una", "Vik", "Wen", "Yusuf", "Zara"}
	seedLastNames = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
		"Patel", "Khan", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Edwards", "Green", "Hall", "Lewis"}
	seedEmailDomains = []string{"example.com", "example.org", "example.net"}
	seedStreets      = []string{"High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Victoria Street",
		"Queens Road", "The Green", "Manor Way", "Orchard Close"}
	seedTowns = []struct{ town, outward, district, county string }{
		{"London", "SW1A", "Westminster", "Greater London"}, {"Leeds", "LS1", "Headingley", "West Yorkshire"},
		{"Bristol", "BS1", "Clifton", "Avon"}, {"Manchester", "M1", "Ancoats", "Greater Manchester"},
		{"Cardiff", "CF10", "Butetown", "South Glamorgan"}, {"Birmingham", "B1", "Edgbaston", "West Midlands"},
		{"Norwich", "NR1", "Thorpe Hamlet", "Norfolk"}, {"Exeter", "EX1", "Heavitree", "Devon"},
		{"York", "YO1", "Clifton", "North Yorkshire"}, {"Swansea", "SA1", "Sketty", "West Glamorgan"},
	}
	seedRanks       = []string{"Pte", "Cpl", "Sgt", "Lt", "Capt"}
	seedUnits       = []string{"1 Royal Signals Regiment", "HQ 7th Infantry Brigade", "3 Medical Regiment", "RAF Akrotiri"}
	seedBFPONumbers = []int{801, 2, 105, 57}
	seedAbroad      = map[notifyql.Postage][]struct{ place, country string }{
		notifyql.PostageEurope: {{"75001 Paris", "France"}, {"10115 Berlin", "Germany"}, {"Dublin 2", "Ireland"},
			{"28001 Madrid", "Spain"}},
		notifyql.PostageRestOfWorld: {{"Toronto ON M5H 2N2", "Canada"}, {"Sydney NSW 2000", "Australia"},
			{"Tokyo 100-0001", "Japan"}, {"Springfield IL 62701", "United States"}},
	}
)

func seedPersonName(r seedRand) (first, last string) {
	return seedPick(r, seedFirstNames), seedPick(r, seedLastNames)
}

func seedEmailRecipient(r seedRand, n *seedNotification) {
	first, last := seedPersonName(r)
	address := fmt.Sprintf("%s.%s%d@%s", first, last, r.IntN(100), seedPick(r, seedEmailDomains))
	if r.chance(0.9) {
		address = strings.ToLower(address)
	}
	n.to = address
	n.normalisedTo = strings.ToLower(address)
}

// seedLetterAddress returns address lines: a name, sometimes a flat, a street, sometimes a
// district, a town, sometimes a county, and a postcode (postcode is true: the last line is
// the postcode key); for international post a place and a country; now and then a forces
// address ending in its BFPO number.
func seedLetterAddress(r seedRand, postage notifyql.Postage) (lines []string, postcode bool) {
	first, last := seedPersonName(r)
	if abroad, ok := seedAbroad[postage]; ok {
		a := seedPick(r, abroad)
		return []string{first + " " + last, fmt.Sprintf("%d %s", r.between(1, 220), seedPick(r, seedStreets)),
			a.place, a.country}, false
	}
	if r.chance(0.02) {
		return []string{seedPick(r, seedRanks) + " " + first + " " + last, seedPick(r, seedUnits),
			fmt.Sprintf("BFPO %d", seedPick(r, seedBFPONumbers))}, false
	}
	lines = []string{first + " " + last}
	if r.chance(0.2) {
		lines = append(lines, fmt.Sprintf("Flat %d", r.between(1, 40)))
	}
	lines = append(lines, fmt.Sprintf("%d %s", r.between(1, 220), seedPick(r, seedStreets)))
	town := seedPick(r, seedTowns)
	if r.chance(0.15) {
		lines = append(lines, town.district)
	}
	lines = append(lines, town.town)
	if r.chance(0.1) {
		lines = append(lines, town.county)
	}
	const inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"
	code := fmt.Sprintf("%s %d%c%c", town.outward, r.IntN(10), inwardLetters[r.IntN(len(inwardLetters))],
		inwardLetters[r.IntN(len(inwardLetters))])
	return append(lines, code), true
}

// seedNormaliseAddress is the letter search key: all whitespace removed, lower-cased (§6.3).
func seedNormaliseAddress(address string) string {
	return strings.Map(func(c rune) rune {
		if unicode.IsSpace(c) {
			return -1
		}
		return unicode.ToLower(c)
	}, address)
}

func (s *seeder) letter(r seedRand, n *seedNotification, req seedRequest) {
	t := req.template
	n.rateMultiplier = 1
	n.postage = req.postage
	if n.postage == "" {
		n.postage = t.postage
		if t.service.hasFeature("international_letters") && r.chance(0.03) {
			n.postage = seedPick(r, []notifyql.Postage{notifyql.PostageEurope, notifyql.PostageRestOfWorld})
		} else if t.precompiled() {
			n.postage = seedPick(r, []notifyql.Postage{notifyql.PostageSecond, notifyql.PostageSecond, notifyql.PostageFirst, notifyql.PostageEconomy})
		}
	}
	n.international = n.postage == notifyql.PostageEurope || n.postage == notifyql.PostageRestOfWorld
	lines, postcode := seedLetterAddress(r, n.postage)
	n.replyTo = t.service.name + "\nPO Box 123"
	if t.precompiled() {
		if req.createdBy != nil {
			n.clientReference = fmt.Sprintf("letter-%04d.pdf", r.IntN(10_000))
		} else if n.clientReference == "" {
			n.clientReference = fmt.Sprintf("PDF-%06d", r.IntN(1_000_000))
		}
	}
	n.status = req.status
	if n.status == "" {
		n.status = s.letterStatus(r, n.createdAt, t.precompiled())
	}
	if t.precompiled() {
		s.uploadedLetter(r, n, req, lines, postcode)
		return
	}
	n.to = strings.Join(lines, "\n")
	n.normalisedTo = seedNormaliseAddress(n.to)
	n.personalisation = s.personalisation(r, n, lines, postcode)
	pages := max(1, t.sheets*2-r.IntN(2))
	if n.status == notifyql.StatusValidationFailed {
		// A templated letter fails validation only by being too long (RENDERING.md §5.7).
		pages = r.between(11, 14)
		n.pageCount = pages
		n.letterValidation = fmt.Appendf(nil, `{"message": "letter-too-long", "page_count": %d, "invalid_pages": []}`, pages)
		return
	}
	n.pageCount = pages
	n.billableUnits = min((pages+1)/2, 5)
}

// uploadedLetter gives an uploaded letter its file (seedletters): an invalid one when it
// failed validation, with the letter_validation the pipeline recorded for it, else a valid
// one for its postage. The recipient is the address the file shows; a file with an empty
// address window keeps the generated one, as the pipeline had nothing better to record.
func (s *seeder) uploadedLetter(r seedRand, n *seedNotification, req seedRequest, lines []string, postcode bool) {
	file := req.letterFile
	if file == nil {
		// Most uploaded letters are a page or two: files are drawn in inverse proportion to
		// their pages, which also keeps the bench's letter_files small.
		var choices []*seedletters.Letter
		var weights []float64
		for i := range seedletters.Letters {
			l := &seedletters.Letters[i]
			if n.status == notifyql.StatusValidationFailed && !l.Valid() ||
				n.status != notifyql.StatusValidationFailed && l.Valid() && seedFileFitsPostage(l, n.postage) {
				choices, weights = append(choices, l), append(weights, 1/float64(l.Pages))
			}
		}
		file = choices[r.weighted(weights)]
	}
	n.letterFile = file
	if len(file.Address) > 0 {
		lines, postcode = file.Address, seedIsPostcodeLine(file.Address[len(file.Address)-1])
	}
	n.to = strings.Join(lines, "\n")
	n.normalisedTo = seedNormaliseAddress(n.to)
	n.personalisation = s.personalisation(r, n, lines, postcode)
	switch n.status {
	case notifyql.StatusPendingVirusCheck, notifyql.StatusVirusScanFailed:
		return // not yet read: no pages, nothing to bill
	case notifyql.StatusValidationFailed:
		message := file.Message
		if message == "not-a-real-uk-postcode" && n.template.service.hasFeature("international_letters") {
			message = "not-a-real-uk-postcode-or-country"
		}
		n.pageCount = file.Pages
		n.letterValidation = fmt.Appendf(nil, `{"message": %q, "page_count": %d, "invalid_pages": %s}`,
			message, file.Pages, strings.Join(strings.Fields(fmt.Sprint(file.InvalidPages)), ", "))
		return
	}
	n.pageCount = file.Pages
	n.billableUnits = min((file.Pages+1)/2, 5)
}

// seedFileFitsPostage keeps letters abroad to the files addressed abroad, and the others to
// the rest.
func seedFileFitsPostage(l *seedletters.Letter, postage notifyql.Postage) bool {
	last := l.Address[len(l.Address)-1]
	switch postage {
	case notifyql.PostageEurope:
		return last == "France"
	case notifyql.PostageRestOfWorld:
		return last == "Canada"
	}
	return last != "France" && last != "Canada"
}

// seedIsPostcodeLine tells a seeded UK postcode ("LS1 4AB") from a town, a country or a
// BFPO line.
func seedIsPostcodeLine(line string) bool {
	outward, inward, ok := strings.Cut(line, " ")
	return ok && len(inward) == 3 && len(outward) >= 2 && len(outward) <= 4 &&
		inward[0] >= '0' && inward[0] <= '9' && outward[0] >= 'A' && outward[0] <= 'Z' && outward != "BFPO"
}

// printRun is when a letter created at c goes to the printer: 17:30 London that day, or the
// next day's run when it was created after the cutoff (§12.3).
func (s *seeder) printRun(c time.Time) time.Time {
	local := c.In(s.london)
	cutoff := time.Date(local.Year(), local.Month(), local.Day(), 17, 30, 0, 0, s.london)
	if c.After(cutoff) {
		cutoff = time.Date(local.Year(), local.Month(), local.Day()+1, 17, 30, 0, 0, s.london)
	}
	return cutoff.UTC()
}

type seedStatusWeight struct {
	status notifyql.NotificationStatus
	weight float64
}

func seedPickStatus(r seedRand, choices []seedStatusWeight) notifyql.NotificationStatus {
	weights := make([]float64, len(choices))
	for i, c := range choices {
		weights[i] = c.weight
	}
	return choices[r.weighted(weights)].status
}

// Statuses follow the age of a notification: only recent ones are still on their way, and
// nothing is left sending for more than the 3-day timeout (§4.3).
func seedEmailStatus(r seedRand, age time.Duration) notifyql.NotificationStatus {
	switch {
	case age < 30*time.Second:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusCreated, 1}, {notifyql.StatusSending, 1}})
	case age < 10*time.Minute:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusSending, 30}, {notifyql.StatusDelivered, 64},
			{notifyql.StatusTemporaryFailure, 3}, {notifyql.StatusPermanentFailure, 2}, {notifyql.StatusTechnicalFailure, 1}})
	default:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusDelivered, 925}, {notifyql.StatusTemporaryFailure, 30},
			{notifyql.StatusPermanentFailure, 25}, {notifyql.StatusTechnicalFailure, 10}, {notifyql.StatusSent, 5},
			{notifyql.StatusFailed, 2}})
	}
}

func seedSMSStatus(r seedRand, age time.Duration, international bool) notifyql.NotificationStatus {
	switch {
	case age < 30*time.Second:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusCreated, 2}, {notifyql.StatusSending, 3}})
	case international:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusSent, 75}, {notifyql.StatusDelivered, 15},
			{notifyql.StatusPermanentFailure, 5}, {notifyql.StatusTechnicalFailure, 3}, {notifyql.StatusTemporaryFailure, 2}})
	case age < 15*time.Minute:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusSending, 20}, {notifyql.StatusPending, 15},
			{notifyql.StatusDelivered, 60}, {notifyql.StatusTemporaryFailure, 3}, {notifyql.StatusPermanentFailure, 1},
			{notifyql.StatusTechnicalFailure, 1}})
	case age < 72*time.Hour:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusDelivered, 920}, {notifyql.StatusPending, 5},
			{notifyql.StatusSending, 3}, {notifyql.StatusTemporaryFailure, 40}, {notifyql.StatusPermanentFailure, 22},
			{notifyql.StatusTechnicalFailure, 10}})
	default:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusDelivered, 920}, {notifyql.StatusTemporaryFailure, 45},
			{notifyql.StatusPermanentFailure, 25}, {notifyql.StatusTechnicalFailure, 8}, {notifyql.StatusFailed, 2}})
	}
}

func (s *seeder) letterStatus(r seedRand, created time.Time, precompiled bool) notifyql.NotificationStatus {
	run := s.printRun(created)
	age := s.now.Sub(created)
	switch {
	case precompiled && age < 5*time.Minute:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusPendingVirusCheck, 7}, {notifyql.StatusCreated, 3}})
	case s.now.Before(run):
		choices := []seedStatusWeight{{notifyql.StatusCreated, 93}, {notifyql.StatusCancelled, 4}, {notifyql.StatusValidationFailed, 3}}
		if precompiled {
			choices = append(choices, seedStatusWeight{notifyql.StatusVirusScanFailed, 1})
		}
		return seedPickStatus(r, choices)
	case s.now.Sub(run) < 48*time.Hour:
		return seedPickStatus(r, []seedStatusWeight{{notifyql.StatusSending, 95}, {notifyql.StatusTechnicalFailure, 2},
			{notifyql.StatusPermanentFailure, 1}, {notifyql.StatusCancelled, 2}})
	default:
		choices := []seedStatusWeight{{notifyql.StatusDelivered, 900}, {notifyql.StatusReturnedLetter, 30},
			{notifyql.StatusPermanentFailure, 15}, {notifyql.StatusTechnicalFailure, 10}, {notifyql.StatusCancelled, 20},
			{notifyql.StatusValidationFailed, 20}, {notifyql.StatusFailed, 5}}
		if precompiled {
			choices = append(choices, seedStatusWeight{notifyql.StatusVirusScanFailed, 5})
		}
		return seedPickStatus(r, choices)
	}
}

// settle fills sent_at, sent_by and updated_at so that created_at ≤ sent_at ≤ updated_at ≤ now.
func (s *seeder) settle(r seedRand, n *seedNotification) {
	c := n.createdAt
	provider := map[notifyql.NotificationType]string{notifyql.TypeEmail: "ses", notifyql.TypeLetter: "dvla"}[n.template.typ]
	if n.template.typ == notifyql.TypeSMS {
		provider = seedPick(r, []string{"mmg", "firetext"})
	}
	switch n.status {
	case notifyql.StatusCreated, notifyql.StatusPendingVirusCheck:
	case notifyql.StatusVirusScanFailed, notifyql.StatusValidationFailed:
		n.updatedAt = c.Add(r.within(10*time.Second, 2*time.Minute))
	case notifyql.StatusCancelled:
		n.updatedAt = c.Add(r.within(time.Minute, max(s.printRun(c).Sub(c), 2*time.Minute)))
	default:
		if n.template.typ == notifyql.TypeLetter {
			n.sentAt = s.printRun(c).Add(r.within(0, 20*time.Minute))
			switch n.status {
			case notifyql.StatusSending:
				n.updatedAt = n.sentAt
			case notifyql.StatusReturnedLetter:
				n.updatedAt = n.sentAt.Add(r.within(96*time.Hour, 14*24*time.Hour))
			default:
				n.updatedAt = n.sentAt.Add(r.within(20*time.Hour, 48*time.Hour))
			}
		} else {
			n.sentAt = c.Add(r.within(200*time.Millisecond, 10*time.Second))
			n.updatedAt = n.sentAt
			if n.status != notifyql.StatusSending {
				n.updatedAt = n.sentAt.Add(r.within(2*time.Second, 10*time.Minute))
			}
		}
		n.sentBy = provider
	}
	if n.sentAt.After(s.now) {
		n.sentAt = s.now
	}
	if n.updatedAt.After(s.now) {
		n.updatedAt = s.now
	}
}

// seedStatusesByType are the statuses each type may have (§2.1).
var seedStatusesByType = map[notifyql.NotificationType][]notifyql.NotificationStatus{
	notifyql.TypeEmail: {notifyql.StatusCreated, notifyql.StatusSending, notifyql.StatusSent, notifyql.StatusDelivered,
		notifyql.StatusFailed, notifyql.StatusTechnicalFailure, notifyql.StatusTemporaryFailure, notifyql.StatusPermanentFailure},
	notifyql.TypeSMS: {notifyql.StatusCreated, notifyql.StatusSending, notifyql.StatusPending, notifyql.StatusSent,
		notifyql.StatusDelivered, notifyql.StatusFailed, notifyql.StatusTechnicalFailure, notifyql.StatusTemporaryFailure,
		notifyql.StatusPermanentFailure},
	notifyql.TypeLetter: {notifyql.StatusCreated, notifyql.StatusSending, notifyql.StatusDelivered, notifyql.StatusFailed,
		notifyql.StatusTechnicalFailure, notifyql.StatusPermanentFailure, notifyql.StatusPendingVirusCheck,
		notifyql.StatusValidationFailed, notifyql.StatusVirusScanFailed, notifyql.StatusReturnedLetter, notifyql.StatusCancelled},
}

// seedTraffic generates a service's one-off and API notifications of one type, count of them,
// created in [from, to). Daytime is busier than night.
type seedTraffic struct {
	s         *seeder
	r         seedRand
	svc       *seedService
	templates []*seedTemplate
	weights   []float64
	keys      []*seedAPIKey
	keyWeight []float64
	senders   []*seedUser
	from, to  time.Time
	left      int
	n         seedNotification
}

func (s *seeder) newTraffic(r seedRand, svc *seedService, typ notifyql.NotificationType, count int, from, to time.Time) *seedTraffic {
	tr := &seedTraffic{s: s, r: r, svc: svc, from: from, to: to, left: count, senders: svc.senders()}
	for _, t := range svc.templates {
		if t.typ == typ && t.weight > 0 {
			tr.templates = append(tr.templates, t)
			tr.weights = append(tr.weights, t.weight)
		}
	}
	for _, k := range svc.keys {
		w := map[notifyql.KeyType]float64{notifyql.KeyNormal: 90, notifyql.KeyTeam: 7, notifyql.KeyTest: 3}[k.keyType]
		tr.keys = append(tr.keys, k)
		tr.keyWeight = append(tr.keyWeight, w)
	}
	if len(tr.templates) == 0 || !to.After(from) {
		tr.left = 0
	}
	return tr
}

// next returns the next notification, or nil when there are no more. The value is reused.
func (tr *seedTraffic) next() *seedNotification {
	if tr.left == 0 {
		return nil
	}
	tr.left--
	r := tr.r
	span := tr.to.Sub(tr.from)
	var created time.Time
	for {
		created = tr.from.Add(r.within(0, span))
		hour := created.In(tr.s.london).Hour()
		if hour >= 7 && hour < 21 || r.chance(0.25) {
			break
		}
	}
	req := seedRequest{template: tr.templates[r.weighted(tr.weights)], createdAt: created}
	if len(tr.senders) > 0 && (len(tr.keys) == 0 || r.chance(0.25)) {
		req.createdBy = seedPick(r, tr.senders)
	} else if len(tr.keys) > 0 {
		req.apiKey = tr.keys[r.weighted(tr.keyWeight)]
		// A revoked key sent only before it was revoked.
		if !req.apiKey.expiry.IsZero() && created.After(req.apiKey.expiry) {
			req.apiKey = tr.keys[0]
		}
	} else {
		req.createdBy = tr.svc.createdBy
	}
	tr.s.makeNotification(r, req, &tr.n)
	return &tr.n
}

// jobRows generates the rows of a job, one after another from its start.
func (s *seeder) jobRows(r seedRand, j *seedJob) func() *seedNotification {
	row := 0
	var n seedNotification
	return func() *seedNotification {
		if j.startedAt.IsZero() || row == j.rows {
			return nil
		}
		created := j.startedAt.Add(time.Duration(row) * seedJobRowGap)
		s.makeNotification(r, seedRequest{template: j.template, createdAt: created, createdBy: j.createdBy,
			job: j, jobRow: row, international: 1}, &n)
		row++
		return &n
	}
}

// seedChain runs notification sources one after another.
func seedChain(sources ...func() *seedNotification) func() *seedNotification {
	return func() *seedNotification {
		for len(sources) > 0 {
			if n := sources[0](); n != nil {
				return n
			}
			sources = sources[1:]
		}
		return nil
	}
}

// copyNotifications loads notifications (or, with history, notification_history rows).
func (s *seeder) copyNotifications(ctx context.Context, source func() *seedNotification, history bool) (int64, error) {
	row := make([]any, 0, len(seedNotificationColumns))
	if history {
		return s.copyBatches(ctx, "notification_history", seedHistoryColumns, func() []any {
			if n := source(); n != nil {
				return n.historyValues(row)
			}
			return nil
		})
	}
	// Uploaded letters' files follow their rows (letter_files references notifications).
	type letterFile struct {
		id        seedID
		file      *seedletters.Letter
		createdAt time.Time
	}
	var files []letterFile
	count, err := s.copyBatches(ctx, "notifications", seedNotificationColumns, func() []any {
		if n := source(); n != nil {
			if n.letterFile != nil {
				files = append(files, letterFile{n.id, n.letterFile, n.createdAt})
			}
			return n.values(row)
		}
		return nil
	})
	if err != nil {
		return count, err
	}
	// Each file's bytes are read once and shared by every row that stores it.
	pdfs := map[*seedletters.Letter][]byte{}
	fileRow := make([]any, 3)
	_, err = s.copyBatches(ctx, "letter_files", []string{"notification_id", "pdf", "created_at"}, func() []any {
		if len(files) == 0 {
			return nil
		}
		f := files[0]
		files = files[1:]
		pdf, ok := pdfs[f.file]
		if !ok {
			pdf = f.file.PDF()
			pdfs[f.file] = pdf
		}
		// The pipeline stores the file as the letter is accepted, within a second or two.
		fileRow[0], fileRow[1], fileRow[2] = f.id, pdf, f.createdAt.Add(1500*time.Millisecond)
		return fileRow
	})
	return count, err
}

// inboundSource generates count inbound SMS to a service's number in [from, to), from the
// same drama-range numbers that outbound SMS go to, so conversations join up.
func (s *seeder) inboundSource(r seedRand, svc *seedService, count, senders int, from, to time.Time) func() []any {
	replies := []string{"Yes", "No thanks", "STOP", "Can I change my appointment?", "Thank you", "Confirmed",
		"Please call me back", "Wrong number", "What time is it?", "I have already paid"}
	row := make([]any, 9)
	return func() []any {
		if count == 0 {
			return nil
		}
		count--
		created := from.Add(r.within(0, to.Sub(from)))
		row = append(row[:0], r.id(), svc.id, svc.inbound, fmt.Sprintf("447700900%03d", r.IntN(senders)),
			seedPick(r, replies), "mmg", fmt.Sprintf("mmg-%d", r.Uint32()), created.Add(-r.within(0, 2*time.Second)), created)
		return row
	}
}

var seedInboundColumns = []string{"id", "service_id", "notify_number", "user_number", "content", "provider",
	"provider_reference", "provider_date", "created_at"}
