package postgres

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/pgtest"
)

// The store fixture: four services with different relations to three users, templates of
// each type, a job and API keys in every revocation state. Ids are readable on purpose.
const (
	fxAdminID   = "a0000000-0000-4000-8000-000000000001"
	fxMemberID  = "a0000000-0000-4000-8000-000000000002"
	fxOrgUserID = "a0000000-0000-4000-8000-000000000003"
	fxOrgID     = "0a000000-0000-4000-8000-000000000001"

	fxAlphaID = "5e000000-0000-4000-8000-000000000001" // in the organisation, has features and retention
	fxBetaID  = "5e000000-0000-4000-8000-000000000002" // no organisation
	fxGammaID = "5e000000-0000-4000-8000-000000000003" // in the organisation, inactive
	fxDeltaID = "5e000000-0000-4000-8000-000000000004" // nobody's

	fxEmailTemplateID  = "7e000000-0000-4000-8000-000000000001"
	fxSMSTemplateID    = "7e000000-0000-4000-8000-000000000002"
	fxLetterTemplateID = "7e000000-0000-4000-8000-000000000003"
	fxJobID            = "10b00000-0000-4000-8000-000000000001"

	fxLiveKeyID    = "ae000000-0000-4000-8000-000000000001" // alpha, never revoked
	fxTestKeyID    = "ae000000-0000-4000-8000-000000000002" // alpha, test key
	fxOldRevokedID = "ae000000-0000-4000-8000-000000000003" // beta, revoked 7 days and 1 s before fxNow
	fxNewRevokedID = "ae000000-0000-4000-8000-000000000004" // gamma, revoked 6 days ago
	fxMissingID    = "ffffffff-0000-4000-8000-000000000000"
)

// fxNow is the instant the fixture was written for: 11:00 BST on Monday 21 July 2025.
var fxNow = time.Date(2025, 7, 21, 10, 0, 0, 0, time.UTC)

