package seed

import (
	"context"
	"iter"
	"time"

	"notifyql"
	"notifyql/postgres"
)

// Facts for days that still have notifications (in notifications or notification_history)
// are built from those rows by the rollup's own statements (postgres.BuildFactsInTx). Older days have no
// rows to build from, so their facts are synthesised from each service's daily volume.

// buildFacts fills both fact tables for the London days [from, today) from notifications
// and notification_history. Today is never written (§4.1).
func (s *seeder) buildFacts(ctx context.Context, from notifyql.Date) error {
	if !from.Before(s.today) {
		return nil
	}
	return postgres.BuildFactsInTx(ctx, s.tx, from, s.today.AddDays(-1), s.london, s.now)
}

// realStart is the first London day of a service's type that has notification rows.
func (s *seeder) realStart(svc *seedService, t notifyql.NotificationType) notifyql.Date {
	return s.today.AddDays(-svc.retentionDays(t) - svc.historyDays)
}

// seedSynthGroup is one template's day of synthetic traffic.
type seedSynthGroup struct {
	day      notifyql.Date
	template *seedTemplate
	normal   []seedStatusCount // normal key, by status
	team     int               // team key, all delivered
	intlSent int               // international SMS among the sms "sent"
}

type seedStatusCount struct {
	status notifyql.NotificationStatus
	n      int
}

// synthGroups yields every synthetic group, service by service and day by day, for days
// in [first, realStart). Each service draws from its own stream, so both fact tables,
// generated in separate passes, see the same groups.
func (s *seeder) synthGroups(services []*seedService, first notifyql.Date) iter.Seq[*seedSynthGroup] {
	return func(yield func(*seedSynthGroup) bool) {
		for i, svc := range services {
			r := newSeedRand(s.opts.Seed, seedStreamSynthFacts+uint64(i))
			days := s.today.Sub(first)
			for _, typ := range notifyql.NotificationTypes {
				volume := svc.volume[typ]
				var templates []*seedTemplate
				var weights []float64
				for _, t := range svc.templates {
					if t.typ == typ && t.weight > 0 {
						templates = append(templates, t)
						weights = append(weights, t.weight)
					}
				}
				if volume == 0 || len(templates) == 0 {
					continue
				}
				end := s.realStart(svc, typ)
				for d := first; d.Before(end); d = d.AddDays(1) {
					if notifyql.LondonMidnight(d, s.london).Before(svc.createdAt) {
						continue
					}
					// Busier on weekdays, growing over the years, with day-to-day noise.
					factor := 0.6 + 0.4*float64(d.Sub(first))/float64(max(days, 1))
					if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
						factor *= 0.3
					}
					total := seedRound(r, volume*factor*(0.7+0.6*r.Float64()))
					if total == 0 {
						continue
					}
					perTemplate := map[int]int{}
					if total > 50 {
						sum := 0.0
						for _, w := range weights {
							sum += w
						}
						for j, w := range weights {
							perTemplate[j] = seedRound(r, float64(total)*w/sum)
						}
					} else {
						for range total {
							perTemplate[r.weighted(weights)]++
						}
					}
					for j, t := range templates {
						if n := perTemplate[j]; n > 0 {
							if !yield(seedSynthSplit(r, svc, d, t, n)) {
								return
							}
						}
					}
				}
			}
		}
	}
}

// seedSynthSplit divides a template's day into statuses typical of its type.
func seedSynthSplit(r seedRand, svc *seedService, d notifyql.Date, t *seedTemplate, n int) *seedSynthGroup {
	g := &seedSynthGroup{day: d, template: t}
	g.team = seedRound(r, float64(n)*0.02)
	n -= g.team
	var failures []seedStatusWeight
	switch t.typ {
	case notifyql.TypeEmail:
		failures = []seedStatusWeight{{notifyql.StatusTemporaryFailure, 0.03}, {notifyql.StatusPermanentFailure, 0.02},
			{notifyql.StatusTechnicalFailure, 0.005}}
	case notifyql.TypeSMS:
		failures = []seedStatusWeight{{notifyql.StatusTemporaryFailure, 0.04}, {notifyql.StatusPermanentFailure, 0.02},
			{notifyql.StatusTechnicalFailure, 0.005}}
		if svc.hasFeature("international_sms") {
			g.intlSent = seedRound(r, float64(n)*0.03)
			failures = append(failures, seedStatusWeight{notifyql.StatusSent, float64(g.intlSent) / float64(max(n, 1))})
		}
	case notifyql.TypeLetter:
		failures = []seedStatusWeight{{notifyql.StatusReturnedLetter, 0.03}, {notifyql.StatusCancelled, 0.02},
			{notifyql.StatusValidationFailed, 0.015}, {notifyql.StatusPermanentFailure, 0.005}}
	}
	delivered := n
	for _, f := range failures {
		k := seedRound(r, float64(n)*f.weight)
		if f.status == notifyql.StatusSent {
			k = g.intlSent
		}
		k = min(k, delivered)
		if f.status == notifyql.StatusSent {
			g.intlSent = k
		}
		delivered -= k
		if k > 0 {
			g.normal = append(g.normal, seedStatusCount{f.status, k})
		}
	}
	if delivered > 0 {
		g.normal = append([]seedStatusCount{{notifyql.StatusDelivered, delivered}}, g.normal...)
	}
	return g
}

