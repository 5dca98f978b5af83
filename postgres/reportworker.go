package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// The report worker runs on every instance. It claims the oldest request that is pending,
// or in progress with no live lease (its worker died or stopped), with FOR UPDATE SKIP
// LOCKED, so two workers never claim the same one; it then writes the CSV a batch of
// ReportBatchSize rows at a time, each batch one chunk committed together with the keyset
// it ended on and a renewed lease. A worker that dies leaves the committed chunks and the
// keyset behind, and whoever claims the request next carries on from there: nothing is
// written twice. Every write is fenced by the claim's attempt number, so a worker whose
// lease was taken over (it stalled for longer than the lease) writes nothing more.

// ReportWorkerOptions tune the worker; zero values take the defaults.
type ReportWorkerOptions struct {
	// Name identifies the worker in report_builds (host and process id, say).
	Name string
	// Poll is how long an idle worker waits before looking for work again (2 s).
	Poll time.Duration
	// Lease is how long a claim holds without a chunk being written (2 min); a request
	// whose lease has run out is claimed again.
	Lease time.Duration
	// MaxAttempts is how many claims a request gets before it is failed (5): a report
	// that keeps killing its workers must not do so forever.
	MaxAttempts int
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (o ReportWorkerOptions) withDefaults() ReportWorkerOptions {
	if o.Name == "" {
		o.Name = "report-worker"
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ReportWorker builds report requests' CSV files into PostgreSQL.
type ReportWorker struct {
	pool    *pgxpool.Pool
	exports notifyql.ExportStore
	london  *time.Location
	logger  *slog.Logger
	opts    ReportWorkerOptions
}

// NewReportWorker returns a worker that reads rows from exports and stores files through
// pool.
func NewReportWorker(pool *pgxpool.Pool, exports notifyql.ExportStore, london *time.Location, logger *slog.Logger, opts ReportWorkerOptions) *ReportWorker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ReportWorker{pool: pool, exports: exports, london: london, logger: logger, opts: opts.withDefaults()}
}

// Run builds reports until ctx is done, then returns nil. A request it is building when
// ctx ends is released for another worker to carry on.
func (w *ReportWorker) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		built, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Our errors carry ids and SQL states, never a report's rows.
			w.logger.Error("report worker", "error", err.Error())
		}
		if built && err == nil {
			timer.Reset(0) // more may be queued
		} else {
			timer.Reset(w.opts.Poll)
		}
	}
}

// RunOnce claims one request and builds it, reporting whether there was one. A build that
// fails marks its request failed and is logged; one cut short by ctx releases it. The
// error is about the queue itself: claiming, releasing, marking failed.
func (w *ReportWorker) RunOnce(ctx context.Context) (bool, error) {
	c, err := w.claim(ctx)
	if err != nil || c == nil {
		return false, err
	}
	err = w.build(ctx, c)
	switch {
	case err == nil:
		w.logger.Info("report stored", "report_request_id", c.request.ID, "service_id", c.request.ServiceID,
			"type", c.request.NotificationType, "status_filter", c.request.NotificationStatus, "attempt", c.attempt)
		return true, nil
	case errors.Is(err, errLeaseLost):
		w.logger.Warn("report taken over or deleted while being built; stopped", "report_request_id", c.request.ID, "attempt", c.attempt)
		return true, nil
	case ctx.Err() != nil:
		// Shutting down: hand the request over now rather than when the lease runs out.
		releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if _, relErr := w.pool.Exec(releaseCtx, releaseReportBuildSQL, c.request.ID, c.attempt); relErr != nil {
			return true, fmt.Errorf("release report %s: %w", c.request.ID, relErr)
		}
		return true, nil
	}
	// Our errors carry ids and SQL states, never a report's rows.
	w.logger.Error("report failed", "report_request_id", c.request.ID, "service_id", c.request.ServiceID,
		"attempt", c.attempt, "error", err.Error())
	if err := w.finish(context.WithoutCancel(ctx), c, notifyql.ReportFailed); err != nil {
		return true, fmt.Errorf("mark report %s failed: %w", c.request.ID, err)
	}
	return true, nil
}

// errLeaseLost means another worker has claimed the request since, or it was deleted.
var errLeaseLost = errors.New("report claim lost")

