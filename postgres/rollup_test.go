package postgres_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres"
)

// The rollup property test generates notifications and history rows over London days
// around the spring clock change of 2026 (29 March, a 23-hour day) and the SMS rate change
// at London midnight of 1 April 2026, builds the facts, and compares every fact row with an
// aggregation written here in Go straight from the generated rows and DOMAIN §4.1, §4.2.

const (
	rollupServiceA = "5e000000-0000-4000-8000-0000000000a1"
	rollupServiceB = "5e000000-0000-4000-8000-0000000000b1"
	rollupNilJob   = "00000000-0000-0000-0000-000000000000"
)

var rollupStatuses = []string{"created", "sending", "pending", "sent", "delivered", "failed", "technical-failure",
	"temporary-failure", "permanent-failure", "pending-virus-check", "validation-failed", "virus-scan-failed",
	"returned-letter", "cancelled"}

// rollupSource is one generated notification.
type rollupSource struct {
	id, service, template, job string // job "" = none
	typ, keyType, status       string
	units                      int
	multiplier                 *int
	international              bool
	postage, sentBy            *string
	createdAt                  time.Time
	history                    bool // in notification_history rather than notifications
}

type rollupTemplate struct{ id, service, typ string }

type rollupWorld struct {
	templates []rollupTemplate
	jobs      map[string]string // service → job
}

func rollupFixture(t *testing.T, pool *pgxpool.Pool) rollupWorld {
	t.Helper()
	ctx := context.Background()
	w := rollupWorld{jobs: map[string]string{}}
	for i, svc := range []string{rollupServiceA, rollupServiceB} {
		if _, err := pool.Exec(ctx, `INSERT INTO services (id, name) VALUES ($1, $2)`, svc, fmt.Sprintf("Rollup %d", i)); err != nil {
			t.Fatal(err)
		}
		for j, typ := range []string{"email", "sms", "letter", "sms", "letter"} {
			id := fmt.Sprintf("7e000000-0000-4000-8000-%012d", i*10+j)
			if _, err := pool.Exec(ctx, `
				INSERT INTO templates_history (id, service_id, name, template_type, version, created_at)
				VALUES ($1, $2, $3, $4, 1, '2025-01-01')`, id, svc, fmt.Sprintf("%s %d", typ, j), typ); err != nil {
				t.Fatal(err)
			}
			w.templates = append(w.templates, rollupTemplate{id, svc, typ})
		}
		job := fmt.Sprintf("10b00000-0000-4000-8000-%012d", i)
		if _, err := pool.Exec(ctx, `
			INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name)
			VALUES ($1, $2, $3, 1, 'file.csv')`, job, svc, w.templates[len(w.templates)-4].id); err != nil {
			t.Fatal(err)
		}
		w.jobs[svc] = job
	}
	return w
}

func rollupPick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func rollupPtr[T any](v T) *T { return &v }

// generate makes n notifications created in [start, end), with some exactly on London
// midnights and a microsecond before them.
func (w rollupWorld) generate(r *rand.Rand, n int, start, end time.Time, midnights []time.Time) []rollupSource {
	var out []rollupSource
	for i := range n {
		tpl := w.templates[r.IntN(len(w.templates))]
		s := rollupSource{
			id: uuid.NewString(), service: tpl.service, template: tpl.id, typ: tpl.typ,
			keyType: rollupPick(r, "normal", "normal", "normal", "team", "test"),
			status:  rollupStatuses[r.IntN(len(rollupStatuses))],
			history: r.IntN(3) == 0,
		}
		switch i % 20 {
		case 0:
			s.createdAt = midnights[r.IntN(len(midnights))]
		case 1:
			s.createdAt = midnights[r.IntN(len(midnights))].Add(-time.Microsecond)
		default:
			s.createdAt = start.Add(time.Duration(r.Int64N(int64(end.Sub(start))))).Truncate(time.Microsecond)
		}
		if r.IntN(3) == 0 {
			s.job = w.jobs[tpl.service]
		}
		switch tpl.typ {
		case "email":
			s.sentBy = rollupPick(r, nil, rollupPtr("ses"))
		case "sms":
			s.units = r.IntN(5)
			s.international = r.IntN(4) == 0
			if s.international {
				s.multiplier = rollupPtr(rollupPick(r, 2, 3))
			} else {
				s.multiplier = rollupPick(r, nil, rollupPtr(1))
			}
			s.sentBy = rollupPick(r, nil, rollupPtr("mmg"), rollupPtr("firetext"))
		case "letter":
			s.units = r.IntN(6)
			s.postage = rollupPick(r, rollupPtr("first"), rollupPtr("second"), rollupPtr("economy"),
				rollupPtr("europe"), rollupPtr("rest-of-world"), nil)
			s.international = s.postage != nil && (*s.postage == "europe" || *s.postage == "rest-of-world")
			s.multiplier = rollupPick(r, nil, rollupPtr(1))
			s.sentBy = rollupPick(r, nil, rollupPtr("dvla"))
		}
		out = append(out, s)
	}
	return out
}

