package seed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"notifyql"
	"notifyql/postgres/seed/internal/seedletters"
)

// The demo profile: a handful of services and memorable users, every type, status and
// postage, international SMS, precompiled letters, an inbox, jobs and keys of every kind.

// seedBuilder makes world entities with ids and times drawn from one stream.
type seedBuilder struct {
	s     *seeder
	r     seedRand
	world *seedWorld
	born  time.Time // when the services and templates were made
}

func (b *seedBuilder) user(name, email string, platformAdmin bool) *seedUser {
	u := &seedUser{id: b.r.id(), name: name, email: email, platformAdmin: platformAdmin,
		mobile: fmt.Sprintf("07700900%03d", b.r.IntN(1000)), createdAt: b.born}
	b.world.users = append(b.world.users, u)
	return u
}

func (b *seedBuilder) org(name, orgType string, users ...*seedUser) *seedOrg {
	o := &seedOrg{id: b.r.id(), name: name, orgType: orgType, createdAt: b.born, users: users}
	b.world.orgs = append(b.world.orgs, o)
	return o
}

func (b *seedBuilder) service(svc *seedService) *seedService {
	svc.id = b.r.id()
	svc.createdAt = b.born
	if svc.active && !svc.restricted {
		svc.goLiveAt = b.born.Add(14 * 24 * time.Hour)
	}
	if svc.org != nil && svc.orgType == "" {
		svc.orgType = svc.org.orgType
	}
	svc.crown = svc.orgType == "central" || svc.orgType == "nhs_central"
	b.world.services = append(b.world.services, svc)
	return svc
}

func (b *seedBuilder) member(svc *seedService, u *seedUser, permissions ...string) {
	svc.members = append(svc.members, seedMember{user: u, permissions: permissions})
}

// template adds a template; revised templates are at version 2 since three days ago.
func (b *seedBuilder) template(svc *seedService, typ notifyql.NotificationType, name string, weight float64, revised bool) *seedTemplate {
	t := &seedTemplate{id: b.r.id(), service: svc, name: name, typ: typ, version: 1, weight: weight,
		createdAt: b.born, createdBy: svc.createdBy}
	if revised {
		t.version, t.updatedAt = 2, b.s.now.Add(-72*time.Hour).Truncate(time.Second)
	}
	switch typ {
	case notifyql.TypeEmail:
		t.subject = name
		t.content = "Dear ((name)),\n\n" + name + ". Reference ((reference)).\n\nThank you."
	case notifyql.TypeSMS:
		t.content = name + ": ((code)). Do not share this message."
	case notifyql.TypeLetter:
		t.subject = name
		t.content = "Dear ((name)),\n\nPlease read this letter about: " + strings.ToLower(name) + "."
		t.postage, t.sheets = notifyql.PostageSecond, 1
	}
	svc.templates = append(svc.templates, t)
	return t
}

func (b *seedBuilder) apiKey(svc *seedService, name string, keyType notifyql.KeyType) *seedAPIKey {
	k := &seedAPIKey{id: b.r.id(), service: svc, name: name, keyType: keyType, createdAt: b.born, createdBy: svc.createdBy}
	svc.keys = append(svc.keys, k)
	return k
}

