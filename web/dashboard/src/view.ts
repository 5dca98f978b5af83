// view.ts: writes what the subscriptions send into the page. Everything from the API goes
// in through textContent, never as HTML: template and service names are user data.

import type { ConnectionState } from './live';
import type { NotificationType, TemplateStatisticsSubscription, TotalsSubscription } from './gql/graphql';
import type { Service } from './api';
import { Announcer } from './announce';

// byId is the page's element with id: src/index.html has every one the page writes to.
export function byId<E extends HTMLElement = HTMLElement>(id: string): E {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as E;
}

const numberFormat = new Intl.NumberFormat('en-GB');
const format = (n: number) => numberFormat.format(n);

export const channels = ['email', 'sms', 'letter'] as const;

// announceInterval is the least time between two announcements of the overview's figures.
const announceInterval = 10_000;
let announcer: Announcer | null = null;
// totalsShown says the chosen service's first totals are on screen: later ones are news.
let totalsShown = false;

function totalsAnnouncer(): Announcer {
  announcer ??= new Announcer(byId('totals-announcement'), announceInterval);
  return announcer;
}

export const typeNames: Record<NotificationType, string> = { EMAIL: 'Email', SMS: 'Text message', LETTER: 'Letter' };

// The words shown for each connection state, and whether the numbers on screen are current.
const stateWords: Record<ConnectionState, string> = {
  'signed-out': 'signed out',
  idle: 'not connected',
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  refused: 'signed out',
};

export function showConnection(state: ConnectionState): void {
  const element = byId('connection-state');
  element.dataset.state = state;
  element.textContent = stateWords[state];
  document.body.dataset.connection = state;
}

// showSignInMessage shows text under the sign-in form: an error (the default) or, with
// kind 'info', how signing in is going.
export function showSignInMessage(text: string, kind: 'error' | 'info' = 'error'): void {
  const message = byId('sign-in-message');
  message.textContent = text;
  message.dataset.kind = kind;
}

export function showServices(services: Service[]): void {
  const select = byId<HTMLSelectElement>('service');
  select.replaceChildren(...Array.from(select.options).slice(0, 1));
  for (const service of services) {
    const option = document.createElement('option');
    option.value = service.id;
    option.textContent = service.name;
    select.append(option);
  }
  select.value = '';
  byId('service-picker').hidden = false;
}

export function hideServices(): void {
  byId('service-picker').hidden = true;
  byId('dashboard').hidden = true;
}

// showDashboard empties the panels for a newly chosen service, so no number from the
// previous one is ever shown under its name.
export function showDashboard(serviceName: string): void {
  byId('service-name').textContent = serviceName;
  for (const channel of channels) {
    for (const field of ['requested', 'delivered', 'failed', 'failed-percentage']) {
      byId(`${channel}-${field}`).textContent = '–';
    }
    byId(`total-${channel}`).classList.remove('warning');
  }
  byId('totals-message').textContent = '';
  totalsShown = false;
  totalsAnnouncer().reset();
  byId('inbox-count').textContent = '–';
  byId('inbox').classList.remove('unavailable');
  byId('inbox-label').textContent = 'in the last 7 days';
  byId('template-rows').replaceChildren();
  byId('templates-message').textContent = '';
  byId('upcoming-job-rows').replaceChildren();
  byId('upcoming-jobs-message').textContent = '';
  byId('dashboard').hidden = false;
}

// showTotals shows a Totals: each channel's requested, delivered and failed counts, and,
// as the Notify dashboard does, the failures highlighted when their rate is above 3%.
export function showTotals(totals: TotalsSubscription['dashboardTotals']): void {
  for (const channel of channels) {
    const t = totals[channel];
    byId(`${channel}-requested`).textContent = format(t.requested);
    byId(`${channel}-delivered`).textContent = format(t.delivered);
    byId(`${channel}-failed`).textContent = format(t.failed);
    byId(`${channel}-failed-percentage`).textContent = t.failedPercentage;
    byId(`total-${channel}`).classList.toggle('warning', t.showWarning);
  }
  byId('totals-message').textContent = '';
  const words = 'In the last 7 days: ' + channels.map((channel) =>
    `${pluralNames[channel]}, ${format(totals[channel].requested)} requested, ${format(totals[channel].failed)} failed.`).join(' ');
  if (totalsShown) totalsAnnouncer().say(words);
  else totalsAnnouncer().baseline(words);
  totalsShown = true;
}

const pluralNames = { email: 'Emails', sms: 'Text messages', letter: 'Letters' } as const;

export function showTotalsUnavailable(reason: string): void {
  byId('totals-message').textContent = `Totals not available: ${reason}`;
}

export function showInboxCount(count: number): void {
  byId('inbox').classList.remove('unavailable');
  byId('inbox-count').textContent = format(count);
  byId('inbox-label').textContent = 'in the last 7 days';
}

export function showInboxUnavailable(reason: string): void {
  byId('inbox').classList.add('unavailable');
  byId('inbox-count').textContent = '';
  byId('inbox-label').textContent = `Not available: ${reason}`;
}

// tableRow is a table body row: its header cell, then its cells, each text or an element.
// The cells that counts picks (all, by default) hold figures, aligned as figures are.
export function tableRow(head: string, cells: Array<string | Node>, counts: (i: number) => boolean = () => true): HTMLTableRowElement {
  const row = document.createElement('tr');
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = head;
  row.append(th, ...cells.map((cell, i) => {
    const td = document.createElement('td');
    if (counts(i)) td.className = 'count';
    td.append(cell);
    return td;
  }));
  return row;
}

export function showTemplateStatistics(statistics: TemplateStatisticsSubscription['templateStatistics']): void {
  const rows = statistics.map((s) => tableRow(s.template?.name ?? 'A deleted template',
    [s.template ? typeNames[s.template.type] : '', format(s.count)], (i) => i === 1));
  byId('template-rows').replaceChildren(...rows);
  byId('templates-message').textContent = statistics.length === 0 ? 'No messages sent in the last 7 days.' : '';
}

export function showTemplatesUnavailable(reason: string): void {
  byId('template-rows').replaceChildren();
  byId('templates-message').textContent = `Template statistics not available: ${reason}`;
}

// showRouteMessage says why the address's view is not shown (beside the service picker).
export function showRouteMessage(text: string): void {
  byId('route-message').textContent = text;
}

// showTitle names the view in the document's title, most specific first, so a screen
// reader announces where a navigation went and history entries tell the views apart.
export function showTitle(parts: string[]): void {
  document.title = [...parts, 'Live dashboard', 'notifyql'].join(' – ');
}
