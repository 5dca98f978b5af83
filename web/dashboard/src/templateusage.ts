// templateusage.ts: the template usage view: for each started month of a financial year,
// the templates the service sent messages from and how many, largest first, as the API's
// templateUsage gives them, in one table (a chart of many templates' names would say less
// than the table does). It is asked for over the page's one socket, once per visit, as the
// monthly statistics are, with the same year selector.
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { TemplateUsageQuery as TemplateUsage } from './gql/graphql';
import { ask } from './live';
import { loadYearView } from './statistics';
import { byId, tableRow, typeNames } from './view';

const TemplateUsageQuery = graphql(`
  query TemplateUsage($serviceId: ID!, $financialYear: Int) {
    service(id: $serviceId) {
      financialYears { year label current }
      templateUsage(financialYear: $financialYear) {
        month { key name year }
        templates { name type count }
      }
    }
  }
`);

type Months = NonNullable<NonNullable<TemplateUsage['service']>['templateUsage']>;

const numberFormat = new Intl.NumberFormat('en-GB');

// loadTemplateUsage asks for the service's template usage in year (the current one when
// null) and shows it, unless isCurrent says the page has moved on by the time it answers.
export async function loadTemplateUsage(client: Client, serviceId: string, year: number | null, isCurrent: () => boolean): Promise<void> {
  const section = byId('template-usage');
  const message = byId('template-usage-message');
  message.textContent = 'Loading…';
  byId('template-usage-rows').replaceChildren();
  await loadYearView(ask(client, TemplateUsageQuery, { serviceId, financialYear: year }), year, isCurrent, {
    selector: 'template-usage-year',
    pick: (service) => service.templateUsage,
    show: (months) => {
      section.classList.remove('unavailable');
      showMonths(months);
    },
    unavailable: (reason) => {
      section.classList.add('unavailable');
      message.textContent = `Not available: ${reason}`;
    },
  });
}

// showMonths writes a row for each template of each month, the month heading its first
// row; a month with nothing sent says so in one row.
function showMonths(months: Months): void {
  const rows = months.flatMap((m) => {
    const name = `${m.month.name} ${m.month.year}`;
    if (m.templates.length === 0) return [row(m.month.key, name, ['No messages sent', '', '–'])];
    return m.templates.map((t) => row(m.month.key, name, [t.name, typeNames[t.type], numberFormat.format(t.count)]));
  });
  byId('template-usage-rows').replaceChildren(...rows);
  byId('template-usage-message').textContent = months.length === 0 ? 'No months of this year have started yet.' : '';
}

function row(key: string, month: string, cells: string[]): HTMLTableRowElement {
  const tr = tableRow(month, cells, (i) => i === 2);
  tr.dataset.month = key;
  return tr;
}