func (s *seeder) seedDemo(ctx context.Context) ([]User, error) {
	first := (notifyql.FinancialYearOf(s.now, s.london) - 1).FirstDay()
	b := &seedBuilder{s: s, r: newSeedRand(s.opts.Seed, seedStreamWorld), world: &seedWorld{},
		born: notifyql.LondonMidnight(first.AddDays(-30), s.london).Add(10 * time.Hour)}

	admin := b.user("Alex Admin", "admin@notifyql.example", true)
	manager := b.user("Morgan Manager", "manager@notifyql.example", false)
	viewer := b.user("Val Viewer", "viewer@notifyql.example", false)
	sender := b.user("Sam Sender", "sender@notifyql.example", false)
	member := b.user("Mel Member", "member@notifyql.example", false)
	orgUser := b.user("Olu Orguser", "orguser@notifyql.example", false)
	other := b.user("Otto Other", "other@notifyql.example", false)
	trial := b.user("Tia Trial", "trial@notifyql.example", false)

	department := b.org("Department for Demonstrations", "central", orgUser)
	council := b.org("Exampleshire County Council", "local")

	central := b.service(&seedService{name: "Demo Department Notifications", org: department, active: true,
		prefixSMS: true, createdBy: manager, inbound: "07700900999", historyDays: 14,
		features:  []string{"email", "sms", "letter", "international_sms", "inbound_sms", "international_letters"},
		retention: map[notifyql.NotificationType]int{notifyql.TypeSMS: 30},
		volume:    map[notifyql.NotificationType]float64{notifyql.TypeEmail: 300, notifyql.TypeSMS: 400, notifyql.TypeLetter: 40}})
	b.member(central, manager, seedAllPermissions...)
	b.member(central, viewer, "view_activity")
	b.member(central, sender, "send_texts", "send_emails", "send_letters")
	b.member(central, member)

	letters := b.service(&seedService{name: "Exampleshire Council Letters", org: council, active: true,
		prefixSMS: false, createdBy: other, historyDays: 7,
		features: []string{"email", "letter", "international_letters"},
		volume:   map[notifyql.NotificationType]float64{notifyql.TypeEmail: 60, notifyql.TypeLetter: 150}})
	b.member(letters, other, seedAllPermissions...)

	pilot := b.service(&seedService{name: "Pilot Texting Trial", active: true, restricted: true, prefixSMS: true,
		createdBy: trial, features: []string{"email", "sms"},
		volume: map[notifyql.NotificationType]float64{notifyql.TypeEmail: 2, notifyql.TypeSMS: 5}})
	b.member(pilot, trial, seedAllPermissions...)

	closed := b.service(&seedService{name: "Closed Legacy Service", org: department, active: false, prefixSMS: true,
		createdBy: trial, features: []string{"email"},
		volume: map[notifyql.NotificationType]float64{notifyql.TypeEmail: 20}})
	b.member(closed, trial, "view_activity")

	// Central government: every type.
	b.template(central, notifyql.TypeEmail, "Appointment confirmation", 5, true).use(seedAppointmentEmail)
	b.template(central, notifyql.TypeEmail, "Password reset", 3, false).use(seedPasswordEmail).redact = true
	b.template(central, notifyql.TypeEmail, "Monthly newsletter", 1, false).use(seedNewsletterEmail)
	smsReminder := b.template(central, notifyql.TypeSMS, "Appointment reminder", 5, true).use(seedReminderSMS)
	b.template(central, notifyql.TypeSMS, "Verification code", 4, false).use(seedCodeSMS).redact = true
	// Three fragments long.
	b.template(central, notifyql.TypeSMS, "Important change to your benefit payments", 1, false).use(seedBenefitSMS)
	paymentLetter := b.template(central, notifyql.TypeLetter, "Payment reminder letter", 3, false).use(seedPaymentLetter)
	paymentLetter.sheets = 2
	urgent := b.template(central, notifyql.TypeLetter, "Urgent notice", 1, false).use(seedUrgentLetter)
	urgent.postage = notifyql.PostageFirst
	statement := b.template(central, notifyql.TypeLetter, "Annual statement", 1, false).use(seedStatementLetter)
	statement.postage, statement.sheets = notifyql.PostageEconomy, 3
	centralLive := b.apiKey(central, "Live key", notifyql.KeyNormal)
	b.apiKey(central, "Team key", notifyql.KeyTeam)
	b.apiKey(central, "Test key", notifyql.KeyTest)
	revoked := b.apiKey(central, "Old live key", notifyql.KeyNormal)
	revoked.expiry = s.now.Add(-10 * 24 * time.Hour).Truncate(time.Second)

	// Local authority: mostly letters, many of them uploaded PDFs.
	precompiled := b.template(letters, notifyql.TypeLetter, notifyql.PrecompiledLetterName, 5, false)
	precompiled.hidden, precompiled.sheets, precompiled.postage, precompiled.content = true, 0, "", ""
	taxBill := b.template(letters, notifyql.TypeLetter, "Council tax bill", 3, false).use(seedTaxLetter)
	taxBill.welshSubject, taxBill.welshContent, taxBill.sheets = seedTaxLetterWelsh.subject, seedTaxLetterWelsh.content, 2
	bins := b.template(letters, notifyql.TypeLetter, "Bin collection change", 1, false).use(seedBinsLetter)
	bins.postage = notifyql.PostageEconomy
	b.template(letters, notifyql.TypeEmail, "Council tax e-billing", 2, false).use(seedBillingEmail)
	lettersLive := b.apiKey(letters, "Council live key", notifyql.KeyNormal)

	b.template(pilot, notifyql.TypeSMS, "Trial message", 1, false).use(seedTrialSMS)
	b.template(pilot, notifyql.TypeEmail, "Trial welcome", 1, false).use(seedSimpleEmail)
	b.apiKey(pilot, "Trial team key", notifyql.KeyTeam)
	b.template(closed, notifyql.TypeEmail, "Legacy notice", 1, false).use(seedSimpleEmail)

	if err := s.insertWorld(ctx, b.r, b.world); err != nil {
		return nil, err
	}

	// Jobs: finished uploads within retention, one running now and one scheduled.
	jr := newSeedRand(s.opts.Seed, seedStreamJobs)
	at := func(ago time.Duration) time.Time { return s.now.Add(-ago).Truncate(time.Second) }
	jobs := []*seedJob{
		{template: smsReminder, fileName: "appointment-reminders.csv", rows: 120, status: "finished", createdAt: at(50 * time.Hour)},
		{template: central.templates[0], fileName: "confirmations-week-1.csv", rows: 80, status: "finished", createdAt: at(125 * time.Hour)},
		{template: smsReminder, fileName: "reminders-last-month.csv", rows: 50, status: "finished", createdAt: at(20 * 24 * time.Hour)},
		{template: paymentLetter, fileName: "payment-letters.csv", rows: 30, status: "finished", createdAt: at(76 * time.Hour)},
		{template: taxBill, fileName: "council-tax-bills.csv", rows: 60, status: "finished", createdAt: at(98 * time.Hour)},
		{template: smsReminder, fileName: "today-reminders.csv", rows: 40, status: "in progress", createdAt: at(2 * time.Second)},
		{template: smsReminder, fileName: "next-week-reminders.csv", rows: 200, status: "scheduled",
			createdAt: at(3 * time.Hour), scheduledFor: notifyql.LondonMidnight(s.today.AddDays(1), s.london).Add(9 * time.Hour)},
		{template: central.templates[0], fileName: "cancelled-upload.csv", rows: 15, status: "cancelled",
			createdAt: at(30 * time.Hour), scheduledFor: at(6 * time.Hour)},
	}
	var sources []func() *seedNotification
	for _, j := range jobs {
		j.id, j.service = jr.id(), j.template.service
		j.createdBy = sender
		if j.service != central {
			j.createdBy = other
		}
		if j.status == "finished" || j.status == "in progress" {
			j.startedAt = j.createdAt.Add(time.Second)
		}
		if j.status == "in progress" {
			// Only the rows sent so far exist.
			j.rows = int(s.now.Sub(j.startedAt)/seedJobRowGap) + 1
			j.rows = min(j.rows, 40)
		}
		sources = append(sources, s.jobRows(jr, j))
	}
	if err := s.insertJobs(ctx, jobs); err != nil {
		return nil, err
	}

	// Every status each type can have, every postage and some international SMS, so the
	// demo always shows them.
	sr := newSeedRand(s.opts.Seed, seedStreamShowcase)
	var showcase []seedRequest
	for _, typ := range notifyql.NotificationTypes {
		t := map[notifyql.NotificationType]*seedTemplate{notifyql.TypeEmail: central.templates[1],
			notifyql.TypeSMS: smsReminder, notifyql.TypeLetter: paymentLetter}[typ]
		for _, status := range seedStatusesByType[typ] {
			req := seedRequest{template: t, apiKey: centralLive, status: status, international: 1,
				createdAt: s.now.Add(-seedShowcaseAge(typ, status)).Add(-sr.within(0, time.Minute))}
			if status == notifyql.StatusPendingVirusCheck || status == notifyql.StatusVirusScanFailed {
				req.template, req.apiKey = precompiled, lettersLive
			}
			showcase = append(showcase, req)
		}
	}
	for i, postage := range notifyql.Postages {
		showcase = append(showcase, seedRequest{template: precompiled, apiKey: lettersLive, postage: postage,
			status: notifyql.StatusDelivered, createdAt: s.now.Add(-time.Duration(80+i) * time.Hour)})
	}
	for i := range 3 {
		showcase = append(showcase, seedRequest{template: smsReminder, apiKey: centralLive, international: 2,
			createdAt: s.now.Add(-time.Duration(5+i) * time.Hour)})
	}
	// Every uploaded file, valid and invalid, at least once, so the demo shows each
	// preview and each validation fault.
	for i := range seedletters.Letters {
		l := &seedletters.Letters[i]
		req := seedRequest{template: precompiled, apiKey: lettersLive, letterFile: l, status: notifyql.StatusDelivered,
			createdAt: s.now.Add(-time.Duration(30+i) * time.Hour)}
		if !l.Valid() {
			req.status = notifyql.StatusValidationFailed
		}
		req.postage = notifyql.PostageSecond
		if n := len(l.Address); n > 0 && l.Address[n-1] == "France" {
			req.postage = notifyql.PostageEurope
		} else if n > 0 && l.Address[n-1] == "Canada" {
			req.postage = notifyql.PostageRestOfWorld
		}
		showcase = append(showcase, req)
	}
	var showcaseRow seedNotification
	sources = append(sources, func() *seedNotification {
		if len(showcase) == 0 {
			return nil
		}
		s.makeNotification(sr, showcase[0], &showcaseRow)
		showcase = showcase[1:]
		return &showcaseRow
	})

	live := map[*seedService]map[notifyql.NotificationType]int{
		central: {notifyql.TypeEmail: 900, notifyql.TypeSMS: 1300, notifyql.TypeLetter: 150},
		letters: {notifyql.TypeEmail: 150, notifyql.TypeLetter: 500},
		pilot:   {notifyql.TypeEmail: 10, notifyql.TypeSMS: 25},
	}
	history := map[*seedService]map[notifyql.NotificationType]int{
		central: {notifyql.TypeEmail: 250, notifyql.TypeSMS: 200, notifyql.TypeLetter: 40},
		letters: {notifyql.TypeEmail: 40, notifyql.TypeLetter: 120},
	}
	liveSources, historySources := s.trafficSources(b.world.services, live, history)
	if _, err := s.copyNotifications(ctx, seedChain(append(sources, liveSources...)...), false); err != nil {
		return nil, err
	}
	if _, err := s.copyNotifications(ctx, seedChain(historySources...), true); err != nil {
		return nil, err
	}

	// Inbox: recent messages within the week, older ones within the 30-day sms retention,
	// and older still only in history.
	ir := newSeedRand(s.opts.Seed, seedStreamInbound)
	week := notifyql.WindowStart(s.now, 7, s.london)
	month := notifyql.WindowStart(s.now, 30, s.london)
	if _, err := s.copyBatches(ctx, "inbound_sms", seedInboundColumns, seedChainRows(
		s.inboundSource(ir, central, 60, 40, week, s.now),
		s.inboundSource(ir, central, 40, 40, month, week),
	)); err != nil {
		return nil, err
	}
	older := s.inboundSource(ir, central, 12, 40, month.Add(-60*24*time.Hour), month)
	if _, err := s.copyBatches(ctx, "inbound_sms_history", []string{"id", "service_id", "notify_number", "provider",
		"provider_reference", "provider_date", "created_at"}, func() []any {
		row := older()
		if row == nil {
			return nil
		}
		return append(row[:3:3], row[5:]...)
	}); err != nil {
		return nil, err
	}

	if err := s.demoReportRequests(ctx, central, manager); err != nil {
		return nil, err
	}
	if err := s.buildAllFacts(ctx, b.world.services, first); err != nil {
		return nil, err
	}

	summaries := map[*seedUser]string{
		admin:   "platform admin: sees every service, including the inactive one",
		manager: "every permission on " + central.name,
		viewer:  "view_activity only on " + central.name,
		sender:  "send_texts, send_emails and send_letters only on " + central.name,
		member:  "member of " + central.name + " with no permissions",
		orgUser: "organisation user of " + department.name + ", not a member of its services",
		other:   "every permission on " + letters.name + " only",
		trial:   "every permission on the trial service " + pilot.name + "; view_activity on the inactive " + closed.name,
	}
	return seedDescribeUsers(b.world, []*seedUser{admin, manager, viewer, sender, member, orgUser, other, trial}, summaries), nil
}

