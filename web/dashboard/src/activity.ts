// activity.ts: the activity view, the notifications of one type: the status pills with
// their counts, a page of the list, paging by the connection's cursors, search by
// recipient or reference, and the CSV download link. It asks over the page's one socket,
// and again whenever the totals subscription says messages were sent or changed status.
// A search term goes to the API once, through rememberSearch; the view's URL carries only
// the hash it returns, never the term (a URL is kept in history, logs and shared links).
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { ActivityQuery as Activity, NotificationStatus, NotificationType } from './gql/graphql';
import { ask } from './live';
import { reasonOf } from './notifications';
import { offerReport, stopReport } from './report';
import { type ActivityStatus, type ActivityType, type Route, activityStatuses, routePath } from './routes';
import { byId } from './view';

const ActivityQuery = graphql(`
  query Activity($serviceId: ID!, $type: NotificationType!, $statuses: [NotificationStatus!], $first: Int!, $after: String, $search: NotificationSearch) {
    service(id: $serviceId) {
      notifications(type: $type, statuses: $statuses, first: $first, after: $after, search: $search) {
        edges { node { id recipient statusLabel createdAt template { name } } }
        pageInfo { hasNextPage endCursor }
        statusCounts { total sending delivered failed }
      }
      downloads(type: $type, statuses: $statuses) { canDownload csvUrl }
      myPermissions
    }
  }
`);

const RememberSearchMutation = graphql(`
  mutation RememberSearch($serviceId: ID!, $term: String!) {
    rememberSearch(serviceId: $serviceId, term: $term) { hash }
  }
`);

type ActivityRoute = Extract<Route, { view: 'activity' }>;
type Connection = NonNullable<NonNullable<Activity['service']>['notifications']>;
type Downloads = NonNullable<Activity['service']>['downloads'];

// pageSize is how many notifications a page of the list shows.
export const pageSize = 20;

const apiType: Record<ActivityType, NotificationType> = { email: 'EMAIL', sms: 'SMS', letter: 'LETTER' };
const apiStatus: Record<ActivityStatus, NotificationStatus> = { sending: 'SENDING', delivered: 'DELIVERED', failed: 'FAILED' };
const headings: Record<ActivityType, string> = { email: 'Emails', sms: 'Text messages', letter: 'Letters' };
const pillWords: Record<ActivityStatus | 'total', string> = { total: 'All', sending: 'Sending', delivered: 'Delivered', failed: 'Failed' };

const numberFormat = new Intl.NumberFormat('en-GB');
const timeFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London',
});

export function activityHeading(type: ActivityType): string {
  return headings[type];
}

// Shown is the route on screen and the client it asks on; a later show replaces it, and an
// answer for a replaced one is dropped.
interface Shown {
  client: Client;
  route: ActivityRoute;
  loading: boolean;
  again: boolean;
}

let shown: Shown | null = null;

// previousCursor maps a page's `after` cursor to the one of the page before it, learnt as
// the user pages forward: the API's connection pages forward only. A page reached by a
// reload has no known page before, and offers the first page instead.
const previousCursor = new Map<string, string | null>();

// showActivity shows route's page of notifications, asked for on client.
export function showActivity(client: Client, route: ActivityRoute): void {
  const same = shown && shown.client === client && routePath(shown.route) === routePath(route);
  if (!same) {
    shown = { client, route, loading: false, again: false };
    byId('activity-heading').textContent = headings[route.type];
    byId('activity-message').textContent = 'Loading…';
    byId('activity-rows').replaceChildren();
    byId('activity-search-state').hidden = route.search === null;
    if (route.search === null) byId<HTMLInputElement>('activity-term').value = '';
  }
  void reloadActivity();
}

// hideActivity forgets the shown route: a reload then has nothing to ask for.
export function hideActivity(): void {
  shown = null;
  stopReport();
}

// reloadActivity asks for the shown page again (called on each totals snapshot); reloads
// that arrive while one is running make one more.
export async function reloadActivity(): Promise<void> {
  const current = shown;
  if (!current) return;
  if (current.loading) {
    current.again = true;
    return;
  }
  current.loading = true;
  const { route } = current;
  try {
    const result = await ask(current.client, ActivityQuery, {
      serviceId: route.serviceId, type: apiType[route.type], first: pageSize, after: route.after,
      statuses: route.status ? [apiStatus[route.status]] : null,
      search: route.search ? { hash: route.search } : null,
    });
    if (shown !== current) return;
    const service = result?.data?.service;
    const failed = (field: string) => (result?.errors ?? []).filter((e) => Array.isArray(e.path) && e.path.includes(field));
    if (!service?.notifications) {
      showActivityUnavailable(reasonOf(result?.errors ?? []));
    } else {
      showPage(route, service.notifications);
    }
    showDownload(service?.downloads ?? null, failed('downloads'));
    offerReport(current.client, route, service?.myPermissions ?? null);
  } catch (error) {
    if (shown === current) showActivityUnavailable(reasonOf(error));
  } finally {
    current.loading = false;
    if (current.again && shown === current) {
      current.again = false;
      void reloadActivity();
    }
  }
}

