// dashboard-reconnect.mjs: the dashboard page reconnects by itself. Once it is live, the Go
// test drops every connection to the server; the page must say it is reconnecting, be live
// again, and then still show an update after the Go test's next write.
//
// usage: node browser/dashboard-reconnect.mjs <origin> <token> <serviceId>
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  chooseService, readDashboard, recordRequests, recordSockets, signIn, waitForConnection, waitForEmailChange, waitForNumbers,
} from './dashboard.mjs';

const [origin, token, serviceId] = process.argv.slice(2);

// recordConnectionStates keeps, in the page, every state the connection indicator shows
// from now on, so that a short-lived "reconnecting" is not missed between two looks.
async function recordConnectionStates(page) {
  await page.evaluate(() => {
    const indicator = document.getElementById('connection-state');
    window.connectionStates = [];
    new MutationObserver(() => window.connectionStates.push(indicator.textContent))
      .observe(indicator, { childList: true, characterData: true, subtree: true });
  });
}

await run(origin, 'dashboard-reconnect', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  const requests = recordRequests(page);
  await waitForConnection(page, 'live');
  await waitForNumbers(page);
  await recordConnectionStates(page);

  await waitForGo({ event: 'live' });
  await page.waitForFunction(() => window.connectionStates.includes('reconnecting'), null, { timeout: 10000 });
  await checkAccessibility(page, '(dashboard-reconnecting)');
  await screenshot(page, 'dashboard-reconnecting');
  await page.waitForFunction(() => window.connectionStates.at(-1) === 'live', null, { timeout: 20000 });
  const before = await readDashboard(page);
  const states = await page.evaluate(() => window.connectionStates);

  await waitForGo({ event: 'reconnected', text: JSON.stringify(states) });
  await waitForEmailChange(page, before);
  const after = await readDashboard(page);
  await checkAccessibility(page, '(dashboard-reconnected)');
  await screenshot(page, 'dashboard-reconnected');
  report({ event: 'updated', text: JSON.stringify({ before, after, requests, sockets }) });
});
