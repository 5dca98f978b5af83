// dashboard-activity.mjs: the activity view, the notifications of one type. It signs in,
// chooses a service, follows the "Emails" link and reports the view; after the Go test's
// write, reports it again once the pills' counts have moved; pages forward and back; searches
// by a recipient (the term must not reach the URL) and reports the matches; reloads the
// search's URL and reports what opens; then signs in as a user without view_activity at the
// same URL and reports that view. axe checks each state, and the view is photographed at
// 320, 768 and 1280 px, where the page must not scroll sideways.
//
// usage: node browser/dashboard-activity.mjs <origin> <token> <serviceId> <term> <token without view_activity>
import { report, run, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  checkWidths, chooseService, recordRequests, recordSockets, signIn, waitForConnection,
} from './dashboard.mjs';

const [origin, token, serviceId, term, restrictedToken] = process.argv.slice(2);

// waitForList waits until the activity view has answered for the address it shows.
async function waitForList(page) {
  await page.waitForFunction(() => !document.getElementById('activity').hidden &&
    document.getElementById('activity-message').textContent !== 'Loading…' &&
    (document.querySelectorAll('#activity-pills li').length > 0 ||
      document.getElementById('activity-message').textContent !== ''), null, { timeout: 15000 });
}

// readActivity reads the view as a person would see it.
async function readActivity(page) {
  return page.evaluate(() => ({
    path: window.location.pathname,
    query: window.location.search,
    title: document.title,
    heading: document.getElementById('activity-heading').textContent,
    message: document.getElementById('activity-message').textContent,
    current: document.querySelector('.views a[aria-current="page"]')?.textContent ?? '',
    pills: Object.fromEntries([...document.querySelectorAll('#activity-pills a')].map((a) =>
      [a.dataset.status, Number(a.querySelector('.pill-count').textContent.replaceAll(',', ''))])),
    rows: [...document.querySelectorAll('#activity-rows tr')].map((row) => ({
      id: row.dataset.notificationId,
      cells: [...row.cells].map((cell) => cell.textContent),
    })),
    pageLinks: [...document.querySelectorAll('#activity-page-links a')].map((a) => a.textContent),
    searching: !document.getElementById('activity-search-state').hidden,
    csv: document.getElementById('activity-csv').hidden ? '' : document.getElementById('activity-csv').getAttribute('href'),
    csvMessage: document.getElementById('activity-csv-message').textContent,
  }));
}

await run(origin, 'dashboard-activity', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  const requests = recordRequests(page);
  await page.getByRole('link', { name: 'Emails', exact: true }).click();
  await waitForList(page);
  const first = await readActivity(page);
  await checkAccessibility(page, 'on the activity view');

  await waitForGo({ event: 'listed', text: JSON.stringify(first) });
  await page.waitForFunction((total) => Number(document.querySelector('#activity-pills a[data-status="total"] .pill-count')
    ?.textContent.replaceAll(',', '')) !== total, first.pills.total, { timeout: 20000 });
  await waitForList(page);
  const updated = await readActivity(page);

  await page.getByRole('link', { name: 'Next page' }).click();
  await page.waitForFunction(() => window.location.search.includes('after='), null, { timeout: 10000 });
  await waitForList(page);
  const next = await readActivity(page);
  await page.getByRole('link', { name: 'Previous page' }).click();
  await page.waitForFunction(() => !window.location.search.includes('after='), null, { timeout: 10000 });
  await waitForList(page);
  const previous = await readActivity(page);

  await page.getByLabel('Search by recipient or reference').fill(term);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => window.location.search.includes('search=') ||
    !['', 'Searching…'].includes(document.getElementById('activity-search-message').textContent), null, { timeout: 10000 });
  const searchMessage = await page.evaluate(() => document.getElementById('activity-search-message').textContent);
  if (searchMessage !== '') throw new Error(`searching, the page says: ${searchMessage}`);
  await waitForList(page);
  const searched = await readActivity(page);
  await checkAccessibility(page, 'on the activity view, searching');
  const requestsInView = [...requests];

  await page.reload();
  await signIn(page, token);
  await waitForList(page);
  const reloaded = await readActivity(page);
  const widths = await checkWidths(page, 'on the activity view', 'dashboard-activity');

  await page.reload();
  await signIn(page, restrictedToken);
  await waitForList(page);
  await page.waitForFunction(() => document.getElementById('activity-csv-message').textContent !== '', null, { timeout: 10000 });
  const restricted = await readActivity(page);
  await checkAccessibility(page, 'on the activity view without view_activity');

  report({ event: 'activity', text: JSON.stringify({ updated, next, previous, searched, reloaded, restricted, widths, requestsInView, sockets }) });
});