// seedShowcaseAge is how long ago a notification with the given status plausibly was created.
func seedShowcaseAge(typ notifyql.NotificationType, status notifyql.NotificationStatus) time.Duration {
	switch status {
	case notifyql.StatusCreated, notifyql.StatusPendingVirusCheck:
		return 2 * time.Minute
	case notifyql.StatusSending:
		if typ == notifyql.TypeLetter {
			return 26 * time.Hour
		}
		return time.Minute
	case notifyql.StatusPending:
		return 3 * time.Minute
	case notifyql.StatusCancelled:
		return 24 * time.Hour
	}
	return 52 * time.Hour
}

// trafficSources makes the one-off and API traffic of each service: live rows inside each
// type's retention window and history rows in the days before it.
func (s *seeder) trafficSources(services []*seedService, live, history map[*seedService]map[notifyql.NotificationType]int) (liveSources, historySources []func() *seedNotification) {
	for i, svc := range services {
		lr := newSeedRand(s.opts.Seed, seedStreamTraffic+uint64(i))
		hr := newSeedRand(s.opts.Seed, seedStreamHistory+uint64(i))
		for _, typ := range notifyql.NotificationTypes {
			retention := svc.retentionDays(typ)
			windowStart := notifyql.WindowStart(s.now, retention, s.london)
			if n := live[svc][typ]; n > 0 {
				liveSources = append(liveSources, s.newTraffic(lr, svc, typ, n, windowStart, s.now).next)
			}
			if n := history[svc][typ]; n > 0 && svc.historyDays > 0 {
				from := notifyql.WindowStart(s.now, retention+svc.historyDays, s.london)
				historySources = append(historySources, s.newTraffic(hr, svc, typ, n, from, windowStart).next)
			}
		}
	}
	return liveSources, historySources
}

