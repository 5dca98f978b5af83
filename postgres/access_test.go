package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres"
)

const (
	accessAliceID   = "a11ce000-0000-4000-8000-000000000001"
	accessBobID     = "b0b00000-0000-4000-8000-000000000002"
	accessCarolID   = "ca201000-0000-4000-8000-000000000003"
	accessDaveID    = "da7e0000-0000-4000-8000-000000000004"
	accessDave2ID   = "da7e0000-0000-4000-8000-000000000005"
	accessUnknownID = "00000000-0000-4000-8000-00000000dead"

	accessOrgID      = "0a600000-0000-4000-8000-000000000001"
	accessServiceAID = "5e7a0000-0000-4000-8000-00000000000a"
	accessServiceBID = "5e7b0000-0000-4000-8000-00000000000b"
	accessServiceCID = "5e7c0000-0000-4000-8000-00000000000c"
)

// accessFixture: Alice manages service A and views its activity, belongs to service B with
// no permissions, holds half of send_messages on service C, and is a user of the
// organisation. Bob left (state inactive). Carol is a platform admin with no memberships.
// Two Daves have addresses that differ only in case.
const accessFixture = `
INSERT INTO organisation (id, name) VALUES ('` + accessOrgID + `', 'Org One');
INSERT INTO users (id, name, email_address, platform_admin, state) VALUES
  ('` + accessAliceID + `', 'Alice', 'alice@example.gov.uk', false, 'active'),
  ('` + accessBobID + `',   'Bob',   'bob@example.gov.uk',   false, 'inactive'),
  ('` + accessCarolID + `', 'Carol', 'carol@example.gov.uk', true,  'active'),
  ('` + accessDaveID + `',  'Dave',  'Dave@Example.gov.uk',  false, 'active'),
  ('` + accessDave2ID + `', 'Dave 2','dave@example.gov.uk',  false, 'active');
INSERT INTO services (id, name, organisation_id) VALUES
  ('` + accessServiceAID + `', 'Service A', '` + accessOrgID + `'),
  ('` + accessServiceBID + `', 'Service B', NULL),
  ('` + accessServiceCID + `', 'Service C', NULL);
INSERT INTO user_to_service (user_id, service_id) VALUES
  ('` + accessAliceID + `', '` + accessServiceAID + `'),
  ('` + accessAliceID + `', '` + accessServiceBID + `'),
  ('` + accessAliceID + `', '` + accessServiceCID + `'),
  ('` + accessBobID + `',   '` + accessServiceAID + `');
INSERT INTO permissions (user_id, service_id, permission) VALUES
  ('` + accessAliceID + `', '` + accessServiceAID + `', 'manage_users'),
  ('` + accessAliceID + `', '` + accessServiceAID + `', 'manage_settings'),
  ('` + accessAliceID + `', '` + accessServiceAID + `', 'view_activity'),
  ('` + accessAliceID + `', '` + accessServiceCID + `', 'send_texts'),
  ('` + accessAliceID + `', '` + accessServiceCID + `', 'send_emails'),
  ('` + accessBobID + `',   '` + accessServiceAID + `', 'view_activity');
INSERT INTO user_to_organisation (user_id, organisation_id) VALUES
  ('` + accessAliceID + `', '` + accessOrgID + `');
`

func newAccessStore(t *testing.T) *postgres.AccessStore {
	t.Helper()
	pool := pgtest.NewPool(t)
	mustExecAccess(t, pool, accessFixture)
	return postgres.NewAccessStore(pool)
}

func mustExecAccess(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Fatalf("exec fixture: %v", err)
	}
}

