package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// DefaultRetentionBatchSize is how many rows one retention statement moves: small enough
// that a batch holds its row locks briefly and a crash redoes little, large enough that
// the per-statement cost (the counter trigger, the cascade to status history) is spread.
const DefaultRetentionBatchSize = 10_000

// RetentionMover moves rows past their service's retention into the history tables,
// without personal data (DOMAIN.md §14, §11). Each batch is one statement that deletes and
// copies together, so an interrupted run loses nothing and the next run carries on.
type RetentionMover struct {
	pool      *pgxpool.Pool
	loc       *time.Location
	logger    *slog.Logger
	batchSize int
	// afterBatch, when set, is called after each committed batch; tests use it to
	// interrupt a run at a known point.
	afterBatch func(moved int64)
}

// NewRetentionMover returns a mover working through pool, with London days from loc.
func NewRetentionMover(pool *pgxpool.Pool, loc *time.Location, logger *slog.Logger) *RetentionMover {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RetentionMover{pool: pool, loc: loc, logger: logger, batchSize: DefaultRetentionBatchSize}
}

// BatchSize sets how many rows each statement moves (at least 1) and returns m.
func (m *RetentionMover) BatchSize(n int) *RetentionMover {
	m.batchSize = max(n, 1)
	return m
}

// serviceRetention is what the mover needs to know about one service.
type serviceRetention struct {
	ServiceID        string
	Types            []string
	Days             []int32
	HasInboundNumber bool
}

// Every service, even one without retention rows, since the default applies to it. Any
// inbound number row counts, active or not, as in the reference implementation: the
// number's service is what links the sms retention to its inbox (§11).
const serviceRetentionsSQL = `
SELECT s.id AS service_id,
       coalesce(array_agg(r.notification_type ORDER BY r.notification_type)
                FILTER (WHERE r.notification_type IS NOT NULL), '{}') AS types,
       coalesce(array_agg(r.days_of_retention ORDER BY r.notification_type)
                FILTER (WHERE r.notification_type IS NOT NULL), '{}') AS days,
       EXISTS (SELECT 1 FROM inbound_numbers i WHERE i.service_id = s.id) AS has_inbound_number
  FROM services s
  LEFT JOIN service_data_retention r ON r.service_id = s.id
 GROUP BY s.id
 ORDER BY s.id`

func (m *RetentionMover) serviceRetentions(ctx context.Context) ([]serviceRetention, error) {
	rows, err := m.pool.Query(ctx, serviceRetentionsSQL)
	if err != nil {
		return nil, fmt.Errorf("load service retention: %w", err)
	}
	services, err := pgx.CollectRows(rows, pgx.RowToStructByName[serviceRetention])
	if err != nil {
		return nil, fmt.Errorf("load service retention: %w", err)
	}
	return services, nil
}

func (s serviceRetention) retention() notifyql.Retention {
	r := make(notifyql.Retention, len(s.Types))
	for i, t := range s.Types {
		r[notifyql.NotificationType(t)] = int(s.Days[i])
	}
	return r
}

// inboundDays is §11's rule: the sms retention for a service with an inbound number and an
// sms retention row, 7 for everyone else.
func (s serviceRetention) inboundDays() int {
	if !s.HasInboundNumber {
		return notifyql.DefaultRetentionDays
	}
	return s.retention().Days(notifyql.TypeSMS)
}

// retentionWindow is one slice of a table to trim: a service's rows of a type (inbound
// SMS have no type) created before windowStart.
type retentionWindow struct {
	serviceID   string
	typ         notifyql.NotificationType
	windowStart time.Time
}

func (m *RetentionMover) notificationWindows(ctx context.Context, now time.Time) ([]retentionWindow, error) {
	services, err := m.serviceRetentions(ctx)
	if err != nil {
		return nil, err
	}
	windows := make([]retentionWindow, 0, len(services)*len(notifyql.NotificationTypes))
	for _, s := range services {
		r := s.retention()
		for _, t := range notifyql.NotificationTypes {
			windows = append(windows, retentionWindow{serviceID: s.ServiceID, typ: t, windowStart: r.WindowStart(t, now, m.loc)})
		}
	}
	return windows, nil
}

func (m *RetentionMover) inboundWindows(ctx context.Context, now time.Time) ([]retentionWindow, error) {
	services, err := m.serviceRetentions(ctx)
	if err != nil {
		return nil, err
	}
	windows := make([]retentionWindow, 0, len(services))
	for _, s := range services {
		windows = append(windows, retentionWindow{serviceID: s.ServiceID, windowStart: notifyql.WindowStart(now, s.inboundDays(), m.loc)})
	}
	return windows, nil
}

