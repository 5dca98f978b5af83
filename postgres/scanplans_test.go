package postgres

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPlannedScansReuseTheirPlans scans one statement again and again through planned:
// each row's values are what PostgreSQL sent, NULLs included; the statement is planned
// once per connection, planned again when its destinations change type, and a statement
// whose columns and destinations differ in number is an error, not a panic.
func TestPlannedScansReuseTheirPlans(t *testing.T) {
	pool := newFixturePool(t)
	ctx := t.Context()
	const statement = `SELECT $1::text, $2::int, $3::timestamptz, $4::uuid, $5::text[]`
	at := time.Date(2026, 12, 7, 20, 30, 0, 0, time.UTC)
	scanRow := func(args []any, dest ...any) error {
		return pool.QueryRow(ctx, statement, args...).Scan(&planned{statement: statement, to: dest})
	}
	sets := func() int {
		n := 0
		scanPlanSets.Range(func(k, _ any) bool {
			if k.(scanPlanKey).statement == statement {
				n++
			}
			return true
		})
		return n
	}

	for i, args := range [][]any{
		{"first", 1, at, "6cff9626-e2ed-4c83-9536-460f9483d890", []string{"a", "b"}},
		{nil, nil, nil, nil, nil},
		{"third", 3, at.Add(time.Hour), "11111111-2222-3333-4444-555555555555", []string{}},
	} {
		var (
			text  *string
			count *int
			when  *time.Time
			id    *string
			list  []string
		)
		if err := scanRow(args, &text, &count, &when, &id, &list); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if args[0] == nil {
			if text != nil || count != nil || when != nil || id != nil || list != nil {
				t.Errorf("row %d: NULLs scanned as %v %v %v %v %v", i, text, count, when, id, list)
			}
			continue
		}
		if *text != args[0] || *count != args[1] || !when.Equal(args[2].(time.Time)) || *id != args[3] ||
			len(list) != len(args[4].([]string)) {
			t.Errorf("row %d: scanned %q %d %v %q %q, want %v", i, *text, *count, *when, *id, list, args)
		}
	}
	// The fixture's pool may hand out more than one connection, each planning once.
	kept := sets()
	if kept < 1 || kept > int(pool.Stat().TotalConns()) {
		t.Fatalf("%d plan sets for the statement over %d connections", kept, pool.Stat().TotalConns())
	}

	// Other destination types for the same statement: planned again, and right.
	var (
		text  string
		count int64
		when  time.Time
		id    [16]byte
		list  []string
	)
	args := []any{"again", 7, at, "6cff9626-e2ed-4c83-9536-460f9483d890", []string{"x"}}
	if err := scanRow(args, &text, &count, &when, &id, &list); err != nil {
		t.Fatal(err)
	}
	if text != "again" || count != 7 || !when.Equal(at) || id[0] != 0x6c || len(list) != 1 || list[0] != "x" {
		t.Errorf("scanned %q %d %v %x %q", text, count, when, id, list)
	}

	// A nil destination skips its column, with the plans already made for the others:
	// on one connection, planned once with every destination, then never again.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	onConn := func(args []any, dest ...any) error {
		return conn.QueryRow(ctx, statement, args...).Scan(&planned{statement: statement, to: dest})
	}
	if err := onConn(args, &text, &count, &when, &id, &list); err != nil {
		t.Fatal(err)
	}
	before := scanPlanSetCount.Load() // every planning counts, a statement planned again included
	for range 2 {
		text, count = "unchanged", 0
		if err := onConn([]any{"skipped", 8, at, "6cff9626-e2ed-4c83-9536-460f9483d890", []string{"y"}}, nil, &count, nil, nil, &list); err != nil {
			t.Fatal(err)
		}
		if text != "unchanged" || count != 8 || len(list) != 1 || list[0] != "y" {
			t.Errorf("with skipped columns: scanned %q %d %q", text, count, list)
		}
	}
	if after := scanPlanSetCount.Load(); after != before {
		t.Errorf("skipping columns planned the statement %d more times, want none", after-before)
	}

	// A NULL into a destination that cannot hold one fails, naming the column.
	err = scanRow([]any{nil, 1, at, nil, nil}, &text, &count, &when, &id, &list)
	var argErr pgx.ScanArgError
	if !errors.As(err, &argErr) || argErr.ColumnIndex != 0 {
		t.Errorf("NULL into a string: %v, want a ScanArgError for column 0", err)
	}

	// Too few destinations.
	err = scanRow(args, &text, &count)
	if !errors.As(err, &argErr) || !errors.As(err, new(errColumnCount)) {
		t.Errorf("5 columns into 2 destinations: %v, want errColumnCount", err)
	}
}

// TestPlannedScanPlansStayBounded plans more statements than the cache keeps: it drops
// them all and goes on planning, so the plans kept never pass the bound.
func TestPlannedScanPlansStayBounded(t *testing.T) {
	pool := newFixturePool(t)
	ctx := t.Context()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for i := range maxScanPlanSets + 10 {
		// Each text is its own statement; pgx sends it unprepared, so none is kept by PostgreSQL.
		statement := "SELECT $1::int + " + strconv.Itoa(i)
		var got int
		if err := conn.QueryRow(ctx, statement, pgx.QueryExecModeExec, 1).Scan(&planned{statement: statement, to: []any{&got}}); err != nil {
			t.Fatal(err)
		}
		if got != 1+i {
			t.Fatalf("statement %d scanned %d", i, got)
		}
		if n := scanPlanSetCount.Load(); n > maxScanPlanSets {
			t.Fatalf("%d plan sets kept, past the bound of %d", n, maxScanPlanSets)
		}
	}
	kept := 0
	scanPlanSets.Range(func(any, any) bool { kept++; return true })
	if kept > maxScanPlanSets {
		t.Fatalf("%d plan sets kept, past the bound of %d", kept, maxScanPlanSets)
	}
}
