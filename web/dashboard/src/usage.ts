// usage.ts: the usage and billing view of a financial year: the free text-message allowance
// used against what is left, as a chart (Observable Plot, SVG, each part titled with its
// figure) and the same figures in a table with the year's other totals, and each started
// month's charges in a table. Money is shown as the API words it (Money.display), to the
// penny. Only users with manage_service may see it; the API decides, and the view says
// why not. It is asked for over the page's one socket, once per visit.
import { barX, plot } from '@observablehq/plot';
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { UsageQuery as UsageResult } from './gql/graphql';
import { ask } from './live';
import { reasonOf } from './notifications';
import { loadYearView } from './statistics';
import { byId, tableRow } from './view';

const UsageQuery = graphql(`
  query Usage($serviceId: ID!, $financialYear: Int) {
    service(id: $serviceId) {
      financialYears { year label current }
      usage(financialYear: $financialYear) {
        annual {
          smsFreeAllowance smsSent smsAllowanceRemaining smsCost { display }
          emailsSent lettersSent letterCost { display }
        }
        months {
          month { key name year }
          smsFreeAllowanceUsedLabel smsCost { display } letterCost { display } total { display } isEmpty
        }
      }
    }
  }
`);

type Usage = NonNullable<NonNullable<UsageResult['service']>['usage']>;

const numberFormat = new Intl.NumberFormat('en-GB');
const format = (n: number) => numberFormat.format(n);

// loadUsage asks for the service's usage in year (the current one when null) and shows it,
// unless isCurrent says the page has moved on by the time it answers.
export async function loadUsage(client: Client, serviceId: string, year: number | null, isCurrent: () => boolean): Promise<void> {
  const section = byId('usage');
  const message = byId('usage-message');
  message.textContent = 'Loading…';
  for (const id of ['usage-chart-plot', 'usage-annual-rows', 'usage-rows']) byId(id).replaceChildren();
  await loadYearView(ask(client, UsageQuery, { serviceId, financialYear: year }), year, isCurrent, {
    selector: 'usage-year',
    pick: (service) => service.usage,
    show: (usage) => {
      section.classList.remove('unavailable');
      message.textContent = '';
      showUsage(usage);
    },
    unavailable: (reason) => {
      section.classList.add('unavailable');
      message.textContent = `Not available: ${reason}`;
    },
  });
}

function showUsage(usage: Usage): void {
  const a = usage.annual;
  // The allowance is used before anything is charged: what is used is what is not left.
  const left = a.smsAllowanceRemaining ?? 0;
  const used = a.smsFreeAllowance - left;
  byId('usage-annual-rows').replaceChildren(...([
    ['Free text message allowance', format(a.smsFreeAllowance)],
    ['Free text messages used', format(used)],
    ['Free text messages left', format(left)],
    ['Text messages sent', format(a.smsSent)],
    ['Text message charges', a.smsCost.display],
    ['Emails sent', format(a.emailsSent)],
    ['Letters sent', format(a.lettersSent)],
    ['Letter charges', a.letterCost.display],
  ] as const).map(([head, value]) => tableRow(head, [value])));
  showAllowanceChart(a.smsFreeAllowance, used, left);

  const rows = usage.months.map((m) => {
    // A month with nothing used or charged reads "–", as the API says to show it.
    const values = m.isEmpty ? ['–', '–', '–', '–']
      : [m.smsFreeAllowanceUsedLabel, m.smsCost.display, m.letterCost.display, m.total.display];
    const tr = tableRow(`${m.month.name} ${m.month.year}`, values);
    tr.dataset.month = m.month.key;
    return tr;
  });
  byId('usage-rows').replaceChildren(...rows);
  byId('usage-months-message').textContent = rows.length === 0 ? 'No months of this year have started yet.' : '';
}

// showAllowanceChart draws the allowance as one bar split into used and left; a year
// with no allowance has nothing to draw, and says so.
function showAllowanceChart(allowance: number, used: number, left: number): void {
  const box = byId('usage-chart-plot');
  if (allowance === 0) {
    const p = document.createElement('p');
    p.textContent = 'This service has no free text message allowance this year.';
    box.replaceChildren(p);
    return;
  }
  const data = [
    { part: 'Used', count: used, title: `Used: ${format(used)} of ${format(allowance)} free text messages` },
    { part: 'Left', count: left, title: `Left: ${format(left)} of ${format(allowance)} free text messages` },
  ];
  const chart = plot({
    width: 640, height: 110, marginLeft: 16, marginRight: 24,
    ariaLabel: 'Free text message allowance used and left',
    ariaDescription: 'One bar, the year’s allowance, split into the part used and the part left; the same figures are in the table below.',
    x: { domain: [0, allowance], label: 'Free text messages', tickFormat: (n: number) => format(n), ticks: 4 },
    // GOV.UK's blue for what is used, its dark grey for what is left: both at least 3:1 on white.
    color: { domain: ['Used', 'Left'], range: ['#1d70b8', '#505a5f'], legend: true },
    marks: [barX(data, { x: 'count', fill: 'part', title: 'title' })],
  });
  box.replaceChildren(chart);
}

const UsageSummaryQuery = graphql(`
  query UsageSummary($serviceId: ID!) {
    service(id: $serviceId) {
      usageThisYear { emailsSent emailAllowance smsAllowanceRemaining smsCost { amount display } letterCost { display } }
    }
  }
`);

// loadUsageSummary fills the overview's usage panel with this financial year's totals, as
// the dashboard words them: emails sent and their unlimited allowance, the text messages'
// cost once there is one (the free ones left until then), and the letters' cost. It is
// asked for once per chosen service (billing is counted hourly, not live).
export async function loadUsageSummary(client: Client, serviceId: string, isCurrent: () => boolean): Promise<void> {
  const ids = ['usage-summary-email', 'usage-summary-sms', 'usage-summary-letter'];
  const message = byId('usage-summary-message');
  for (const id of ids) byId(id).textContent = '–';
  message.textContent = '';
  let reason: string;
  try {
    const result = await ask(client, UsageSummaryQuery, { serviceId });
    if (!isCurrent()) return;
    const usage = result?.data?.service?.usageThisYear;
    if (usage && !result?.errors?.length) {
      const charged = Number(usage.smsCost.amount) > 0;
      const words = [
        `${format(usage.emailsSent)} sent (${usage.emailAllowance.toLowerCase()} allowance)`,
        charged ? `${usage.smsCost.display} spent` : `${format(usage.smsAllowanceRemaining ?? 0)} free text messages left`,
        `${usage.letterCost.display} spent`,
      ];
      ids.forEach((id, i) => { byId(id).textContent = words[i]; });
      return;
    }
    reason = reasonOf(result?.errors ?? []);
  } catch (error) {
    if (!isCurrent()) return;
    reason = reasonOf(error);
  }
  for (const id of ids) byId(id).textContent = '';
  message.textContent = `Not available: ${reason}`;
}
