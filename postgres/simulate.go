package postgres

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/postgres/internal/seedletters"
)

// SimulatorOptions say how busy the simulated sending pipeline is.
type SimulatorOptions struct {
	// Rate is how many new one-off and API notifications are created per second (job rows
	// come on top). It must be positive.
	Rate float64
	// Services limits the simulation to these service ids; empty means every active
	// service with templates.
	Services []string
	// Seed drives every choice (services, templates, recipients, statuses, delays), so a
	// run with the same seed and clock makes the same data. Ids are random regardless, so
	// that a restarted simulator never reuses one.
	Seed int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// SimulatorStats count what a simulator has written so far.
type SimulatorStats struct {
	Notifications int64 // created, one-off, API and job rows alike
	StatusChanges int64 // notification rows moved to a new status
	InboundSMS    int64
	JobsScheduled int64
	JobsStarted   int64
	JobsFinished  int64
	WriteErrors   int64 // statements that failed and were logged
}

// Simulator behaves like an external sending pipeline writing to the database with plain
// SQL: it creates notifications and moves them through their statuses with delays of
// seconds, receives inbound text messages, and schedules and runs jobs. notifyql learns of
// all of it only through the change-capture triggers, as it would of a real pipeline.
// One Run at a time.
type Simulator struct {
	pool   *pgxpool.Pool
	loc    *time.Location
	logger *slog.Logger
	opts   SimulatorOptions
	r      seedRand

	services       []*simService
	serviceWeights []float64
	inbound        []*simService // services that receive text messages
	multipliers    map[string]int

	inflight simQueue      // notifications with status changes still to come
	running  []*simRunning // jobs sending their rows

	last        time.Time // the previous tick; zero before the first
	dueNew      float64   // fractional notifications owed to the rate
	dueInbound  float64
	dueJob      float64
	failedMoves map[string]int // notification id → failed attempts of its next move

	statsMu sync.Mutex
	stats   SimulatorStats
}

// simTick is how often the simulator writes: often enough that changes look continuous,
// seldom enough that each statement carries a batch at high rates.
const simTick = 200 * time.Millisecond

// simMaxCatchUp bounds the time one tick makes up for, so that a stall (a slow database, a
// suspended laptop) is not followed by a burst.
const simMaxCatchUp = 2 * time.Second

// simMaxMoveAttempts is how often a failed status move is retried before the simulator
// forgets the notification.
const simMaxMoveAttempts = 3

type simService struct {
	id          string
	name        string
	prefixSMS   bool
	features    map[string]bool
	templates   []*simTemplate
	weights     []float64 // per template: a type's share split among its templates
	jobTemplate []*simTemplate
	keys        []simKey
	keyWeights  []float64
	senders     []string // users who may send messages: the authors of UI sends and jobs
	inbound     string   // active inbound number, "" when none
}

type simTemplate struct {
	id          string
	service     *simService
	name        string
	typ         notifyql.NotificationType
	version     int
	content     string
	postage     string
	precompiled bool
	// subject and the Welsh text are read for their placeholders only.
	subject, welshSubject, welshContent string
	fills                               []seedFill
}

type simKey struct {
	id      string
	keyType notifyql.KeyType
}

// simRunning is a job sending its rows.
type simRunning struct {
	id        string
	template  *simTemplate
	createdBy *string
	next      int // next job_row_number
	total     int
}

// NewSimulator returns a simulator writing through pool, with London dates from loc.
func NewSimulator(pool *pgxpool.Pool, loc *time.Location, logger *slog.Logger, opts SimulatorOptions) *Simulator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Simulator{pool: pool, loc: loc, logger: logger, opts: opts,
		r: newSeedRand(opts.Seed, seedStreamSimulator), failedMoves: map[string]int{}}
}

// seedStreamSimulator keeps the simulator's choices apart from the seed's streams.
const seedStreamSimulator = 0x5349_4d55_4c41_5445

// Stats returns what the simulator has written so far. It is safe to call while Run runs.
func (s *Simulator) Stats() SimulatorStats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

func (s *Simulator) count(f func(*SimulatorStats)) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	f(&s.stats)
}