// reportClaim is a request a worker holds, with where its build carries on.
type reportClaim struct {
	request   notifyql.ReportRequest
	attempt   int
	rowsSince time.Time
	nextChunk int
	after     *notifyql.Cursor
}

// claimReportSQL picks the oldest claimable request and locks it, skipping any another
// worker is claiming right now, with its attempts so far and its type's retention.
const claimReportSQL = `
SELECT r.id::text, r.service_id::text, r.user_id::text, r.status,
       r.parameter ->> 'notification_type', r.parameter ->> 'notification_status',
       r.created_at, r.updated_at, coalesce(b.attempts, 0),
       coalesce((SELECT d.days_of_retention FROM service_data_retention d
                  WHERE d.service_id = r.service_id
                    AND d.notification_type = r.parameter ->> 'notification_type'), $2)
  FROM report_requests r
  LEFT JOIN report_builds b ON b.report_request_id = r.id
 WHERE r.status IN ('pending', 'in progress')
   AND (r.status = 'pending' OR b.lease_until IS NULL OR b.lease_until < $1)
 ORDER BY r.created_at, r.id
 LIMIT 1
 FOR UPDATE OF r SKIP LOCKED`

// startReportBuildSQL takes the lease. It waits for a stalled worker's chunk being
// committed, and then returns where that chunk ended. It returns no row when another
// worker holds a live lease: claimReportSQL re-checks a request it waited to lock against
// the request's new row only, with the build row its snapshot saw, so a request another
// worker claimed meanwhile (its build row inserted since) can pass it; $5 is now.
const startReportBuildSQL = `
INSERT INTO report_builds (report_request_id, attempts, worker, lease_until, rows_since)
VALUES ($1, 1, $2, $3, $4)
ON CONFLICT (report_request_id) DO UPDATE
   SET attempts = report_builds.attempts + 1, worker = excluded.worker, lease_until = excluded.lease_until
 WHERE report_builds.lease_until IS NULL OR report_builds.lease_until < $5
RETURNING attempts, rows_since, next_chunk, after_created_at, after_id::text`

const setReportStatusSQL = `
UPDATE report_requests SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4`

// claim takes the oldest claimable request, or returns nil when there is none. A request
// out of attempts is failed on the way.
func (w *ReportWorker) claim(ctx context.Context) (*reportClaim, error) {
	for {
		now := w.opts.Now().UTC()
		var (
			c        reportClaim
			attempts int
			days     int
			found    bool
			failed   bool
			taken    bool
		)
		err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
			r := &c.request
			err := tx.QueryRow(ctx, claimReportSQL, now, notifyql.DefaultRetentionDays).Scan(&r.ID, &r.ServiceID, &r.UserID,
				&r.Status, &r.NotificationType, &r.NotificationStatus, &r.CreatedAt, &r.UpdatedAt, &attempts, &days)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			} else if err != nil {
				return err
			}
			found = true
			if attempts >= w.opts.MaxAttempts {
				failed = true
				_, err := tx.Exec(ctx, setReportStatusSQL, r.ID, string(notifyql.ReportFailed), now, string(r.Status))
				return err
			}
			var afterCreatedAt *time.Time
			var afterID *string
			since := notifyql.WindowStart(now, days, w.london).UTC()
			err = tx.QueryRow(ctx, startReportBuildSQL, r.ID, w.opts.Name, now.Add(w.opts.Lease), since, now).Scan(
				&c.attempt, &c.rowsSince, &c.nextChunk, &afterCreatedAt, &afterID)
			if errors.Is(err, pgx.ErrNoRows) {
				// Another worker has just claimed it: look for the next one.
				taken = true
				return nil
			} else if err != nil {
				return err
			}
			if afterCreatedAt != nil && afterID != nil {
				c.after = &notifyql.Cursor{CreatedAt: *afterCreatedAt, ID: *afterID}
			}
			if r.Status == notifyql.ReportPending {
				if _, err := tx.Exec(ctx, setReportStatusSQL, r.ID, string(notifyql.ReportInProgress), now, string(notifyql.ReportPending)); err != nil {
					return err
				}
				r.Status, r.UpdatedAt = notifyql.ReportInProgress, &now
			}
			return nil
		})
		switch {
		case err != nil:
			return nil, fmt.Errorf("claim a report request: %w", err)
		case !found:
			return nil, nil
		case failed:
			w.logger.Error("report failed: its builds kept stopping", "report_request_id", c.request.ID, "attempts", attempts)
			continue
		case taken:
			continue
		}
		return &c, nil
	}
}

