package postgres

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// acDrain returns the access changes the statements committed so far sent, decoded, with
// their ids sorted. Like chDrain it reads up to a marker of its own.
func acDrain(t *testing.T, pool *pgxpool.Pool, conn *pgx.Conn) []notifyql.AccessChange {
	t.Helper()
	fxExec(t, pool, `SELECT pg_notify('`+accessChannel+`', $1)`, chEndMarker)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	changes := []notifyql.AccessChange{}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("wait for notifications: %v", err)
		}
		if n.Payload == chEndMarker {
			return changes
		}
		c, err := decodeAccessChange(n.Payload)
		if err != nil {
			t.Fatalf("decode %q: %v", n.Payload, err)
		}
		slices.Sort(c.UserIDs)
		slices.Sort(c.ServiceIDs)
		changes = append(changes, c)
	}
}

func TestAccessTriggers(t *testing.T) {
	chVerifyNoLeaks(t)
	pool := newFixturePool(t)
	observer := chListen(t, pool)
	if _, err := observer.Exec(context.Background(), listenAccessSQL); err != nil {
		t.Fatal(err)
	}
	users := func(ids ...string) []notifyql.AccessChange {
		return []notifyql.AccessChange{{UserIDs: ids}}
	}
	services := func(ids ...string) []notifyql.AccessChange {
		return []notifyql.AccessChange{{ServiceIDs: ids}}
	}
	for _, tt := range []struct {
		name string
		sql  string
		want []notifyql.AccessChange
	}{
		{"grant a permission", `INSERT INTO permissions (service_id, user_id, permission) VALUES ('` + fxBetaID + `', '` + fxMemberID + `', 'manage_templates')`, users(fxMemberID)},
		{"revoke permissions", `DELETE FROM permissions WHERE user_id = '` + fxMemberID + `'`, users(fxMemberID)},
		{"move a permission to another user", `INSERT INTO permissions (service_id, user_id, permission) VALUES ('` + fxBetaID + `', '` + fxMemberID + `', 'view_activity');
			UPDATE permissions SET user_id = '` + fxOrgUserID + `' WHERE user_id = '` + fxMemberID + `'`, []notifyql.AccessChange{{UserIDs: []string{fxMemberID}}, {UserIDs: []string{fxMemberID, fxOrgUserID}}}},
		{"leave a service", `DELETE FROM user_to_service WHERE user_id = '` + fxMemberID + `'`, users(fxMemberID)},
		{"join an organisation", `INSERT INTO user_to_organisation (user_id, organisation_id) VALUES ('` + fxMemberID + `', '` + fxOrgID + `')`, users(fxMemberID)},
		{"deactivate a user", `UPDATE users SET state = 'inactive' WHERE id = '` + fxMemberID + `'`, users(fxMemberID)},
		{"make a platform admin", `UPDATE users SET platform_admin = true WHERE id = '` + fxOrgUserID + `'`, users(fxOrgUserID)},
		{"rename a user: nothing", `UPDATE users SET name = 'Renamed' WHERE id = '` + fxMemberID + `'`, []notifyql.AccessChange{}},
		// A deleted user's sockets are closed on this hint (server.AccessChanged).
		{"delete a user", `INSERT INTO users (id, name, email_address) VALUES ('ac000000-0000-4000-8000-0000000000de', 'Leaving', 'leaving@example.gov.uk');
			DELETE FROM users WHERE id = 'ac000000-0000-4000-8000-0000000000de'`, users("ac000000-0000-4000-8000-0000000000de")},
		{"deactivate a service", `UPDATE services SET active = false WHERE id = '` + fxAlphaID + `'`, services(fxAlphaID)},
		{"move a service out of its organisation", `UPDATE services SET organisation_id = NULL WHERE id = '` + fxGammaID + `'`, services(fxGammaID)},
		{"rename a service: nothing", `UPDATE services SET name = 'Renamed' WHERE id = '` + fxBetaID + `'`, []notifyql.AccessChange{}},
		{"truncate: everyone", `TRUNCATE user_to_organisation`, []notifyql.AccessChange{{All: true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fxExec(t, pool, tt.sql)
			if diff := cmp.Diff(tt.want, acDrain(t, pool, observer)); diff != "" {
				t.Errorf("access changes (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("many users: one capped hint that says all", func(t *testing.T) {
		fxExec(t, pool, `INSERT INTO users (id, name, email_address)
			SELECT ('ac000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'u' || n, 'u' || n || '@example.gov.uk'
			  FROM generate_series(1, 30) AS n`)
		acDrain(t, pool, observer)
		fxExec(t, pool, `UPDATE users SET state = 'inactive' WHERE id::text LIKE 'ac000000-%'`)
		if diff := cmp.Diff([]notifyql.AccessChange{{All: true}}, acDrain(t, pool, observer)); diff != "" {
			t.Errorf("access changes (-want +got):\n%s", diff)
		}
	})
}

func TestChangeListenerRelaysAccessChanges(t *testing.T) {
	chVerifyNoLeaks(t)
	pool := newFixturePool(t)
	access := make(chan notifyql.AccessChange, 10)
	listener := NewChangeListener(pool, slog.New(slog.DiscardHandler))
	listener.electionInterval = 100 * time.Millisecond
	elected := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- listener.Run(ctx, ChangeCallbacks{
			Elected:       func() { elected <- struct{}{} },
			AccessChanged: func(c notifyql.AccessChange) { access <- c },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	chWait(t, elected, "election")
	fxExec(t, pool, `INSERT INTO permissions (service_id, user_id, permission) VALUES ('`+fxBetaID+`', '`+fxMemberID+`', 'manage_templates')`)
	got := chWait(t, access, "access change")
	if diff := cmp.Diff(notifyql.AccessChange{UserIDs: []string{fxMemberID}}, got); diff != "" {
		t.Errorf("access change (-want +got):\n%s", diff)
	}
}

func TestDecodeAccessChange(t *testing.T) {
	for _, tt := range []struct {
		payload string
		want    notifyql.AccessChange
		wantErr bool
	}{
		{payload: `{"t":"permissions","u":["` + fxMemberID + `"],"s":[],"more":false}`, want: notifyql.AccessChange{UserIDs: []string{fxMemberID}}},
		{payload: `{"t":"services","u":[],"s":["` + fxAlphaID + `"],"more":true}`, want: notifyql.AccessChange{All: true}},
		{payload: `{"t":"notifications","u":[],"s":[],"more":false}`, wantErr: true},
		{payload: `{"t":"users","u":["someone@example.gov.uk"],"s":[],"more":false}`, wantErr: true},
		{payload: `not json`, wantErr: true},
	} {
		got, err := decodeAccessChange(tt.payload)
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeAccessChange(%s) error = %v, want error %v", tt.payload, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("decodeAccessChange(%s) (-want +got):\n%s", tt.payload, diff)
		}
	}
}