// Run simulates until ctx is done, then returns nil. It returns an error only when it
// cannot start: a rate that is not positive, or no service to simulate (ENOTFOUND names
// the requested ids that are not active services with templates). A statement that fails
// later is logged and the simulation carries on.
func (s *Simulator) Run(ctx context.Context) error {
	if err := s.prepare(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.logger.Info("simulator started", "services", len(s.services), "rate_per_second", s.opts.Rate,
		"inbound_services", len(s.inbound), "running_jobs", len(s.running))
	ticker := time.NewTicker(simTick)
	defer ticker.Stop()
	for {
		if err := s.tick(ctx, s.opts.Now()); err != nil && ctx.Err() == nil {
			s.logger.Warn("simulator tick failed", "error", err)
		}
		select {
		case <-ctx.Done():
			st := s.Stats()
			s.logger.Info("simulator stopped", "notifications", st.Notifications, "status_changes", st.StatusChanges,
				"inbound_sms", st.InboundSMS, "jobs_scheduled", st.JobsScheduled, "jobs_started", st.JobsStarted,
				"jobs_finished", st.JobsFinished, "write_errors", st.WriteErrors)
			return nil
		case <-ticker.C:
		}
	}
}

// prepare loads what the simulator sends with and adopts the jobs already in progress,
// which a pipeline that restarted would carry on sending.
func (s *Simulator) prepare(ctx context.Context) error {
	if !(s.opts.Rate > 0) {
		return notifyql.Errorf(notifyql.EINVALID, "simulator rate must be positive, got %v", s.opts.Rate)
	}
	for _, id := range s.opts.Services {
		if err := notifyql.ValidateID("service", id); err != nil {
			return err
		}
	}
	if err := s.loadCatalogue(ctx); err != nil {
		return err
	}
	if err := s.adoptRunningJobs(ctx); err != nil {
		return err
	}
	s.dueJob = 1 // the first tick schedules a job, so the demo has one coming at once
	return nil
}

const simServicesSQL = `
SELECT s.id::text, s.name, s.prefix_sms
  FROM services s
 WHERE s.active
   AND (cardinality($1::uuid[]) = 0 OR s.id = ANY($1::uuid[]))
   AND EXISTS (SELECT 1 FROM templates t WHERE t.service_id = s.id AND NOT t.archived)
 ORDER BY s.id`

const simFeaturesSQL = `SELECT service_id::text, permission FROM service_permissions WHERE service_id = ANY($1::uuid[])`

const simTemplatesSQL = `
SELECT id::text, service_id::text, name, template_type, version, content, COALESCE(postage, ''), hidden,
       COALESCE(subject, ''), COALESCE(letter_welsh_subject, ''), COALESCE(letter_welsh_content, '')
  FROM templates
 WHERE service_id = ANY($1::uuid[]) AND NOT archived
 ORDER BY service_id, created_at, id`

const simKeysSQL = `
SELECT id::text, service_id::text, key_type
  FROM api_keys
 WHERE service_id = ANY($1::uuid[]) AND expiry_date IS NULL
 ORDER BY service_id, created_at, id`

const simSendersSQL = `
SELECT DISTINCT service_id::text, user_id::text
  FROM permissions
 WHERE service_id = ANY($1::uuid[]) AND permission IN ('send_texts', 'send_emails', 'send_letters')
 ORDER BY 1, 2`

const simInboundNumbersSQL = `
SELECT DISTINCT ON (service_id) service_id::text, number
  FROM inbound_numbers
 WHERE active AND service_id = ANY($1::uuid[])
 ORDER BY service_id, created_at, number`

// simTypeWeights is the mix of message types a typical service sends.
var simTypeWeights = map[notifyql.NotificationType]float64{
	notifyql.TypeSMS: 45, notifyql.TypeEmail: 40, notifyql.TypeLetter: 15,
}

func (s *Simulator) loadCatalogue(ctx context.Context) error {
	requested := s.opts.Services
	if requested == nil {
		requested = []string{}
	}
	rows, err := s.pool.Query(ctx, simServicesSQL, requested)
	if err != nil {
		return fmt.Errorf("simulator: load services: %w", err)
	}
	byID := map[string]*simService{}
	var svc simService
	if _, err := pgx.ForEachRow(rows, []any{&svc.id, &svc.name, &svc.prefixSMS}, func() error {
		loaded := svc
		loaded.features = map[string]bool{}
		s.services = append(s.services, &loaded)
		byID[loaded.id] = &loaded
		return nil
	}); err != nil {
		return fmt.Errorf("simulator: load services: %w", err)
	}
	var missing []string
	for _, id := range requested {
		if byID[notifyql.NormaliseID(id)] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return notifyql.Errorf(notifyql.ENOTFOUND, "simulator: no active service with templates has id %s",
			strings.Join(missing, ", "))
	}
	if len(s.services) == 0 {
		return notifyql.Errorf(notifyql.ENOTFOUND, "simulator: no active service has templates: seed the database first")
	}
	ids := make([]string, len(s.services))
	for i, svc := range s.services {
		ids[i] = svc.id
	}

	var serviceID, text string
	if err := s.forEach(ctx, simFeaturesSQL, ids, []any{&serviceID, &text}, func() {
		byID[serviceID].features[text] = true
	}); err != nil {
		return fmt.Errorf("simulator: load service features: %w", err)
	}
	var t simTemplate
	var typ string
	if err := s.forEach(ctx, simTemplatesSQL, ids,
		[]any{&t.id, &serviceID, &t.name, &typ, &t.version, &t.content, &t.postage, &t.precompiled,
			&t.subject, &t.welshSubject, &t.welshContent}, func() {
			loaded := t
			loaded.service, loaded.typ = byID[serviceID], notifyql.NotificationType(typ)
			loaded.fills = seedPlaceholders(t.subject, t.content, t.welshSubject, t.welshContent)
			loaded.precompiled = notifyql.IsPrecompiledLetter(t.precompiled, t.name, loaded.typ)
			loaded.service.templates = append(loaded.service.templates, &loaded)
			if !loaded.precompiled {
				loaded.service.jobTemplate = append(loaded.service.jobTemplate, &loaded)
			}
		}); err != nil {
		return fmt.Errorf("simulator: load templates: %w", err)
	}
	var key simKey
	if err := s.forEach(ctx, simKeysSQL, ids, []any{&key.id, &serviceID, &key.keyType}, func() {
		svc := byID[serviceID]
		svc.keys = append(svc.keys, key)
		// Key types mostly normal, as in live traffic.
		svc.keyWeights = append(svc.keyWeights, map[notifyql.KeyType]float64{
			notifyql.KeyNormal: 90, notifyql.KeyTeam: 7, notifyql.KeyTest: 3}[key.keyType])
	}); err != nil {
		return fmt.Errorf("simulator: load API keys: %w", err)
	}
	if err := s.forEach(ctx, simSendersSQL, ids, []any{&serviceID, &text}, func() {
		byID[serviceID].senders = append(byID[serviceID].senders, text)
	}); err != nil {
		return fmt.Errorf("simulator: load senders: %w", err)
	}
	if err := s.forEach(ctx, simInboundNumbersSQL, ids, []any{&serviceID, &text}, func() {
		byID[serviceID].inbound = text
	}); err != nil {
		return fmt.Errorf("simulator: load inbound numbers: %w", err)
	}

	s.multipliers = map[string]int{}
	var multiplier int
	rows, err = s.pool.Query(ctx, "SELECT prefix, multiplier::int FROM international_sms_rates")
	if err != nil {
		return fmt.Errorf("simulator: load international multipliers: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&text, &multiplier}, func() error {
		s.multipliers[text] = multiplier
		return nil
	}); err != nil {
		return fmt.Errorf("simulator: load international multipliers: %w", err)
	}

	for _, svc := range s.services {
		perType := map[notifyql.NotificationType]int{}
		for _, t := range svc.templates {
			perType[t.typ]++
		}
		for _, t := range svc.templates {
			svc.weights = append(svc.weights, simTypeWeights[t.typ]/float64(perType[t.typ]))
		}
		s.serviceWeights = append(s.serviceWeights, float64(len(svc.templates)))
		if svc.features["inbound_sms"] && svc.inbound != "" {
			s.inbound = append(s.inbound, svc)
		}
	}
	return nil
}

func (s *Simulator) forEach(ctx context.Context, query string, ids []string, scans []any, f func()) error {
	rows, err := s.pool.Query(ctx, query, ids)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, scans, func() error { f(); return nil })
	return err
}

