package postgres

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
	"notifyql/pgtest"
)

// The content fixture: a service renamed on 2025-03-01 (and its SMS prefix turned off), a
// second service, an sms template revised and later redacted, a Welsh letter and an
// uploaded letter with its PDF.
const (
	ctServiceID      = "5e000000-0000-4000-8000-0000000000c1"
	ctOtherServiceID = "5e000000-0000-4000-8000-0000000000c2"
	ctSMSTemplateID  = "7e000000-0000-4000-8000-0000000000c1"
	ctLetterID       = "7e000000-0000-4000-8000-0000000000c2"
	ctPDFTemplateID  = "7e000000-0000-4000-8000-0000000000c3"
	ctOldSMS         = "0c000000-0000-4000-8000-000000000001" // sent with version 1, before the rename
	ctNewSMS         = "0c000000-0000-4000-8000-000000000002" // version 2, after the rename
	ctWelsh          = "0c000000-0000-4000-8000-000000000003"
	ctUploaded       = "0c000000-0000-4000-8000-000000000004"
	ctNoHistory      = "0c000000-0000-4000-8000-000000000005" // other service: no services_history rows
	ctMoved          = "0c000000-0000-4000-8000-000000000006" // in notification_history only
)

const contentFixtureSQL = `
INSERT INTO services (id, name, prefix_sms, created_at, version) VALUES
    ('5e000000-0000-4000-8000-0000000000c1', 'Renamed Service', false, '2025-01-01 00:00:00', 2),
    ('5e000000-0000-4000-8000-0000000000c2', 'Other Service', true, '2025-01-01 00:00:00', 1);
INSERT INTO services_history (id, name, active, restricted, prefix_sms, created_at, updated_at, version) VALUES
    ('5e000000-0000-4000-8000-0000000000c1', 'First Name', true, false, true, '2025-01-01 00:00:00', NULL, 1),
    ('5e000000-0000-4000-8000-0000000000c1', 'Renamed Service', true, false, false, '2025-01-01 00:00:00',
     '2025-03-01 00:00:00', 2);
INSERT INTO service_permissions (service_id, permission) VALUES
    ('5e000000-0000-4000-8000-0000000000c1', 'letter'),
    ('5e000000-0000-4000-8000-0000000000c1', 'international_letters');
INSERT INTO templates (id, service_id, name, template_type, version, content, subject, redact_personalisation,
                       letter_languages, letter_welsh_subject, letter_welsh_content, hidden, created_at) VALUES
    ('7e000000-0000-4000-8000-0000000000c1', '5e000000-0000-4000-8000-0000000000c1', 'Code', 'sms', 2,
     'Your code is ((code)) now', NULL, true, 'english', NULL, NULL, false, '2025-01-01 00:00:00'),
    ('7e000000-0000-4000-8000-0000000000c2', '5e000000-0000-4000-8000-0000000000c1', 'Bilingual', 'letter', 1,
     'Dear ((name))', 'Your bill', false, 'welsh_then_english', 'Eich bil', 'Annwyl ((name))', false,
     '2025-01-01 00:00:00'),
    ('7e000000-0000-4000-8000-0000000000c3', '5e000000-0000-4000-8000-0000000000c1', 'Pre-compiled PDF', 'letter', 1,
     '', NULL, false, 'english', NULL, NULL, true, '2025-01-01 00:00:00');
INSERT INTO templates_history (id, service_id, name, template_type, version, content, subject, letter_languages,
                               letter_welsh_subject, letter_welsh_content, hidden, created_at) VALUES
    ('7e000000-0000-4000-8000-0000000000c1', '5e000000-0000-4000-8000-0000000000c1', 'Code', 'sms', 1,
     'Code: ((code))', NULL, 'english', NULL, NULL, false, '2025-01-01 00:00:00'),
    ('7e000000-0000-4000-8000-0000000000c1', '5e000000-0000-4000-8000-0000000000c1', 'Code', 'sms', 2,
     'Your code is ((code)) now', NULL, 'english', NULL, NULL, false, '2025-04-01 00:00:00'),
    ('7e000000-0000-4000-8000-0000000000c2', '5e000000-0000-4000-8000-0000000000c1', 'Bilingual', 'letter', 1,
     'Dear ((name))', 'Your bill', 'welsh_then_english', 'Eich bil', 'Annwyl ((name))', false,
     '2025-01-01 00:00:00'),
    ('7e000000-0000-4000-8000-0000000000c3', '5e000000-0000-4000-8000-0000000000c1', 'Pre-compiled PDF', 'letter', 1,
     '', NULL, 'english', NULL, NULL, true, '2025-01-01 00:00:00');
INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", key_type,
                           created_at, reply_to_text, personalisation) VALUES
    ('0c000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-0000000000c1',
     '7e000000-0000-4000-8000-0000000000c1', 1, 'sms', '07700900001', 'normal', '2025-02-01 12:00:00',
     'GOVUK', '{"code": 123456}'),
    ('0c000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-0000000000c1',
     '7e000000-0000-4000-8000-0000000000c1', 2, 'sms', '07700900002', 'normal', '2025-04-02 12:00:00',
     NULL, NULL),
    ('0c000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-0000000000c1',
     '7e000000-0000-4000-8000-0000000000c2', 1, 'letter', E'Jo Bloggs\n1 High Street\nCF10 1AA', 'normal',
     '2025-03-01 00:00:00', E'Council\nPO Box 1', '{"name": "Jo", "address_line_1": "Jo Bloggs"}'),
    ('0c000000-0000-4000-8000-000000000004', '5e000000-0000-4000-8000-0000000000c1',
     '7e000000-0000-4000-8000-0000000000c3', 1, 'letter', E'A\nB\nSW1A 1AA', 'normal', '2025-04-02 12:00:00',
     NULL, '{}'),
    ('0c000000-0000-4000-8000-000000000005', '5e000000-0000-4000-8000-0000000000c2',
     '7e000000-0000-4000-8000-0000000000c1', 1, 'sms', '07700900005', 'normal', '2025-04-02 12:00:00',
     NULL, '{}');
INSERT INTO letter_files (notification_id, pdf, created_at) VALUES
    ('0c000000-0000-4000-8000-000000000004', '\x255044462d312e340a', '2025-04-02 12:00:01');
INSERT INTO notification_history (id, service_id, template_id, template_version, notification_type, key_type,
                                  notification_status, created_at) VALUES
    ('0c000000-0000-4000-8000-000000000006', '5e000000-0000-4000-8000-0000000000c1',
     '7e000000-0000-4000-8000-0000000000c1', 1, 'sms', 'normal', 'delivered', '2025-02-01 12:00:00');
`

