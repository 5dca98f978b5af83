// main.ts: the live dashboard. Sign in with a pasted token, pick a service, and watch its
// 7-day totals, template statistics and inbox count change as messages are sent, with its
// recent messages, any of which opens to show its content and live status: one request
// lists the services, then one WebSocket carries every update and query. The token lives
// in this module's memory only: never in storage or a URL.
import './style.css';
import type { Client } from 'graphql-ws';
import { ApiUnavailable, cleanToken, fetchServices, type Service, tokenProblem } from './api';
import type { Document } from './documents';
import { InboxCountSubscription, inboxCount } from './inbox';
import { type ConnectionState, createLiveClient, isAuthClose, run } from './live';
import { Messages, reasonOf } from './notifications';
import { TemplateStatisticsSubscription, TotalsSubscription } from './operations';
import {
  byId, hideServices, showConnection, showDashboard, showInboxCount, showInboxUnavailable,
  showServices, showSignInMessage, showTemplateStatistics, showTemplatesUnavailable,
  showTotals, showTotalsUnavailable,
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
      if (p.changes) void sel.messages.reload();
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
}

// chooseService subscribes to the chosen service's views, then ends the previous one's:
// in that order the socket always has a subscription and stays open.
function chooseService(): void {
  const service = services.find((s) => s.id === serviceSelect.value);
  if (!service || !token) {
    stopSelection();
    byId('dashboard').hidden = true;
    return;
  }
  if (!client) {
    const opened: Client = createLiveClient(token, (state) => onConnectionState(opened, state));
    client = opened;
  }
  const previous = selection;
  previous?.messages.stop();
  const chosen: Selection = { serviceId: service.id, active: 0, unsubscribes: [], messages: new Messages(client, service.id) };
  selection = chosen;
  showDashboard(service.name);
  chosen.unsubscribes = panels.map((subscribe) => subscribe(chosen));
  previous?.unsubscribes.forEach((unsubscribe) => unsubscribe());
  void chosen.messages.reload();
}

// closeMessage closes the open message and gives the keyboard back to its row.
function closeMessage(): void {
  const id = byId('notification-view').dataset.notificationId;
  selection?.messages.closeMessage();
  const row = id && document.querySelector<HTMLElement>(`#notification-rows button[data-notification-id="${CSS.escape(id)}"]`);
  (row || byId('notifications-heading')).focus();
}

byId('sign-in').addEventListener('submit', (event) => void signIn(event));
serviceSelect.addEventListener('change', chooseService);
byId('close-notification').addEventListener('click', closeMessage);
byId('notification-view').addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeMessage();
});
showConnection('signed-out');
