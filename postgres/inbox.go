package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// InboxStore reads inbound texts and report requests from PostgreSQL.
type InboxStore struct {
	pool *pgxpool.Pool
}

var _ notifyql.InboxStore = (*InboxStore)(nil)

// NewInboxStore returns an InboxStore that queries through pool.
func NewInboxStore(pool *pgxpool.Pool) *InboxStore {
	return &InboxStore{pool: pool}
}

// inboxPageSQL is DOMAIN.md §11's query: the latest text per sender within the window,
// newest first. The inner ORDER BY picks each sender's latest (ties broken by id); the
// index (service_id, user_number, created_at DESC) serves it.
const inboxPageSQL = `
SELECT id::text, user_number, content, created_at
  FROM (SELECT DISTINCT ON (user_number) id, user_number, content, created_at
          FROM inbound_sms
         WHERE service_id = $1 AND created_at >= $2
         ORDER BY user_number, created_at DESC, id DESC) latest
 ORDER BY created_at DESC, id DESC
 LIMIT $3 OFFSET $4`

const activeInboundNumberSQL = `
SELECT number FROM inbound_numbers
 WHERE service_id = $1 AND active
 ORDER BY created_at, number
 LIMIT 1`

// InboxPage returns `first` conversations from offset, fetching one more to learn whether
// another page follows, and the service's active inbound number, in one round trip.
func (s *InboxStore) InboxPage(ctx context.Context, serviceID string, since time.Time, first, offset int) (*notifyql.InboxPage, error) {
	page := &notifyql.InboxPage{Offset: offset}
	if !notifyql.IsUUID(serviceID) || first <= 0 || offset < 0 {
		return page, nil
	}
	batch := &pgx.Batch{}
	batch.Queue(inboxPageSQL, serviceID, since.UTC(), first+1, offset).Query(func(rows pgx.Rows) error {
		var m notifyql.InboxMessage
		m.ServiceID = notifyql.NormaliseID(serviceID)
		_, err := pgx.ForEachRow(rows, []any{&m.ID, &m.UserNumber, &m.Content, &m.CreatedAt}, func() error {
			message := m
			page.Messages = append(page.Messages, &message)
			return nil
		})
		return err
	})
	batch.Queue(activeInboundNumberSQL, serviceID).QueryRow(func(row pgx.Row) error {
		var number string
		if err := row.Scan(&number); errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		page.InboundNumber = &number
		return nil
	})
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("read the inbox of service %s: %w", serviceID, err)
	}
	if len(page.Messages) > first {
		page.Messages, page.HasNext = page.Messages[:first], true
	}
	return page, nil
}

const reportRequestColumns = `
SELECT id::text, service_id::text, user_id::text, status,
       parameter ->> 'notification_type', parameter ->> 'notification_status',
       created_at, updated_at
  FROM report_requests`

const (
	reportRequestSQL      = reportRequestColumns + "\n WHERE id = $1"
	reportRequestsByIDSQL = reportRequestColumns + "\n WHERE id = ANY($1::uuid[])"
)

func reportRequestDest(r *notifyql.ReportRequest) []any {
	return []any{&r.ID, &r.ServiceID, &r.UserID, &r.Status, &r.NotificationType, &r.NotificationStatus, &r.CreatedAt, &r.UpdatedAt}
}

// ReportRequestsByIDs returns the requests that exist among ids, deleted or not, in any
// order; ids that are not UUIDs are absent.
func (s *InboxStore) ReportRequestsByIDs(ctx context.Context, ids []string) ([]*notifyql.ReportRequest, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, reportRequestsByIDSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load %d report requests: %w", len(ids), err)
	}
	requests, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*notifyql.ReportRequest, error) {
		r := &notifyql.ReportRequest{}
		return r, row.Scan(reportRequestDest(r)...)
	})
	if err != nil {
		return nil, fmt.Errorf("load %d report requests: %w", len(ids), err)
	}
	return requests, nil
}

// The sender's number and what they wrote are personal data: they go to the caller, never
// into an error or a log.
const inboundTextsByIDSQL = `
SELECT id::text, service_id::text, user_number, content, created_at
  FROM inbound_sms
 WHERE id = ANY($1::uuid[])`

// InboundTextsByIDs returns the inbound texts that exist among ids, in any order; ids that
// are not UUIDs are absent.
func (s *InboxStore) InboundTextsByIDs(ctx context.Context, ids []string) ([]*notifyql.InboxMessage, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, inboundTextsByIDSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load %d inbound texts: %w", len(ids), err)
	}
	texts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*notifyql.InboxMessage, error) {
		m := &notifyql.InboxMessage{}
		return m, row.Scan(&m.ID, &m.ServiceID, &m.UserNumber, &m.Content, &m.CreatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("load %d inbound texts: %w", len(ids), err)
	}
	return texts, nil
}

// ReportRequest returns the request, deleted or not; ENOTFOUND when there is none.
func (s *InboxStore) ReportRequest(ctx context.Context, id string) (*notifyql.ReportRequest, error) {
	if !notifyql.IsUUID(id) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "report request not found")
	}
	var r notifyql.ReportRequest
	err := s.pool.QueryRow(ctx, reportRequestSQL, id).Scan(reportRequestDest(&r)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "report request not found")
	} else if err != nil {
		return nil, fmt.Errorf("read report request %s: %w", id, err)
	}
	return &r, nil
}
