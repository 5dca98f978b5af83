package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// ExportStore reads the rows of notifications CSVs (DOMAIN.md §7.2) for the direct download
// and for report requests.
type ExportStore struct {
	pool *pgxpool.Pool
}

var _ notifyql.ExportStore = (*ExportStore)(nil)

// NewExportStore returns an ExportStore that queries through pool.
func NewExportStore(pool *pgxpool.Pool) *ExportStore {
	return &ExportStore{pool: pool}
}

// exportBatchSQL picks one batch of notifications first and joins the names onto that batch
// only: the inner query walks the (service_id, notification_type, created_at, id) index
// backwards from the keyset position and stops after `limit` rows, however large the
// service, and the joins then touch at most `limit` rows. "to" is personal data: it is
// selected to be written into the file, never logged. The keyset condition is a constant
// (created_at, id) < ($5, $6) so that a prepared statement keeps one plan for every batch;
// the first batch passes the largest timestamp and the largest uuid.
const exportBatchSQL = `
SELECT n.id, n.created_at, n."to" AS recipient,
       coalesce(n.client_reference, '') AS reference,
       coalesce(th.name, '') AS template,
       n.notification_type AS type,
       coalesce(u.name, '') AS sent_by,
       coalesce(u.email_address, '') AS sent_by_email,
       coalesce(j.original_file_name, '') AS job,
       n.notification_status AS status,
       coalesce(k.name, '') AS api_key_name
  FROM (SELECT id, created_at, "to", client_reference, template_id, template_version,
               notification_type, created_by_id, job_id, notification_status, api_key_id
          FROM notifications
         WHERE service_id = $1
           AND notification_type = $2
           AND notification_status = ANY($3)
           AND created_at >= $4
           AND key_type <> 'test'
           AND (created_at, id) < ($5, $6)
         ORDER BY created_at DESC, id DESC
         LIMIT $7) n
  LEFT JOIN templates_history th ON th.id = n.template_id AND th.version = n.template_version
  LEFT JOIN users u ON u.id = n.created_by_id
  LEFT JOIN jobs j ON j.id = n.job_id
  LEFT JOIN api_keys k ON k.id = n.api_key_id
 ORDER BY n.created_at DESC, n.id DESC`

// keysetStart is a position after every row: no stored created_at reaches the year 9999
// and no uuid sorts after the all-f one.
var keysetStart = notifyql.Cursor{
	CreatedAt: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	ID:        "ffffffff-ffff-ffff-ffff-ffffffffffff",
}

// ExportRows returns up to limit rows of the notifications CSV, newest first (created_at
// DESC, id DESC), strictly after `after` when it is set: the service's notifications of
// f.Type with a status in f.Statuses, created at or after f.Since, test keys left out, jobs
// and one-off sends alike. Template is the template's name at send time. A service id
// that is not a UUID has no rows. It returns EINVALID for a limit below 1, an empty status
// list, a missing type or a cursor whose id is not a UUID. The batch is read whole and its
// connection is back in the pool when it returns: a download writes it to a client that may
// be slow, and must hold nothing of the database meanwhile.
func (s *ExportStore) ExportRows(ctx context.Context, f notifyql.ExportFilter, after *notifyql.Cursor, limit int) ([]notifyql.ExportRow, error) {
	switch {
	case limit < 1:
		return nil, notifyql.Errorf(notifyql.EINVALID, "the batch size must be at least 1")
	case len(f.Statuses) == 0:
		return nil, notifyql.Errorf(notifyql.EINVALID, "an export needs at least one status")
	case f.Type == "":
		return nil, notifyql.Errorf(notifyql.EINVALID, "an export needs a notification type")
	case after != nil && !notifyql.IsUUID(after.ID):
		return nil, notifyql.Errorf(notifyql.EINVALID, "invalid cursor")
	}
	if !notifyql.IsUUID(f.ServiceID) {
		return nil, nil
	}
	position := keysetStart
	if after != nil {
		position = *after
	}
	statuses := make([]string, len(f.Statuses))
	for i, status := range f.Statuses {
		statuses[i] = string(status)
	}
	rows, err := s.pool.Query(ctx, exportBatchSQL, f.ServiceID, string(f.Type), statuses,
		f.Since.UTC(), position.CreatedAt.UTC(), position.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("export notifications of service %s: %w", f.ServiceID, err)
	}
	batch, err := pgx.CollectRows(rows, pgx.RowToStructByName[notifyql.ExportRow])
	if err != nil {
		return nil, fmt.Errorf("export notifications of service %s: %w", f.ServiceID, err)
	}
	return batch, nil
}

// exportEstimateSQL is read by an index-only scan of ft_billing_usage_idx.
const exportEstimateSQL = `
SELECT coalesce(sum(notifications_sent), 0)::bigint
  FROM ft_billing
 WHERE service_id = $1
   AND bst_date >= $2
   AND notification_type = $3`

// ExportEstimate is the size estimate of DOMAIN.md §7.2: the sum of
// ft_billing.notifications_sent for the service and type on London dates from `from`
// onwards. A service id that is not a UUID has an estimate of 0.
func (s *ExportStore) ExportEstimate(ctx context.Context, serviceID string, t notifyql.NotificationType, from notifyql.Date) (int64, error) {
	if !notifyql.IsUUID(serviceID) {
		return 0, nil
	}
	var estimate int64
	if err := s.pool.QueryRow(ctx, exportEstimateSQL, serviceID, from.Time(), string(t)).Scan(&estimate); err != nil {
		return 0, fmt.Errorf("estimate the export of service %s: %w", serviceID, err)
	}
	return estimate, nil
}
