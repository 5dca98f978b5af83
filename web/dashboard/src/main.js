// main.js: the live dashboard. Sign in with a pasted token, pick a service, and watch its
// 7-day totals, template statistics and inbox count change as messages are sent, with its
// recent messages, any of which opens to show its content and live status: one request
// lists the services, then one WebSocket carries every update and query. The token lives
// in this module's memory only: never in storage or a URL.
import './style.css';
import { ApiUnavailable, cleanToken, fetchServices, tokenProblem } from './api.js';
import { createLiveClient, isAuthClose } from './live.js';
import { Messages, reasonOf } from './notifications.js';
import {
  hideServices, showConnection, showDashboard, showInboxCount, showInboxUnavailable,
  showServices, showSignInMessage, showTemplateStatistics, showTemplatesUnavailable,
  showTotals, showTotalsUnavailable,
} from './view.js';

const typeTotals = 'requested delivered failed failedPercentage showWarning';

// panels are the page's three live views: what each subscribes to, and how it shows a
// snapshot or why it cannot.
const panels = [
  {
    field: 'dashboardTotals',
    query: `subscription Totals($serviceId: ID!) { dashboardTotals(serviceId: $serviceId, days: 7) {
      email { ${typeTotals} } sms { ${typeTotals} } letter { ${typeTotals} } } }`,
    show: showTotals,
    unavailable: showTotalsUnavailable,
  },
  {
    field: 'templateStatistics',
    query: `subscription TemplateStatistics($serviceId: ID!) { templateStatistics(serviceId: $serviceId, days: 7) {
      templateId count template { name type } } }`,
    show: showTemplateStatistics,
    unavailable: showTemplatesUnavailable,
  },
  {
    field: 'inbox',
    query: `subscription Inbox($serviceId: ID!) { inbox(serviceId: $serviceId) { summary { count } } }`,
    show: (inbox) => showInboxCount(inbox.summary.count),
    unavailable: showInboxUnavailable,
  },
];

let token = null;
let services = [];
// client is the one graphql-ws client, opened when a service is first chosen.
let client = null;
// selection is the chosen service and its subscriptions; a callback from an earlier
// selection's subscription finds it replaced and does nothing.
let selection = null;

const tokenInput = document.getElementById('token');
const signInButton = document.getElementById('sign-in-button');
const serviceSelect = document.getElementById('service');

function subscribePanel(sel, panel) {
  sel.active++;
  const ended = () => {
    sel.active--;
  };
  return client.subscribe(
    { query: panel.query, variables: { serviceId: sel.serviceId } },
    {
      next(result) {
        if (sel !== selection) return;
        if (result.errors?.length) {
          panel.unavailable(reasonOf(result.errors));
          return;
        }
        const data = result.data?.[panel.field];
        if (data != null) panel.show(data);
        // New totals mean a message was sent or changed status: the list follows.
        if (data != null && panel.field === 'dashboardTotals') sel.messages.reload();
      },
      error(error) {
        ended();
        // A refused token is the connection's business: onConnectionState signs out.
        if (sel !== selection || isAuthClose(error)) return;
        panel.unavailable(reasonOf(error));
      },
      complete: ended,
    },
  );
}

function onConnectionState(from, state) {
  if (from !== client) return;
  if (state === 'refused') {
    signOut('The server refused the token on the live connection: it may have expired. Paste a new one to sign in again.');
    return;
  }
  // A socket closed with nothing subscribed (no service chosen, or every view ended) is
  // not waiting to reconnect.
  if (state === 'reconnecting' && !(selection?.active > 0)) {
    showConnection('idle');
    return;
  }
  showConnection(state);
}

function stopSelection() {
  const previous = selection;
  selection = null;
  previous?.messages.stop();
  previous?.unsubscribes.forEach((unsubscribe) => unsubscribe());
}

function signOut(message) {
  stopSelection();
  const previous = client;
  client = null;
  previous?.dispose();
  token = null;
  services = [];
  hideServices();
  showConnection('signed-out');
  showSignInMessage(message);
}

async function signIn(event) {
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
    showSignInMessage(error.message);
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
function chooseService() {
  const service = services.find((s) => s.id === serviceSelect.value);
  if (!service || !token) {
    stopSelection();
    document.getElementById('dashboard').hidden = true;
    return;
  }
  if (!client) {
    const opened = createLiveClient(token, (state) => onConnectionState(opened, state));
    client = opened;
  }
  const previous = selection;
  previous?.messages.stop();
  selection = { serviceId: service.id, active: 0, unsubscribes: [], messages: new Messages(client, service.id) };
  showDashboard(service.name);
  selection.unsubscribes = panels.map((panel) => subscribePanel(selection, panel));
  previous?.unsubscribes.forEach((unsubscribe) => unsubscribe());
  selection.messages.reload();
}

// closeMessage closes the open message and gives the keyboard back to its row.
function closeMessage() {
  const id = document.getElementById('notification-view').dataset.notificationId;
  selection?.messages.closeMessage();
  const row = id && document.querySelector(`#notification-rows button[data-notification-id="${CSS.escape(id)}"]`);
  (row || document.getElementById('notifications-heading')).focus();
}

document.getElementById('sign-in').addEventListener('submit', signIn);
serviceSelect.addEventListener('change', chooseService);
document.getElementById('close-notification').addEventListener('click', closeMessage);
document.getElementById('notification-view').addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeMessage();
});
showConnection('signed-out');
