package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// replayFloor replays a request's round trips, in order, on each of clients connections at
// once for d: the time the database alone needs for the request. Each statement goes out
// with its captured parameters as the server sent it: one the server sent unnamed is sent
// unnamed, planned for its values every time; one it sent as a prepared statement is
// prepared once on each connection before the timing, so that PostgreSQL's plan cache, and
// the plan settings the server's batches carry, treat it as they treat the server's.
func replayFloor(ctx context.Context, databaseURL string, trips []roundTrip, clients int, d time.Duration) (measurement, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return measurement{}, err
	}
	cfg.MaxConns, cfg.MinConns = int32(clients), int32(clients)
	cfg.ConnConfig.RuntimeParams["application_name"] = "bench-compare-floor"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return measurement{}, fmt.Errorf("connect to replay the SQL: %w", err)
	}
	defer pool.Close()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int64
		firstErr  error
		wg        sync.WaitGroup
	)
	// fail counts a failed replay and keeps the first error.
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		failed++
		if firstErr == nil {
			firstErr = err
		}
	}
	started := time.Now()
	deadline := started.Add(d)
	for range clients {
		wg.Go(func() {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				fail(err)
				return
			}
			defer conn.Release()
			names, err := prepareTrips(ctx, conn.Conn().PgConn(), trips)
			if err != nil {
				fail(err)
				return
			}
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				began := time.Now()
				if err := replayTrips(ctx, conn.Conn().PgConn(), trips, names); err != nil {
					fail(err)
					continue
				}
				mine = append(mine, time.Since(began))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(started)
	if firstErr != nil {
		// A statement that fails alone would make the floor meaningless.
		return measurement{}, fmt.Errorf("replaying the captured SQL: %w", firstErr)
	}
	if len(latencies) == 0 {
		return measurement{}, fmt.Errorf("no replay finished in %s", d)
	}
	slices.Sort(latencies)
	return measurement{
		P50:      percentile(latencies, 0.50),
		P99:      percentile(latencies, 0.99),
		RPS:      float64(len(latencies)) / elapsed.Seconds(),
		Requests: int64(len(latencies)),
		Failed:   failed,
	}, nil
}

// prepareTrips prepares, on conn, each statement the server sent as a prepared statement,
// and returns their names by text.
func prepareTrips(ctx context.Context, conn *pgconn.PgConn, trips []roundTrip) (map[string]string, error) {
	names := make(map[string]string)
	for _, trip := range trips {
		for _, s := range trip.statements {
			if !s.prepared || names[s.sql] != "" {
				continue
			}
			// Named by its text, so that a name already on the connection is this same
			// statement: a 64-client run once found "floor_0" prepared on a connection it
			// had just acquired (SQLSTATE 42P05), for a reason not found.
			name := fmt.Sprintf("floor_%x", sha256.Sum256([]byte(s.sql)))[:6+24]
			_, err := conn.Prepare(ctx, name, s.sql, s.paramOIDs)
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P05" {
				err = nil // duplicate_prepared_statement: this statement, prepared before
			}
			if err != nil {
				return nil, fmt.Errorf("prepare %.60s: %w", s.sql, err)
			}
			names[s.sql] = name
		}
	}
	return names, nil
}

// replayTrips sends each round trip's statements together and reads all their results
// before the next, as the server did; names are the prepared statements' (prepareTrips).
func replayTrips(ctx context.Context, conn *pgconn.PgConn, trips []roundTrip, names map[string]string) error {
	for _, trip := range trips {
		if len(trip.statements) == 1 && trip.statements[0].simple {
			if _, err := conn.Exec(ctx, trip.statements[0].sql).ReadAll(); err != nil {
				return err
			}
			continue
		}
		batch := &pgconn.Batch{}
		for _, s := range trip.statements {
			if s.simple {
				return fmt.Errorf("a simple query inside a batch: %.60s", s.sql)
			}
			if s.prepared {
				batch.ExecPrepared(names[s.sql], s.params, s.paramFormats, s.resultFormats)
				continue
			}
			batch.ExecParams(s.sql, s.params, s.paramOIDs, s.paramFormats, s.resultFormats)
		}
		if _, err := conn.ExecBatch(ctx, batch).ReadAll(); err != nil {
			return err
		}
	}
	return nil
}

// percentile is the value at quantile q of sorted values, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}
