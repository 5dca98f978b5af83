// dashboard-routes.mjs: each of the dashboard's views has a URL that opens it. It signs in,
// chooses a service and opens a message, noting the URL each step put in the address bar;
// goes Back to the overview and Forward to the message; reloads the message's URL (the token is gone with the page's memory: it signs in again,
// and the page opens that message without being told more); opens
// a service's URL the user may not see and one that names no view. axe checks every state,
// and the message view is photographed at 320, 768 and 1280 px wide, where the page must not
// scroll sideways.
//
// usage: node browser/dashboard-routes.mjs <origin> <token> <serviceId> <notificationId> <otherServiceId>
import { report, run } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  checkWidths, chooseService, recordRequests, recordSockets, signIn, waitForConnection, waitForNumbers,
} from './dashboard.mjs';

const [origin, token, serviceId, notificationId, otherServiceId] = process.argv.slice(2);

const rowButton = (id) => `#notification-rows button[data-notification-id="${id}"]`;

// readView reads which view the page shows, and where.
async function readView(page) {
  return page.evaluate(() => ({
    path: window.location.pathname,
    title: document.title,
    service: document.getElementById('dashboard').hidden ? '' : document.getElementById('service-name').textContent,
    notification: document.getElementById('notification-view').hidden ? '' : document.getElementById('notification-view').dataset.notificationId,
    routeMessage: document.getElementById('route-message').textContent,
    tokenInForm: document.getElementById('token').value,
    signedOut: document.getElementById('connection-state').textContent === 'signed out',
  }));
}

async function waitForMessage(page, id) {
  await page.waitForFunction((want) => {
    const view = document.getElementById('notification-view');
    return !view.hidden && view.dataset.notificationId === want &&
      document.getElementById('notification-status').textContent !== '–';
  }, id, { timeout: 15000 });
}

await run(origin, 'dashboard-routes', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await waitForConnection(page, 'signed out');
  await checkAccessibility(page, 'on the sign-in form');
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  await waitForNumbers(page);
  const overview = await readView(page);
  await checkAccessibility(page, 'on the overview');

  await page.locator(rowButton(notificationId)).waitFor({ state: 'visible', timeout: 10000 });
  await page.locator(rowButton(notificationId)).click();
  await waitForMessage(page, notificationId);
  const opened = await readView(page);
  await checkAccessibility(page, 'on a message');

  // Back closes the message, Forward opens it again, in the same page.
  // history.back(), as the browser's Back button does: Playwright's own goBack skips entries
  // pushed without a user gesture, and its selectOption is not one.
  await page.evaluate(() => history.back());
  await page.waitForFunction(() => document.getElementById('notification-view').hidden, null, { timeout: 10000 });
  const back = await readView(page);
  await checkAccessibility(page, 'back on the overview');
  await page.evaluate(() => history.forward());
  await waitForMessage(page, notificationId);
  const forward = await readView(page);
  const socketsBeforeReload = sockets.length;

  // A reload: the page's memory, and the token with it, is gone; the URL stays.
  await page.reload();
  await waitForConnection(page, 'signed out');
  const reloaded = await readView(page);
  const requests = recordRequests(page);
  await signIn(page, token);
  await waitForMessage(page, notificationId);
  await waitForConnection(page, 'live');
  const reopened = await readView(page);
  const reopenRequests = [...requests];
  const socketsAfterReload = sockets.length - socketsBeforeReload;

  const widths = await checkWidths(page, 'on a message', 'dashboard-routes-message');

  // A service the user may not see, then an address that is no view.
  await page.goto(`${origin}/dashboard/services/${otherServiceId}`);
  await signIn(page, token);
  await page.waitForFunction(() => document.getElementById('route-message').textContent !== '', null, { timeout: 15000 });
  const forbidden = await readView(page);
  await checkAccessibility(page, 'on a service not available');
  await page.goto(`${origin}/dashboard/services/not-a-service`);
  await signIn(page, token);
  await page.waitForFunction(() => document.getElementById('route-message').textContent !== '', null, { timeout: 15000 });
  const nowhere = await readView(page);

  report({
    event: 'routes',
    text: JSON.stringify({ overview, opened, back, forward, socketsBeforeReload, reloaded, reopened, forbidden, nowhere, widths, requests: reopenRequests, socketsAfterReload }),
  });
});