const simRunningJobsSQL = `
SELECT j.id::text, j.template_id::text, COALESCE(j.created_by_id::text, ''), j.notification_count,
       COALESCE((SELECT max(n.job_row_number) + 1 FROM notifications n WHERE n.job_id = j.id), 0)
  FROM jobs j
 WHERE j.job_status = 'in progress' AND j.service_id = ANY($1::uuid[])
 ORDER BY j.created_at, j.id`

func (s *Simulator) adoptRunningJobs(ctx context.Context) error {
	ids := make([]string, len(s.services))
	for i, svc := range s.services {
		ids[i] = svc.id
	}
	var job simRunning
	var templateID, createdBy string
	if err := s.forEach(ctx, simRunningJobsSQL, ids,
		[]any{&job.id, &templateID, &createdBy, &job.total, &job.next}, func() {
			adopted := job
			adopted.template, adopted.createdBy = s.template(templateID), optional(createdBy)
			s.running = append(s.running, &adopted)
		}); err != nil {
		return fmt.Errorf("simulator: load running jobs: %w", err)
	}
	return nil
}

// template finds a loaded template by id; nil for one the simulator does not know (archived).
func (s *Simulator) template(id string) *simTemplate {
	for _, svc := range s.services {
		for _, t := range svc.templates {
			if t.id == id {
				return t
			}
		}
	}
	return nil
}

// tick does one round of the pipeline's work at now: status moves that are due, jobs that
// are due, new notifications, inbound messages and a job now and then. Each kind of write
// is one statement (status moves: one per step), however many rows it carries.
func (s *Simulator) tick(ctx context.Context, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	elapsed := time.Duration(0)
	if !s.last.IsZero() {
		elapsed = min(max(now.Sub(s.last), 0), simMaxCatchUp)
	}
	s.last = now
	seconds := elapsed.Seconds()

	var errs []error
	errs = append(errs, s.moveStatuses(ctx, now))
	errs = append(errs, s.startDueJobs(ctx, now))

	s.dueNew += s.opts.Rate * seconds
	var batch []*simNotification
	for ; s.dueNew >= 1; s.dueNew-- {
		batch = append(batch, s.newNotification(now))
	}
	jobRowsPerTick := max(1, int(max(10, s.opts.Rate)*seconds))
	var finished []string
	var advanced []func()
	for _, job := range s.running {
		if job.template == nil {
			job.next = job.total // its template is gone: nothing more can be sent
		}
		rows := min(job.total-job.next, jobRowsPerTick)
		for i := range rows {
			batch = append(batch, s.jobNotification(job, job.next+i, now))
		}
		advanced = append(advanced, func() { job.next += rows })
	}
	if err := s.insertNotifications(ctx, batch, now); err != nil {
		errs = append(errs, err)
	} else {
		for _, advance := range advanced {
			advance()
		}
	}
	s.running = slices.DeleteFunc(s.running, func(job *simRunning) bool {
		if job.next >= job.total {
			finished = append(finished, job.id)
			return true
		}
		return false
	})
	errs = append(errs, s.finishJobs(ctx, finished, now))

	if len(s.inbound) > 0 {
		s.dueInbound += s.opts.Rate / 20 * seconds
		errs = append(errs, s.receiveInbound(ctx, now))
	}
	s.dueJob += seconds / s.jobInterval().Seconds()
	errs = append(errs, s.scheduleJobs(ctx, now))
	return errors.Join(errs...)
}

