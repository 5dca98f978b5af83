// main.ts: the live dashboard. Sign in with a pasted token, pick a service, and watch its
// 7-day totals, template statistics and inbox count change as messages are sent, with its
// recent messages, any of which opens to show its content and live status: one request
// lists the services, then one WebSocket carries every update and query. The token lives
// in this module's memory only: never in storage or a URL. Each view has its own URL
// (routes.ts): choosing a service or a message navigates, and the view follows the URL,
// so Back, a reload (after signing in again) and a shared link open the same view.
import './style.css';
import type { Client } from 'graphql-ws';
import { activityHeading, hideActivity, reloadActivity, searchActivity, showActivity } from './activity';
import { clearDaily, loadDaily } from './daily';
import { ApiUnavailable, cleanToken, fetchServices, type Service, tokenProblem } from './api';
import type { Document } from './documents';
import { InboxCountSubscription, inboxCount } from './inbox';
import { downloadInbox, hideInbox, showConversation, showInbox } from './inboxview';
import { type ConnectionState, createLiveClient, isAuthClose, run } from './live';
import { Messages, reasonOf } from './notifications';
import { TemplateStatisticsSubscription, TotalsSubscription } from './operations';
import { activityTypes, currentRoute, navigate, parseRoute, type Route, routePath, type YearView } from './routes';
import { loadStatistics } from './statistics';
import { loadTemplateUsage } from './templateusage';
import { loadUsage, loadUsageSummary } from './usage';
import { showUpcomingJobs, showUpcomingJobsUnavailable, UpcomingJobsSubscription } from './upcomingjobs';
import {
  byId, hideServices, showConnection, showDashboard, showInboxCount, showInboxUnavailable,
  showRouteMessage, showServices, showSignInMessage, showTemplateStatistics, showTemplatesUnavailable,
  showTitle, showTotals, showTotalsUnavailable,
} from './view';

// Selection is the chosen service and its subscriptions; a callback from an earlier
// selection's subscription finds it replaced and does nothing.
interface Selection {
  serviceId: string;
  active: number;
  unsubscribes: Array<() => void>;
  messages: Messages;
}

// Panel is one of the page's live views: what it subscribes to, and how it shows a
// snapshot or why it cannot. changes says a snapshot means messages were sent or changed
// status, so the list of recent messages follows.
interface Panel<Data> {
  document: Document<Data, { serviceId: string }>;
  show: (data: Data) => void;
  unavailable: (reason: string) => void;
  changes?: boolean;
}

function panel<Data>(p: Panel<Data>): (sel: Selection) => () => void {
  return (sel) => subscribePanel(sel, p);
}

const panels = [
  panel({
    document: TotalsSubscription,
    show: (data) => showTotals(data.dashboardTotals),
    unavailable: showTotalsUnavailable,
    changes: true,
  }),
  panel({
    document: TemplateStatisticsSubscription,
    show: (data) => showTemplateStatistics(data.templateStatistics),
    unavailable: showTemplatesUnavailable,
  }),
  panel({
    document: InboxCountSubscription,
    show: (data) => showInboxCount(inboxCount(data)),
    unavailable: showInboxUnavailable,
  }),
  panel({
    document: UpcomingJobsSubscription,
    show: showUpcomingJobs,
    unavailable: showUpcomingJobsUnavailable,
  }),
];

let token: string | null = null;
let services: Service[] = [];
// client is the one graphql-ws client, opened when a service is first chosen.
let client: Client | null = null;
let selection: Selection | null = null;

const tokenInput = byId<HTMLInputElement>('token');
const signInButton = byId<HTMLButtonElement>('sign-in-button');
const serviceSelect = byId<HTMLSelectElement>('service');

function subscribePanel<Data>(sel: Selection, p: Panel<Data>): () => void {
  sel.active++;
  const ended = () => {
    sel.active--;
  };
  return run(client!, p.document, { serviceId: sel.serviceId }, {
    next(result) {
      if (sel !== selection) return;
      if (result.errors?.length) {
        p.unavailable(reasonOf(result.errors));
        return;
      }
      const data = result.data;
      if (data == null) return;
      p.show(data);
      // New totals mean a message was sent or changed status: the list follows.
      if (p.changes) {
        void sel.messages.reload();
        void reloadActivity();
        void loadDaily(client!, sel.serviceId, () => sel === selection);
      }
    },
    error(error: unknown) {
      ended();
      // A refused token is the connection's business: onConnectionState signs out.
      if (sel !== selection || isAuthClose(error)) return;
      p.unavailable(reasonOf(error));
    },
    complete: ended,
  });
}

function onConnectionState(from: Client, state: ConnectionState): void {
  if (from !== client) return;
  if (state === 'refused') {
    signOut('The server refused the token on the live connection: it may have expired. Paste a new one to sign in again.');
    return;
  }
  // A socket closed with nothing subscribed (no service chosen, or every view ended) is
  // not waiting to reconnect.
  if (state === 'reconnecting' && !(selection && selection.active > 0)) {
    showConnection('idle');
    return;
  }
  showConnection(state);
}

