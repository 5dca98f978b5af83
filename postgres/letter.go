package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

var _ notifyql.LetterCanceller = (*NotificationStore)(nil)

// cancelLetterSQL cancels in one statement guarded by the cancellable statuses: under READ
// COMMITTED a concurrent writer's committed status is re-checked against the WHERE clause
// before this row is written, so a status that changed meanwhile is never overwritten.
var cancelLetterSQL = `
UPDATE notifications
   SET notification_status = 'cancelled', updated_at = $3
 WHERE id = $1 AND service_id = $2 AND notification_type = 'letter'
   AND notification_status = ANY($4)
RETURNING ` + notificationSelectList

var serviceNotificationSQL = `
SELECT ` + notificationSelectList + `
  FROM notifications
 WHERE id = $1 AND service_id = $2`

// CancelLetter sets the letter to cancelled and updated_at to now when its status is still
// one of notifyql.CancellableLetterStatuses, and returns the row with whether it did; when
// the guard did not match, the row as it is now. ENOTFOUND when the service has no
// notification with that id.
func (s *NotificationStore) CancelLetter(ctx context.Context, serviceID, id string, now time.Time) (*notifyql.Notification, bool, error) {
	if !notifyql.IsUUID(serviceID) || !notifyql.IsUUID(id) {
		return nil, false, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	statuses := make([]string, len(notifyql.CancellableLetterStatuses))
	for i, st := range notifyql.CancellableLetterStatuses {
		statuses[i] = string(st)
	}
	n, err := s.oneNotification(ctx, cancelLetterSQL, id, serviceID, now.UTC(), statuses)
	if err == nil {
		return n, true, nil
	}
	if notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		return nil, false, fmt.Errorf("cancel letter %s: %w", id, err)
	}
	if n, err = s.oneNotification(ctx, serviceNotificationSQL, id, serviceID); err != nil {
		return nil, false, err
	}
	return n, false, nil
}

// oneNotification runs a query that selects notificationSelectList for at most one row;
// ENOTFOUND when there is none.
func (s *NotificationStore) oneNotification(ctx context.Context, sql string, args ...any) (*notifyql.Notification, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	n, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (*notifyql.Notification, error) {
		n := &notifyql.Notification{}
		return n, row.Scan(notificationDest(n)...)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	return n, err
}