// jobInterval is the mean time between two scheduled jobs: a few minutes at a gentle
// rate, more often when busy.
func (s *Simulator) jobInterval() time.Duration {
	interval := time.Duration(300 / s.opts.Rate * float64(time.Second))
	return min(max(interval, 30*time.Second), 5*time.Minute)
}

// writeFailed counts and describes a failed statement; one cut short by the end of the
// run is not a failure.
func (s *Simulator) writeFailed(ctx context.Context, what string, rows int, err error) error {
	if ctx.Err() == nil {
		s.count(func(st *SimulatorStats) { st.WriteErrors++ })
	}
	return fmt.Errorf("simulator: %s (%d rows): %w", what, rows, err)
}

// simNotification is a notification the simulator creates, and the moves it will make.
type simNotification struct {
	id              string
	template        *simTemplate
	to              string // personal data (fake)
	normalisedTo    string // personal data (fake)
	clientReference *string
	keyType         notifyql.KeyType
	status          notifyql.NotificationStatus
	billableUnits   int
	rateMultiplier  *int
	international   bool
	phonePrefix     *string
	postage         *string
	jobID           *string
	jobRow          *int
	apiKeyID        *string
	createdByID     *string
	replyTo         string // personal data (fake)
	personalisation string // personal data (fake): a JSON object
	pageCount       *int
	provider        string
	steps           []simStep
	// letterFile is an uploaded letter's PDF, written to letter_files with the row.
	letterFile *seedletters.Letter
}

// simStep is one planned status move.
type simStep struct {
	to         notifyql.NotificationStatus
	at         time.Time
	pageCount  *int    // set when a PDF is first read
	validation *string // letter_validation for validation-failed letters
}

func (s *Simulator) newNotification(now time.Time) *simNotification {
	r := s.r
	svc := s.services[r.weighted(s.serviceWeights)]
	t := svc.templates[r.weighted(svc.weights)]
	n := &simNotification{template: t, keyType: notifyql.KeyNormal}
	switch {
	case len(svc.keys) > 0 && (len(svc.senders) == 0 || r.chance(0.8)):
		key := svc.keys[r.weighted(svc.keyWeights)]
		n.apiKeyID, n.keyType = &key.id, key.keyType
		if r.chance(0.6) {
			n.clientReference = ptr(fmt.Sprintf("REF-%06d", r.IntN(1_000_000)))
		}
	case len(svc.senders) > 0:
		n.createdByID = ptr(seedPick(r, svc.senders))
	}
	s.fill(n, now, false)
	return n
}

func (s *Simulator) jobNotification(job *simRunning, row int, now time.Time) *simNotification {
	n := &simNotification{template: job.template, keyType: notifyql.KeyNormal, jobID: &job.id, jobRow: ptr(row),
		createdByID: job.createdBy}
	s.fill(n, now, true)
	return n
}

// fill gives n a recipient, a size and its planned statuses, by type (DOMAIN §2.1, §3.4, §6.3).
func (s *Simulator) fill(n *simNotification, now time.Time, ukOnly bool) {
	r, t := s.r, n.template
	n.id = uuid.NewString()
	n.status = notifyql.StatusCreated
	switch t.typ {
	case notifyql.TypeSMS:
		n.provider = seedPick(r, []string{"mmg", "firetext"})
		n.rateMultiplier = ptr(1)
		if !ukOnly && t.service.features["international_sms"] && r.chance(0.05) {
			c := seedPick(r, seedCountries)
			digits := c.prefix + c.lead
			for range c.digits {
				digits += string(rune('0' + r.IntN(10)))
			}
			n.to, n.normalisedTo, n.phonePrefix, n.international = "+"+digits, digits, ptr(c.prefix), true
			if m, ok := s.multipliers[c.prefix]; ok {
				n.rateMultiplier = ptr(m)
			}
		} else {
			line := r.IntN(1000)
			n.to, n.normalisedTo, n.phonePrefix = fmt.Sprintf("07700900%03d", line), fmt.Sprintf("447700900%03d", line), ptr("44")
		}
		n.personalisation = string(seedPersonalisation(r, s.loc, t.fills, now, n.to, nil, false))
		text := fillPlaceholders(r, t.content)
		if t.service.prefixSMS {
			text = t.service.name + ": " + text
		}
		n.billableUnits = notifyql.SMSFragments(text)
		n.replyTo = "GOVUK"
		if t.service.inbound != "" {
			n.replyTo = t.service.inbound
		}
		n.steps = s.planSMS(now, n.international)
	case notifyql.TypeEmail:
		n.provider = "ses"
		first, last := seedPersonName(r)
		n.to = fmt.Sprintf("%s.%s%d@example.org", first, last, r.IntN(100))
		if r.chance(0.9) {
			n.to = strings.ToLower(n.to)
		}
		n.normalisedTo = strings.ToLower(n.to)
		n.replyTo = "replies@notifyql.example"
		n.personalisation = string(seedPersonalisation(r, s.loc, t.fills, now, n.to, nil, false))
		n.steps = s.planEmail(now)
	case notifyql.TypeLetter:
		s.fillLetter(n, now)
	}
}