function showActivityUnavailable(reason: string): void {
  byId('activity').classList.add('unavailable');
  byId('activity-rows').replaceChildren();
  byId('activity-pills').replaceChildren();
  byId('activity-paging').hidden = true;
  byId('activity-message').textContent = `Not available: ${reason}`;
}

function link(text: string, route: Route): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = routePath(route);
  a.textContent = text;
  return a;
}

// showPage writes the pills, the rows and the paging links of one answer.
function showPage(route: ActivityRoute, connection: Connection): void {
  byId('activity').classList.remove('unavailable');
  // The pills filter by status group: each is a link to the first page of its group, the
  // current one marked; counts ignore the filter, as the API gives them.
  const pills = (['total', ...activityStatuses] as const).map((group) => {
    const status = group === 'total' ? null : group;
    const item = document.createElement('li');
    const a = link('', { ...route, status, after: null });
    a.className = 'pill';
    a.dataset.status = group;
    const count = document.createElement('span');
    count.className = 'pill-count';
    count.textContent = numberFormat.format(connection.statusCounts[group]);
    a.append(count, ` ${pillWords[group]}`);
    if (route.status === status) a.setAttribute('aria-current', 'true');
    item.append(a);
    return item;
  });
  byId('activity-pills').replaceChildren(...pills);

  const rows = connection.edges.map(({ node: n }) => {
    const row = document.createElement('tr');
    row.dataset.notificationId = n.id;
    const recipient = document.createElement('th');
    recipient.scope = 'row';
    recipient.append(link(n.recipient, { view: 'notification', serviceId: route.serviceId, notificationId: n.id }));
    const template = document.createElement('td');
    template.textContent = n.template?.name ?? '';
    const status = document.createElement('td');
    status.textContent = n.statusLabel;
    const created = document.createElement('td');
    created.textContent = timeFormat.format(new Date(n.createdAt));
    row.append(recipient, template, status, created);
    return row;
  });
  byId('activity-rows').replaceChildren(...rows);
  byId('activity-message').textContent = rows.length > 0 ? ''
    : route.search ? 'No messages match the search.' : 'No messages to show.';

  const { hasNextPage, endCursor } = connection.pageInfo;
  const items: HTMLElement[] = [];
  if (route.after !== null) {
    const before = previousCursor.get(route.after);
    const item = document.createElement('li');
    item.append(before === undefined ? link('First page', { ...route, after: null })
      : link('Previous page', { ...route, after: before }));
    items.push(item);
  }
  if (hasNextPage && endCursor) {
    previousCursor.set(endCursor, route.after);
    const item = document.createElement('li');
    item.append(link('Next page', { ...route, after: endCursor }));
    items.push(item);
  }
  byId('activity-page-links').replaceChildren(...items);
  byId('activity-paging').hidden = items.length === 0;
  // A search shows its first matches only: more than shown is said, not paged.
  byId('activity-more-matches').hidden = !(route.search && hasNextPage);
}

// showDownload offers the CSV link, or says why not: the user may not download it (it
// needs view_activity), or the file is too big to download directly.
function showDownload(downloads: Downloads | null, errors: Array<{ message: string }>): void {
  const csv = byId<HTMLAnchorElement>('activity-csv');
  const message = byId('activity-csv-message');
  if (downloads?.canDownload && downloads.csvUrl) {
    csv.href = downloads.csvUrl;
    csv.hidden = false;
    message.textContent = '';
    return;
  }
  csv.hidden = true;
  csv.removeAttribute('href');
  message.textContent = errors.length ? `CSV download not available: ${reasonOf(errors)}`
    : downloads?.canDownload ? 'CSV download not available: the server offers no link to it.'
      : 'CSV download not available: downloading needs the view activity permission, and a file small enough to download directly.';
}

// searchActivity remembers term for the shown view's service and returns the route that
// searches by its hash, or throws with the reason the API gave.
export async function searchActivity(term: string): Promise<ActivityRoute | null> {
  const current = shown;
  if (!current) return null;
  const result = await ask(current.client, RememberSearchMutation, { serviceId: current.route.serviceId, term });
  const hash = result?.data?.rememberSearch?.hash;
  if (!hash) throw new Error(reasonOf(result?.errors ?? []));
  return { ...current.route, status: null, after: null, search: hash };
}
