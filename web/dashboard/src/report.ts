// report.ts: "Request a report" in the activity view. The button asks requestReport for the
// view's type and status filter; the reportRequest subscription then shows, over the page's
// one socket, where the background worker is with it, and once it is stored, the link to
// download it (signed for the requester, on this origin, holding ids only). Requesting needs
// view_activity: without it the view says so instead of offering the button.
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { NotificationType, Permission, ReportRequestStatus, ReportStatusFilter } from './gql/graphql';
import { ask, run } from './live';
import { reasonOf } from './notifications';
import type { ActivityStatus, ActivityType, Route } from './routes';
import { byId } from './view';

const RequestReportMutation = graphql(`
  mutation RequestReport($serviceId: ID!, $type: NotificationType!, $status: ReportStatusFilter!) {
    requestReport(serviceId: $serviceId, notificationType: $type, status: $status) {
      created
      reportRequest { id }
    }
  }
`);

const ReportProgressSubscription = graphql(`
  subscription ReportProgress($id: ID!) {
    reportRequest(id: $id) { id status downloadUrl }
  }
`);

const apiType: Record<ActivityType, NotificationType> = { email: 'EMAIL', sms: 'SMS', letter: 'LETTER' };
const apiFilter: Record<ActivityStatus | 'all', ReportStatusFilter> = { all: 'ALL', sending: 'SENDING', delivered: 'DELIVERED', failed: 'FAILED' };

const progressWords: Record<ReportRequestStatus, string> = {
  PENDING: 'Report requested: waiting to be written.',
  IN_PROGRESS: 'Report requested: being written.',
  STORED: 'Your report is ready.',
  FAILED: 'The report could not be written. Request it again.',
  DELETED: 'The report has been deleted. Request it again.',
};

// Offered is the report the button would request; watching ends the subscription of the
// one requested.
interface Offered {
  client: Client;
  serviceId: string;
  type: NotificationType;
  status: ReportStatusFilter;
  // requested says a request's progress or outcome is on screen.
  requested?: boolean;
  watching?: () => void;
}

let offered: Offered | null = null;

// offerReport shows the button for route's type and status filter, or why it is not
// offered: permissions are the user's on the service (null when the API did not say). A
// report requested for the same service, type and filter stays on screen.
export function offerReport(client: Client, route: Extract<Route, { view: 'activity' }>, permissions: Permission[] | null): void {
  const next = { client, serviceId: route.serviceId, type: apiType[route.type], status: apiFilter[route.status ?? 'all'] };
  if (!offered || offered.client !== client || offered.serviceId !== next.serviceId || offered.type !== next.type || offered.status !== next.status) {
    stopReport();
    offered = next;
  }
  const allowed = permissions?.includes('VIEW_ACTIVITY') ?? false;
  byId('report-request').hidden = !allowed;
  if (!allowed) {
    showProgress(`Reports not available: ${permissions ? 'requesting a report needs the view activity permission.' : 'the server did not say whether you may.'}`);
  } else if (!offered.requested) {
    showProgress('');
  }
}

// stopReport ends the watch of a requested report and empties the section.
export function stopReport(): void {
  offered?.watching?.();
  offered = null;
  showProgress('');
  showLink(null);
}

function showProgress(text: string): void {
  byId('report-progress').textContent = text;
}

function showLink(url: string | null): void {
  const link = byId<HTMLAnchorElement>('report-download');
  if (url) link.href = url;
  else link.removeAttribute('href');
  link.hidden = !url;
}

async function requestReport(): Promise<void> {
  const current = offered;
  if (!current) return;
  const button = byId<HTMLButtonElement>('report-request');
  button.disabled = true;
  current.requested = true;
  current.watching?.();
  current.watching = undefined;
  showLink(null);
  showProgress('Requesting a report…');
  try {
    const result = await ask(current.client, RequestReportMutation, { serviceId: current.serviceId, type: current.type, status: current.status });
    if (offered !== current) return;
    const requested = result?.data?.requestReport;
    if (!requested) {
      showProgress(`Report not requested: ${reasonOf(result?.errors ?? [])}`);
      return;
    }
    watch(current, requested.reportRequest.id, requested.created);
  } catch (error) {
    if (offered === current) showProgress(`Report not requested: ${reasonOf(error)}`);
  } finally {
    button.disabled = false;
  }
}

// watch follows the request's progress until it is stored, failed or deleted. created
// false means the API handed back the same report asked for a little earlier.
function watch(current: Offered, id: string, created: boolean): void {
  const again = created ? '' : ' (You asked for the same report a few minutes ago: this is that one.)';
  const end = run(current.client, ReportProgressSubscription, { id }, {
    next: (result) => {
      if (offered !== current) return;
      const request = result.data?.reportRequest;
      if (!request) {
        showProgress(`Report progress not available: ${reasonOf(result.errors ?? [])}`);
        return;
      }
      showProgress(progressWords[request.status] + again);
      showLink(request.status === 'STORED' ? request.downloadUrl ?? null : null);
      if (request.status !== 'PENDING' && request.status !== 'IN_PROGRESS') current.watching?.();
    },
    error: (error: unknown) => {
      if (offered === current) showProgress(`Report progress not available: ${reasonOf(error)}`);
    },
    complete: () => {},
  });
  current.watching = () => {
    current.watching = undefined;
    end();
  };
}

byId('report-request').addEventListener('click', () => void requestReport());
