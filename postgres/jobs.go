package postgres

import (
	"context"
	"fmt"
	"time"

	"notifyql"
)

// scheduled_for is UTC without a zone, like every timestamp column; hence the conversion
// of now.
const upcomingJobsSQL = `
SELECT id, service_id, template_id, template_version, original_file_name, notification_count,
       job_status AS status, scheduled_for, created_by_id, created_at, archived
  FROM jobs
 WHERE service_id = $1
   AND job_status = 'scheduled'
   AND scheduled_for > ($2::timestamptz AT TIME ZONE 'utc')
 ORDER BY scheduled_for, id`

var _ notifyql.UpcomingJobStore = (*CatalogueStore)(nil)

// UpcomingJobs returns the service's jobs waiting to start after now (job_status
// 'scheduled'), soonest first. An invalid service id has none.
func (s *CatalogueStore) UpcomingJobs(ctx context.Context, serviceID string, now time.Time) ([]*notifyql.Job, error) {
	if !notifyql.IsUUID(serviceID) {
		return []*notifyql.Job{}, nil
	}
	jobs, err := collectStructs[notifyql.Job](ctx, s.pool, upcomingJobsSQL, serviceID, now)
	if err != nil {
		return nil, fmt.Errorf("load upcoming jobs of %s: %w", serviceID, err)
	}
	return jobs, nil
}
