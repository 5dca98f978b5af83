// dashboard.mjs: what the dashboard page's browser tests (dashboard-*.mjs) share: signing
// in, choosing a service and reading the numbers off the page as a person would see them.
import { checkAccessibility } from './axe.mjs';
import { screenshot } from './chromium.mjs';

// The page shows "–" where a number has not arrived yet.
const notYet = '–';

// signIn pastes token into the sign-in form and submits it.
export async function signIn(page, token) {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// chooseService picks a service in the picker, which must have appeared.
export async function chooseService(page, serviceId) {
  await page.locator('#service-picker').waitFor({ state: 'visible', timeout: 10000 });
  await page.getByLabel('Service', { exact: true }).selectOption(serviceId);
}

// waitForConnection waits until the page's connection state reads state.
export async function waitForConnection(page, state, timeout = 10000) {
  await page.waitForFunction(
    (want) => document.getElementById('connection-state').textContent === want,
    state,
    { timeout },
  );
}

// waitForNumbers waits until the totals, the inbox panel and the template table have
// each shown their first snapshot (or, for the inbox, why it is not available).
export async function waitForNumbers(page) {
  await page.waitForFunction(
    (dash) => document.getElementById('email-requested').textContent !== dash &&
      document.getElementById('inbox-count').textContent !== dash &&
      (document.querySelectorAll('#template-rows tr').length > 0 ||
        document.getElementById('templates-message').textContent !== ''),
    notYet,
    { timeout: 10000 },
  );
}

// waitForEmailChange waits until the email totals and the template table both differ
// from before (as readDashboard read them): they come in snapshots of their own.
export async function waitForEmailChange(page, before, timeout = 10000) {
  await page.waitForFunction(
    ({ requested, failed, templates }) => {
      const read = (id) => Number(document.getElementById(id).textContent.replaceAll(',', ''));
      const rows = [...document.querySelectorAll('#template-rows tr')].map((row) =>
        [...row.cells].map((cell) => cell.textContent));
      return read('email-requested') !== requested && read('email-failed') !== failed &&
        JSON.stringify(rows) !== JSON.stringify(templates);
    },
    { ...before.email, templates: before.templates },
    { timeout },
  );
}

// readDashboard reads what the page shows: the connection state, each channel's numbers
// and warning, the inbox, and the template table's rows.
export async function readDashboard(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    const number = (id) => Number(text(id).replaceAll(',', ''));
    const totals = {};
    for (const channel of ['email', 'sms', 'letter']) {
      totals[channel] = {
        requested: number(`${channel}-requested`),
        delivered: number(`${channel}-delivered`),
        failed: number(`${channel}-failed`),
        failedPercentage: text(`${channel}-failed-percentage`),
        warning: document.getElementById(`total-${channel}`).classList.contains('warning'),
      };
    }
    return {
      connection: text('connection-state'),
      service: text('service-name'),
      ...totals,
      inbox: `${text('inbox-count')} ${text('inbox-label')}`.trim(),
      templates: [...document.querySelectorAll('#template-rows tr')].map((row) =>
        [...row.cells].map((cell) => cell.textContent)),
    };
  });
}

// recordRequests records the page's HTTP requests (fetch and XHR) from now on; the
// WebSocket is not among them.
export function recordRequests(page) {
  const requests = [];
  page.on('request', (request) => {
    if (['fetch', 'xhr'].includes(request.resourceType())) {
      requests.push(`${request.method()} ${new URL(request.url()).pathname}`);
    }
  });
  return requests;
}

// recordSockets records the path of each WebSocket the page opens from now on.
export function recordSockets(page) {
  const sockets = [];
  page.on('websocket', (socket) => sockets.push(new URL(socket.url()).pathname));
  return sockets;
}

// checkWidths shows the page at 320, 768 and 1280 px wide, has axe check it at each ("<where>
// at <width> px") and keeps a screenshot of each ("<name>-<width>"). It returns each width's
// scrollWidth, which is the width itself when nothing scrolls sideways.
export async function checkWidths(page, where, name) {
  const widths = {};
  for (const width of [320, 768, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await checkAccessibility(page, `${where} at ${width} px`);
    widths[width] = await page.evaluate(() => document.documentElement.scrollWidth);
    await screenshot(page, `${name}-${width}`);
  }
  return widths;
}