function stopSelection(): void {
  const previous = selection;
  selection = null;
  hideActivity();
  hideInbox();
  clearDaily();
  previous?.messages.stop();
  previous?.unsubscribes.forEach((unsubscribe) => unsubscribe());
}

function signOut(message: string): void {
  stopSelection();
  const previous = client;
  client = null;
  void previous?.dispose();
  token = null;
  services = [];
  hideServices();
  showConnection('signed-out');
  showSignInMessage(message);
}

async function signIn(event: Event): Promise<void> {
  event.preventDefault();
  const pasted = cleanToken(tokenInput.value);
  const problem = tokenProblem(pasted);
  if (problem) {
    showSignInMessage(problem);
    tokenInput.focus();
    return;
  }
  signOut('');
  showSignInMessage('Signing in…', 'info');
  signInButton.disabled = true;
  try {
    services = await fetchServices(pasted);
  } catch (error) {
    if (!(error instanceof ApiUnavailable)) tokenInput.value = '';
    showSignInMessage(error instanceof Error ? error.message : String(error));
    tokenInput.focus();
    return;
  } finally {
    signInButton.disabled = false;
  }
  token = pasted;
  tokenInput.value = '';
  if (services.length === 0) {
    showSignInMessage('Signed in, but this token’s user cannot open any service.');
    return;
  }
  showSignInMessage('Signed in. Choose a service.', 'info');
  showServices(services);
  showConnection('idle');
  serviceSelect.focus();
  // A reload or a shared link: open the view the address names.
  showRoute(currentRoute());
}

// selectService subscribes to service's views, then ends the previous one's: in that
// order the socket always has a subscription and stays open.
function selectService(service: Service): Selection {
  if (!client) {
    const opened: Client = createLiveClient(token!, (state) => onConnectionState(opened, state));
    client = opened;
  }
  const previous = selection;
  previous?.messages.stop();
  const chosen: Selection = {
    serviceId: service.id, active: 0, unsubscribes: [],
    messages: new Messages(client, service.id, (id) => go({ view: 'notification', serviceId: service.id, notificationId: id })),
  };
  selection = chosen;
  serviceSelect.value = service.id;
  showDashboard(service.name);
  clearDaily();
  chosen.unsubscribes = panels.map((subscribe) => subscribe(chosen));
  previous?.unsubscribes.forEach((unsubscribe) => unsubscribe());
  void chosen.messages.reload();
  void loadUsageSummary(client, service.id, () => selection === chosen);
  return chosen;
}

// showRoute shows the view route names, once signed in: the service it names (which must
// be one of the user's), and the message it names, if any. A route the user cannot open
// says so beside the service picker, and the page stays usable.
function showRoute(route: Route | null): void {
  if (!token) return;
  showRouteMessage('');
  if (route === null || route.view === 'start') {
    if (route === null) showRouteMessage('This address is not a view of the dashboard. Choose a service.');
    stopSelection();
    serviceSelect.value = '';
    byId('dashboard').hidden = true;
    showTitle([]);
    return;
  }
  const service = services.find((s) => s.id === route.serviceId);
  if (!service) {
    showRouteMessage('The service this address names is not available to you. Choose one of yours.');
    stopSelection();
    serviceSelect.value = '';
    byId('dashboard').hidden = true;
    showTitle([]);
    return;
  }
  const chosen = selection?.serviceId === service.id ? selection : selectService(service);
  showServiceView(route, service.id);
  statisticsShown++;
  if (route.view !== 'activity') hideActivity();
  if (route.view !== 'inbox') hideInbox();
  const shown = statisticsShown;
  const isCurrent = () => shown === statisticsShown && selection === chosen;
  if (route.view === 'notification') {
    chosen.messages.openMessage(route.notificationId);
    showTitle(['Message', service.name]);
  } else if (route.view === 'statistics') {
    chosen.messages.closeMessage();
    void loadStatistics(client!, service.id, route.year, isCurrent);
    showTitle(['Monthly statistics', service.name]);
  } else if (route.view === 'templates' || route.view === 'usage') {
    chosen.messages.closeMessage();
    void (route.view === 'templates' ? loadTemplateUsage : loadUsage)(client!, service.id, route.year, isCurrent);
    showTitle([route.view === 'templates' ? 'Template usage' : 'Usage', service.name]);
  } else if (route.view === 'inbox' || route.view === 'conversation') {
    chosen.messages.closeMessage();
    if (route.view === 'inbox') showInbox(client!, service.id);
    else void showConversation(client!, service.id, route.inboundSmsId, isCurrent);
    byId<HTMLAnchorElement>('conversation-back').href = routePath({ view: 'inbox', serviceId: service.id });
    showTitle([route.view === 'inbox' ? 'Received text messages' : 'Conversation', service.name]);
  } else if (route.view === 'activity') {
    chosen.messages.closeMessage();
    showActivity(client!, route);
    byId<HTMLAnchorElement>('activity-clear-search').href = routePath({ ...route, search: null, status: null, after: null });
    showTitle([activityHeading(route.type), service.name]);
  } else {
    chosen.messages.closeMessage();
    showTitle([service.name]);
  }
}

