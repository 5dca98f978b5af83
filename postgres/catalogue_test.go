package postgres

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"notifyql"
)

func TestCatalogueStore(t *testing.T) {
	pool := newFixturePool(t)
	store := NewCatalogueStore(pool)
	ctx := context.Background()

	t.Run("TemplatesByIDs", func(t *testing.T) {
		got, err := store.TemplatesByIDs(ctx, []string{fxEmailTemplateID, fxLetterTemplateID, fxMissingID, "bad"})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		want := []*notifyql.Template{
			{
				ID: fxEmailTemplateID, ServiceID: fxAlphaID, Name: "Payment reminder",
				Type: notifyql.TypeEmail, Version: 2, CreatedAt: fxTime(t, "2025-01-01T09:00:00Z"),
				UpdatedAt: fxPtr(fxTime(t, "2025-02-01T09:00:00Z")),
			},
			{
				ID: fxLetterTemplateID, ServiceID: fxAlphaID, Name: notifyql.PrecompiledLetterName,
				Type: notifyql.TypeLetter, Version: 1, Hidden: true, Postage: fxPtr(notifyql.PostageSecond),
				CreatedAt: fxTime(t, "2025-01-01T09:00:00Z"),
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("TemplatesByIDs (-want +got):\n%s", diff)
		}
	})

	t.Run("TemplateVersions", func(t *testing.T) {
		got, err := store.TemplateVersions(ctx, []notifyql.TemplateVersionKey{
			{ID: fxEmailTemplateID, Version: 1},
			{ID: fxEmailTemplateID, Version: 2},
			{ID: fxEmailTemplateID, Version: 1}, // asked twice, returned once
			{ID: fxEmailTemplateID, Version: 3}, // no such version
			{ID: fxSMSTemplateID, Version: 2},   // no such version
			{ID: fxLetterTemplateID, Version: 1},
			{ID: "bad", Version: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool {
			if got[i].ID != got[j].ID {
				return got[i].ID < got[j].ID
			}
			return got[i].Version < got[j].Version
		})
		want := []*notifyql.TemplateVersion{
			{ID: fxEmailTemplateID, Version: 1, Name: "Reminder", Type: notifyql.TypeEmail},
			{ID: fxEmailTemplateID, Version: 2, Name: "Payment reminder", Type: notifyql.TypeEmail},
			{ID: fxLetterTemplateID, Version: 1, Name: notifyql.PrecompiledLetterName, Type: notifyql.TypeLetter, Hidden: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("TemplateVersions (-want +got):\n%s", diff)
		}
	})

	t.Run("JobsByIDs", func(t *testing.T) {
		got, err := store.JobsByIDs(ctx, []string{fxJobID, fxMissingID})
		if err != nil {
			t.Fatal(err)
		}
		want := []*notifyql.Job{{
			ID: fxJobID, ServiceID: fxAlphaID, TemplateID: fxEmailTemplateID, TemplateVersion: 2,
			OriginalFileName: "july.csv", NotificationCount: 3, Status: "finished",
			ScheduledFor: fxPtr(fxTime(t, "2025-07-20T08:00:00Z")), CreatedByID: fxPtr(fxMemberID),
			CreatedAt: fxTime(t, "2025-07-19T17:00:00Z"),
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("JobsByIDs (-want +got):\n%s", diff)
		}
	})

	t.Run("APIKeysByIDs", func(t *testing.T) {
		got, err := store.APIKeysByIDs(ctx, []string{fxLiveKeyID, fxOldRevokedID, fxMissingID})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		want := []*notifyql.APIKey{
			{ID: fxLiveKeyID, ServiceID: fxAlphaID, Name: "Live key", KeyType: notifyql.KeyNormal},
			{
				ID: fxOldRevokedID, ServiceID: fxBetaID, Name: "Old key", KeyType: notifyql.KeyTeam,
				ExpiryDate: fxPtr(fxTime(t, "2025-07-14T09:59:59Z")),
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("APIKeysByIDs (-want +got):\n%s", diff)
		}
	})

	t.Run("empty batches query nothing", func(t *testing.T) {
		templates, err1 := store.TemplatesByIDs(ctx, nil)
		versions, err2 := store.TemplateVersions(ctx, nil)
		jobs, err3 := store.JobsByIDs(ctx, []string{})
		keys, err4 := store.APIKeysByIDs(ctx, []string{"nope"})
		if len(templates)+len(versions)+len(jobs)+len(keys) != 0 || err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Errorf("got %v %v %v %v, errors %v %v %v %v", templates, versions, jobs, keys, err1, err2, err3, err4)
		}
	})
}