const storeFixtureSQL = `
INSERT INTO users (id, name, email_address, platform_admin) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'Ada Admin', 'ada@example.gov.uk', true),
    ('a0000000-0000-4000-8000-000000000002', 'Max Member', 'max@example.gov.uk', false),
    ('a0000000-0000-4000-8000-000000000003', 'Olu Org', 'olu@example.gov.uk', false);
INSERT INTO organisation (id, name, organisation_type) VALUES
    ('0a000000-0000-4000-8000-000000000001', 'Department of Examples', 'central');
INSERT INTO user_to_organisation (user_id, organisation_id) VALUES
    ('a0000000-0000-4000-8000-000000000003', '0a000000-0000-4000-8000-000000000001');
INSERT INTO services (id, name, active, restricted, organisation_id, organisation_type, crown,
                      prefix_sms, created_at, go_live_at) VALUES
    ('5e000000-0000-4000-8000-000000000001', 'Alpha', true, false, '0a000000-0000-4000-8000-000000000001',
     'central', true, true, '2024-01-02 03:04:05', '2024-02-01 09:00:00'),
    ('5e000000-0000-4000-8000-000000000002', 'Beta', true, true, NULL, NULL, NULL, false,
     '2024-01-03 00:00:00', NULL),
    ('5e000000-0000-4000-8000-000000000003', 'Gamma', false, true, '0a000000-0000-4000-8000-000000000001',
     'central', false, true, '2024-01-04 00:00:00', NULL),
    ('5e000000-0000-4000-8000-000000000004', 'Delta', true, true, NULL, 'local', false, true,
     '2024-01-05 00:00:00', NULL);
INSERT INTO user_to_service (user_id, service_id) VALUES
    ('a0000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000002');
INSERT INTO service_permissions (service_id, permission) VALUES
    ('5e000000-0000-4000-8000-000000000001', 'sms'),
    ('5e000000-0000-4000-8000-000000000001', 'email'),
    ('5e000000-0000-4000-8000-000000000001', 'inbound_sms'),
    ('5e000000-0000-4000-8000-000000000001', 'letter'),
    ('5e000000-0000-4000-8000-000000000002', 'email');
INSERT INTO service_data_retention (service_id, notification_type, days_of_retention) VALUES
    ('5e000000-0000-4000-8000-000000000001', 'email', 3),
    ('5e000000-0000-4000-8000-000000000001', 'letter', 30),
    ('5e000000-0000-4000-8000-000000000002', 'sms', 90);
INSERT INTO templates (id, service_id, name, template_type, version, postage, archived, hidden,
                       created_at, updated_at) VALUES
    ('7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     'Payment reminder', 'email', 2, NULL, false, false, '2025-01-01 09:00:00', '2025-02-01 09:00:00'),
    ('7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001',
     'Code', 'sms', 1, NULL, true, false, '2025-01-01 09:00:00', NULL),
    ('7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001',
     'Pre-compiled PDF', 'letter', 1, 'second', false, true, '2025-01-01 09:00:00', NULL);
INSERT INTO templates_history (id, service_id, name, template_type, version, postage, hidden, created_at) VALUES
    ('7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     'Reminder', 'email', 1, NULL, false, '2025-01-01 09:00:00'),
    ('7e000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     'Payment reminder', 'email', 2, NULL, false, '2025-02-01 09:00:00'),
    ('7e000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001',
     'Code', 'sms', 1, NULL, false, '2025-01-01 09:00:00'),
    ('7e000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001',
     'Pre-compiled PDF', 'letter', 1, 'second', true, '2025-01-01 09:00:00');
INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name,
                  notification_count, job_status, scheduled_for, created_by_id, created_at) VALUES
    ('10b00000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     '7e000000-0000-4000-8000-000000000001', 2, 'july.csv', 3, 'finished',
     '2025-07-20 08:00:00', 'a0000000-0000-4000-8000-000000000002', '2025-07-19 17:00:00');
INSERT INTO api_keys (id, service_id, name, key_type, secret, expiry_date) VALUES
    ('ae000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001',
     'Live key', 'normal', 'secret-1', NULL),
    ('ae000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001',
     'Test key', 'test', 'secret-2', NULL),
    ('ae000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000002',
     'Old key', 'team', 'secret-3', '2025-07-14 09:59:59'),
    ('ae000000-0000-4000-8000-000000000004', '5e000000-0000-4000-8000-000000000003',
     'Recent key', 'normal', 'secret-4', '2025-07-15 10:00:00');
`

// newFixturePool returns a pool on a fresh database holding the store fixture.
func newFixturePool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool := pgtest.NewPool(tb)
	fxExec(tb, pool, storeFixtureSQL)
	return pool
}

func fxExec(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("exec fixture SQL: %v", err)
	}
}

func fxPtr[T any](v T) *T { return &v }

func fxTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return t.UTC()
}

func serviceNames(services []*notifyql.Service) []string {
	names := []string{}
	for _, s := range services {
		names = append(names, s.Name)
	}
	return names
}