// moveNotificationsSQL moves one batch of a service's notifications of a type. The delete
// fires the counter trigger (notification_status_counts stays equal to a GROUP BY over
// notifications) and cascades to notification_status_history. SKIP LOCKED leaves rows a
// writer holds to the next run rather than waiting on them. Personal data (to,
// normalised_to, personalisation, reply_to_text, letter_validation) is not returned, so it
// cannot reach the history. ON CONFLICT keeps a rerun harmless should a row ever be in
// both tables.
// $1 service, $2 type, $3 window start, $4 batch size.
const moveNotificationsSQL = `
WITH due AS (
    SELECT id
      FROM notifications
     WHERE service_id = $1 AND notification_type = $2 AND created_at < $3
     LIMIT $4
       FOR UPDATE SKIP LOCKED
), moved AS (
    DELETE FROM notifications n
     USING due
     WHERE n.id = due.id
    RETURNING n.id, n.service_id, n.template_id, n.template_version, n.notification_type,
              n.client_reference, n.key_type, n.notification_status, n.billable_units,
              n.rate_multiplier, n.international, n.phone_prefix, n.postage, n.created_at,
              n.updated_at, n.sent_at, n.sent_by, n.job_id, n.job_row_number, n.api_key_id,
              n.created_by_id, n.page_count
), copied AS (
    INSERT INTO notification_history (id, service_id, template_id, template_version,
        notification_type, client_reference, key_type, notification_status, billable_units,
        rate_multiplier, international, phone_prefix, postage, created_at, updated_at, sent_at,
        sent_by, job_id, job_row_number, api_key_id, created_by_id, page_count)
    SELECT id, service_id, template_id, template_version, notification_type, client_reference,
           key_type, notification_status, billable_units, rate_multiplier, international,
           phone_prefix, postage, created_at, updated_at, sent_at, sent_by, job_id,
           job_row_number, api_key_id, created_by_id, page_count
      FROM moved
    ON CONFLICT (id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM copied)`

// moveInboundSMSSQL moves one batch of a service's inbound SMS, without user_number and
// content. $1 service, $2 window start, $3 batch size.
const moveInboundSMSSQL = `
WITH due AS (
    SELECT id
      FROM inbound_sms
     WHERE service_id = $1 AND created_at < $2
     LIMIT $3
       FOR UPDATE SKIP LOCKED
), moved AS (
    DELETE FROM inbound_sms i
     USING due
     WHERE i.id = due.id
    RETURNING i.id, i.service_id, i.notify_number, i.provider, i.provider_reference,
              i.provider_date, i.created_at
), copied AS (
    INSERT INTO inbound_sms_history (id, service_id, notify_number, provider,
        provider_reference, provider_date, created_at)
    SELECT id, service_id, notify_number, provider, provider_reference, provider_date, created_at
      FROM moved
    ON CONFLICT (id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM copied)`

const countDueNotificationsSQL = `
SELECT count(*)
  FROM notifications
 WHERE service_id = $1 AND notification_type = $2 AND created_at < $3`

const countDueInboundSMSSQL = `
SELECT count(*)
  FROM inbound_sms
 WHERE service_id = $1 AND created_at < $2`

