package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUpcomingJobs(t *testing.T) {
	pool := newFixturePool(t)
	store := NewCatalogueStore(pool)
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	const insertJob = `INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, job_status, scheduled_for)
		VALUES ($1, $2, '` + fxSMSTemplateID + `', 1, 'file.csv', $3, $4)`
	for _, job := range []struct {
		id, service, status string
		at                  time.Time
	}{
		{"10b00000-0000-4000-8000-0000000000a2", fxAlphaID, "scheduled", now.Add(2 * time.Hour)},
		{"10b00000-0000-4000-8000-0000000000a1", fxAlphaID, "scheduled", now.Add(time.Hour)},
		{"10b00000-0000-4000-8000-0000000000a3", fxAlphaID, "scheduled", now.Add(-time.Minute)}, // overdue
		{"10b00000-0000-4000-8000-0000000000a4", fxAlphaID, "cancelled", now.Add(time.Hour)},
		{"10b00000-0000-4000-8000-0000000000a5", fxBetaID, "scheduled", now.Add(time.Hour)},
	} {
		fxExec(t, pool, insertJob, job.id, job.service, job.status, job.at)
	}
	jobs, err := store.UpcomingJobs(context.Background(), fxAlphaID, now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	want := []string{"10b00000-0000-4000-8000-0000000000a1", "10b00000-0000-4000-8000-0000000000a2"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("upcoming jobs (-want +got):\n%s", diff)
	}
	if jobs[0].ScheduledFor == nil || !jobs[0].ScheduledFor.Equal(now.Add(time.Hour)) {
		t.Errorf("scheduled for %v, want %v", jobs[0].ScheduledFor, now.Add(time.Hour))
	}
}
