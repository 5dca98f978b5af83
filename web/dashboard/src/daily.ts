// daily.ts: the overview's chart of each London day of the last 7 and today, per message
// type: requested, delivered and failed. The API counts a window of London days
// (Service.totals(days: n) is the last n days plus today), not one day, so the page asks for
// the eight windows in one query and takes each day as the difference of two windows that
// differ by that day alone. It is asked again whenever the totals subscription pushes,
// so it follows the figures above it. Each type's chart (Observable Plot, SVG, each bar
// titled with its figure) has the same figures in a table beside it.
import { barY, plot, ruleY } from '@observablehq/plot';
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { DailyTotalsQuery as DailyTotals } from './gql/graphql';
import { ask } from './live';
import { reasonOf } from './notifications';
import { byId, channels, tableRow } from './view';

const DailyTotalsQuery = graphql(`
  query DailyTotals($serviceId: ID!) {
    service(id: $serviceId) {
      d0: totals(days: 0) { ...DayWindowFields }
      d1: totals(days: 1) { ...DayWindowFields }
      d2: totals(days: 2) { ...DayWindowFields }
      d3: totals(days: 3) { ...DayWindowFields }
      d4: totals(days: 4) { ...DayWindowFields }
      d5: totals(days: 5) { ...DayWindowFields }
      d6: totals(days: 6) { ...DayWindowFields }
      d7: totals(days: 7) { ...DayWindowFields }
    }
  }
  fragment DayWindowFields on Totals {
    email { requested delivered failed }
    sms { requested delivered failed }
    letter { requested delivered failed }
  }
`);

type Service = NonNullable<DailyTotals['service']>;
type Window = NonNullable<Service['d0']>;
type Channel = (typeof channels)[number];
const measures = ['requested', 'delivered', 'failed'] as const;
type Measure = (typeof measures)[number];

// Day is one London day's counts for each type, oldest first.
interface Day {
  key: string;
  label: string;
  counts: Record<Channel, Record<Measure, number>>;
}

const headings: Record<Channel, string> = { email: 'Emails', sms: 'Text messages', letter: 'Letters' };
const measureWords: Record<Measure, string> = { requested: 'Requested', delivered: 'Delivered', failed: 'Failed' };
// GOV.UK's blue, green and red: each at least 3:1 against white, as WCAG asks of a chart's parts.
const measureColours = ['#1d70b8', '#00703c', '#d4351c'];
const numberFormat = new Intl.NumberFormat('en-GB');

// londonDays are the keys (YYYY-MM-DD) and labels of today and the 7 London days before,
// oldest first.
function londonDays(now: Date): Array<{ key: string; label: string }> {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(now).map((p) => [p.type, p.value]));
  const label = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' });
  return [7, 6, 5, 4, 3, 2, 1, 0].map((ago) => {
    const day = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day) - ago));
    return { key: day.toISOString().slice(0, 10), label: label.format(day) };
  });
}

// toDays turns the eight windows into eight days: day n ago is window n less window n-1.
function toDays(service: Service, now: Date): Day[] | null {
  const windows: Array<Window | null | undefined> = [service.d0, service.d1, service.d2, service.d3, service.d4, service.d5, service.d6, service.d7];
  if (windows.some((w) => !w)) return null;
  const days = londonDays(now);
  return days.map(({ key, label }, i) => {
    const ago = 7 - i;
    const counts = Object.fromEntries(channels.map((channel) => [channel, Object.fromEntries(measures.map((m) =>
      [m, windows[ago]![channel][m] - (ago === 0 ? 0 : windows[ago - 1]![channel][m])]))])) as Day['counts'];
    return { key, label, counts };
  });
}

let asked = 0;

