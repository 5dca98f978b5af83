// upcomingjobs.ts: the overview's upcoming jobs: the service's scheduled jobs that have not
// started yet, soonest first, live over the upcomingJobs subscription (a job scheduled,
// cancelled or started changes the list).
import { graphql } from './gql';
import type { UpcomingJobsSubscription as UpcomingJobs } from './gql/graphql';
import { byId, tableRow } from './view';

export const UpcomingJobsSubscription = graphql(`
  subscription UpcomingJobs($serviceId: ID!) {
    upcomingJobs(serviceId: $serviceId) { id originalFileName notificationCount scheduledFor }
  }
`);

const numberFormat = new Intl.NumberFormat('en-GB');
// A job's start, in London: the day and the minute.
const startFormat = new Intl.DateTimeFormat('en-GB', {
  weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London',
});

export function showUpcomingJobs(data: UpcomingJobs): void {
  const rows = data.upcomingJobs.map((job) => {
    let starts: string | Node = '';
    if (job.scheduledFor) {
      const time = document.createElement('time');
      time.dateTime = job.scheduledFor;
      time.textContent = startFormat.format(new Date(job.scheduledFor));
      starts = time;
    }
    return tableRow(job.originalFileName, [starts, numberFormat.format(job.notificationCount)], (i) => i === 1);
  });
  byId('upcoming-job-rows').replaceChildren(...rows);
  byId('upcoming-jobs-message').textContent = rows.length === 0 ? 'No jobs are waiting to start.' : '';
}

export function showUpcomingJobsUnavailable(reason: string): void {
  byId('upcoming-job-rows').replaceChildren();
  byId('upcoming-jobs-message').textContent = `Upcoming jobs not available: ${reason}`;
}
