package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// ReportStore keeps report requests (DOMAIN.md §13) and the CSV files the report worker
// writes for them, in chunks (migrations/00010_report_files.sql).
type ReportStore struct {
	pool *pgxpool.Pool
	// perDay is how many requests a user may make in any ReportQuotaWindow.
	perDay int
}

var _ notifyql.ReportStore = (*ReportStore)(nil)

// NewReportStore returns a ReportStore that queries through pool, allowing each user
// notifyql.DefaultReportsPerDay requests a day.
func NewReportStore(pool *pgxpool.Pool) *ReportStore {
	return &ReportStore{pool: pool, perDay: notifyql.DefaultReportsPerDay}
}

// WithReportsPerDay returns the store allowing each user perDay requests in any
// ReportQuotaWindow (at least one).
func (s *ReportStore) WithReportsPerDay(perDay int) *ReportStore {
	c := *s
	c.perDay = max(perDay, 1)
	return &c
}

// lockUserReportRequestsSQL serialises one user's report requests, so that two at once
// cannot both miss the other and queue the same report twice, nor both find the user
// under their allowance and go past it together. Every statement after it in the
// transaction sees what the user's earlier requests committed.
const lockUserReportRequestsSQL = `
SELECT pg_advisory_xact_lock(hashtextextended('notifyql report request:' || $1, 0))`

// reusableReportRequestSQL finds the request to hand back: a stored one requested within
// the reuse window (its file is ready), else the oldest open one touched within the dedupe
// window (DOMAIN.md §13's dedupe).
const reusableReportRequestSQL = `
SELECT id::text, service_id::text, user_id::text, status,
       parameter ->> 'notification_type', parameter ->> 'notification_status',
       created_at, updated_at
  FROM report_requests
 WHERE user_id = $1 AND service_id = $2 AND report_type = 'notifications'
   AND parameter ->> 'notification_type' = $3 AND parameter ->> 'notification_status' = $4
   AND ((status IN ('pending', 'in progress') AND coalesce(updated_at, created_at) >= $5)
        OR (status = 'stored' AND created_at >= $6))
 ORDER BY status <> 'stored', created_at, id
 LIMIT 1`

// reportQuotaFullSinceSQL is the creation time of the user's perDay-th newest request in
// the window ($2 = perDay), found only when they have made at least perDay there: the
// next request is possible once that one has left the window. The index on (user_id,
// created_at) (migrations/00011_report_requests_by_user.sql) reads at most perDay rows.
const reportQuotaFullSinceSQL = `
SELECT created_at FROM report_requests
 WHERE user_id = $1 AND created_at > $3
 ORDER BY created_at DESC
 OFFSET $2 - 1 LIMIT 1`

const insertReportRequestSQL = `
INSERT INTO report_requests (user_id, service_id, report_type, status, parameter, created_at)
VALUES ($1, $2, 'notifications', 'pending',
        jsonb_build_object('notification_type', $3::text, 'notification_status', $4::text), $5)
RETURNING id::text, service_id::text, user_id::text, status,
          parameter ->> 'notification_type', parameter ->> 'notification_status',
          created_at, updated_at`

// RequestReport hands back a stored or open request for the same report, or queues a new
// one within the user's daily allowance (notifyql.ReportStore).
func (s *ReportStore) RequestReport(ctx context.Context, in notifyql.ReportRequestInput, now time.Time) (*notifyql.ReportRequest, bool, error) {
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	if !notifyql.IsUUID(in.UserID) || !notifyql.IsUUID(in.ServiceID) {
		return nil, false, notifyql.Errorf(notifyql.EINVALID, "a report request needs a user and a service id")
	}
	var (
		r       notifyql.ReportRequest
		created bool
		refused error
	)
	now = now.UTC()
	args := []any{in.UserID, in.ServiceID, string(in.Type), string(in.Status)}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockUserReportRequestsSQL, in.UserID); err != nil {
			return err
		}
		err := scanReportRequest(tx.QueryRow(ctx, reusableReportRequestSQL,
			append(args, now.Add(-notifyql.ReportDedupeWindow), now.Add(-notifyql.ReportReuseWindow))...), &r)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var fullSince time.Time
		err = tx.QueryRow(ctx, reportQuotaFullSinceSQL, in.UserID, s.perDay, now.Add(-notifyql.ReportQuotaWindow)).Scan(&fullSince)
		switch {
		case err == nil:
			refused = notifyql.ReportQuotaExceeded(s.perDay, fullSince.Add(notifyql.ReportQuotaWindow), now)
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		created = true
		return scanReportRequest(tx.QueryRow(ctx, insertReportRequestSQL, append(args, now)...), &r)
	})
	if err != nil {
		return nil, false, fmt.Errorf("request a report of service %s: %w", in.ServiceID, err)
	}
	if refused != nil {
		return nil, false, refused
	}
	return &r, created, nil
}

