package seed

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// Profiles: the data sets Load can generate.
const (
	// Demo is a small, memorable data set for make run and the README.
	Demo = "demo"
	// Bench is a large data set for measuring queries at production-like volumes.
	Bench = "bench"
)

// Options chooses what Load generates. The same Profile, Seed, Scale and Now give
// byte-identical rows.
type Options struct {
	Profile string // Demo or Bench
	Seed    int64  // seeds the random generator
	// Now anchors every generated time, so the data is always recent. Zero means the clock;
	// it is truncated to the millisecond in UTC.
	Now    time.Time
	Logger *slog.Logger // nil discards
	// Scale multiplies the bench volumes (services, notifications, inbound SMS, history);
	// 0 means 1. Tests use a small fraction. The demo profile ignores it.
	Scale float64
}

// Report says what Load loaded.
type Report struct {
	Profile string
	Seed    int64
	Now     time.Time
	Counts  []TableCount
	Elapsed time.Duration
	// Users are the fixed demo users to sign in as; bench lists only the platform admin.
	Users []User
}

// TableCount is the number of rows in one table after seeding.
type TableCount struct {
	Table string
	Rows  int64
}

// User describes a generated user: who they are and what they may do. Email
// addresses use reserved example domains and belong to nobody.
type User struct {
	Name          string
	Email         string
	PlatformAdmin bool
	Services      []Membership
	Organisations []string // organisations the user belongs to as an organisation user
	Summary       string   // one line for the README
}

// Membership is a user's membership of one service with its database permissions.
type Membership struct {
	Service     string
	Permissions []string
}

// seedTables are the tables reported after seeding, in load order.
var seedTables = []string{
	"users", "organisation", "user_to_organisation", "services", "services_history",
	"service_permissions", "user_to_service", "permissions", "inbound_numbers",
	"service_data_retention", "annual_billing", "templates", "templates_history", "api_keys",
	"jobs", "notifications", "notification_status_history", "notification_status_counts",
	"notification_history", "letter_files", "inbound_sms", "inbound_sms_history", "report_requests",
	"ft_notification_status", "ft_billing",
}

// Load fills an empty database with generated data. It returns an ECONFLICT error, and
// changes nothing, when the database already holds services: seeding twice would
// duplicate names and ids. Everything is loaded in one transaction, so a failure leaves the
// database as it was.
func Load(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Report, error) {
	started := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	london, err := notifyql.LoadLondon()
	if err != nil {
		return nil, err
	}
	empty, err := IsEmpty(ctx, pool)
	if err != nil {
		return nil, err
	}
	if !empty {
		return nil, notifyql.Errorf(notifyql.ECONFLICT, "the database already has services: seed only an empty database")
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed: acquire connection: %w", err)
	}
	defer conn.Release()

	s := &seeder{
		opts:   opts,
		now:    opts.Now,
		london: london,
		today:  notifyql.LondonDate(opts.Now, london),
		log:    opts.Logger.With("profile", opts.Profile, "seed", opts.Seed),
	}
	report := &Report{Profile: opts.Profile, Seed: opts.Seed, Now: opts.Now}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		s.tx = tx
		// Index builds and sorts for the fact tables are the slow part of a big load.
		if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL work_mem = '64MB'"); err != nil {
			return fmt.Errorf("seed: session settings: %w", err)
		}
		if err := s.loadReference(ctx); err != nil {
			return err
		}
		switch opts.Profile {
		case Demo:
			report.Users, err = s.seedDemo(ctx)
		case Bench:
			report.Users, err = s.seedBench(ctx)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", opts.Profile, err)
	}
	// Fresh statistics let the planner see millions of rows rather than an empty table. The
	// fact tables are vacuumed too: the reporting queries read them by index-only scans,
	// which need the visibility map that only VACUUM sets (autovacuum may be off). VACUUM
	// cannot share a statement, so it is one of its own.
	if _, err := conn.Exec(ctx, "ANALYZE notifications, notification_status_history, notification_status_counts, "+
		"notification_history, inbound_sms, jobs, templates, templates_history, services"); err != nil {
		return nil, fmt.Errorf("seed: analyze: %w", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) ft_notification_status, ft_billing"); err != nil {
		return nil, fmt.Errorf("seed: vacuum the fact tables: %w", err)
	}
	report.Counts, err = seedCountTables(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	report.Elapsed = time.Since(started)
	s.log.InfoContext(ctx, "seed finished", "elapsed", report.Elapsed.Round(time.Millisecond).String())
	return report, nil
}

