package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/pgtest"
)

// Each way of running a statement adds what it should to the counter, and only statements
// on connections that carry it count.
func TestQueryCounter(t *testing.T) {
	ctx := context.Background()
	apiPool := pgtest.NewPool(t)
	counter := &QueryCounter{}
	cfg := apiPool.Config()
	cfg.ConnConfig.Tracer = counter
	counted, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer counted.Close()
	// A connection of its own from the same config, as the change listener makes.
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	for _, step := range []struct {
		name string
		run  func() error
		want int64 // statements added
		// trips is the round trips added, when they differ from the statements.
		trips *int64
	}{
		{"connecting counts nothing", func() error { return counted.Ping(ctx) }, 0, nil},
		{"Exec", func() error {
			_, err := conn.Exec(ctx, `CREATE TEMP TABLE counted (n int)`)
			return err
		}, 1, nil},
		{"QueryRow", func() error {
			var n int
			return counted.QueryRow(ctx, `SELECT $1::int`, 7).Scan(&n)
		}, 1, nil},
		{"Query", func() error {
			rows, err := counted.Query(ctx, `SELECT generate_series(1, 3)`)
			if err != nil {
				return err
			}
			rows.Close()
			return rows.Err()
		}, 1, nil},
		{"a failing statement", func() error {
			if _, err := counted.Exec(ctx, `SELECT * FROM no_such_table`); err == nil {
				t.Error("selecting from a missing table succeeded")
			}
			return nil
		}, 1, nil},
		{"a batch of three, results not read", func() error {
			batch := &pgx.Batch{}
			batch.Queue(`SELECT 1`)
			batch.Queue(`SELECT 2`)
			batch.Queue(`SELECT 3`)
			return counted.SendBatch(ctx, batch).Close()
		}, 3, new(int64(1))},
		{"a transaction: BEGIN, the statement, COMMIT", func() error {
			return pgx.BeginFunc(ctx, counted, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `SELECT 1`)
				return err
			})
		}, 3, nil},
		{"CopyFrom", func() error {
			_, err := conn.CopyFrom(ctx, pgx.Identifier{"counted"}, []string{"n"}, pgx.CopyFromRows([][]any{{1}, {2}}))
			return err
		}, 1, nil},
		{"another pool's statements", func() error {
			_, err := apiPool.Exec(ctx, `SELECT 1`)
			return err
		}, 0, nil},
	} {
		before, tripsBefore := counter.Queries(), counter.RoundTrips()
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := counter.Queries() - before; got != step.want {
			t.Errorf("%s: counted %d statements, want %d", step.name, got, step.want)
		}
		wantTrips := step.want
		if step.trips != nil {
			wantTrips = *step.trips
		}
		if got := counter.RoundTrips() - tripsBefore; got != wantTrips {
			t.Errorf("%s: counted %d round trips, want %d", step.name, got, wantTrips)
		}
	}
}
