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

// ContentStore reads what a notification's content is rebuilt from (RENDERING.md §1.1) and
// an uploaded letter's stored PDF (§1.4). Everything it returns but the template is
// personal data: errors name the notification id only.
type ContentStore struct {
	pool *pgxpool.Pool
}

// NewContentStore returns a ContentStore that queries through pool.
func NewContentStore(pool *pgxpool.Pool) *ContentStore {
	return &ContentStore{pool: pool}
}

// contentInputsSQL reads one notification's inputs in one statement. It reads
// notifications only: a row moved to notification_history has no personal data left, so
// it has no content (§1.1). The template is the version the notification was sent with,
// except the redaction flag, which is not versioned and covers every notification of the
// template (§1.3). The service's name and prefix are those in force at created_at: the
// services_history version made last at or before it (a version's updated_at is when it
// was made; the first has only created_at), or the service as it is now when no version
// is that old. The international_letters feature has no history, so it is the current one.
// $1 service, $2 notification.
const contentInputsSQL = `
SELECT n.notification_type, coalesce(th.subject, ''), th.content, th.letter_languages,
       coalesce(th.letter_welsh_subject, ''), coalesce(th.letter_welsh_content, ''),
       t.redact_personalisation, n.personalisation::text, n."to", coalesce(n.reply_to_text, ''),
       n.created_at, coalesce(sh.name, s.name), coalesce(sh.prefix_sms, s.prefix_sms),
       EXISTS (SELECT 1 FROM service_permissions p
                WHERE p.service_id = n.service_id AND p.permission = 'international_letters')
  FROM notifications n
  JOIN templates_history th ON th.id = n.template_id AND th.version = n.template_version
  JOIN templates t ON t.id = n.template_id
  JOIN services s ON s.id = n.service_id
  LEFT JOIN LATERAL (
        SELECT h.name, h.prefix_sms
          FROM services_history h
         WHERE h.id = n.service_id AND coalesce(h.updated_at, h.created_at) <= n.created_at
         ORDER BY h.version DESC
         LIMIT 1) sh ON true
 WHERE n.id = $2 AND n.service_id = $1`

// ContentInputs returns the inputs of a notification of the service, or nil when the
// service has no such notification in notifications (an unknown id, another service's,
// one moved out by the retention job, or an id that is not a UUID).
func (s *ContentStore) ContentInputs(ctx context.Context, serviceID, notificationID string) (*notifyql.ContentInputs, error) {
	if !notifyql.IsUUID(serviceID) || !notifyql.IsUUID(notificationID) {
		return nil, nil
	}
	var (
		in              notifyql.ContentInputs
		typ             string
		personalisation *string
		createdAt       time.Time
	)
	err := s.pool.QueryRow(ctx, contentInputsSQL, serviceID, notificationID).Scan(
		&typ, &in.TemplateSubject, &in.TemplateContent, &in.LetterLanguages, &in.LetterWelshSubject,
		&in.LetterWelshContent, &in.RedactPersonalisation, &personalisation, &in.To, &in.ReplyToText,
		&createdAt, &in.ServiceName, &in.PrefixSMS, &in.InternationalLetters)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load content inputs of notification %s: %w", notificationID, err)
	}
	in.Type = notifyql.NotificationType(typ)
	in.CreatedAt = createdAt.UTC()
	if personalisation != nil {
		in.Personalisation = []byte(*personalisation)
	}
	return &in, nil
}

// letterFileSQL reads an uploaded letter's PDF, scoped by its notification's service.
// $1 service, $2 notification.
const letterFileSQL = `
SELECT f.pdf
  FROM letter_files f
  JOIN notifications n ON n.id = f.notification_id
 WHERE f.notification_id = $2 AND n.service_id = $1`

// LetterFile returns the stored PDF of a notification of the service, or nil when none is
// stored (not an uploaded letter, not stored yet, another service's, moved out by the
// retention job, or an id that is not a UUID).
func (s *ContentStore) LetterFile(ctx context.Context, serviceID, notificationID string) ([]byte, error) {
	if !notifyql.IsUUID(serviceID) || !notifyql.IsUUID(notificationID) {
		return nil, nil
	}
	var pdf []byte
	err := s.pool.QueryRow(ctx, letterFileSQL, serviceID, notificationID).Scan(&pdf)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the letter file of notification %s: %w", notificationID, err)
	}
	return pdf, nil
}
