// statistics.ts: the monthly statistics view: a service's messages per month and type over
// one financial year, with the year selector the API offers (financialYears) and each
// type's failure percentage, as a stacked bar chart (Observable Plot, SVG, each bar titled
// with its figures) and the same figures as a table. It is asked for over the page's one socket, once
// per visit: monthly counts have no subscription.
import { barY, plot, ruleY } from '@observablehq/plot';
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { MonthlyStatisticsQuery as MonthlyStatistics } from './gql/graphql';
import { ask, type Result } from './live';
import { reasonOf } from './notifications';
import { byId, channels, tableRow, typeNames } from './view';

export const MonthlyStatisticsQuery = graphql(`
  query MonthlyStatistics($serviceId: ID!, $financialYear: Int) {
    service(id: $serviceId) {
      financialYears { year label current }
      monthlyStatistics(financialYear: $financialYear) {
        month { key name year }
        email { ...MonthTypeFields }
        sms { ...MonthTypeFields }
        letter { ...MonthTypeFields }
      }
    }
  }
  fragment MonthTypeFields on TypeTotals {
    requested failed failedPercentage
  }
`);

// Years are the financial years a year selector offers, as the API's financialYears gives them.
export type Years = Array<{ year: number; label: string; current: boolean }>;
type Months = NonNullable<NonNullable<MonthlyStatistics['service']>['monthlyStatistics']>;

const numberFormat = new Intl.NumberFormat('en-GB');

// loadStatistics asks for the service's statistics for year (the current one when null)
// and shows them; a later call makes an earlier answer stale, and isCurrent says whether
// this one still is.
export async function loadStatistics(client: Client, serviceId: string, year: number | null, isCurrent: () => boolean): Promise<void> {
  showStatisticsLoading();
  await loadYearView(ask(client, MonthlyStatisticsQuery, { serviceId, financialYear: year }), year, isCurrent, {
    selector: 'financial-year',
    pick: (service) => service.monthlyStatistics,
    show: showMonths,
    unavailable: showStatisticsUnavailable,
  });
}

// YearView is a view of one financial year of a service (the monthly statistics, template
// usage, usage): its year selector, what it shows from the answer's service, how, and how it
// says it is not available.
export interface YearView<Service, Data> {
  selector: string;
  pick: (service: Service) => Data | null | undefined;
  show: (data: Data) => void;
  unavailable: (reason: string) => void;
}

// loadYearView shows the answer asked for year through view: the years the API offers in
// its selector, then the view's data, or why it is not available (the API's errors, or the
// request's failure). An answer that comes after the page moved on (isCurrent) is dropped.
export async function loadYearView<Service extends { financialYears?: Years | null }, Data>(
  answer: Promise<Result<{ service?: Service | null }> | null>, year: number | null, isCurrent: () => boolean,
  view: YearView<Service, Data>,
): Promise<void> {
  let reason: string;
  try {
    const result = await answer;
    if (!isCurrent()) return;
    const service = result?.data?.service;
    if (service?.financialYears) showYears(byId<HTMLSelectElement>(view.selector), service.financialYears, year);
    const data = service ? view.pick(service) : null;
    if (data && !result?.errors?.length) {
      view.show(data);
      return;
    }
    reason = reasonOf(result?.errors ?? []);
  } catch (error) {
    if (!isCurrent()) return;
    reason = reasonOf(error);
  }
  view.unavailable(reason);
}

function showStatisticsLoading(): void {
  byId('statistics-message').textContent = 'Loading…';
  byId('statistics-rows').replaceChildren();
  byId('statistics-chart-plot').replaceChildren();
}

function showStatisticsUnavailable(reason: string): void {
  byId('statistics-rows').replaceChildren();
  byId('statistics-chart-plot').replaceChildren();
  byId('statistics').classList.add('unavailable');
  byId('statistics-message').textContent = `Not available: ${reason}`;
}

// showYears fills a year selector with the years the API offers, the shown one chosen.
export function showYears(select: HTMLSelectElement, years: Years, year: number | null): void {
  select.replaceChildren(...years.map((y) => {
    const option = document.createElement('option');
    option.value = String(y.year);
    option.textContent = y.label;
    option.selected = year === null ? y.current : y.year === year;
    return option;
  }));
}

// showMonths writes one row per month: each type's requested count and failure percentage.
function showMonths(months: Months): void {
  byId('statistics').classList.remove('unavailable');
  const rows = months.map((m) => {
    const row = tableRow(`${m.month.name} ${m.month.year}`, channels.flatMap((channel) => {
      const t = m[channel];
      return [numberFormat.format(t.requested), `${numberFormat.format(t.failed)} (${t.failedPercentage}%)`];
    }));
    row.dataset.month = m.month.key;
    return row;
  });
  byId('statistics-rows').replaceChildren(...rows);
  byId('statistics-message').textContent = months.length === 0 ? 'No months of this year have started yet.' : '';
  showChart(months);
}

// The types' colours, GOV.UK's blue, green and purple: each at least 3:1 against the
// white background, as WCAG asks of the parts of a chart.
const typeColours = ['#1d70b8', '#00703c', '#4c2c92'];

// showChart draws each month's requests as a bar stacked by type. Each bar segment's title
// carries its figures (what a pointer or a screen reader meets on it); the table below
// holds the same figures for anyone who would rather read.
function showChart(months: Months): void {
  const data = months.flatMap((m) => channels.map((channel) => ({
    month: m.month.key,
    type: typeNames[channelType[channel]],
    requested: m[channel].requested,
    title: `${m.month.name} ${m.month.year}, ${typeNames[channelType[channel]]}: ${numberFormat.format(m[channel].requested)} requested, ` +
      `${numberFormat.format(m[channel].failed)} failed (${m[channel].failedPercentage}%)`,
  })));
  const names = new Map(months.map((m) => [m.month.key, m.month.name.slice(0, 3)]));
  // A year with nothing sent still gets an axis from 0: an empty domain would draw every
  // bar at full height.
  const tallest = Math.max(1, ...months.map((m) => channels.reduce((sum, c) => sum + m[c].requested, 0)));
  const chart = plot({
    width: 640,
    height: 260,
    marginLeft: 48,
    ariaLabel: 'Messages requested each month, stacked by type',
    ariaDescription: 'Each bar is one month; the same figures are in the table below.',
    x: { domain: months.map((m) => m.month.key), tickFormat: (key: string) => names.get(key) ?? key, label: null },
    // Messages come whole: ticks between whole numbers go unlabelled.
    y: { grid: true, label: 'Messages requested', domain: [0, tallest], nice: true,
      tickFormat: (n: number) => (Number.isInteger(n) ? numberFormat.format(n) : '') },
    color: { domain: channels.map((c) => typeNames[channelType[c]]), range: typeColours, legend: true },
    marks: [
      barY(data, { x: 'month', y: 'requested', fill: 'type', title: 'title' }),
      ruleY([0], { ariaHidden: 'true' }),
    ],
  });
  byId('statistics-chart-plot').replaceChildren(chart);
}

const channelType = { email: 'EMAIL', sms: 'SMS', letter: 'LETTER' } as const;
