// dashboard-update.mjs: the dashboard page's numbers follow a database write. It signs in,
// chooses a service, waits for the live numbers, lets the Go test deliver an email (which
// changes no announced figure: the live region stays silent), write a failed email and
// schedule a job, and reports the numbers before and after, the upcoming jobs, with the requests the page made once subscribed
// (there must be none: the page never polls) and the WebSockets it opened.
//
// usage: node browser/dashboard-update.mjs <origin> <token> <serviceId>
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  chooseService, readDashboard, recordRequests, recordSockets, signIn, waitForConnection, waitForEmailChange, waitForNumbers,
} from './dashboard.mjs';

const [origin, token, serviceId] = process.argv.slice(2);

await run(origin, 'dashboard-update', async ({ page }) => {
  const requests = recordRequests(page);
  const sockets = recordSockets(page);

  await page.goto(`${origin}/dashboard`);
  await waitForConnection(page, 'signed out');
  await signIn(page, token);
  await chooseService(page, serviceId);
  const beforeSubscribing = requests.length;
  await waitForConnection(page, 'live');
  await waitForNumbers(page);
  const before = await readDashboard(page);
  await checkAccessibility(page, '(dashboard-live)');
  await screenshot(page, 'dashboard-live');

  await waitForGo({ event: 'live', text: JSON.stringify(before) });
  // The Go test delivered a sending email: the delivered count changes on screen, but not
  // the words the region says (requested and failed), so it stays silent.
  await page.waitForFunction((delivered) => document.getElementById('email-delivered').textContent !== delivered,
    before.email.delivered.toLocaleString('en-GB'), { timeout: 30000 });
  await waitForGo({
    event: 'silent',
    text: JSON.stringify({ delivered: await page.evaluate(() => document.getElementById('email-delivered').textContent),
      announcement: await page.evaluate(() => document.getElementById('totals-announcement').textContent) }),
  });
  await waitForEmailChange(page, before);
  const after = await readDashboard(page);
  // The Go test scheduled a job with the failed email: the upcoming jobs follow.
  await page.waitForFunction(() => [...document.querySelectorAll('#upcoming-job-rows th')]
    .some((th) => th.textContent === 'browser-upcoming.csv'), null, { timeout: 30000 });
  const upcoming = await page.evaluate(() => [...document.querySelectorAll('#upcoming-job-rows tr')].map((row) => ({
    file: row.cells[0].textContent,
    startsAt: row.querySelector('time')?.dateTime ?? '',
    starts: row.cells[1].textContent,
    messages: row.cells[2].textContent,
  })));
  // The changed figures are announced from the one live region, politely.
  await page.waitForFunction((requested) => document.getElementById('totals-announcement').textContent
    .includes(`Emails, ${requested} requested`), after.email.requested.toLocaleString('en-GB'), { timeout: 30000 });
  // The day chart follows: today's emails in its table are the overview's less the 7 days before.
  await page.waitForFunction((requested) => {
    const sum = [...document.querySelectorAll('#daily-charts [data-type="email"] tbody tr')]
      .reduce((n, row) => n + Number(row.cells[1].textContent.replaceAll(',', '')), 0);
    return sum === requested;
  }, after.email.requested, { timeout: 30000 });
  const daily = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#daily-charts [data-type]')].map((section) => [
    section.dataset.type, {
      rows: [...section.querySelectorAll('tbody tr')].map((row) => ({ day: row.dataset.day, cells: [...row.cells].map((c) => c.textContent) })),
      bars: [...section.querySelectorAll('svg rect title')].map((t) => t.textContent),
      label: [...section.querySelectorAll('svg')].find((svg) => svg.querySelector('rect title'))?.getAttribute('aria-label') ?? '',
    }])));
  const announced = await page.evaluate(() => ({
    announcement: document.getElementById('totals-announcement').textContent,
    politeness: document.getElementById('totals-announcement').getAttribute('aria-live'),
    // The overview's other live numbers are not live regions of their own (an open
    // message's status is, in its own view).
    liveRegionsInOverview: document.querySelectorAll(
      '#overview :is([aria-live], [role="status"]):not(#totals-announcement):not(#notification-view *)').length,
    animations: document.getAnimations().length,
  }));
  await checkAccessibility(page, '(dashboard-updated)');
  await screenshot(page, 'dashboard-updated');
  report({
    event: 'updated',
    text: JSON.stringify({
      before,
      after,
      announced,
      daily,
      upcoming,
      signInRequests: requests.slice(0, beforeSubscribing),
      requestsAfterSubscribing: requests.slice(beforeSubscribing),
      sockets,
    }),
  });
});
