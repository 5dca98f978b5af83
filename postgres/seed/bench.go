package seed

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

// The bench profile: one very large service (2,000,000 notifications in the last 7 London
// days at scale 1) among 200 services, three financial years of facts, 100,000 inbound SMS
// and 100,000 history rows. Every volume is multiplied by Options.Scale.

const (
	benchServices      = 200
	benchBigLive       = 2_000_000
	benchHistory       = 105_000 // inactive services send nothing, so ~100,000 are loaded
	benchBigInbound    = 80_000
	benchOtherInbound  = 20_000
	benchHistoryDays   = 30
	benchJobRows       = 10_000
	benchBigTemplates  = 50
	benchMinServices   = 4
	benchMinSmallCount = 5
)

func (s *seeder) seedBench(ctx context.Context) ([]User, error) {
	scale := s.opts.Scale
	scaled := func(n int) int { return max(1, int(math.Round(float64(n)*scale))) }
	first := (notifyql.FinancialYearOf(s.now, s.london) - 2).FirstDay()
	b := &seedBuilder{s: s, r: newSeedRand(s.opts.Seed, seedStreamWorld), world: &seedWorld{},
		born: notifyql.LondonMidnight(first.AddDays(-30), s.london).Add(10 * time.Hour)}
	r := b.r

	admin := b.user("Alex Admin", "admin@notifyql.example", true)
	orgTypes := []string{"central", "local", "nhs_central", "nhs_local", "nhs_gp", "emergency_service", "school_or_college", "other"}
	var orgs []*seedOrg
	for i := range 20 {
		orgs = append(orgs, b.org(fmt.Sprintf("Bench Organisation %02d", i+1), orgTypes[i%len(orgTypes)]))
	}

	serviceCount := max(benchMinServices, scaled(benchServices))
	live := map[*seedService]map[notifyql.NotificationType]int{}
	history := map[*seedService]map[notifyql.NotificationType]int{}
	inbound := map[*seedService]int{}
	var big *seedService
	smallFactor := min(1, scale*100) // small services shrink more slowly than the big one
	for i := range serviceCount {
		manager := b.user(fmt.Sprintf("Bench Manager %03d", i+1), fmt.Sprintf("manager%03d@bench.notifyql.example", i+1), false)
		org := orgs[i%len(orgs)]
		svc := &seedService{name: fmt.Sprintf("Bench Service %03d", i+1), org: org, active: i%50 != 49,
			restricted: i%25 == 24, prefixSMS: i%3 != 0, createdBy: manager, historyDays: benchHistoryDays,
			volume: map[notifyql.NotificationType]float64{}}
		if i == 0 {
			svc.name, svc.historyDays = "Bench Big Department", 0
			svc.features = []string{"email", "sms", "letter", "international_sms", "inbound_sms", "international_letters"}
		} else {
			svc.features = []string{"email", "sms", "letter"}[:1+r.IntN(3)]
			if r.chance(0.1) {
				svc.features = append(svc.features, "international_sms")
			}
		}
		if i%10 == 0 && svc.hasFeature("sms") {
			if !svc.hasFeature("inbound_sms") {
				svc.features = append(svc.features, "inbound_sms")
			}
			svc.inbound = fmt.Sprintf("07700%06d", 100000+i)
		}
		b.service(svc)
		b.member(svc, manager, seedAllPermissions...)
		if i == 0 {
			big = svc
			b.benchBigTemplates(svc)
		} else {
			b.benchSmallTemplates(svc)
		}
		b.apiKey(svc, "Live key", notifyql.KeyNormal)
		b.apiKey(svc, "Team key", notifyql.KeyTeam)
		if r.chance(0.3) {
			b.apiKey(svc, "Test key", notifyql.KeyTest)
		}

		live[svc], history[svc] = map[notifyql.NotificationType]int{}, map[notifyql.NotificationType]int{}
		types := 0
		for _, typ := range notifyql.NotificationTypes {
			if svc.hasFeature(string(typ)) {
				types++
			}
		}
		for _, typ := range notifyql.NotificationTypes {
			if !svc.hasFeature(string(typ)) || svc == big || !svc.active {
				continue
			}
			live[svc][typ] = max(benchMinSmallCount, int(float64(r.between(30, 300))*smallFactor))
			history[svc][typ] = (scaled(benchHistory) + (serviceCount-1)*types - 1) / ((serviceCount - 1) * types)
			svc.volume[typ] = float64(r.between(3, 400)) * smallFactor
		}
	}
	var others []*seedService
	for _, svc := range b.world.services {
		if svc.inbound != "" && svc != big {
			others = append(others, svc)
		}
	}
	for _, svc := range others {
		inbound[svc] = (scaled(benchOtherInbound) + len(others) - 1) / len(others)
	}
	bigLive := scaled(benchBigLive)
	big.volume = map[notifyql.NotificationType]float64{notifyql.TypeEmail: 100_000 * scale, notifyql.TypeSMS: 120_000 * scale,
		notifyql.TypeLetter: 10_000 * scale}
	inbound[big] = scaled(benchBigInbound)

	if err := s.insertWorld(ctx, r, b.world); err != nil {
		return nil, err
	}

	// The big service's jobs take a share of its volume.
	jr := newSeedRand(s.opts.Seed, seedStreamJobs)
	var jobs []*seedJob
	var sources []func() *seedNotification
	jobRows := scaled(benchJobRows)
	for i := range 6 {
		t := big.templates[i*7%len(big.templates)]
		created := s.now.Add(-time.Duration(6+i*25) * time.Hour).Truncate(time.Second)
		j := &seedJob{id: jr.id(), service: big, template: t, fileName: fmt.Sprintf("bench-upload-%02d.csv", i+1),
			rows: jobRows, status: "finished", createdAt: created, startedAt: created.Add(time.Second), createdBy: big.createdBy}
		jobs = append(jobs, j)
		sources = append(sources, s.jobRows(jr, j))
	}
	jobs = append(jobs, &seedJob{id: jr.id(), service: big, template: big.templates[1], fileName: "bench-scheduled.csv",
		rows: jobRows, status: "scheduled", createdAt: s.now.Add(-time.Hour).Truncate(time.Second),
		scheduledFor: notifyql.LondonMidnight(s.today.AddDays(2), s.london).Add(8 * time.Hour), createdBy: big.createdBy})
	if err := s.insertJobs(ctx, jobs); err != nil {
		return nil, err
	}
	remaining := max(0, bigLive-6*jobRows)
	live[big] = map[notifyql.NotificationType]int{
		notifyql.TypeEmail:  remaining * 45 / 100,
		notifyql.TypeSMS:    remaining * 50 / 100,
		notifyql.TypeLetter: remaining - remaining*45/100 - remaining*50/100,
	}

	liveSources, historySources := s.trafficSources(b.world.services, live, history)
	restoreIndexes, err := s.deferIndexes(ctx, "notifications")
	if err != nil {
		return nil, err
	}
	if _, err := s.copyNotifications(ctx, seedChain(append(sources, liveSources...)...), false); err != nil {
		return nil, err
	}
	if err := restoreIndexes(); err != nil {
		return nil, err
	}
	if _, err := s.copyNotifications(ctx, seedChain(historySources...), true); err != nil {
		return nil, err
	}

	var inboundSources []func() []any
	for i, svc := range b.world.services {
		if n := inbound[svc]; n > 0 {
			ir := newSeedRand(s.opts.Seed, seedStreamServiceInbound+uint64(i))
			from := notifyql.WindowStart(s.now, 7, s.london)
			inboundSources = append(inboundSources, s.inboundSource(ir, svc, n, 1000, from, s.now))
		}
	}
	if _, err := s.copyBatches(ctx, "inbound_sms", seedInboundColumns, seedChainRows(inboundSources...)); err != nil {
		return nil, err
	}

	if err := s.buildAllFacts(ctx, b.world.services, first); err != nil {
		return nil, err
	}
	return seedDescribeUsers(b.world, []*seedUser{admin},
		map[*seedUser]string{admin: "platform admin: sees every bench service"}), nil
}

