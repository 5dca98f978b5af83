package main

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql/pgtest"
)

// TestCaptureRecordsRoundTripsThatReplay sends a prepared statement, a batch and a simple
// query through the proxy as pgx does for notifyql, and replays what was recorded.
func TestCaptureRecordsRoundTripsThatReplay(t *testing.T) {
	databaseURL := pgtest.NewEmptyDatabase(t)
	capture, throughURL, err := startCapture(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer capture.close()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, throughURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Before recording: pgx prepares the statement on first use; recording must still know
	// its SQL when it is used again by name.
	var n int
	if err := conn.QueryRow(ctx, "SELECT $1::int + 1", 1).Scan(&n); err != nil {
		t.Fatal(err)
	}

	capture.start()
	if err := conn.QueryRow(ctx, "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
		t.Fatalf("through the proxy: %d, %v", n, err)
	}
	batch := &pgx.Batch{}
	batch.Queue("SELECT $1::text", "a")
	batch.Queue("SELECT $1::int * 2", 21)
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PgConn().Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		t.Fatal(err)
	}
	trips := capture.stop()
	if err := conn.QueryRow(ctx, "SELECT $1::int + 1", 0).Scan(&n); err != nil {
		t.Fatal(err)
	}

	if len(trips) != 3 {
		t.Fatalf("recorded %d round trips, want 3 (a statement, a batch, a simple query): %+v", len(trips), trips)
	}
	if s := trips[0].statements; len(s) != 1 || s[0].sql != "SELECT $1::int + 1" || len(s[0].params) != 1 || !s[0].prepared {
		t.Errorf("first round trip %+v, want the prepared statement with its parameter", s)
	}
	if s := trips[1].statements; len(s) != 2 || s[0].sql != "SELECT $1::text" || s[1].sql != "SELECT $1::int * 2" {
		t.Errorf("second round trip %+v, want the batch's two statements", s)
	}
	if s := trips[2].statements; len(s) != 1 || !s[0].simple || s[0].sql != "SELECT 1" {
		t.Errorf("third round trip %+v, want the simple query", s)
	}
	names, err := prepareTrips(ctx, conn.PgConn(), trips)
	if err != nil {
		t.Fatalf("preparing what was recorded: %v", err)
	}
	if len(names) != 3 {
		t.Errorf("prepared %v, want the three statements pgx prepared", names)
	}
	if err := replayTrips(ctx, conn.PgConn(), trips, names); err != nil {
		t.Errorf("replaying what was recorded: %v", err)
	}
	m, err := replayFloor(ctx, databaseURL, trips, 2, time.Second)
	if err != nil || m.Requests == 0 || m.Failed != 0 || m.P50 <= 0 || m.P99 < m.P50 {
		t.Errorf("replayFloor = %+v, %v", m, err)
	}
}
