// dashboard-unavailable.mjs: one view the user may not see does not stop the others. The
// Go test signs in as a user whose service lacks the inbound_sms feature: the inbox panel
// must say it is not available while the totals and templates stay live.
//
// usage: node browser/dashboard-unavailable.mjs <origin> <token> <serviceId>
import { report, run, screenshot } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { chooseService, readDashboard, signIn, waitForConnection, waitForNumbers } from './dashboard.mjs';

const [origin, token, serviceId] = process.argv.slice(2);

await run(origin, 'dashboard-unavailable', async ({ page }) => {
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  await waitForNumbers(page);
  await checkAccessibility(page, '(dashboard-inbox-unavailable)');
  await screenshot(page, 'dashboard-inbox-unavailable');
  report({ event: 'shown', text: JSON.stringify(await readDashboard(page)) });
});