func rollupInsert(t *testing.T, pool *pgxpool.Pool, sources []rollupSource) {
	t.Helper()
	var live, history [][]any
	for _, s := range sources {
		var job, multiplier any
		if s.job != "" {
			job = s.job
		}
		if s.multiplier != nil {
			multiplier = *s.multiplier
		}
		common := []any{s.id, s.service, s.template, 1, s.typ, s.keyType, s.status, s.units, multiplier,
			s.international, s.postage, s.sentBy, s.createdAt, job}
		if s.history {
			history = append(history, common)
		} else {
			live = append(live, append(common, "recipient"))
		}
	}
	columns := []string{"id", "service_id", "template_id", "template_version", "notification_type", "key_type",
		"notification_status", "billable_units", "rate_multiplier", "international", "postage", "sent_by",
		"created_at", "job_id"}
	ctx := context.Background()
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"notifications"}, append(slices.Clip(columns), "to"),
		pgx.CopyFromRows(live)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"notification_history"}, columns, pgx.CopyFromRows(history)); err != nil {
		t.Fatal(err)
	}
}

type statusFact struct {
	Day                    string
	Template, Service, Job string
	Type, KeyType, Status  string
	Count                  int
}

type billingFact struct {
	Day                     string
	Template, Service, Type string
	Provider                string
	Multiplier              int
	International           bool
	Rate, Postage           string
	Units, Sent             int
}

