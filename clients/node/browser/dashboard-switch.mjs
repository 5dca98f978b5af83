// dashboard-switch.mjs: choosing another service moves the page's views to it over the same
// socket. It shows the first service live, lets the Go test count the server's
// subscriptions, chooses the second and lets it count again.
//
// usage: node browser/dashboard-switch.mjs <origin> <token> <firstServiceId> <secondServiceId>
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  chooseService, readDashboard, recordSockets, signIn, waitForConnection, waitForNumbers,
} from './dashboard.mjs';

const [origin, token, first, second] = process.argv.slice(2);

await run(origin, 'dashboard-switch', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, first);
  await waitForConnection(page, 'live');
  await waitForNumbers(page);
  await waitForGo({ event: 'first', text: JSON.stringify(await readDashboard(page)) });

  const firstName = await page.locator('#service-name').textContent();
  await chooseService(page, second);
  await page.waitForFunction((name) => document.getElementById('service-name').textContent !== name, firstName);
  await waitForNumbers(page);
  await checkAccessibility(page, '(dashboard-switched)');
  await screenshot(page, 'dashboard-switched');
  await waitForGo({ event: 'second', text: JSON.stringify({ shown: await readDashboard(page), sockets }) });
});