// statisticsShown counts the routes shown, so an answer for a view by query (statistics,
// template usage, usage, a conversation) that arrives after the page moved on is dropped.
let statisticsShown = 0;

// showServiceView shows one of the service's views (the overview holds the live panels
// and the open message) and points the views' links at this service, the current one
// marked for assistive technology as for the eye.
function showServiceView(route: Route, serviceId: string): void {
  const view = route.view === 'notification' ? 'overview' : route.view;
  for (const [id, shows] of Object.entries(viewSections)) byId(id).hidden = !shows.includes(view);
  const links: Array<[string, Route]> = [
    ['link-overview', { view: 'overview', serviceId }],
    ...activityTypes.map((type): [string, Route] => [`link-activity-${type}`, { view: 'activity', serviceId, type, status: null, search: null, after: null }]),
    ['link-statistics', { view: 'statistics', serviceId, year: null }],
    ['link-templates', { view: 'templates', serviceId, year: null }],
    ['link-usage', { view: 'usage', serviceId, year: null }],
    ['link-inbox', { view: 'inbox', serviceId }],
  ];
  for (const [id, target] of links) {
    const link = byId<HTMLAnchorElement>(id);
    link.href = routePath(target);
    const current = (target.view === view || (target.view === 'inbox' && view === 'conversation')) &&
      (target.view !== 'activity' || (route.view === 'activity' && route.type === target.type));
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// viewSections are the page's sections, each with the views it shows.
const viewSections: Record<string, Array<Route['view']>> = {
  overview: ['overview'], statistics: ['statistics'], activity: ['activity'], 'template-usage': ['templates'],
  usage: ['usage'], 'inbox-view': ['inbox'], conversation: ['conversation'],
};

// followLink sends a click on one of the page's own links through the router, so the page
// (and its socket) stays; a click meant for a new tab or window is left to the browser.
function followLink(event: MouseEvent): void {
  const link = (event.target as Element | null)?.closest('a');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href);
  const route = parseRoute(url.pathname, url.search);
  if (!route) return;
  event.preventDefault();
  go(route);
  // The keyboard moves to the heading of the view the link opened (the overview keeps it).
  const section = Object.keys(viewSections).find((id) => id !== 'overview' && viewSections[id].includes(route.view));
  if (section) byId(section).querySelector<HTMLElement>('h3')?.focus();
}

// search remembers the typed term with the API and goes to the view that searches by its
// hash: the term leaves the page once, in the mutation, and never enters the URL.
async function search(event: Event): Promise<void> {
  event.preventDefault();
  const input = byId<HTMLInputElement>('activity-term');
  const message = byId('activity-search-message');
  const term = input.value.trim();
  if (term === '') {
    message.textContent = 'Type a recipient or a reference to search for.';
    input.focus();
    return;
  }
  message.textContent = 'Searching…';
  try {
    const route = await searchActivity(term);
    message.textContent = '';
    if (route) go(route);
  } catch (error) {
    message.textContent = `Search not available: ${error instanceof Error ? error.message : String(error)}`;
  }
}

// go navigates to route and shows it.
function go(route: Route): void {
  navigate(route);
  showRoute(route);
}

function chooseService(): void {
  const serviceId = serviceSelect.value;
  go(serviceId ? { view: 'overview', serviceId } : { view: 'start' });
}

// closeMessage closes the open message and gives the keyboard back to its row.
function closeMessage(): void {
  const id = byId('notification-view').dataset.notificationId;
  if (selection) go({ view: 'overview', serviceId: selection.serviceId });
  const row = id && document.querySelector<HTMLElement>(`#notification-rows button[data-notification-id="${CSS.escape(id)}"]`);
  (row || byId('notifications-heading')).focus();
}

byId('sign-in').addEventListener('submit', (event) => void signIn(event));
serviceSelect.addEventListener('change', chooseService);
byId('close-notification').addEventListener('click', closeMessage);
byId('notification-view').addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeMessage();
});
byId('dashboard').addEventListener('click', followLink);
const yearSelectors: Array<[string, YearView]> = [['financial-year', 'statistics'], ['template-usage-year', 'templates'], ['usage-year', 'usage']];
for (const [id, view] of yearSelectors) {
  byId<HTMLSelectElement>(id).addEventListener('change', (event) => {
    const year = Number((event.target as HTMLSelectElement).value);
    if (selection && Number.isInteger(year)) go({ view, serviceId: selection.serviceId, year });
  });
}
byId('inbox-csv').addEventListener('click', () => {
  if (selection && token) void downloadInbox(token, selection.serviceId);
});
byId('activity-search').addEventListener('submit', (event) => void search(event));
window.addEventListener('popstate', () => showRoute(currentRoute()));
showConnection('signed-out');