// Vacuum vacuums and analyses the whole database, taking it to where autovacuum would
// have. The benchmarks call it before timing: with autovacuum off, as on the machines that
// run them, the updates of the live benchmark's simulator (a million rows an evening)
// would leave each run timing a differently bloated database, planned from stale
// statistics. It is quick once done.
func Vacuum(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum the database: %w", err)
	}
	return nil
}

// IsEmpty reports whether the database holds no services, the sign that it has never been
// seeded or used.
func IsEmpty(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM services)").Scan(&exists); err != nil {
		return false, fmt.Errorf("check for services: %w", err)
	}
	return !exists, nil
}

// HasUsers reports whether the database has any user, so that a command that finds no
// user by email can tell an empty database (load the demo data) from a wrong address.
func HasUsers(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists); err != nil {
		return false, fmt.Errorf("check for users: %w", err)
	}
	return exists, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Profile != Demo && o.Profile != Bench {
		return o, notifyql.Errorf(notifyql.EINVALID, "seed profile must be %q or %q", Demo, Bench)
	}
	if o.Scale < 0 {
		return o, notifyql.Errorf(notifyql.EINVALID, "seed scale must not be negative")
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Millisecond)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o, nil
}

func seedCountTables(ctx context.Context, conn *pgx.Conn) ([]TableCount, error) {
	counts := make([]TableCount, 0, len(seedTables))
	for _, table := range seedTables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", table, err)
		}
		counts = append(counts, TableCount{Table: table, Rows: n})
	}
	return counts, nil
}

// seeder carries one seeding run: the transaction, the clock and the reference data.
type seeder struct {
	opts   Options
	tx     pgx.Tx
	now    time.Time
	today  notifyql.Date
	london *time.Location
	log    *slog.Logger

	multipliers     map[string]int // international dialling prefix → rate multiplier
	smsRates        []seedRate
	letterRates     map[seedLetterRateKey][]seedRate
	defaultAllowing map[string][]seedAllowance // organisation type → allowances by start year
}

type seedRate struct {
	from time.Time
	rate pgtype.Numeric
}

type seedLetterRateKey struct {
	postage notifyql.Postage
	sheets  int
}

type seedAllowance struct {
	fromYear  int
	allowance int
}

// loadReference reads the reference tables the migrations loaded, so that generated rows
// use the same multipliers and rates the rollups would.
func (s *seeder) loadReference(ctx context.Context) error {
	rows, err := s.tx.Query(ctx, "SELECT prefix, multiplier::int FROM international_sms_rates")
	if err != nil {
		return fmt.Errorf("load international multipliers: %w", err)
	}
	s.multipliers = map[string]int{}
	var prefix string
	var multiplier int
	if _, err := pgx.ForEachRow(rows, []any{&prefix, &multiplier}, func() error {
		s.multipliers[prefix] = multiplier
		return nil
	}); err != nil {
		return fmt.Errorf("load international multipliers: %w", err)
	}

	rows, err = s.tx.Query(ctx, "SELECT valid_from, rate FROM rates WHERE notification_type = 'sms' ORDER BY valid_from")
	if err != nil {
		return fmt.Errorf("load sms rates: %w", err)
	}
	var rate seedRate
	if _, err := pgx.ForEachRow(rows, []any{&rate.from, &rate.rate}, func() error {
		s.smsRates = append(s.smsRates, rate)
		return nil
	}); err != nil {
		return fmt.Errorf("load sms rates: %w", err)
	}

	rows, err = s.tx.Query(ctx, `SELECT post_class, sheet_count, start_date, rate FROM letter_rates
		WHERE crown ORDER BY post_class, sheet_count, start_date`)
	if err != nil {
		return fmt.Errorf("load letter rates: %w", err)
	}
	s.letterRates = map[seedLetterRateKey][]seedRate{}
	var key seedLetterRateKey
	if _, err := pgx.ForEachRow(rows, []any{&key.postage, &key.sheets, &rate.from, &rate.rate}, func() error {
		s.letterRates[key] = append(s.letterRates[key], rate)
		return nil
	}); err != nil {
		return fmt.Errorf("load letter rates: %w", err)
	}

	rows, err = s.tx.Query(ctx, `SELECT organisation_type, valid_from_financial_year_start, allowance
		FROM default_annual_allowance WHERE notification_type = 'sms' ORDER BY 1, 2`)
	if err != nil {
		return fmt.Errorf("load default allowances: %w", err)
	}
	s.defaultAllowing = map[string][]seedAllowance{}
	var orgType string
	var allowance seedAllowance
	if _, err := pgx.ForEachRow(rows, []any{&orgType, &allowance.fromYear, &allowance.allowance}, func() error {
		s.defaultAllowing[orgType] = append(s.defaultAllowing[orgType], allowance)
		return nil
	}); err != nil {
		return fmt.Errorf("load default allowances: %w", err)
	}
	if len(s.smsRates) == 0 || len(s.letterRates) == 0 || len(s.multipliers) == 0 {
		return errors.New("reference data missing: run the migrations first")
	}
	return nil
}

