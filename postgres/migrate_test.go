package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/migrations"
	"notifyql/pgtest"
	"notifyql/postgres"
)

// newestVersion is the version of the last embedded migration; bump it with each new file.
const newestVersion = 12

// versionsBelowNewest are the versions that stepping down from newestVersion passes, one
// migration at a time: the embedded migrations' below it, newest first, then 0. They need
// not be consecutive (a branch may add a later number than the next).
func versionsBelowNewest(t testing.TB) []int {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	versions := []int{0}
	for _, name := range files {
		version, err := strconv.Atoi(name[:strings.IndexByte(name, '_')])
		if err != nil {
			t.Fatalf("migration %s: %v", name, err)
		}
		if version < newestVersion {
			versions = append(versions, version)
		}
	}
	slices.Sort(versions)
	slices.Reverse(versions)
	return versions
}

func TestMigrateUpDownUp(t *testing.T) {
	ctx := context.Background()
	databaseURL := pgtest.NewEmptyDatabase(t)

	if err := postgres.MigrateUp(ctx, databaseURL); err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, databaseURL)
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		t.Fatalf("after up: %v", err)
	}
	for _, version := range versionsBelowNewest(t) {
		if err := postgres.MigrateDown(ctx, databaseURL); err != nil {
			t.Fatalf("down to %d: %v", version, err)
		}
		if got := schemaVersion(t, pool); got != version {
			t.Fatalf("after one step down, version is %d, want %d", got, version)
		}
	}
	// Every Down must leave nothing behind but goose's own table.
	var leftovers []string
	rows, err := pool.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'S', 'm') AND c.relname NOT LIKE 'goose_db_version%'
		UNION ALL
		SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
		UNION ALL
		SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'`)
	if err != nil {
		t.Fatal(err)
	}
	if leftovers, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(leftovers) > 0 {
		t.Errorf("objects left after migrating down to zero: %v", leftovers)
	}
	if err := postgres.MigrateDown(ctx, databaseURL); err == nil {
		t.Error("MigrateDown at version 0 succeeded, want an error")
	}

	if err := postgres.MigrateUp(ctx, databaseURL); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		t.Fatalf("after up again: %v", err)
	}

	var status bytes.Buffer
	if err := postgres.MigrationStatus(ctx, databaseURL, &status); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VERSION", "00001_schema.sql", "00002_reference_data.sql", "applied"} {
		if !strings.Contains(status.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, status.String())
		}
	}
	if strings.Contains(status.String(), "pending") {
		t.Errorf("status shows a pending migration after up:\n%s", status.String())
	}
}