func TestServiceStore(t *testing.T) {
	pool := newFixturePool(t)
	store := NewServiceStore(pool)
	ctx := context.Background()

	t.Run("ServicesByIDs", func(t *testing.T) {
		got, err := store.ServicesByIDs(ctx, []string{
			fxBetaID, strings.ToUpper(fxAlphaID), fxMissingID, "not-a-uuid", fxBetaID,
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		want := []*notifyql.Service{
			{
				ID: fxAlphaID, Name: "Alpha", Active: true, Restricted: false,
				OrganisationID: fxPtr(fxOrgID), OrganisationType: fxPtr("central"), Crown: true,
				PrefixSMS: true, CreatedAt: fxTime(t, "2024-01-02T03:04:05Z"),
				GoLiveAt: fxPtr(fxTime(t, "2024-02-01T09:00:00Z")),
			},
			{
				ID: fxBetaID, Name: "Beta", Active: true, Restricted: true,
				CreatedAt: fxTime(t, "2024-01-03T00:00:00Z"),
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ServicesByIDs (-want +got):\n%s", diff)
		}
	})

	t.Run("ServicesByIDs with nothing to load", func(t *testing.T) {
		got, err := store.ServicesByIDs(ctx, []string{"", "x"})
		if err != nil || len(got) != 0 {
			t.Errorf("ServicesByIDs(invalid ids) = %v, %v; want nothing", got, err)
		}
	})

	t.Run("ServicesForUser", func(t *testing.T) {
		tests := []struct {
			name      string
			principal *notifyql.Principal
			want      []string
		}{
			{
				name:      "platform admin sees every service",
				principal: &notifyql.Principal{User: notifyql.User{ID: fxAdminID, PlatformAdmin: true}},
				want:      []string{"Alpha", "Beta", "Delta", "Gamma"},
			},
			{
				name: "member sees their services",
				principal: &notifyql.Principal{
					User:     notifyql.User{ID: fxMemberID},
					Services: map[string]notifyql.ServiceAccess{fxBetaID: {}},
				},
				want: []string{"Beta"},
			},
			{
				name: "organisation user sees the organisation's services",
				principal: &notifyql.Principal{
					User:          notifyql.User{ID: fxOrgUserID},
					Organisations: map[string]bool{fxOrgID: true},
				},
				want: []string{"Alpha", "Gamma"},
			},
			{
				name: "member and organisation user, overlapping",
				principal: &notifyql.Principal{
					User:          notifyql.User{ID: fxOrgUserID},
					Services:      map[string]notifyql.ServiceAccess{fxAlphaID: {}, fxBetaID: {}},
					Organisations: map[string]bool{fxOrgID: true, "0a000000-0000-4000-8000-00000000ffff": false},
				},
				want: []string{"Alpha", "Beta", "Gamma"},
			},
			{
				name:      "no relations",
				principal: &notifyql.Principal{User: notifyql.User{ID: fxMemberID}},
				want:      []string{},
			},
			{
				name: "no principal",
				want: []string{},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := store.ServicesForUser(ctx, tt.principal)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, serviceNames(got)); diff != "" {
					t.Errorf("ServicesForUser (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("FeaturesByServiceIDs", func(t *testing.T) {
		got, err := store.FeaturesByServiceIDs(ctx, []string{fxAlphaID, fxBetaID, fxDeltaID, "bad"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			fxAlphaID: {"email", "inbound_sms", "letter", "sms"},
			fxBetaID:  {"email"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FeaturesByServiceIDs (-want +got):\n%s", diff)
		}
	})

	t.Run("RetentionByServiceIDs", func(t *testing.T) {
		got, err := store.RetentionByServiceIDs(ctx, []string{fxAlphaID, fxBetaID, fxDeltaID})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]notifyql.Retention{
			fxAlphaID: {notifyql.TypeEmail: 3, notifyql.TypeLetter: 30},
			fxBetaID:  {notifyql.TypeSMS: 90},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RetentionByServiceIDs (-want +got):\n%s", diff)
		}
	})

	t.Run("HasAPIKeysByServiceIDs", func(t *testing.T) {
		// Beta's only key was revoked 7 days and 1 second before fxNow, Gamma's 6 days before.
		got, err := store.HasAPIKeysByServiceIDs(ctx, []string{fxAlphaID, fxBetaID, fxGammaID, fxDeltaID}, fxNow)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{fxAlphaID: true, fxBetaID: false, fxGammaID: true, fxDeltaID: false}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("HasAPIKeysByServiceIDs (-want +got):\n%s", diff)
		}
		// A non-UTC now means the same instant.
		inLondon := fxNow.In(time.FixedZone("BST", 3600))
		got, err = store.HasAPIKeysByServiceIDs(ctx, []string{fxBetaID}, inLondon.Add(-2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]bool{fxBetaID: true}, got); diff != "" {
			t.Errorf("HasAPIKeysByServiceIDs 2 s earlier (-want +got):\n%s", diff)
		}
	})
}