func rollupFacts(t *testing.T, pool *pgxpool.Pool) ([]statusFact, []billingFact) {
	t.Helper()
	ctx := context.Background()
	rows, _ := pool.Query(ctx, `
		SELECT bst_date::text, template_id::text, service_id::text, job_id::text, notification_type, key_type,
		       notification_status, notification_count
		  FROM ft_notification_status`)
	status, err := pgx.CollectRows(rows, pgx.RowToStructByPos[statusFact])
	if err != nil {
		t.Fatal(err)
	}
	rows, _ = pool.Query(ctx, `
		SELECT bst_date::text, template_id::text, service_id::text, notification_type, provider, rate_multiplier,
		       international, rate::text, postage, billable_units, notifications_sent
		  FROM ft_billing`)
	billing, err := pgx.CollectRows(rows, pgx.RowToStructByPos[billingFact])
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(status, func(a, b statusFact) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	slices.SortFunc(billing, func(a, b billingFact) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return status, billing
}

type rollupRate struct {
	from time.Time
	rate string
}

// rollupRates reads the reference rates: SMS ones, and crown letter ones by post class
// and sheet count, each sorted by start.
func rollupRates(t *testing.T, pool *pgxpool.Pool) ([]rollupRate, map[string][]rollupRate) {
	t.Helper()
	ctx := context.Background()
	var sms []rollupRate
	letters := map[string][]rollupRate{}
	rows, err := pool.Query(ctx, `SELECT valid_from, rate::text FROM rates WHERE notification_type = 'sms' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r rollupRate
		if err := rows.Scan(&r.from, &r.rate); err != nil {
			t.Fatal(err)
		}
		sms = append(sms, r)
	}
	rows, err = pool.Query(ctx, `SELECT post_class, sheet_count, start_date, rate::text FROM letter_rates WHERE crown ORDER BY 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var class string
		var sheets int
		var r rollupRate
		if err := rows.Scan(&class, &sheets, &r.from, &r.rate); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint(class, sheets)
		letters[key] = append(letters[key], r)
	}
	return sms, letters
}

// rateAt is the rate of the latest entry starting at or before at.
func rateAt(t *testing.T, rates []rollupRate, at time.Time) string {
	t.Helper()
	rate := ""
	for _, r := range rates {
		if !r.from.After(at) {
			rate = r.rate
		}
	}
	if rate == "" {
		t.Fatalf("no rate at %s", at)
	}
	return rate
}

// expectedFacts aggregates sources for the London days [from, to] by DOMAIN §4.1, §4.2.
func expectedFacts(t *testing.T, pool *pgxpool.Pool, loc *time.Location, sources []rollupSource,
	from, to notifyql.Date) ([]statusFact, []billingFact) {
	t.Helper()
	smsRates, letterRates := rollupRates(t, pool)
	status := map[statusFact]int{}
	type billingGroup struct {
		billingFact
		sheets int
	}
	billingGroups := map[billingGroup][2]int{}
	for _, s := range sources {
		day := notifyql.LondonDate(s.createdAt, loc)
		if day.Before(from) || day.After(to) || s.keyType == "test" {
			continue
		}
		job := s.job
		if job == "" {
			job = rollupNilJob
		}
		status[statusFact{Day: day.String(), Template: s.template, Service: s.service, Job: job, Type: s.typ,
			KeyType: s.keyType, Status: s.status}]++

		g := billingGroup{billingFact: billingFact{Day: day.String(), Template: s.template, Service: s.service, Type: s.typ}}
		units := s.units
		billable := false
		switch s.typ {
		case "email":
			billable = slices.Contains([]string{"sending", "delivered", "temporary-failure", "permanent-failure"}, s.status)
			g.Provider, g.Postage, units = "ses", "none", 0
		case "sms":
			billable = slices.Contains([]string{"sending", "sent", "delivered", "pending", "temporary-failure",
				"permanent-failure"}, s.status)
			g.Provider, g.Postage, g.International, g.Multiplier = "unknown", "none", s.international, 1
		case "letter":
			billable = slices.Contains([]string{"sending", "delivered", "returned-letter"}, s.status)
			g.Provider, g.Postage, g.International, g.Multiplier, g.sheets = "unknown", "second", s.international, 1, s.units
			if s.postage != nil {
				g.Postage = *s.postage
			}
		}
		if !billable {
			continue
		}
		if s.typ != "email" {
			if s.sentBy != nil {
				g.Provider = *s.sentBy
			}
			if s.multiplier != nil {
				g.Multiplier = *s.multiplier
			}
		}
		sums := billingGroups[g]
		billingGroups[g] = [2]int{sums[0] + units, sums[1] + 1}
	}
	var wantStatus []statusFact
	for k, n := range status {
		k.Count = n
		wantStatus = append(wantStatus, k)
	}
	billing := map[billingFact][2]int{}
	for g, sums := range billingGroups {
		f := g.billingFact
		day, err := notifyql.ParseDate(f.Day)
		if err != nil {
			t.Fatal(err)
		}
		midnight := notifyql.LondonMidnight(day, loc)
		switch {
		case f.Type == "sms":
			f.Rate = rateAt(t, smsRates, midnight)
		case f.Type == "letter" && g.sheets > 0:
			f.Rate = rateAt(t, letterRates[fmt.Sprint(f.Postage, g.sheets)], midnight)
		default:
			f.Rate = "0"
		}
		total := billing[f]
		billing[f] = [2]int{total[0] + sums[0], total[1] + sums[1]}
	}
	var wantBilling []billingFact
	for f, sums := range billing {
		f.Units, f.Sent = sums[0], sums[1]
		wantBilling = append(wantBilling, f)
	}
	return wantStatus, wantBilling
}

func TestRollupMatchesAggregatesOfItsSource(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	w := rollupFixture(t, pool)
	// 29 March 2026 lasts 23 hours; 1 April 2026 starts a new SMS rate.
	from, to := notifyql.Date{Year: 2026, Month: time.March, Day: 27}, notifyql.Date{Year: 2026, Month: time.April, Day: 1}
	var midnights []time.Time
	for d := from.AddDays(-1); !d.After(to.AddDays(2)); d = d.AddDays(1) {
		midnights = append(midnights, notifyql.LondonMidnight(d, loc))
	}
	r := rand.New(rand.NewPCG(20260329, 1))
	sources := w.generate(r, 4000, midnights[0], midnights[len(midnights)-1], midnights[:len(midnights)-1])
	rollupInsert(t, pool, sources)

	// Facts of the built days that have no source must go; those of other days must stay.
	staleInside := statusFact{Day: from.String(), Template: w.templates[0].id, Service: rollupServiceA,
		Job: rollupNilJob, Type: "email", KeyType: "normal", Status: "delivered", Count: 999}
	staleOutside := staleInside
	staleOutside.Day = to.AddDays(1).String()
	for _, f := range []statusFact{staleInside, staleOutside} {
		if _, err := pool.Exec(ctx, `
			INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type, key_type,
			                                    notification_status, notification_count)
			VALUES ($1, $2, $3, $4, $5, $6, 'stale', $7)`, f.Day, f.Template, f.Service, f.Job, f.Type, f.KeyType, f.Count); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `
			INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
			                        international, rate, postage, billable_units, notifications_sent)
			VALUES ($1, $2, $3, 'email', 'stale', 0, false, 0, 'none', 0, 999)`, f.Day, f.Template, f.Service); err != nil {
			t.Fatal(err)
		}
	}

	rollup := postgres.NewRollup(pool, loc, nil)
	if err := rollup.BuildDays(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	wantStatus, wantBilling := expectedFacts(t, pool, loc, sources, from, to)
	staleOutside.Status = "stale"
	wantStatus = append(wantStatus, staleOutside)
	wantBilling = append(wantBilling, billingFact{Day: staleOutside.Day, Template: staleOutside.Template,
		Service: staleOutside.Service, Type: "email", Provider: "stale", Rate: "0", Postage: "none", Sent: 999})
	slices.SortFunc(wantStatus, func(a, b statusFact) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	slices.SortFunc(wantBilling, func(a, b billingFact) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })

	gotStatus, gotBilling := rollupFacts(t, pool)
	if diff := gocmp.Diff(wantStatus, gotStatus); diff != "" {
		t.Errorf("ft_notification_status (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(wantBilling, gotBilling); diff != "" {
		t.Errorf("ft_billing (-want +got):\n%s", diff)
	}
	// The data must exercise what it claims to: every day built, both rates around 1 April.
	days := map[string]bool{}
	for _, f := range gotBilling {
		if f.Type == "sms" {
			days[f.Day+" "+f.Rate] = true
		}
	}
	for _, want := range []string{"2026-03-29 0.0233", "2026-03-31 0.0233", "2026-04-01 0.0240"} {
		if !days[want] {
			t.Errorf("no sms facts for %q; have %v", want, days)
		}
	}

	if err := rollup.BuildDays(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	againStatus, againBilling := rollupFacts(t, pool)
	if diff := gocmp.Diff(gotStatus, againStatus); diff != "" {
		t.Errorf("ft_notification_status changed on the second build (-first +second):\n%s", diff)
	}
	if diff := gocmp.Diff(gotBilling, againBilling); diff != "" {
		t.Errorf("ft_billing changed on the second build (-first +second):\n%s", diff)
	}
}

func TestRollupRefusesDaysWithoutALetterRate(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	w := rollupFixture(t, pool)
	// Letter rates before 30 June 2024 are unknown (DOMAIN §3.6).
	day := notifyql.Date{Year: 2024, Month: time.January, Day: 10}
	letter := rollupSource{id: uuid.NewString(), service: rollupServiceA, template: w.templates[2].id, typ: "letter",
		keyType: "normal", status: "delivered", units: 2, postage: rollupPtr("first"),
		createdAt: notifyql.LondonMidnight(day, loc).Add(time.Hour)}
	rollupInsert(t, pool, []rollupSource{letter})
	if _, err := pool.Exec(ctx, `
		INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
		                        international, rate, postage, billable_units, notifications_sent)
		VALUES ($1, $2, $3, 'letter', 'dvla', 1, false, 0.5, 'first', 2, 1)`, day.Time(), letter.template, rollupServiceA); err != nil {
		t.Fatal(err)
	}
	beforeStatus, beforeBilling := rollupFacts(t, pool)

	err = postgres.NewRollup(pool, loc, nil).BuildDays(ctx, day, day)
	if notifyql.ErrorCode(err) != notifyql.EINVALID {
		t.Fatalf("BuildDays = %v, want an EINVALID error", err)
	}
	want := "no letter rate is known for first post with 2 sheets on 2024-01-10: add it to letter_rates before building that day"
	if got := notifyql.ErrorMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// The day's transaction was rolled back: the old rows are still there.
	afterStatus, afterBilling := rollupFacts(t, pool)
	if diff := gocmp.Diff(beforeStatus, afterStatus); diff != "" {
		t.Errorf("ft_notification_status changed (-before +after):\n%s", diff)
	}
	if diff := gocmp.Diff(beforeBilling, afterBilling); diff != "" {
		t.Errorf("ft_billing changed (-before +after):\n%s", diff)
	}
}

func TestRollupRebuildBillingOfOneService(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	w := rollupFixture(t, pool)
	day := notifyql.Date{Year: 2025, Month: time.October, Day: 26} // the clocks go back: 25 hours
	at := notifyql.LondonMidnight(day, loc)
	sms := func(service string, template int, units int, offset time.Duration) rollupSource {
		return rollupSource{id: uuid.NewString(), service: service, template: w.templates[template].id, typ: "sms",
			keyType: "normal", status: "delivered", units: units, sentBy: rollupPtr("mmg"), createdAt: at.Add(offset)}
	}
	rollupInsert(t, pool, []rollupSource{sms(rollupServiceA, 1, 2, 0), sms(rollupServiceB, 6, 1, 24*time.Hour+30*time.Minute)})
	rollup := postgres.NewRollup(pool, loc, nil)
	if err := rollup.BuildDays(ctx, day, day); err != nil {
		t.Fatal(err)
	}
	// A new message for A, and B's row changed behind the rollup's back.
	rollupInsert(t, pool, []rollupSource{sms(rollupServiceA, 1, 3, 2*time.Hour)})
	if _, err := pool.Exec(ctx, `UPDATE ft_billing SET notifications_sent = 999 WHERE service_id = $1`, rollupServiceB); err != nil {
		t.Fatal(err)
	}
	if err := rollup.RebuildBilling(ctx, rollupServiceA, day); err != nil {
		t.Fatal(err)
	}
	_, got := rollupFacts(t, pool)
	want := []billingFact{
		{Day: "2025-10-26", Template: w.templates[1].id, Service: rollupServiceA, Type: "sms", Provider: "mmg",
			Multiplier: 1, Rate: "0.0233", Postage: "none", Units: 5, Sent: 2},
		{Day: "2025-10-26", Template: w.templates[6].id, Service: rollupServiceB, Type: "sms", Provider: "mmg",
			Multiplier: 1, Rate: "0.0233", Postage: "none", Units: 1, Sent: 999},
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("ft_billing (-want +got):\n%s", diff)
	}
	if err := rollup.RebuildBilling(ctx, "not-a-uuid", day); notifyql.ErrorCode(err) != notifyql.EINVALID {
		t.Errorf("RebuildBilling with a bad id = %v, want EINVALID", err)
	}
}

func TestRollupJobs(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	loc, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	jobs := postgres.NewRollup(pool, loc, nil).Jobs(func() time.Time { return time.Date(2025, 10, 26, 0, 20, 0, 0, time.UTC) })
	type schedule struct {
		Name           string
		Every, DailyAt time.Duration
	}
	var got []schedule
	for _, j := range jobs {
		got = append(got, schedule{j.Name, j.Every, j.DailyAt})
		if err := j.Run(ctx); err != nil {
			t.Errorf("job %s: %v", j.Name, err)
		}
	}
	want := []schedule{
		{Name: "rollup-billing-nightly", DailyAt: 15 * time.Minute},
		{Name: "rollup-status-nightly", DailyAt: 30 * time.Minute},
		{Name: "rollup-billing-today", Every: 5 * time.Minute},
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}
