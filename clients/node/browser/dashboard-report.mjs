// dashboard-report.mjs: "Request a report" in the activity view. It opens the Emails view by
// its URL, presses "Request a report" and reports the progress shown; after the Go test has
// had the report worker build it, reports the download link the page then offers; then
// signs in at the same URL as a user without view_activity and reports why the button is
// not offered. axe checks each state.
//
// usage: node browser/dashboard-report.mjs <origin> <token> <serviceId> <token without view_activity>
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { recordRequests, recordSockets, signIn } from './dashboard.mjs';

const [origin, token, serviceId, restrictedToken] = process.argv.slice(2);

// readReport reads the report section as a person would see it.
async function readReport(page) {
  return page.evaluate(() => {
    const link = document.getElementById('report-download');
    return {
      buttonShown: document.getElementById('report-request').checkVisibility(),
      progress: document.getElementById('report-progress').textContent,
      link: link.checkVisibility() ? link.getAttribute('href') : null,
    };
  });
}

// waitForOffer waits until the activity view has answered and the report section says
// what it offers.
async function waitForOffer(page) {
  await page.waitForFunction(() => document.getElementById('report-request').checkVisibility() ||
    document.getElementById('report-progress').textContent !== '', null, { timeout: 15000 });
}

await run(origin, 'dashboard-report', async ({ page }) => {
  const sockets = recordSockets(page);
  const viewURL = `${origin}/dashboard/services/${serviceId}/notifications/email`;
  await page.goto(viewURL);
  await signIn(page, token);
  await waitForOffer(page);
  const offered = await readReport(page);
  await checkAccessibility(page, 'offering a report');
  const requests = recordRequests(page);

  await page.getByRole('button', { name: 'Request a report' }).click();
  await page.waitForFunction(() => document.getElementById('report-progress').textContent.startsWith('Report requested'),
    null, { timeout: 15000 });
  const requested = await readReport(page);
  await checkAccessibility(page, 'with a report requested');
  await waitForGo({ event: 'requested', text: JSON.stringify({ offered, requested }) });

  await page.locator('#report-download').waitFor({ state: 'visible', timeout: 20000 });
  await checkAccessibility(page, 'with a report ready');
  await screenshot(page, 'dashboard-report-ready');
  const ready = await readReport(page);
  const requestsInView = [...requests];

  await page.goto(viewURL);
  await signIn(page, restrictedToken);
  await waitForOffer(page);
  await checkAccessibility(page, 'without view_activity');
  report({ event: 'report', text: JSON.stringify({ ready, restricted: await readReport(page), requestsInView, sockets }) });
});
