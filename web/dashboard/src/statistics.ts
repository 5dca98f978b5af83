// statistics.ts: the monthly statistics view: a service's messages per month and type over
// one financial year, with the year selector the API offers (financialYears) and each
// type's failure percentage, as a table. It is asked for over the page's one socket, once
// per visit: monthly counts have no subscription.
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { MonthlyStatisticsQuery as MonthlyStatistics } from './gql/graphql';
import { ask } from './live';
import { reasonOf } from './notifications';
import { byId, channels } from './view';

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

type Years = NonNullable<NonNullable<MonthlyStatistics['service']>['financialYears']>;
type Months = NonNullable<NonNullable<MonthlyStatistics['service']>['monthlyStatistics']>;

const numberFormat = new Intl.NumberFormat('en-GB');

// loadStatistics asks for the service's statistics for year (the current one when null)
// and shows them; a later call makes an earlier answer stale, and isCurrent says whether
// this one still is.
export async function loadStatistics(client: Client, serviceId: string, year: number | null, isCurrent: () => boolean): Promise<void> {
  showStatisticsLoading();
  let reason: string | null = null;
  try {
    const result = await ask(client, MonthlyStatisticsQuery, { serviceId, financialYear: year });
    if (!isCurrent()) return;
    const service = result?.data?.service;
    if (service?.financialYears) showYears(service.financialYears, year);
    if (result?.errors?.length || !service?.monthlyStatistics) {
      reason = reasonOf(result?.errors ?? []);
    } else {
      showMonths(service.monthlyStatistics);
      return;
    }
  } catch (error) {
    if (!isCurrent()) return;
    reason = reasonOf(error);
  }
  showStatisticsUnavailable(reason);
}

function showStatisticsLoading(): void {
  byId('statistics-message').textContent = 'Loading…';
  byId('statistics-rows').replaceChildren();
}

function showStatisticsUnavailable(reason: string): void {
  byId('statistics-rows').replaceChildren();
  byId('statistics').classList.add('unavailable');
  byId('statistics-message').textContent = `Not available: ${reason}`;
}

// showYears fills the year selector with the years the API offers, the shown one chosen.
function showYears(years: Years, year: number | null): void {
  const select = byId<HTMLSelectElement>('financial-year');
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
    const row = document.createElement('tr');
    row.dataset.month = m.month.key;
    const month = document.createElement('th');
    month.scope = 'row';
    month.textContent = `${m.month.name} ${m.month.year}`;
    row.append(month);
    for (const channel of channels) {
      const t = m[channel];
      const requested = document.createElement('td');
      requested.className = 'count';
      requested.textContent = numberFormat.format(t.requested);
      const failed = document.createElement('td');
      failed.className = 'count';
      failed.textContent = `${numberFormat.format(t.failed)} (${t.failedPercentage}%)`;
      row.append(requested, failed);
    }
    return row;
  });
  byId('statistics-rows').replaceChildren(...rows);
  byId('statistics-message').textContent = months.length === 0 ? 'No months of this year have started yet.' : '';
}
