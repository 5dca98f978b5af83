package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

// statusCountsSQL is DOMAIN.md §5.1 with today's live rows read from the trigger-kept
// notification_status_counts table, which always equals a GROUP BY over notifications by
// London date of created_at, so today costs a handful of counter rows instead of a scan.
// $2 = from, $3 = todayL. Counters that reached zero may linger; HAVING drops them.
// The rows are summed once, over both tables: grouping each table first as well only added
// a second aggregation (about 15% of the query on the bench profile's big service).
const statusCountsSQL = `
SELECT template_id, notification_type AS type, notification_status AS status,
       sum(n)::bigint AS count
  FROM (SELECT template_id, notification_type, notification_status, notification_count AS n
          FROM ft_notification_status
         WHERE service_id = $1 AND key_type <> 'test' AND bst_date >= $2 AND bst_date < $3
        UNION ALL
        SELECT template_id, notification_type, notification_status, notification_count
          FROM notification_status_counts
         WHERE service_id = $1 AND key_type <> 'test' AND bst_date = $3) counts
 GROUP BY 1, 2, 3
HAVING sum(n) <> 0
 ORDER BY 1, 2, 3`

// StatusCounts returns the (template, type, status, count) rows of DOMAIN.md §5.1 for the
// London dates from..todayL inclusive: facts for the days before today and the live
// counters for today, test keys excluded. Cancelled rows are returned; the rules that
// total them drop them (§2.2).
func (s *NotificationStore) StatusCounts(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) ([]notifyql.StatusCount, error) {
	if !notifyql.IsUUID(serviceID) {
		return nil, nil
	}
	today := notifyql.LondonDate(now, s.london)
	rows, err := s.pool.Query(ctx, statusCountsSQL, serviceID, from.Time(), today.Time())
	if err != nil {
		return nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByName[notifyql.StatusCount])
	if err != nil {
		return nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, nil
}
