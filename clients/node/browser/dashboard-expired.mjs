// dashboard-expired.mjs: a token that expires while the page is live. The server closes the
// socket with 4403; the page must sign out and say why, and must not reconnect with the
// same token. It reports the message, the connection state and the sockets it opened.
//
// usage: node browser/dashboard-expired.mjs <origin> <token> <serviceId>
import { report, run, screenshot } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { chooseService, recordSockets, signIn, waitForConnection, waitForNumbers } from './dashboard.mjs';

const [origin, token, serviceId] = process.argv.slice(2);

await run(origin, 'dashboard-expired', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  await waitForNumbers(page);
  report({ event: 'live' });

  await waitForConnection(page, 'signed out', 25000);
  // Long enough for the client's first retry (half a second to a second) had it made one.
  await page.waitForTimeout(2000);
  await checkAccessibility(page, '(dashboard-expired)');
  await screenshot(page, 'dashboard-expired');
  report({
    event: 'signed-out',
    text: JSON.stringify({
      message: await page.locator('#sign-in-message').textContent(),
      connection: await page.locator('#connection-state').textContent(),
      pickerVisible: await page.locator('#service-picker').isVisible(),
      dashboardVisible: await page.locator('#dashboard').isVisible(),
      sockets,
    }),
  });
});
