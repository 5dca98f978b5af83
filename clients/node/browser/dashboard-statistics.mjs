// dashboard-statistics.mjs: the monthly statistics view. It signs in, chooses a service,
// follows the "Monthly statistics" link and reports the table and the year selector;
// (its chart's bars and its table); chooses the selector's last (oldest) year and reports again; reloads that year's URL,
// signs in again and reports what opens. axe checks each state, and the view is
// photographed at 320, 768 and 1280 px, where the page must not scroll sideways.
//
// usage: node browser/dashboard-statistics.mjs <origin> <token> <serviceId>
import { report, run } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  checkWidths, chooseService, recordRequests, recordSockets, signIn, waitForConnection,
} from './dashboard.mjs';

const [origin, token, serviceId] = process.argv.slice(2);

// waitForTable waits until the statistics view has answered for the year in the address.
async function waitForTable(page) {
  await page.waitForFunction(() => !document.getElementById('statistics').hidden &&
    document.getElementById('statistics-message').textContent !== 'Loading…' &&
    document.getElementById('financial-year').options.length > 0, null, { timeout: 15000 });
}

// readStatistics reads the view as a person would see it.
async function readStatistics(page) {
  return page.evaluate(() => ({
    path: window.location.pathname,
    title: document.title,
    heading: document.getElementById('statistics-heading').textContent,
    message: document.getElementById('statistics-message').textContent,
    overviewShown: !document.getElementById('overview').hidden,
    current: document.querySelector('.views a[aria-current="page"]')?.textContent ?? '',
    years: [...document.getElementById('financial-year').options].map((o) => ({ value: o.value, label: o.textContent, selected: o.selected })),
    // The chart's bar segments, by the title each carries.
    bars: [...document.querySelectorAll('#statistics-chart-plot svg rect')].map((rect) => rect.querySelector('title')?.textContent ?? ''),
    // The chart itself, not its legend's swatches: the SVG that holds the bars.
    chartLabel: [...document.querySelectorAll('#statistics-chart-plot svg')].find((svg) => svg.querySelector('rect title'))
      ?.getAttribute('aria-label') ?? '',
    rows: [...document.querySelectorAll('#statistics-rows tr')].map((row) => ({
      month: row.dataset.month,
      cells: [...row.cells].map((cell) => cell.textContent),
    })),
  }));
}

await run(origin, 'dashboard-statistics', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  const requests = recordRequests(page);
  await page.getByRole('link', { name: 'Monthly statistics' }).click();
  await waitForTable(page);
  const current = await readStatistics(page);
  await checkAccessibility(page, 'on the monthly statistics');

  const oldest = current.years[current.years.length - 1].value;
  await page.locator('#statistics').getByLabel('Financial year').selectOption(oldest);
  await page.waitForFunction((year) => window.location.pathname.endsWith(`/statistics/${year}`), oldest, { timeout: 10000 });
  await waitForTable(page);
  const older = await readStatistics(page);
  const requestsInView = [...requests];

  await page.reload();
  await signIn(page, token);
  await waitForTable(page);
  const reloaded = await readStatistics(page);
  const widths = await checkWidths(page, 'on the monthly statistics', 'dashboard-statistics');
  report({ event: 'statistics', text: JSON.stringify({ current, older, reloaded, widths, requestsInView, sockets }) });
});