// buildAllFacts fills the fact tables: built from rows where rows exist, synthetic before.
func (s *seeder) buildAllFacts(ctx context.Context, services []*seedService, first notifyql.Date) error {
	realFrom := s.today
	for _, svc := range services {
		for _, typ := range notifyql.NotificationTypes {
			if d := s.realStart(svc, typ); d.Before(realFrom) {
				realFrom = d
			}
		}
	}
	if err := s.buildFacts(ctx, realFrom); err != nil {
		return err
	}
	return s.copySyntheticFacts(ctx, services, first)
}

func (s *seeder) demoReportRequests(ctx context.Context, svc *seedService, user *seedUser) error {
	r := newSeedRand(s.opts.Seed, seedStreamExtras)
	at := func(ago time.Duration) time.Time { return s.now.Add(-ago).Truncate(time.Second) }
	requests := []struct {
		status, typ, group string
		created, updated   time.Time
	}{
		{"stored", "sms", "all", at(2 * time.Hour), at(115 * time.Minute)},
		{"pending", "email", "failed", at(10 * time.Minute), time.Time{}},
		{"deleted", "letter", "delivered", at(6 * 24 * time.Hour), at(3 * 24 * time.Hour)},
	}
	rows := make([][]any, 0, len(requests))
	for _, q := range requests {
		parameter := fmt.Appendf(nil, `{"notification_type": %q, "notification_status": %q}`, q.typ, q.group)
		rows = append(rows, []any{r.id(), user.id, svc.id, "notifications", q.status, parameter, q.created, seedTime(q.updated)})
	}
	return s.copyRows(ctx, "report_requests", []string{"id", "user_id", "service_id", "report_type", "status",
		"parameter", "created_at", "updated_at"}, rows)
}

// seedChainRows runs row sources one after another.
func seedChainRows(sources ...func() []any) func() []any {
	return func() []any {
		for len(sources) > 0 {
			if row := sources[0](); row != nil {
				return row
			}
			sources = sources[1:]
		}
		return nil
	}
}
