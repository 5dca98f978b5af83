package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
)

// The by-id statement reads, for every combination of what it may include, what the
// stores' own reads give one by one: the notification, its service, the facts, the rows it
// points at and its status history; and nothing it was not asked for.
func TestNotificationWithRelatedReadsWhatItIncludes(t *testing.T) {
	pool := newFixturePool(t)
	ctx := context.Background()
	notifications := NewNotificationStore(pool, fxLondon(t))
	services := NewServiceStore(pool)
	catalogue := NewCatalogueStore(pool)
	access := NewAccessStore(pool)
	now := time.Date(2025, 7, 21, 10, 0, 0, 0, time.UTC)
	insertNotifications(t, pool,
		fxNotification{ID: fxNotificationID(1), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:00:00Z"},
		fxNotification{ID: fxNotificationID(2), Type: notifyql.TypeSMS, Status: notifyql.StatusCreated, CreatedAt: "2025-07-21T09:00:00Z"})
	// The first points at a job, its creator and an API key, and has three status changes,
	// two of them at the same instant (written in this order); the second has its own.
	fxExec(t, pool, `UPDATE notifications SET job_id = $2, created_by_id = $3, api_key_id = $4 WHERE id = $1`,
		fxNotificationID(1), fxJobID, fxMemberID, fxLiveKeyID)
	fxExec(t, pool, `INSERT INTO notification_status_history (notification_id, status, at) VALUES
		($1, 'sending', '2025-07-21 08:01'), ($1, 'delivered', '2025-07-21 08:02'), ($1, 'permanent-failure', '2025-07-21 08:02')`,
		fxNotificationID(1))

	// What each include reads, read the stores' own ways.
	wantNotification, err := notifications.Notification(ctx, fxNotificationID(1))
	if err != nil {
		t.Fatal(err)
	}
	withFacts, err := services.ServicesWithFactsByIDs(ctx, []string{fxAlphaID}, now)
	if err != nil || len(withFacts) != 1 {
		t.Fatalf("service with facts: %v, %v", withFacts, err)
	}
	versions, err := catalogue.TemplateVersions(ctx, []notifyql.TemplateVersionKey{{ID: wantNotification.TemplateID, Version: wantNotification.TemplateVersion}})
	if err != nil || len(versions) != 1 {
		t.Fatalf("template version: %v, %v", versions, err)
	}
	jobs, err := catalogue.JobsByIDs(ctx, []string{fxJobID})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("job: %v, %v", jobs, err)
	}
	users, err := access.UsersByIDs(ctx, []string{fxMemberID})
	if err != nil || len(users) != 1 {
		t.Fatalf("user: %v, %v", users, err)
	}
	keys, err := catalogue.APIKeysByIDs(ctx, []string{fxLiveKeyID})
	if err != nil || len(keys) != 1 {
		t.Fatalf("API key: %v, %v", keys, err)
	}
	history, err := notifications.StatusHistory(ctx, []string{fxNotificationID(1), fxNotificationID(2)})
	if err != nil {
		t.Fatal(err)
	}

	for bits := range 1 << 6 {
		include := notifyql.NotificationIncludes{
			RelatedIncludes: notifyql.RelatedIncludes{
				TemplateVersions: bits&1 != 0, Jobs: bits&2 != 0, CreatedBy: bits&4 != 0, APIKeys: bits&8 != 0,
			},
			ServiceFacts:  bits&16 != 0,
			StatusHistory: bits&32 != 0,
		}
		for _, scope := range []notifyql.NotificationScope{{AnyService: true}, {ServiceIDs: []string{fxAlphaID, fxBetaID}}} {
			n, related, err := notifications.NotificationWithRelated(ctx, fxNotificationID(1), scope, include, now)
			if err != nil {
				t.Fatalf("%+v in %+v: %v", include, scope, err)
			}
			if diff := cmp.Diff(wantNotification, n); diff != "" {
				t.Errorf("%+v: notification (-want +got):\n%s", include, diff)
			}
			want := &notifyql.Related{}
			if include.ServiceFacts {
				want.Services = withFacts
			} else {
				want.ServiceRows = []*notifyql.Service{withFacts[0].Service}
			}
			if include.TemplateVersions {
				want.TemplateVersions = map[notifyql.TemplateVersionKey]*notifyql.TemplateVersion{{ID: versions[0].ID, Version: versions[0].Version}: versions[0]}
			}
			if include.Jobs {
				want.Jobs = map[string]*notifyql.Job{fxJobID: jobs[0]}
			}
			if include.CreatedBy {
				want.Users = map[string]*notifyql.User{fxMemberID: users[0]}
			}
			if include.APIKeys {
				want.APIKeys = map[string]*notifyql.APIKey{fxLiveKeyID: keys[0]}
			}
			if include.StatusHistory {
				want.StatusHistory = map[string][]notifyql.StatusChange{fxNotificationID(1): history[fxNotificationID(1)]}
			}
			if diff := cmp.Diff(want, related); diff != "" {
				t.Errorf("%+v in %+v: related (-want +got):\n%s", include, scope, diff)
			}
		}
	}

	// Many at once: each notification's history under its own id, an empty one for a
	// notification without changes beyond its first.
	found, related, err := notifications.NotificationsWithRelated(ctx, []string{fxNotificationID(1), fxNotificationID(2), fxMissingID},
		notifyql.NotificationScope{ServiceIDs: []string{fxAlphaID}}, everythingRelated, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || len(related.Services) != 2 || len(related.ServiceRows) != 0 {
		t.Fatalf("found %d notifications, %d services with facts, %d without", len(found), len(related.Services), len(related.ServiceRows))
	}
	if diff := cmp.Diff(history, related.StatusHistory); diff != "" {
		t.Errorf("status histories (-StatusHistory +by id):\n%s", diff)
	}
}

// everythingRelated includes every row and fact a notification points at.
var everythingRelated = notifyql.NotificationIncludes{
	RelatedIncludes: notifyql.RelatedIncludes{TemplateVersions: true, Jobs: true, CreatedBy: true, APIKeys: true},
	ServiceFacts:    true, StatusHistory: true,
}

// Out of scope or missing, a notification is not found, whatever the statement includes.
func TestNotificationWithRelatedOutOfScopeIsNotFound(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	insertNotifications(t, pool, fxNotification{ID: fxNotificationID(1), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:00:00Z"})
	now := time.Date(2025, 7, 21, 10, 0, 0, 0, time.UTC)
	for _, include := range []notifyql.NotificationIncludes{{}, everythingRelated} {
		for _, tt := range []struct {
			name  string
			id    string
			scope notifyql.NotificationScope
		}{
			{"another service's", fxNotificationID(1), notifyql.NotificationScope{ServiceIDs: []string{fxAlphaID}}},
			{"in no service", fxNotificationID(1), notifyql.NotificationScope{}},
			{"missing", fxMissingID, notifyql.NotificationScope{AnyService: true}},
			{"not a UUID", "not-a-uuid", notifyql.NotificationScope{AnyService: true}},
		} {
			if _, _, err := store.NotificationWithRelated(context.Background(), tt.id, tt.scope, include, now); notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
				t.Errorf("%s notification with %+v: %v, want ENOTFOUND", tt.name, include, err)
			}
		}
	}
}