// seedRateAt returns the rate in force at instant t. Synthetic facts reach back before the
// earliest known letter rates (DOMAIN §3.6 lists none before mid-2024); those days use the
// earliest known rate, which is plausible and keeps every fact row priced.
func seedRateAt(rates []seedRate, t time.Time) pgtype.Numeric {
	if len(rates) == 0 {
		return seedZeroRate
	}
	found := rates[0].rate
	for _, r := range rates {
		if r.from.After(t) {
			break
		}
		found = r.rate
	}
	return found
}

// seedZeroRate prices email and unsheeted letters.
var seedZeroRate = pgtype.Numeric{Int: big.NewInt(0), Valid: true}

func (s *seeder) smsRateOn(d notifyql.Date) pgtype.Numeric {
	return seedRateAt(s.smsRates, notifyql.LondonMidnight(d, s.london))
}

func (s *seeder) letterRateOn(d notifyql.Date, postage notifyql.Postage, sheets int) pgtype.Numeric {
	if sheets == 0 {
		return seedZeroRate
	}
	return seedRateAt(s.letterRates[seedLetterRateKey{postage, sheets}], notifyql.LondonMidnight(d, s.london))
}

// defaultAllowance is the free SMS allowance in force for an organisation type in a
// financial year (DOMAIN §3.6, §10.1); a service without a type counts as "other".
func (s *seeder) defaultAllowance(orgType string, year int) int {
	if orgType == "" {
		orgType = "other"
	}
	allowance := 0
	for _, a := range s.defaultAllowing[orgType] {
		if a.fromYear <= year {
			allowance = a.allowance
		}
	}
	return allowance
}

// copyRows loads a small table from a slice.
func (s *seeder) copyRows(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := s.tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	return nil
}

// copyBatches loads a large table from a lazy row source, one COPY per batch of at most
// batchSize rows, so that memory stays flat and the statement-level triggers on
// notifications see bounded transition tables. next returns nil when the rows run out;
// the slice it returns may be reused for the next row.
func (s *seeder) copyBatches(ctx context.Context, table string, columns []string, next func() []any) (int64, error) {
	const batchSize = 100_000
	var total int64
	done := false
	for !done {
		inBatch := 0
		source := pgx.CopyFromFunc(func() ([]any, error) {
			if inBatch == batchSize {
				return nil, nil
			}
			row := next()
			if row == nil {
				done = true
				return nil, nil
			}
			inBatch++
			return row, nil
		})
		n, err := s.tx.CopyFrom(ctx, pgx.Identifier{table}, columns, source)
		if err != nil {
			return total, fmt.Errorf("load %s: %w", table, err)
		}
		total += n
	}
	s.log.InfoContext(ctx, "seed loaded table", "table", table, "rows", total)
	return total, nil
}

// seedID is a generated uuid. It is derived from the seeded generator so that runs repeat.
type seedID [16]byte

// UUIDValue lets pgx encode a seedID into uuid columns.
func (id seedID) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: id, Valid: true}, nil }

func (id seedID) String() string {
	var buf [36]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], id[10:])
	return string(buf[:])
}

// seedNilJobID stands for "no job" in ft_notification_status (DOMAIN §3.5).
var seedNilJobID = seedID{}

// seedTime and seedText turn absent optional values into SQL NULL.
func seedTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func seedText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// seedRand is the seeded generator. Each independent part of the data (the world, each
// service's traffic, the facts) draws from its own stream, so that changing how many rows
// one part makes does not reshuffle another.
type seedRand struct{ *rand.Rand }

func newSeedRand(seed int64, stream uint64) seedRand {
	return seedRand{rand.New(rand.NewPCG(uint64(seed), stream))}
}

// id returns a version 4 uuid drawn from the generator.
func (r seedRand) id() seedID {
	var id seedID
	binary.BigEndian.PutUint64(id[:8], r.Uint64())
	binary.BigEndian.PutUint64(id[8:], r.Uint64())
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

func (r seedRand) chance(p float64) bool { return r.Float64() < p }

// between returns an integer in [lo, hi].
func (r seedRand) between(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// within returns a duration in [lo, hi), to the millisecond.
func (r seedRand) within(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(r.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

func seedPick[T any](r seedRand, xs []T) T { return xs[r.IntN(len(xs))] }

// weighted picks an index with probability proportional to its weight.
func (r seedRand) weighted(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// hex returns n random lower-case hex digits, for API key secrets.
func (r seedRand) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}