func scanReportRequest(row pgx.Row, r *notifyql.ReportRequest) error {
	return row.Scan(&r.ID, &r.ServiceID, &r.UserID, &r.Status, &r.NotificationType, &r.NotificationStatus,
		&r.CreatedAt, &r.UpdatedAt)
}

// ReportRequest returns the request, deleted or not; ENOTFOUND when there is none.
func (s *ReportStore) ReportRequest(ctx context.Context, id string) (*notifyql.ReportRequest, error) {
	return NewInboxStore(s.pool).ReportRequest(ctx, id)
}

const reportChunkSQL = `
SELECT seq, data FROM report_chunks
 WHERE report_request_id = $1 AND seq > $2
 ORDER BY seq
 LIMIT 1`

// WriteReportFile writes a stored report's chunks to w in order, one query per chunk, so
// that neither the file nor a connection is held while a slow client reads.
func (s *ReportStore) WriteReportFile(ctx context.Context, id string, w io.Writer) error {
	r, err := s.ReportRequest(ctx, id)
	if err != nil {
		return err
	}
	switch r.Status {
	case notifyql.ReportStored:
	case notifyql.ReportDeleted:
		return notifyql.Errorf(notifyql.ENOTFOUND, "report request not found")
	default:
		return notifyql.Errorf(notifyql.ECONFLICT, "the report is not ready to download: it is %s", r.Status)
	}
	last := -1
	for {
		var data []byte
		err := s.pool.QueryRow(ctx, reportChunkSQL, r.ID, last).Scan(&last, &data)
		if errors.Is(err, pgx.ErrNoRows) {
			break
		} else if err != nil {
			return fmt.Errorf("read report %s chunk after %d: %w", r.ID, last, err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("write report %s: %w", r.ID, err)
		}
	}
	if last < 0 {
		// A stored report always has its header chunk; the demo data's stored requests
		// have none.
		return notifyql.Errorf(notifyql.ENOTFOUND, "the report's file is missing")
	}
	return nil
}

// cleanupReportRequestsSQL is DOMAIN.md §13's nightly cleanup: requests not yet deleted
// and created between 5 days and 24 hours before the run become deleted.
const cleanupReportRequestsSQL = `
UPDATE report_requests SET status = 'deleted', updated_at = $1
 WHERE status <> 'deleted' AND created_at BETWEEN $2 AND $3
RETURNING id::text`

// The files go in a second statement, whose snapshot sees any chunk a worker committed
// while the first waited for that request's row.
const removeReportFilesSQL = `
WITH builds AS (DELETE FROM report_builds WHERE report_request_id = ANY($1::uuid[]))
DELETE FROM report_chunks WHERE report_request_id = ANY($1::uuid[])`

// CleanupReports deletes the requests created between ReportCleanupOldest and
// ReportCleanupNewest before now and removes their files, returning how many it deleted.
func (s *ReportStore) CleanupReports(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	var ids []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, cleanupReportRequestsSQL, now,
			now.Add(-notifyql.ReportCleanupOldest), now.Add(-notifyql.ReportCleanupNewest))
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, removeReportFilesSQL, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("clean up report requests: %w", err)
	}
	return len(ids), nil
}

// Jobs is the nightly cleanup for the scheduler, at ReportCleanupAt UTC; now is the clock,
// the run's time.
func (s *ReportStore) Jobs(now func() time.Time) []Job {
	return []Job{{Name: "report-request-cleanup", DailyAt: notifyql.ReportCleanupAt, Run: func(ctx context.Context) error {
		_, err := s.CleanupReports(ctx, now())
		return err
	}}}
}
