package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

var _ notifyql.InboxExportStore = (*InboxStore)(nil)

// inboundTextsSQL reads one keyset batch of the inbox CSV (DOMAIN.md §7.3), served by the
// (service_id, created_at) index. A row compare on (created_at, id) continues exactly after
// the last row, however many texts share one created_at.
const inboundTextsSQL = `
SELECT id::text, user_number, content, created_at
  FROM inbound_sms
 WHERE service_id = $1 AND created_at >= $2
   AND ($3::timestamp IS NULL OR (created_at, id) < ($3, $4::uuid))
 ORDER BY created_at DESC, id DESC
 LIMIT $5`

// InboundTexts returns up to limit of the service's texts received since `since`, newest
// first, strictly after `after` when set. EINVALID for a cursor whose id is not a UUID. Like
// ExportRows, it reads the batch whole and returns its connection to the pool before the
// download writes it to a client that may be slow.
func (s *InboxStore) InboundTexts(ctx context.Context, serviceID string, since time.Time, after *notifyql.Cursor, limit int) ([]notifyql.InboxMessage, error) {
	if !notifyql.IsUUID(serviceID) || limit <= 0 {
		return nil, nil
	}
	var afterAt *time.Time
	var afterID *string
	if after != nil {
		if !notifyql.IsUUID(after.ID) {
			return nil, notifyql.Errorf(notifyql.EINVALID, "invalid cursor")
		}
		at := after.CreatedAt.UTC()
		afterAt, afterID = &at, &after.ID
	}
	rows, err := s.pool.Query(ctx, inboundTextsSQL, serviceID, since.UTC(), afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("read inbound texts of service %s: %w", serviceID, err)
	}
	texts := make([]notifyql.InboxMessage, 0, limit)
	var m notifyql.InboxMessage
	if _, err := pgx.ForEachRow(rows, []any{&m.ID, &m.UserNumber, &m.Content, &m.CreatedAt}, func() error {
		texts = append(texts, m)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read inbound texts of service %s: %w", serviceID, err)
	}
	return texts, nil
}