// build writes the rest of the claimed report, a batch per chunk, and stores it.
func (w *ReportWorker) build(ctx context.Context, c *reportClaim) error {
	filter := notifyql.ExportFilter{
		ServiceID: c.request.ServiceID,
		Type:      c.request.NotificationType,
		Statuses:  c.request.NotificationStatus.Statuses(),
		Since:     c.rowsSince,
	}
	for {
		rows, err := w.exports.ExportRows(ctx, filter, c.after, notifyql.ReportBatchSize)
		if err != nil {
			return err
		}
		if c.nextChunk == 0 || len(rows) > 0 {
			data, err := notifyql.EncodeReportChunk(rows, c.nextChunk == 0, w.london)
			if err != nil {
				return err
			}
			after := c.after
			if len(rows) > 0 {
				last := rows[len(rows)-1].Cursor()
				after = &last
			}
			if err := w.appendChunk(ctx, c, data, after, len(rows)); err != nil {
				return err
			}
			c.after = after
			c.nextChunk++
		}
		if len(rows) < notifyql.ReportBatchSize {
			return w.finish(ctx, c, notifyql.ReportStored)
		}
	}
}

// holdReportRequestSQL keeps the cleanup from deleting the request while a chunk is
// being added, so that it never leaves a chunk behind.
const holdReportRequestSQL = `
SELECT 1 FROM report_requests WHERE id = $1 AND status = 'in progress' FOR SHARE`

// advanceReportBuildSQL moves the build on by one chunk and renews the lease, only for
// the claim that holds it.
const advanceReportBuildSQL = `
UPDATE report_builds
   SET next_chunk = next_chunk + 1, after_created_at = $4, after_id = $5,
       rows_written = rows_written + $6, lease_until = $7
 WHERE report_request_id = $1 AND attempts = $2 AND next_chunk = $3`

const insertReportChunkSQL = `
INSERT INTO report_chunks (report_request_id, seq, data) VALUES ($1, $2, $3)`

// appendChunk commits one chunk with where it ended, or returns errLeaseLost.
func (w *ReportWorker) appendChunk(ctx context.Context, c *reportClaim, data []byte, after *notifyql.Cursor, rows int) error {
	var afterCreatedAt *time.Time
	var afterID *string
	if after != nil {
		afterCreatedAt, afterID = &after.CreatedAt, &after.ID
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, holdReportRequestSQL, c.request.ID).Scan(new(int)); errors.Is(err, pgx.ErrNoRows) {
			return errLeaseLost
		} else if err != nil {
			return fmt.Errorf("hold report request: %w", err)
		}
		tag, err := tx.Exec(ctx, advanceReportBuildSQL, c.request.ID, c.attempt, c.nextChunk, afterCreatedAt, afterID,
			rows, w.opts.Now().UTC().Add(w.opts.Lease))
		if err != nil {
			return fmt.Errorf("advance report build: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errLeaseLost
		}
		if _, err := tx.Exec(ctx, insertReportChunkSQL, c.request.ID, c.nextChunk, data); err != nil {
			return fmt.Errorf("store report chunk %d: %w", c.nextChunk, err)
		}
		return nil
	})
}

// endReportBuildSQL lets go of the lease, only for the claim that holds it.
const endReportBuildSQL = `
UPDATE report_builds SET lease_until = NULL WHERE report_request_id = $1 AND attempts = $2`

// releaseReportBuildSQL hands a request over at shutdown: with no lease, it is claimable
// at once.
const releaseReportBuildSQL = endReportBuildSQL

// finish sets the claimed request stored or failed, or returns errLeaseLost.
func (w *ReportWorker) finish(ctx context.Context, c *reportClaim, status notifyql.ReportRequestStatus) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, endReportBuildSQL, c.request.ID, c.attempt)
		if err != nil {
			return fmt.Errorf("end report build: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errLeaseLost
		}
		tag, err = tx.Exec(ctx, setReportStatusSQL, c.request.ID, string(status), w.opts.Now().UTC(), string(notifyql.ReportInProgress))
		if err != nil {
			return fmt.Errorf("set report %s: %w", status, err)
		}
		if tag.RowsAffected() == 0 {
			return errLeaseLost
		}
		return nil
	})
}