// MoveNotifications moves every notification created before its service's window for its
// type (DOMAIN.md §14) to notification_history and returns how many moved. On error the
// batches already done stay done; running again moves the rest.
func (m *RetentionMover) MoveNotifications(ctx context.Context, now time.Time) (moved int64, err error) {
	windows, err := m.notificationWindows(ctx, now)
	if err != nil {
		return 0, err
	}
	for _, w := range windows {
		n, err := m.moveWindow(ctx, "notifications", w, moveNotificationsSQL, w.serviceID, string(w.typ), w.windowStart)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	m.logger.Log(ctx, movedLevel(moved), "retention: moved notifications to history", "rows", moved)
	return moved, nil
}

// MoveInboundSMS moves every inbound SMS created before its service's inbox window
// (DOMAIN.md §11) to inbound_sms_history and returns how many moved.
func (m *RetentionMover) MoveInboundSMS(ctx context.Context, now time.Time) (moved int64, err error) {
	windows, err := m.inboundWindows(ctx, now)
	if err != nil {
		return 0, err
	}
	for _, w := range windows {
		n, err := m.moveWindow(ctx, "inbound SMS", w, moveInboundSMSSQL, w.serviceID, w.windowStart)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	m.logger.Log(ctx, movedLevel(moved), "retention: moved inbound SMS to history", "rows", moved)
	return moved, nil
}

// moveWindow runs a move statement (args then the batch size) until a batch comes back
// short. Each statement commits on its own: a failure loses at most the batch in flight,
// and that batch rolls back whole.
func (m *RetentionMover) moveWindow(ctx context.Context, what string, w retentionWindow, sql string, args ...any) (int64, error) {
	args = append(args, m.batchSize)
	var total int64
	for {
		deleted, copied, err := m.moveBatch(ctx, sql, args)
		if err != nil {
			return total, fmt.Errorf("move %s of service %s %s created before %s: %w",
				what, w.serviceID, w.typ, w.windowStart.Format(time.RFC3339), err)
		}
		total += deleted
		if copied != deleted {
			// Only possible if a row was already in history under the same id: the history
			// row is kept, and the live row (now outside retention) is gone either way.
			m.logger.Warn("retention: rows already in history were not copied again",
				"table", what, "service_id", w.serviceID, "skipped", deleted-copied)
		}
		if deleted > 0 && m.afterBatch != nil {
			m.afterBatch(deleted)
		}
		if deleted < int64(m.batchSize) {
			if total > 0 {
				m.logger.Debug("retention: moved rows", "table", what, "service_id", w.serviceID,
					"notification_type", string(w.typ), "window_start", w.windowStart, "rows", total)
			}
			return total, nil
		}
	}
}

// deadlockRetries is how many times a batch is retried when PostgreSQL picks it as a
// deadlock victim. The batch's delete takes counter rows (notification_status_counts) that
// a writer updating an old notification also takes, so the two can meet in either order.
const deadlockRetries = 3

// sqlstateDeadlockDetected is PostgreSQL's deadlock_detected error code.
const sqlstateDeadlockDetected = "40P01"

// moveBatch runs one move statement and returns the rows it deleted and copied. A batch that
// failed rolled back whole, so retrying it is safe.
func (m *RetentionMover) moveBatch(ctx context.Context, sql string, args []any) (deleted, copied int64, err error) {
	for attempt := 0; ; attempt++ {
		err = m.pool.QueryRow(ctx, sql, args...).Scan(&deleted, &copied)
		var pgErr *pgconn.PgError
		if err == nil || attempt == deadlockRetries || !errors.As(err, &pgErr) || pgErr.Code != sqlstateDeadlockDetected {
			return deleted, copied, err
		}
		m.logger.Warn("retention: batch was a deadlock victim; retrying", "attempt", attempt+1)
	}
}

// Retention schedule (DOMAIN.md §4's nightly table): inbound SMS at 01:40 UTC, notifications
// at 03:00 UTC, after the rollups have read yesterday's rows.
const (
	inboundSMSRetentionAt   = time.Hour + 40*time.Minute
	notificationRetentionAt = 3 * time.Hour
)

// Jobs returns the scheduled moves: inbound SMS daily at 01:40 UTC and notifications daily
// at 03:00 UTC, each with the windows of the moment it runs.
func (m *RetentionMover) Jobs(now func() time.Time) []Job {
	return []Job{
		{Name: "retention-inbound-sms", DailyAt: inboundSMSRetentionAt, Run: func(ctx context.Context) error {
			_, err := m.MoveInboundSMS(ctx, now())
			return err
		}},
		{Name: "retention-notifications", DailyAt: notificationRetentionAt, Run: func(ctx context.Context) error {
			_, err := m.MoveNotifications(ctx, now())
			return err
		}},
	}
}

// NotificationsDue returns how many notifications MoveNotifications would move at now,
// moving nothing.
func (m *RetentionMover) NotificationsDue(ctx context.Context, now time.Time) (int64, error) {
	windows, err := m.notificationWindows(ctx, now)
	if err != nil {
		return 0, err
	}
	var due int64
	for _, w := range windows {
		var n int64
		if err := m.pool.QueryRow(ctx, countDueNotificationsSQL, w.serviceID, string(w.typ), w.windowStart).Scan(&n); err != nil {
			return 0, fmt.Errorf("count notifications due for history of service %s %s: %w", w.serviceID, w.typ, err)
		}
		due += n
	}
	return due, nil
}

// InboundSMSDue returns how many inbound SMS MoveInboundSMS would move at now, moving
// nothing.
func (m *RetentionMover) InboundSMSDue(ctx context.Context, now time.Time) (int64, error) {
	windows, err := m.inboundWindows(ctx, now)
	if err != nil {
		return 0, err
	}
	var due int64
	for _, w := range windows {
		var n int64
		if err := m.pool.QueryRow(ctx, countDueInboundSMSSQL, w.serviceID, w.windowStart).Scan(&n); err != nil {
			return 0, fmt.Errorf("count inbound SMS due for history of service %s: %w", w.serviceID, err)
		}
		due += n
	}
	return due, nil
}

// movedLevel is the level a retention move is logged at: info when rows moved, debug when
// none did (every start-up's catch-up finds nothing to move on a quiet database).
func movedLevel(moved int64) slog.Level {
	if moved == 0 {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
