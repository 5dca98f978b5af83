package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"notifyql/pgtest"
)

func TestNewPoolIsMigratedAndPrivate(t *testing.T) {
	ctx := context.Background()
	first := pgtest.NewPool(t)
	second := pgtest.NewPool(t)

	for _, pool := range []interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}{first, second} {
		var statuses int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM notification_status_types`).Scan(&statuses); err != nil {
			t.Fatal(err)
		}
		if statuses != 14 {
			t.Errorf("notification_status_types has %d rows, want 14", statuses)
		}
	}
	var firstName, secondName string
	if err := first.QueryRow(ctx, `SELECT current_database()`).Scan(&firstName); err != nil {
		t.Fatal(err)
	}
	if err := second.QueryRow(ctx, `SELECT current_database()`).Scan(&secondName); err != nil {
		t.Fatal(err)
	}
	if firstName == secondName {
		t.Errorf("two pools share database %s", firstName)
	}
}

func TestDatabaseIsDroppedAfterTest(t *testing.T) {
	ctx := context.Background()
	var databaseURL string
	t.Run("uses a database", func(t *testing.T) {
		databaseURL = pgtest.NewDatabase(t)
		conn, err := pgx.Connect(ctx, databaseURL)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
	})
	conn, err := pgx.Connect(ctx, databaseURL)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("database still exists after its test ended")
	}
}

func TestNewEmptyDatabaseHasNoSchema(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("empty database has %d tables", tables)
	}
}