func (s *Simulator) fillLetter(n *simNotification, now time.Time) {
	r, t := s.r, n.template
	n.provider = "dvla"
	n.rateMultiplier = ptr(1)
	postage := notifyql.Postage(t.postage)
	switch {
	case t.service.features["international_letters"] && r.chance(0.03):
		postage = seedPick(r, []notifyql.Postage{notifyql.PostageEurope, notifyql.PostageRestOfWorld})
	case t.precompiled:
		postage = seedPick(r, []notifyql.Postage{notifyql.PostageSecond, notifyql.PostageSecond, notifyql.PostageFirst, notifyql.PostageEconomy})
	case postage == "":
		postage = notifyql.PostageSecond
	}
	n.postage = ptr(string(postage))
	n.international = postage == notifyql.PostageEurope || postage == notifyql.PostageRestOfWorld
	lines, postcode := seedLetterAddress(r, postage)
	n.replyTo = t.service.name + "\nPO Box 123"
	if t.precompiled {
		// An uploaded PDF is unread until its virus scan: no pages, nothing to bill yet. Its
		// file is stored at once, as received; the recipient is the address it shows.
		if n.createdByID != nil {
			n.clientReference = ptr(fmt.Sprintf("letter-%04d.pdf", r.IntN(10_000)))
		} else if n.clientReference == nil {
			n.clientReference = ptr(fmt.Sprintf("PDF-%06d", r.IntN(1_000_000)))
		}
		n.status = notifyql.StatusPendingVirusCheck
		at := now.Add(r.within(2*time.Second, 6*time.Second))
		outcome := seedPickStatus(r, []seedStatusWeight{{notifyql.StatusCreated, 95},
			{notifyql.StatusVirusScanFailed, 3}, {notifyql.StatusValidationFailed, 2}})
		var choices []*seedletters.Letter
		for i := range seedletters.Letters {
			l := &seedletters.Letters[i]
			if (outcome == notifyql.StatusValidationFailed) == !l.Valid() && (!l.Valid() || seedFileFitsPostage(l, postage)) {
				choices = append(choices, l)
			}
		}
		n.letterFile = seedPick(r, choices)
		if len(n.letterFile.Address) > 0 {
			lines = n.letterFile.Address
			postcode = seedIsPostcodeLine(lines[len(lines)-1])
		}
		n.to = strings.Join(lines, "\n")
		n.normalisedTo = seedNormaliseAddress(n.to)
		n.personalisation = string(seedPersonalisation(r, s.loc, t.fills, now, n.to, lines, postcode))
		pages := n.letterFile.Pages
		switch outcome {
		case notifyql.StatusVirusScanFailed:
			n.steps = []simStep{{to: notifyql.StatusVirusScanFailed, at: at}}
		case notifyql.StatusValidationFailed:
			message := n.letterFile.Message
			if message == "not-a-real-uk-postcode" && t.service.features["international_letters"] {
				message = "not-a-real-uk-postcode-or-country"
			}
			validation := fmt.Sprintf(`{"message": %q, "page_count": %d, "invalid_pages": %s}`, message, pages,
				strings.Join(strings.Fields(fmt.Sprint(n.letterFile.InvalidPages)), ", "))
			n.steps = []simStep{{to: notifyql.StatusValidationFailed, at: at, pageCount: ptr(pages), validation: &validation}}
		default:
			n.steps = append([]simStep{{to: notifyql.StatusCreated, at: at, pageCount: ptr(pages)}}, s.planLetter(at)...)
		}
		return
	}
	n.to = strings.Join(lines, "\n")
	n.normalisedTo = seedNormaliseAddress(n.to)
	n.personalisation = string(seedPersonalisation(r, s.loc, t.fills, now, n.to, lines, postcode))
	pages := r.between(1, 4)
	n.pageCount = ptr(pages)
	n.billableUnits = min((pages+1)/2, 5)
	n.steps = s.planLetter(now)
}

// validationFailed fails a templated letter the one way it can fail: by being too long
// (RENDERING.md §5.7). An uploaded letter fails by its file's fault (fillLetter).
func (s *Simulator) validationFailed(at time.Time) simStep {
	pages := s.r.between(11, 14)
	validation := fmt.Sprintf(`{"message": "letter-too-long", "page_count": %d, "invalid_pages": []}`, pages)
	return simStep{to: notifyql.StatusValidationFailed, at: at, pageCount: ptr(pages), validation: &validation}
}

// The plans compress the real pipeline's minutes and days into seconds, keeping its order:
// created → sending → an outcome, SMS sometimes pending first, international SMS mostly
// sent (no receipt), letters printed and despatched, a few of them returned.

func (s *Simulator) planEmail(now time.Time) []simStep {
	r := s.r
	sending := now.Add(r.within(100*time.Millisecond, time.Second))
	outcome := seedPickStatus(r, []seedStatusWeight{{notifyql.StatusDelivered, 930}, {notifyql.StatusTemporaryFailure, 30},
		{notifyql.StatusPermanentFailure, 25}, {notifyql.StatusTechnicalFailure, 10}, {notifyql.StatusSent, 5}})
	return []simStep{{to: notifyql.StatusSending, at: sending},
		{to: outcome, at: sending.Add(r.within(500*time.Millisecond, 6*time.Second))}}
}