// loadDaily asks for the service's days and shows them; an answer overtaken by a later
// ask, or for a service no longer shown, is dropped.
export async function loadDaily(client: Client, serviceId: string, isCurrent: () => boolean): Promise<void> {
  const mine = ++asked;
  let reason: string;
  try {
    const result = await ask(client, DailyTotalsQuery, { serviceId });
    if (mine !== asked || !isCurrent()) return;
    const days = result?.data?.service && !result.errors?.length ? toDays(result.data.service, new Date()) : null;
    if (days) {
      showDays(days);
      return;
    }
    reason = reasonOf(result?.errors ?? []);
  } catch (error) {
    if (mine !== asked || !isCurrent()) return;
    reason = reasonOf(error);
  }
  byId('daily-charts').replaceChildren();
  byId('daily-message').textContent = `Not available: ${reason}`;
}

export function clearDaily(): void {
  asked++;
  byId('daily-charts').replaceChildren();
  byId('daily-message').textContent = '';
}

function showDays(days: Day[]): void {
  byId('daily-message').textContent = '';
  byId('daily-charts').replaceChildren(...channels.map((channel) => typeFigure(channel, days)));
}

// typeFigure is one type's chart and its table.
function typeFigure(channel: Channel, days: Day[]): HTMLElement {
  const section = document.createElement('section');
  section.className = 'daily-type';
  section.dataset.type = channel;
  const heading = document.createElement('h4');
  heading.textContent = headings[channel];
  const data = days.flatMap((d) => measures.map((m) => ({
    day: d.key, measure: measureWords[m], count: d.counts[channel][m],
    title: `${headings[channel]}, ${d.label}: ${numberFormat.format(d.counts[channel][m])} ${measureWords[m].toLowerCase()}`,
  })));
  const labels = new Map(days.map((d) => [d.key, d.label.split(' ').slice(1).join(' ')]));
  const tallest = Math.max(1, ...data.map((d) => d.count));
  const chart = plot({
    width: 640, height: 220, marginLeft: 40, marginBottom: 30,
    ariaLabel: `${headings[channel]} requested, delivered and failed each day of the last 7 and today`,
    ariaDescription: 'Each group of bars is one London day; the same figures are in the table below.',
    fx: { domain: days.map((d) => d.key), tickFormat: (key: string) => labels.get(key) ?? key, label: null, padding: 0.2 },
    x: { domain: measures.map((m) => measureWords[m]), axis: null },
    y: { grid: true, label: 'Messages', domain: [0, tallest], nice: true,
      tickFormat: (n: number) => (Number.isInteger(n) ? numberFormat.format(n) : '') },
    color: { domain: measures.map((m) => measureWords[m]), range: measureColours, legend: true },
    marks: [
      barY(data, { fx: 'day', x: 'measure', y: 'count', fill: 'measure', title: 'title' }),
      ruleY([0], { ariaHidden: 'true' }),
    ],
  });
  const plotBox = document.createElement('div');
  plotBox.className = 'chart';
  plotBox.append(chart);

  const scroll = document.createElement('div');
  scroll.className = 'table-scroll';
  scroll.tabIndex = 0;
  scroll.setAttribute('role', 'region');
  scroll.setAttribute('aria-label', `${headings[channel]} each day, table`);
  const table = document.createElement('table');
  const caption = document.createElement('caption');
  caption.className = 'visually-hidden';
  caption.textContent = `${headings[channel]} requested, delivered and failed each London day`;
  const head = document.createElement('thead');
  const headRow = document.createElement('tr');
  for (const text of ['Day', ...measures.map((m) => measureWords[m])]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = text;
    if (text !== 'Day') th.className = 'count';
    headRow.append(th);
  }
  head.append(headRow);
  const body = document.createElement('tbody');
  body.append(...days.map((d) => {
    const row = tableRow(d.label, measures.map((m) => numberFormat.format(d.counts[channel][m])));
    row.dataset.day = d.key;
    return row;
  }));
  table.append(caption, head, body);
  scroll.append(table);
  section.append(heading, plotBox, scroll);
  return section;
}