// benchBigTemplates gives the big service 50 templates with a long-tailed share of traffic.
func (b *seedBuilder) benchBigTemplates(svc *seedService) {
	postages := []notifyql.Postage{notifyql.PostageSecond, notifyql.PostageFirst, notifyql.PostageEconomy, notifyql.PostageSecond}
	for i := range benchBigTemplates - 1 {
		typ := notifyql.TypeEmail
		switch {
		case i%10 >= 8:
			typ = notifyql.TypeLetter
		case i%2 == 1:
			typ = notifyql.TypeSMS
		}
		t := b.template(svc, typ, fmt.Sprintf("Bench %s template %02d", typ, i+1), 1/float64(i+1), i%5 == 0)
		contents := seedBenchContents[string(typ)]
		t.use(contents[i/2%len(contents)])
		// The code text and the password email are redacted, as in the demo.
		t.redact = t.content == seedCodeSMS.content || t.content == seedPasswordEmail.content
		if typ == notifyql.TypeLetter {
			t.postage, t.sheets = postages[i%len(postages)], 1+i%3
			if i == 9 {
				t.use(seedTaxLetter)
				t.welshSubject, t.welshContent = seedTaxLetterWelsh.subject, seedTaxLetterWelsh.content
			}
		}
	}
	pdf := b.template(svc, notifyql.TypeLetter, notifyql.PrecompiledLetterName, 0.2, false)
	pdf.hidden, pdf.sheets, pdf.postage, pdf.content = true, 0, "", ""
}