func (s *Simulator) planSMS(now time.Time, international bool) []simStep {
	r := s.r
	at := now.Add(r.within(100*time.Millisecond, time.Second))
	steps := []simStep{{to: notifyql.StatusSending, at: at}}
	if international {
		outcome := seedPickStatus(r, []seedStatusWeight{{notifyql.StatusSent, 85}, {notifyql.StatusDelivered, 7},
			{notifyql.StatusPermanentFailure, 4}, {notifyql.StatusTechnicalFailure, 3}, {notifyql.StatusTemporaryFailure, 1}})
		return append(steps, simStep{to: outcome, at: at.Add(r.within(500*time.Millisecond, 4*time.Second))})
	}
	if r.chance(0.35) {
		at = at.Add(r.within(500*time.Millisecond, 2*time.Second))
		steps = append(steps, simStep{to: notifyql.StatusPending, at: at})
	}
	outcome := seedPickStatus(r, []seedStatusWeight{{notifyql.StatusDelivered, 920}, {notifyql.StatusTemporaryFailure, 45},
		{notifyql.StatusPermanentFailure, 20}, {notifyql.StatusTechnicalFailure, 15}})
	return append(steps, simStep{to: outcome, at: at.Add(r.within(500*time.Millisecond, 5*time.Second))})
}

// planLetter plans a letter from created: a few are cancelled or fail validation before
// the print run; the rest are printed, then despatched or rejected, and a few returned.
func (s *Simulator) planLetter(created time.Time) []simStep {
	r := s.r
	printed := created.Add(r.within(5*time.Second, 15*time.Second))
	switch seedPickStatus(r, []seedStatusWeight{{notifyql.StatusSending, 96},
		{notifyql.StatusCancelled, 2}, {notifyql.StatusValidationFailed, 2}}) {
	case notifyql.StatusCancelled:
		return []simStep{{to: notifyql.StatusCancelled, at: printed}}
	case notifyql.StatusValidationFailed:
		return []simStep{s.validationFailed(printed)}
	}
	despatched := printed.Add(r.within(10*time.Second, 30*time.Second))
	outcome := seedPickStatus(r, []seedStatusWeight{{notifyql.StatusDelivered, 965},
		{notifyql.StatusPermanentFailure, 20}, {notifyql.StatusTechnicalFailure, 15}})
	steps := []simStep{{to: notifyql.StatusSending, at: printed}, {to: outcome, at: despatched}}
	if outcome == notifyql.StatusDelivered && r.chance(0.03) {
		steps = append(steps, simStep{to: notifyql.StatusReturnedLetter, at: despatched.Add(r.within(10*time.Second, 30*time.Second))})
	}
	return steps
}

// fillPlaceholders stands in personalisation for a template's ((placeholders)).
func fillPlaceholders(r seedRand, content string) string {
	var b strings.Builder
	for {
		start := strings.Index(content, "((")
		if start < 0 {
			break
		}
		end := strings.Index(content[start:], "))")
		if end < 0 {
			break
		}
		name := strings.ToLower(content[start+2 : start+end])
		b.WriteString(content[:start])
		if strings.Contains(name, "name") {
			first, _ := seedPersonName(r)
			b.WriteString(first)
		} else {
			fmt.Fprintf(&b, "%06d", r.IntN(1_000_000))
		}
		content = content[start+end+2:]
	}
	b.WriteString(content)
	return b.String()
}

func ptr[T any](v T) *T { return &v }