func TestCheckSchema(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(testing.TB) string // returns the database URL
		wantErr string
	}{
		{
			name:    "empty database",
			prepare: pgtest.NewEmptyDatabase,
			wantErr: "database has no notifyql schema: run `notifyql migrate up`",
		},
		{
			name:    "migrated database",
			prepare: pgtest.NewDatabase,
		},
		{
			name: "one migration behind",
			prepare: func(t testing.TB) string {
				databaseURL := pgtest.NewDatabase(t)
				if err := postgres.MigrateDown(ctx, databaseURL); err != nil {
					t.Fatal(err)
				}
				return databaseURL
			},
			wantErr: fmt.Sprintf("database schema is at version %d but this build expects %d: run `notifyql migrate up`",
				versionsBelowNewest(t)[0], newestVersion),
		},
		{
			name: "newer than this build",
			prepare: func(t testing.TB) string {
				databaseURL := pgtest.NewDatabase(t)
				conn, err := pgx.Connect(ctx, databaseURL)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				if _, err := conn.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`,
					newestVersion+1); err != nil {
					t.Fatal(err)
				}
				return databaseURL
			},
			wantErr: fmt.Sprintf("database schema version %d is newer than this build knows (%d): upgrade notifyql",
				newestVersion+1, newestVersion),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := postgres.CheckSchema(ctx, newPool(t, tt.prepare(t)))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("CheckSchema() error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestReferenceData(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	tests := []struct {
		query string
		want  string
	}{
		{`SELECT count(*) FROM international_sms_rates`, "223"},
		{`SELECT multiplier || ' ' || country FROM international_sms_rates WHERE prefix = '1876'`, "7 Jamaica"},
		{`SELECT multiplier::text FROM international_sms_rates WHERE prefix = '44'`, "2"},
		{`SELECT count(*) FROM bank_holidays WHERE day BETWEEN '2018-01-01' AND '2027-12-31'`, "83"},
		{`SELECT name FROM bank_holidays WHERE day = '2025-05-05'`, "Early May bank holiday"},
		{`SELECT count(*) FROM organisation_types`, "9"},
		{`SELECT count(*) FROM notification_status_types`, "14"},
		{`SELECT count(*) FROM service_permission_types`, "9"},
		// §3.6: the allowance in force for FY Y has the greatest start year <= Y.
		{`SELECT allowance FROM default_annual_allowance WHERE organisation_type = 'central'
		     AND valid_from_financial_year_start <= 2025 ORDER BY valid_from_financial_year_start DESC LIMIT 1`, "30000"},
		{`SELECT allowance FROM default_annual_allowance WHERE organisation_type = 'nhs_notify'
		     AND valid_from_financial_year_start <= 2026 ORDER BY valid_from_financial_year_start DESC LIMIT 1`, "0"},
		{`SELECT rate::text FROM rates WHERE valid_from <= '2025-04-01 00:00' ORDER BY valid_from DESC LIMIT 1`, "0.0233"},
		{`SELECT rate::text FROM rates WHERE valid_from <= '2025-03-31 22:59' ORDER BY valid_from DESC LIMIT 1`, "0.0227"},
		{`SELECT count(*) FROM letter_rates WHERE end_date IS NULL`, "50"},
		{`SELECT count(*) FROM letter_rates WHERE NOT crown`, "75"},
		{`SELECT rate::text FROM letter_rates WHERE post_class = 'economy' AND sheet_count = 1 AND crown AND end_date IS NULL`, "0.6380"},
		{`SELECT end_date::text FROM letter_rates WHERE post_class = 'second' AND sheet_count = 3 AND NOT crown
		     AND start_date = '2025-03-31 23:00'`, "2026-01-05 00:00:00"},
	}
	for _, tt := range tests {
		var got string
		if err := pool.QueryRow(ctx, `SELECT (`+tt.query+`)::text`).Scan(&got); err != nil {
			t.Errorf("%s: %v", tt.query, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %s, want %s", tt.query, got, tt.want)
		}
	}
}

// statusChange is one row of notification_status_history.
type statusChange struct {
	NotificationID uuid.UUID
	Status         string
	At             time.Time
}

// statusCount is one row of notification_status_counts, or of the GROUP BY it must equal.
type statusCount struct {
	ServiceID          uuid.UUID
	BSTDate            string
	TemplateID         uuid.UUID
	NotificationType   string
	KeyType            string
	NotificationStatus string
	NotificationCount  int64
}

func TestStatusHistoryAndCountTriggers(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	f := newFixture(t, pool)

	// The history the triggers must write, built up alongside every change.
	var wantHistory []statusChange
	status := map[uuid.UUID]string{}

	// Bulk insert with COPY, across a BST midnight: 23:30 UTC on 20 July is 21 July in London.
	statuses := []string{"created", "sending", "delivered", "permanent-failure", "cancelled"}
	keyTypes := []string{"normal", "team", "test"}
	start := time.Date(2025, 7, 20, 20, 0, 0, 0, time.UTC)
	var copied [][]any
	var ids []uuid.UUID
	for i := range 300 {
		id := uuid.New()
		createdAt := start.Add(time.Duration(i) * 97 * time.Second)
		s := statuses[i%len(statuses)]
		template := f.templates[i%len(f.templates)]
		copied = append(copied, []any{id, f.service(i), template.id, 1, template.kind, "recipient",
			keyTypes[i%len(keyTypes)], s, createdAt})
		ids = append(ids, id)
		status[id] = s
		wantHistory = append(wantHistory, statusChange{id, s, createdAt})
	}
	columns := []string{"id", "service_id", "template_id", "template_version", "notification_type", "to",
		"key_type", "notification_status", "created_at"}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"notifications"}, columns, pgx.CopyFromRows(copied)); err != nil {
		t.Fatal(err)
	}

	// Single-row inserts; the status defaults to created.
	for i := range 5 {
		var id uuid.UUID
		var createdAt time.Time
		err := pool.QueryRow(ctx, `
			INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", key_type)
			VALUES ($1, $2, 1, $3, 'recipient', 'normal') RETURNING id, created_at`,
			f.service(i), f.templates[0].id, f.templates[0].kind).Scan(&id, &createdAt)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		status[id] = "created"
		wantHistory = append(wantHistory, statusChange{id, "created", createdAt})
	}
	checkCounts(t, pool)

	// One UPDATE statement over many rows: some statuses change, some are set to what they
	// already were.
	var updateIDs []uuid.UUID
	var updateStatuses []string
	for i, id := range ids {
		if i%3 == 0 {
			continue
		}
		newStatus := status[id]
		if i%2 == 0 {
			newStatus = "delivered"
		}
		updateIDs = append(updateIDs, id)
		updateStatuses = append(updateStatuses, newStatus)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var txTime time.Time
	if err := tx.QueryRow(ctx, `SELECT now() AT TIME ZONE 'utc'`).Scan(&txTime); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `
		UPDATE notifications n SET notification_status = u.status, updated_at = now() AT TIME ZONE 'utc'
		  FROM unnest($1::uuid[], $2::text[]) AS u (id, status) WHERE n.id = u.id`,
		updateIDs, updateStatuses); err != nil {
		t.Fatal(err)
	}
	// A change of key other than status moves counts but writes no history.
	if _, err := tx.Exec(ctx, `UPDATE notifications SET template_id = $1 WHERE id = ANY($2)`,
		f.templates[1].id, ids[:10]); err != nil {
		t.Fatalf("move template: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range updateIDs {
		if updateStatuses[i] != status[id] {
			status[id] = updateStatuses[i]
			wantHistory = append(wantHistory, statusChange{id, updateStatuses[i], txTime})
		}
	}
	checkCounts(t, pool)

	// Deleting notifications takes their history with them.
	deleted := map[uuid.UUID]bool{}
	for _, id := range ids[:40] {
		deleted[id] = true
	}
	if _, err := pool.Exec(ctx, `DELETE FROM notifications WHERE id = ANY($1)`, ids[:40]); err != nil {
		t.Fatal(err)
	}
	var keptHistory []statusChange
	for _, change := range wantHistory {
		if !deleted[change.NotificationID] {
			keptHistory = append(keptHistory, change)
		}
	}
	checkCounts(t, pool)

	rows, err := pool.Query(ctx, `
		SELECT notification_id, status, at FROM notification_status_history ORDER BY notification_id, id`)
	if err != nil {
		t.Fatal(err)
	}
	gotHistory, err := pgx.CollectRows(rows, pgx.RowToStructByPos[statusChange])
	if err != nil {
		t.Fatal(err)
	}
	byNotification := func(a, b statusChange) int { return bytes.Compare(a.NotificationID[:], b.NotificationID[:]) }
	slices.SortStableFunc(keptHistory, byNotification)
	if diff := cmp.Diff(keptHistory, gotHistory); diff != "" {
		t.Errorf("notification_status_history (-want +got):\n%s", diff)
	}

	// TRUNCATE fires no row triggers; the counters are cleared with it.
	if _, err := pool.Exec(ctx, `TRUNCATE notifications CASCADE`); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, pool)
}

func TestCountTriggersUnderConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	f := newFixture(t, pool)
	for i := range 50 {
		if _, err := pool.Exec(ctx, `
			INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", key_type)
			SELECT $1, $2, 1, $3, 'recipient', 'normal' FROM generate_series(1, 4)`,
			f.service(i), f.templates[i%2].id, f.templates[i%2].kind); err != nil {
			t.Fatal(err)
		}
	}
	// Each writer updates its own notifications, but all of them share counter rows, which
	// key-ordered upserts keep from deadlocking.
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			var err error
			for round := range 10 {
				target := []string{"sending", "delivered", "temporary-failure"}[(w+round)%3]
				if _, err = pool.Exec(ctx, `
					UPDATE notifications SET notification_status = $1
					 WHERE get_byte(uuid_send(id), 15) % 4 = $2`, target, w); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkCounts(t, pool)
}

// checkCounts compares notification_status_counts with a GROUP BY over notifications.
func checkCounts(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	query := func(sql string) []statusCount {
		t.Helper()
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[statusCount])
		if err != nil {
			t.Fatal(err)
		}
		return counts
	}
	want := query(`
		SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date::text,
		       template_id, notification_type, key_type, notification_status, count(*)
		  FROM notifications GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`)
	got := query(`
		SELECT service_id, bst_date::text, template_id, notification_type, key_type, notification_status,
		       notification_count
		  FROM notification_status_counts ORDER BY 1, 2, 3, 4, 5, 6`)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notification_status_counts differs from notifications (-want +got):\n%s", diff)
	}
}

type fixtureTemplate struct {
	id   uuid.UUID
	kind string
}

// fixture holds the services and templates that notifications in a test belong to.
type fixture struct {
	services  []uuid.UUID
	templates []fixtureTemplate
}

func (f fixture) service(i int) uuid.UUID { return f.services[i%len(f.services)] }

func newFixture(t *testing.T, pool *pgxpool.Pool) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	for i := range 2 {
		var id uuid.UUID
		if err := pool.QueryRow(ctx, `INSERT INTO services (name) VALUES ($1) RETURNING id`,
			fmt.Sprintf("Service %d", i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.services = append(f.services, id)
	}
	// Templates are shared by both services here: the schema does not tie a notification's
	// service to its template's, and the counters do not care.
	for _, kind := range []string{"sms", "email", "letter"} {
		id := uuid.New()
		if _, err := pool.Exec(ctx, `
			INSERT INTO templates_history (id, service_id, name, template_type, version, created_at)
			VALUES ($1, $2, $3, $4, 1, now() AT TIME ZONE 'utc')`, id, f.services[0], kind+" template", kind); err != nil {
			t.Fatal(err)
		}
		f.templates = append(f.templates, fixtureTemplate{id, kind})
	}
	return f
}

func newPool(t *testing.T, databaseURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func schemaVersion(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var version int
	if err := pool.QueryRow(context.Background(),
		`SELECT coalesce(max(version_id), 0) FROM goose_db_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	return version
}