func newContentStore(t *testing.T) *ContentStore {
	t.Helper()
	pool := pgtest.NewPool(t)
	fxExec(t, pool, contentFixtureSQL)
	return NewContentStore(pool)
}

func TestContentInputs(t *testing.T) {
	t.Parallel()
	store := newContentStore(t)
	ctx := context.Background()
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name          string
		serviceID, id string
		want          *notifyql.ContentInputs
	}{
		{
			name:      "the version sent with and the service as it was then; redaction as it is now",
			serviceID: ctServiceID, id: ctOldSMS,
			want: &notifyql.ContentInputs{Type: notifyql.TypeSMS, TemplateContent: "Code: ((code))",
				LetterLanguages: "english", RedactPersonalisation: true, Personalisation: []byte(`{"code": 123456}`),
				To: "07700900001", ReplyToText: "GOVUK", CreatedAt: at("2025-02-01 12:00:00"),
				ServiceName: "First Name", PrefixSMS: true, InternationalLetters: true},
		},
		{
			name:      "after the rename; no personalisation and no reply-to",
			serviceID: ctServiceID, id: ctNewSMS,
			want: &notifyql.ContentInputs{Type: notifyql.TypeSMS, TemplateContent: "Your code is ((code)) now",
				LetterLanguages: "english", RedactPersonalisation: true, To: "07700900002",
				CreatedAt: at("2025-04-02 12:00:00"), ServiceName: "Renamed Service", InternationalLetters: true},
		},
		{
			name:      "a Welsh letter sent at the instant of the rename",
			serviceID: ctServiceID, id: ctWelsh,
			want: &notifyql.ContentInputs{Type: notifyql.TypeLetter, TemplateSubject: "Your bill",
				TemplateContent: "Dear ((name))", LetterLanguages: "welsh_then_english",
				LetterWelshSubject: "Eich bil", LetterWelshContent: "Annwyl ((name))",
				Personalisation: []byte(`{"name": "Jo", "address_line_1": "Jo Bloggs"}`),
				To:              "Jo Bloggs\n1 High Street\nCF10 1AA", ReplyToText: "Council\nPO Box 1",
				CreatedAt: at("2025-03-01 00:00:00"), ServiceName: "Renamed Service", InternationalLetters: true},
		},
		{
			name:      "a service without history falls back to the service as it is",
			serviceID: ctOtherServiceID, id: ctNoHistory,
			want: &notifyql.ContentInputs{Type: notifyql.TypeSMS, TemplateContent: "Code: ((code))",
				LetterLanguages: "english", RedactPersonalisation: true, Personalisation: []byte(`{}`),
				To: "07700900005", CreatedAt: at("2025-04-02 12:00:00"), ServiceName: "Other Service", PrefixSMS: true},
		},
		{name: "another service's notification", serviceID: ctOtherServiceID, id: ctOldSMS},
		{name: "moved to history", serviceID: ctServiceID, id: ctMoved},
		{name: "unknown", serviceID: ctServiceID, id: fxMissingID},
		{name: "not a uuid", serviceID: ctServiceID, id: "nope"},
		{name: "service not a uuid", serviceID: "nope", id: ctOldSMS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ContentInputs(ctx, tt.serviceID, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ContentInputs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLetterFile(t *testing.T) {
	t.Parallel()
	store := newContentStore(t)
	ctx := context.Background()
	got, err := store.LetterFile(ctx, ctServiceID, ctUploaded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte("%PDF-1.4\n")) {
		t.Errorf("LetterFile = %q, want the stored bytes", got)
	}
	for _, tt := range []struct{ name, serviceID, id string }{
		{"another service", ctOtherServiceID, ctUploaded},
		{"no file stored", ctServiceID, ctWelsh},
		{"unknown", ctServiceID, fxMissingID},
		{"not a uuid", ctServiceID, "x"},
	} {
		got, err := store.LetterFile(ctx, tt.serviceID, tt.id)
		if err != nil || got != nil {
			t.Errorf("%s: LetterFile = %q, %v; want nil, nil", tt.name, got, err)
		}
	}

	// The file goes with its notification.
	if _, err := store.pool.Exec(ctx, `DELETE FROM notifications WHERE id = $1`, ctUploaded); err != nil {
		t.Fatal(err)
	}
	if got, err := store.LetterFile(ctx, ctServiceID, ctUploaded); err != nil || got != nil {
		t.Errorf("after deleting the notification: LetterFile = %q, %v; want nil, nil", got, err)
	}
	var left int
	if err := store.pool.QueryRow(ctx, `SELECT count(*) FROM letter_files`).Scan(&left); err != nil || left != 0 {
		t.Errorf("letter_files rows left: %d, %v; want 0", left, err)
	}
}