// optional is nil for "", the way a NULL id was read.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const simInsertNotificationsSQL = `
INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
                           normalised_to, client_reference, key_type, notification_status, billable_units,
                           rate_multiplier, international, phone_prefix, postage, created_at, job_id,
                           job_row_number, api_key_id, created_by_id, reply_to_text, page_count,
                           personalisation)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::int[], $12::numeric[], $13::bool[], $14::text[],
                     $15::text[], $16::timestamp[], $17::uuid[], $18::int[], $19::uuid[], $20::uuid[],
                     $21::text[], $22::int[], $23::jsonb[])`

// simInsertLetterFilesSQL stores uploaded letters' files beside their new rows.
const simInsertLetterFilesSQL = `
INSERT INTO letter_files (notification_id, pdf, created_at)
SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::timestamp[])`

// insertNotifications creates a batch in one statement and queues their status moves.
func (s *Simulator) insertNotifications(ctx context.Context, batch []*simNotification, now time.Time) error {
	if len(batch) == 0 {
		return nil
	}
	size := len(batch)
	var (
		ids, services, templates, types, tos, normalised = make([]string, 0, size), make([]string, 0, size),
			make([]string, 0, size), make([]string, 0, size), make([]string, 0, size), make([]string, 0, size)
		references, prefixes, postages, jobIDs, keyIDs, creators = make([]*string, 0, size), make([]*string, 0, size),
			make([]*string, 0, size), make([]*string, 0, size), make([]*string, 0, size), make([]*string, 0, size)
		keyTypes, statuses, replyTos     = make([]string, 0, size), make([]string, 0, size), make([]string, 0, size)
		personalisations                 = make([]string, 0, size)
		fileIDs                          []string
		files                            [][]byte
		fileTimes                        []time.Time
		versions, units                  = make([]int, 0, size), make([]int, 0, size)
		multipliers, jobRows, pageCounts = make([]*int, 0, size), make([]*int, 0, size), make([]*int, 0, size)
		internationals                   = make([]bool, 0, size)
		createdAts                       = make([]time.Time, 0, size)
	)
	for _, n := range batch {
		ids, services, templates = append(ids, n.id), append(services, n.template.service.id), append(templates, n.template.id)
		versions, types = append(versions, n.template.version), append(types, string(n.template.typ))
		tos, normalised, references = append(tos, n.to), append(normalised, n.normalisedTo), append(references, n.clientReference)
		keyTypes, statuses, units = append(keyTypes, string(n.keyType)), append(statuses, string(n.status)), append(units, n.billableUnits)
		multipliers, internationals, prefixes = append(multipliers, n.rateMultiplier), append(internationals, n.international), append(prefixes, n.phonePrefix)
		postages, createdAts, jobIDs, jobRows = append(postages, n.postage), append(createdAts, now), append(jobIDs, n.jobID), append(jobRows, n.jobRow)
		keyIDs, creators, replyTos, pageCounts = append(keyIDs, n.apiKeyID), append(creators, n.createdByID), append(replyTos, n.replyTo), append(pageCounts, n.pageCount)
		personalisations = append(personalisations, n.personalisation)
		if n.letterFile != nil {
			fileIDs, files, fileTimes = append(fileIDs, n.id), append(files, n.letterFile.PDF()), append(fileTimes, now)
		}
	}
	if _, err := s.pool.Exec(ctx, simInsertNotificationsSQL, ids, services, templates, versions, types, tos, normalised,
		references, keyTypes, statuses, units, multipliers, internationals, prefixes, postages, createdAts, jobIDs,
		jobRows, keyIDs, creators, replyTos, pageCounts, personalisations); err != nil {
		return s.writeFailed(ctx, "create notifications", size, err)
	}
	for _, n := range batch {
		if len(n.steps) > 0 {
			heap.Push(&s.inflight, n)
		}
	}
	s.count(func(st *SimulatorStats) { st.Notifications += int64(size) })
	if len(fileIDs) > 0 {
		// A statement of its own, after the rows are queued for their moves: a failure here
		// leaves letters without a preview, not a batch that never moves on.
		if _, err := s.pool.Exec(ctx, simInsertLetterFilesSQL, fileIDs, files, fileTimes); err != nil {
			return s.writeFailed(ctx, "store letter files", len(fileIDs), err)
		}
	}
	return nil
}

// A status move changes only rows still in the status the simulator left them in: a
// letter a user cancelled in the meantime stays cancelled.
const simMoveStatusSQL = `
UPDATE notifications n
   SET notification_status = $2::text,
       updated_at = $3,
       sent_at = CASE WHEN $2::text = 'sending' THEN $3 ELSE n.sent_at END,
       sent_by = CASE WHEN $2::text = 'sending' THEN v.sent_by ELSE n.sent_by END,
       page_count = COALESCE(v.page_count, n.page_count),
       billable_units = CASE WHEN $2::text IN ('validation-failed', 'virus-scan-failed') THEN 0
                             WHEN v.page_count IS NOT NULL THEN least((v.page_count + 1) / 2, 5)
                             ELSE n.billable_units END,
       letter_validation = COALESCE(v.letter_validation::jsonb, n.letter_validation)
  FROM unnest($4::uuid[], $5::text[], $6::int[], $7::text[]) AS v(id, sent_by, page_count, letter_validation)
 WHERE n.id = v.id AND n.notification_status = $1::text`

type simMove struct{ from, to notifyql.NotificationStatus }

// moveStatuses makes every move that is due: one UPDATE per step (from → to), a
// notification making at most one move per tick so that its moves keep their order.
func (s *Simulator) moveStatuses(ctx context.Context, now time.Time) error {
	groups := map[simMove][]*simNotification{}
	for s.inflight.Len() > 0 && !s.inflight[0].steps[0].at.After(now) {
		n := heap.Pop(&s.inflight).(*simNotification)
		move := simMove{n.status, n.steps[0].to}
		groups[move] = append(groups[move], n)
	}
	moves := make([]simMove, 0, len(groups))
	for m := range groups {
		moves = append(moves, m)
	}
	slices.SortFunc(moves, func(a, b simMove) int {
		return strings.Compare(string(a.from)+">"+string(a.to), string(b.from)+">"+string(b.to))
	})
	var errs []error
	for _, move := range moves {
		group := groups[move]
		ids, sentBy := make([]string, len(group)), make([]string, len(group))
		pageCounts, validations := make([]*int, len(group)), make([]*string, len(group))
		for i, n := range group {
			ids[i], sentBy[i] = n.id, n.provider
			pageCounts[i], validations[i] = n.steps[0].pageCount, n.steps[0].validation
		}
		tag, err := s.pool.Exec(ctx, simMoveStatusSQL, string(move.from), string(move.to), now, ids, sentBy, pageCounts, validations)
		if err != nil {
			errs = append(errs, s.writeFailed(ctx, fmt.Sprintf("move notifications from %s to %s", move.from, move.to), len(group), err))
			for _, n := range group {
				if s.failedMoves[n.id]++; s.failedMoves[n.id] < simMaxMoveAttempts {
					n.steps[0].at = now.Add(simTick)
					heap.Push(&s.inflight, n)
				} else {
					delete(s.failedMoves, n.id)
				}
			}
			continue
		}
		s.count(func(st *SimulatorStats) { st.StatusChanges += tag.RowsAffected() })
		for _, n := range group {
			delete(s.failedMoves, n.id)
			n.status, n.steps = move.to, n.steps[1:]
			if len(n.steps) > 0 {
				// A later step never lands in this tick.
				n.steps[0].at = later(n.steps[0].at, now)
				heap.Push(&s.inflight, n)
			}
		}
	}
	return errors.Join(errs...)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b.Add(time.Microsecond)
}

const simStartJobsSQL = `
UPDATE jobs
   SET job_status = 'in progress', processing_started = $1, updated_at = $1
 WHERE job_status = 'scheduled' AND scheduled_for <= $1 AND service_id = ANY($2::uuid[])