// benchSmallTemplates gives a small service one or two templates per type it sends.
func (b *seedBuilder) benchSmallTemplates(svc *seedService) {
	for _, typ := range notifyql.NotificationTypes {
		if !svc.hasFeature(string(typ)) {
			continue
		}
		for i := range 1 + b.r.IntN(2) {
			t := b.template(svc, typ, fmt.Sprintf("%s %s %d", svc.name, typ, i+1), float64(2-i), false)
			contents := seedBenchContents[string(typ)]
			t.use(contents[b.r.IntN(len(contents))])
			t.redact = t.content == seedCodeSMS.content || t.content == seedPasswordEmail.content
			if typ == notifyql.TypeLetter {
				t.sheets = 1 + b.r.IntN(3)
			}
		}
	}
}

// deferIndexes drops a table's indexes that back no constraint and returns a function
// that builds them again. One build after a bulk load is much faster than maintaining
// them row by row, above all the trigram GIN indexes. The definitions are read from the
// catalogue, so indexes added by later migrations are kept too.
func (s *seeder) deferIndexes(ctx context.Context, table string) (func() error, error) {
	rows, err := s.tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		  FROM pg_index i
		 WHERE i.indrelid = $1::regclass
		   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		 ORDER BY 1`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	type index struct{ name, definition string }
	var indexes []index
	var ix index
	if _, err := pgx.ForEachRow(rows, []any{&ix.name, &ix.definition}, func() error {
		indexes = append(indexes, ix)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	for _, ix := range indexes {
		if _, err := s.tx.Exec(ctx, "DROP INDEX "+ix.name); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", ix.name, err)
		}
	}
	return func() error {
		started := time.Now()
		for _, ix := range indexes {
			if _, err := s.tx.Exec(ctx, ix.definition); err != nil {
				return fmt.Errorf("rebuild index %s: %w", ix.name, err)
			}
		}
		s.log.InfoContext(ctx, "seed rebuilt indexes", "table", table, "indexes", len(indexes),
			"elapsed", time.Since(started).Round(time.Millisecond).String())
		return nil
	}, nil
}