func TestAccessStorePrincipal(t *testing.T) {
	store := newAccessStore(t)
	tests := []struct {
		name     string
		userID   string
		want     *notifyql.Principal
		wantCode string
	}{
		{
			name:   "member of several services and an organisation",
			userID: accessAliceID,
			want: &notifyql.Principal{
				User: notifyql.User{ID: accessAliceID, Name: "Alice", EmailAddress: "alice@example.gov.uk", State: "active"},
				Services: map[string]notifyql.ServiceAccess{
					accessServiceAID: {Permissions: []notifyql.Permission{notifyql.ManageService, notifyql.ViewActivity}},
					accessServiceBID: {Permissions: []notifyql.Permission{}},
					accessServiceCID: {Permissions: []notifyql.Permission{}},
				},
				Organisations: map[string]bool{accessOrgID: true},
			},
		},
		{
			name:   "platform admin without memberships",
			userID: accessCarolID,
			want: &notifyql.Principal{
				User:          notifyql.User{ID: accessCarolID, Name: "Carol", EmailAddress: "carol@example.gov.uk", PlatformAdmin: true, State: "active"},
				Services:      map[string]notifyql.ServiceAccess{},
				Organisations: map[string]bool{},
			},
		},
		{name: "inactive user", userID: accessBobID, wantCode: notifyql.ENOTFOUND},
		{name: "unknown user", userID: accessUnknownID, wantCode: notifyql.ENOTFOUND},
		{name: "not a UUID", userID: "alice", wantCode: notifyql.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.Principal(context.Background(), tt.userID)
			if code := notifyql.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

// Who is asking is one statement, and one round trip, whatever the user holds: every
// request that is not served from the principal cache pays it.
func TestAccessStorePrincipalIsOneStatement(t *testing.T) {
	pool := pgtest.NewPool(t)
	mustExecAccess(t, pool, accessFixture)
	counter := &postgres.QueryCounter{}
	cfg := pool.Config()
	cfg.ConnConfig.Tracer = counter
	counted, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer counted.Close()
	store := postgres.NewAccessStore(counted)
	for _, user := range []string{accessAliceID, accessCarolID, accessBobID, accessUnknownID} {
		before, tripsBefore := counter.Queries(), counter.RoundTrips()
		if _, err := store.Principal(t.Context(), user); err != nil && notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
			t.Fatalf("principal of %s: %v", user, err)
		}
		if statements, trips := counter.Queries()-before, counter.RoundTrips()-tripsBefore; statements != 1 || trips != 1 {
			t.Errorf("principal of %s: %d statements in %d round trips, want 1 in 1", user, statements, trips)
		}
	}
}

func TestAccessStoreUsersByIDs(t *testing.T) {
	store := newAccessStore(t)
	tests := []struct {
		name string
		ids  []string
		want []string
	}{
		{"known, inactive, unknown and malformed", []string{accessAliceID, accessBobID, accessUnknownID, "junk"}, []string{accessAliceID, accessBobID}},
		{"duplicates", []string{accessCarolID, accessCarolID}, []string{accessCarolID}},
		{"none", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, err := store.UsersByIDs(context.Background(), tt.ids)
			if err != nil {
				t.Fatalf("UsersByIDs: %v", err)
			}
			got := []string{}
			for _, u := range users {
				got = append(got, u.ID)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("user ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessStoreUserByEmail(t *testing.T) {
	store := newAccessStore(t)
	tests := []struct {
		name     string
		email    string
		wantID   string
		wantCode string
	}{
		{name: "exact", email: "alice@example.gov.uk", wantID: accessAliceID},
		{name: "other case", email: "ALICE@Example.GOV.uk", wantID: accessAliceID},
		{name: "exact case wins", email: "Dave@Example.gov.uk", wantID: accessDaveID},
		{name: "exact case wins, other row", email: "dave@example.gov.uk", wantID: accessDave2ID},
		{name: "inactive users are found", email: "bob@example.gov.uk", wantID: accessBobID},
		{name: "unknown", email: "nobody@example.gov.uk", wantCode: notifyql.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := store.UserByEmail(context.Background(), tt.email)
			if code := notifyql.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if err != nil {
				if strings.Contains(err.Error(), tt.email) {
					t.Errorf("error %q repeats the email address", err)
				}
				return
			}
			if user.ID != tt.wantID {
				t.Errorf("user id = %q, want %q", user.ID, tt.wantID)
			}
		})
	}
}