RETURNING id::text, template_id::text, COALESCE(created_by_id::text, ''), notification_count`

// startDueJobs starts the scheduled jobs whose time has come, the simulator's own and any
// other: the pipeline runs every job.
func (s *Simulator) startDueJobs(ctx context.Context, now time.Time) error {
	ids := make([]string, len(s.services))
	for i, svc := range s.services {
		ids[i] = svc.id
	}
	rows, err := s.pool.Query(ctx, simStartJobsSQL, now, ids)
	if err != nil {
		return s.writeFailed(ctx, "start due jobs", 0, err)
	}
	var job simRunning
	var templateID, createdBy string
	started := 0
	if _, err := pgx.ForEachRow(rows, []any{&job.id, &templateID, &createdBy, &job.total}, func() error {
		j := job
		j.template, j.createdBy = s.template(templateID), optional(createdBy)
		s.running = append(s.running, &j)
		started++
		return nil
	}); err != nil {
		return s.writeFailed(ctx, "start due jobs", 0, err)
	}
	s.count(func(st *SimulatorStats) { st.JobsStarted += int64(started) })
	return nil
}

const simFinishJobsSQL = `
UPDATE jobs SET job_status = 'finished', processing_finished = $2, updated_at = $2
 WHERE id = ANY($1::uuid[]) AND job_status = 'in progress'`

func (s *Simulator) finishJobs(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	tag, err := s.pool.Exec(ctx, simFinishJobsSQL, ids, now)
	if err != nil {
		return s.writeFailed(ctx, "finish jobs", len(ids), err)
	}
	s.count(func(st *SimulatorStats) { st.JobsFinished += tag.RowsAffected() })
	return nil
}

const simInsertInboundSQL = `
INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, provider_reference,
                         provider_date, created_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::timestamp[], $9::timestamp[])`

// simReplies are what people text back.
var simReplies = []string{"Yes", "No thanks", "STOP", "Can I change my appointment?", "Thank you", "Confirmed",
	"Please call me back", "Wrong number", "What time is it?", "I have already paid"}

// receiveInbound stores the text messages owed to the rate, from the same drama-range
// numbers the outbound texts go to, so that conversations join up.
func (s *Simulator) receiveInbound(ctx context.Context, now time.Time) error {
	var ids, services, numbers, senders, contents, providers, references []string
	var providerDates, createdAts []time.Time
	r := s.r
	for ; s.dueInbound >= 1; s.dueInbound-- {
		svc := seedPick(r, s.inbound)
		ids, services, numbers = append(ids, uuid.NewString()), append(services, svc.id), append(numbers, svc.inbound)
		senders = append(senders, fmt.Sprintf("447700900%03d", r.IntN(1000)))
		contents, providers = append(contents, seedPick(r, simReplies)), append(providers, "mmg")
		references = append(references, fmt.Sprintf("mmg-%d", r.Uint32()))
		providerDates, createdAts = append(providerDates, now.Add(-r.within(0, 2*time.Second))), append(createdAts, now)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, simInsertInboundSQL, ids, services, numbers, senders, contents, providers,
		references, providerDates, createdAts); err != nil {
		return s.writeFailed(ctx, "receive inbound text messages", len(ids), err)
	}
	s.count(func(st *SimulatorStats) { st.InboundSMS += int64(len(ids)) })
	return nil
}

const simScheduleJobSQL = `
INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, notification_count,
                  job_status, scheduled_for, created_by_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8, $9)`

var simJobFiles = []string{"appointment-reminders", "renewal-notices", "payment-confirmations",
	"weekly-updates", "survey-invitations", "collection-changes"}

// scheduleJobs uploads the jobs owed, each to run a few minutes later, as a user
// scheduling a spreadsheet would.
func (s *Simulator) scheduleJobs(ctx context.Context, now time.Time) error {
	r := s.r
	var errs []error
	for ; s.dueJob >= 1; s.dueJob-- {
		svc := s.services[r.weighted(s.serviceWeights)]
		if len(svc.jobTemplate) == 0 {
			continue
		}
		t := seedPick(r, svc.jobTemplate)
		rows := r.between(10, 60)
		if t.typ == notifyql.TypeLetter {
			rows = r.between(5, 20)
		}
		var createdBy *string
		if len(svc.senders) > 0 {
			createdBy = ptr(seedPick(r, svc.senders))
		}
		file := fmt.Sprintf("%s-%s.csv", seedPick(r, simJobFiles), now.In(s.loc).Format("2006-01-02-1504"))
		scheduledFor := now.Add(r.within(2*time.Minute, 5*time.Minute)).Truncate(time.Second)
		if _, err := s.pool.Exec(ctx, simScheduleJobSQL, uuid.NewString(), svc.id, t.id, t.version, file, rows,
			scheduledFor, createdBy, now); err != nil {
			errs = append(errs, s.writeFailed(ctx, "schedule a job", 1, err))
			continue
		}
		s.count(func(st *SimulatorStats) { st.JobsScheduled++ })
	}
	return errors.Join(errs...)
}

// simQueue orders notifications by their next move.
type simQueue []*simNotification

func (q simQueue) Len() int           { return len(q) }
func (q simQueue) Less(i, j int) bool { return q[i].steps[0].at.Before(q[j].steps[0].at) }
func (q simQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)        { *q = append(*q, x.(*simNotification)) }
func (q *simQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return n
}