// seedRound rounds x up with probability equal to its fraction, so that small
// averages still produce some rows and sums stay unbiased.
func seedRound(r seedRand, x float64) int {
	whole := int(x)
	if r.Float64() < x-float64(whole) {
		whole++
	}
	return whole
}

// seedSynthPostage is the post class of a template's synthetic letters.
func seedSynthPostage(t *seedTemplate) notifyql.Postage {
	if t.postage != "" {
		return t.postage
	}
	return notifyql.PostageSecond
}

// seedSynthSheets is the sheets per synthetic letter.
func seedSynthSheets(t *seedTemplate) int {
	if t.sheets > 0 {
		return t.sheets
	}
	return 1
}

// copySyntheticFacts streams synthetic rows into both fact tables.
func (s *seeder) copySyntheticFacts(ctx context.Context, services []*seedService, first notifyql.Date) error {
	statusRows := func(yield func([]any) bool) {
		row := make([]any, 0, 9)
		for g := range s.synthGroups(services, first) {
			t := g.template
			emit := func(key notifyql.KeyType, sc seedStatusCount) bool {
				row = append(row[:0], g.day.Time(), t.id, t.service.id, seedNilJobID, string(t.typ), string(key),
					string(sc.status), sc.n, s.now)
				return yield(row)
			}
			for _, sc := range g.normal {
				if !emit(notifyql.KeyNormal, sc) {
					return
				}
			}
			if g.team > 0 && !emit(notifyql.KeyTeam, seedStatusCount{notifyql.StatusDelivered, g.team}) {
				return
			}
		}
	}
	billingRows := func(yield func([]any) bool) {
		row := make([]any, 0, 12)
		for g := range s.synthGroups(services, first) {
			t := g.template
			sent := g.team
			for _, sc := range g.normal {
				switch sc.status {
				case notifyql.StatusDelivered, notifyql.StatusTemporaryFailure, notifyql.StatusPermanentFailure,
					notifyql.StatusReturnedLetter:
					sent += sc.n
				}
			}
			emit := func(provider string, multiplier int, international bool, rate any, postage string, units, sent int) bool {
				row = append(row[:0], g.day.Time(), t.id, t.service.id, string(t.typ), provider, multiplier, international,
					rate, postage, units, sent, s.now)
				return yield(row)
			}
			switch t.typ {
			case notifyql.TypeEmail:
				if sent > 0 && !emit("ses", 0, false, seedZeroRate, "none", 0, sent) {
					return
				}
			case notifyql.TypeSMS:
				fragments := seedSMSFragments(t, 20)
				rate := s.smsRateOn(g.day)
				if sent > 0 && !emit("mmg", 1, false, rate, "none", sent*fragments, sent) {
					return
				}
				if g.intlSent > 0 && !emit("mmg", 2, true, rate, "none", g.intlSent*fragments, g.intlSent) {
					return
				}
			case notifyql.TypeLetter:
				sheets, postage := seedSynthSheets(t), seedSynthPostage(t)
				if sent > 0 && !emit("dvla", 1, false, s.letterRateOn(g.day, postage, sheets), string(postage), sent*sheets, sent) {
					return
				}
			}
		}
	}
	for _, load := range []struct {
		table   string
		columns []string
		rows    iter.Seq[[]any]
	}{
		{"ft_notification_status", []string{"bst_date", "template_id", "service_id", "job_id", "notification_type",
			"key_type", "notification_status", "notification_count", "created_at"}, statusRows},
		{"ft_billing", []string{"bst_date", "template_id", "service_id", "notification_type", "provider",
			"rate_multiplier", "international", "rate", "postage", "billable_units", "notifications_sent", "created_at"}, billingRows},
	} {
		next, stop := iter.Pull(load.rows)
		_, err := s.copyBatches(ctx, load.table, load.columns, func() []any {
			row, ok := next()
			if !ok {
				return nil
			}
			return row
		})
		stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// Streams of the seeded generator; each part of the data draws from its own.
const (
	seedStreamWorld          uint64 = 1
	seedStreamJobs           uint64 = 2
	seedStreamInbound        uint64 = 3
	seedStreamExtras         uint64 = 4
	seedStreamShowcase       uint64 = 5
	seedStreamTraffic        uint64 = 1 << 20 // + service index
	seedStreamHistory        uint64 = 2 << 20 // + service index
	seedStreamSynthFacts     uint64 = 3 << 20 // + service index
	seedStreamServiceInbound uint64 = 4 << 20 // + service index
)
