package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

var _ notifyql.ConversationStore = (*InboxStore)(nil)

const inboundTextSQL = `
SELECT id::text, user_number, content, created_at
  FROM inbound_sms
 WHERE id = $1 AND service_id = $2`

// InboundText returns one of the service's inbound texts; ENOTFOUND when it has none with
// that id.
func (s *InboxStore) InboundText(ctx context.Context, serviceID, id string) (*notifyql.InboxMessage, error) {
	notFound := notifyql.Errorf(notifyql.ENOTFOUND, "inbound text not found")
	if !notifyql.IsUUID(serviceID) || !notifyql.IsUUID(id) {
		return nil, notFound
	}
	m := notifyql.InboxMessage{ServiceID: notifyql.NormaliseID(serviceID)}
	err := s.pool.QueryRow(ctx, inboundTextSQL, id, serviceID).Scan(&m.ID, &m.UserNumber, &m.Content, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, fmt.Errorf("read inbound text %s: %w", id, err)
	}
	return &m, nil
}

// sentTextsSQL is the §6.3 SMS search narrowed to what a conversation needs: the substring
// match on normalised_to, which the trigram index serves, without the client reference.
const sentTextsSQL = `
SELECT id::text, "to", notification_status, created_at
  FROM notifications
 WHERE service_id = $1 AND notification_type = 'sms' AND key_type <> 'test'
   AND notification_status = ANY($2) AND normalised_to LIKE $3
 ORDER BY created_at DESC, id DESC
 LIMIT $4`

// SentTexts returns the service's sent texts whose normalised_to contains term, test keys
// and cancelled left out, newest first, at most limit.
func (s *InboxStore) SentTexts(ctx context.Context, serviceID, term string, limit int) ([]*notifyql.ConversationMessage, error) {
	if !notifyql.IsUUID(serviceID) || term == "" || limit <= 0 {
		return nil, nil
	}
	requested := notifyql.RequestedStatuses()
	statuses := make([]string, 0, len(requested))
	for _, st := range requested {
		statuses = append(statuses, string(st))
	}
	rows, err := s.pool.Query(ctx, sentTextsSQL, serviceID, statuses, containsPattern(term), limit)
	if err != nil {
		return nil, fmt.Errorf("read the texts sent in a conversation of service %s: %w", serviceID, err)
	}
	var m notifyql.ConversationMessage
	var status notifyql.NotificationStatus
	var sent []*notifyql.ConversationMessage
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &m.Number, &status, &m.CreatedAt}, func() error {
		message, st := m, status
		message.Direction, message.Status = notifyql.Outbound, &st
		sent = append(sent, &message)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the texts sent in a conversation of service %s: %w", serviceID, err)
	}
	return sent, nil
}

// receivedTextsSQL finds inbound candidates by the digits every written form of the number
// ends with; the caller compares the normalised numbers. The (service_id, created_at) index
// bounds it to the retention window.
const receivedTextsSQL = `
SELECT id::text, user_number, content, created_at
  FROM inbound_sms
 WHERE service_id = $1 AND created_at >= $2
   AND regexp_replace(user_number, '[^0-9]', '', 'g') LIKE $3
 ORDER BY created_at DESC, id DESC`

// ReceivedTexts returns the service's inbound texts since `since` whose user_number, digits
// only, ends with digitsSuffix, newest first.
func (s *InboxStore) ReceivedTexts(ctx context.Context, serviceID string, since time.Time, digitsSuffix string) ([]*notifyql.ConversationMessage, error) {
	if !notifyql.IsUUID(serviceID) || digitsSuffix == "" || strings.Trim(digitsSuffix, "0123456789") != "" {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, receivedTextsSQL, serviceID, since.UTC(), "%"+digitsSuffix)
	if err != nil {
		return nil, fmt.Errorf("read the texts received in a conversation of service %s: %w", serviceID, err)
	}
	var m notifyql.ConversationMessage
	var content string
	var received []*notifyql.ConversationMessage
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &m.Number, &content, &m.CreatedAt}, func() error {
		message, c := m, content
		message.Direction, message.Content = notifyql.Inbound, &c
		received = append(received, &message)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the texts received in a conversation of service %s: %w", serviceID, err)
	}
	return received, nil
}
