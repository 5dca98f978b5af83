// dashboard-notification.mjs: the notification view. It opens an email by its URL (as a
// reload or a shared link does), reports its status and timeline, lets the Go test write a
// status change and reports the view once the timeline has grown; opens a letter that can be
// cancelled, cancels it (after the confirmation step) and reports the view; opens a letter
// that failed validation and one past cancellation; then signs in at the first letter's
// URL as a member without the detail permissions. axe checks each state, and the letter is
// photographed at 320, 768 and 1280 px, where the page must not scroll sideways.
//
// usage: node browser/dashboard-notification.mjs <origin> <token> <serviceId> <emailId>
//        <cancellableId> <overtakenId> <refusedId> <invalidId> <pastId> <member token>
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { checkWidths, recordRequests, recordSockets, signIn } from './dashboard.mjs';

const [origin, token, serviceId, emailId, cancellableId, overtakenId, refusedId, invalidId, pastId, memberToken] = process.argv.slice(2);

const viewURL = (id) => `${origin}/dashboard/services/${serviceId}/notifications/${id}`;

// readView reads the open notification as a person would see it.
async function readView(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    const shown = (id) => document.getElementById(id).checkVisibility();
    return {
      path: window.location.pathname,
      id: document.getElementById('notification-view').dataset.notificationId ?? '',
      heading: text('notification-heading'),
      status: text('notification-status'),
      message: text('notification-message'),
      timeline: [...document.querySelectorAll('#timeline-rows tr')].map((row) => ({
        status: row.dataset.status,
        words: row.cells[0].textContent,
        at: row.querySelector('time').dateTime,
        shown: row.querySelector('time').textContent,
      })),
      print: shown('letter-state') ? (shown('letter-print') ? text('letter-print') : '') : null,
      cancelShown: shown('cancel-letter'),
      confirmShown: shown('cancel-confirm'),
      cancelMessage: text('letter-cancel-message'),
      errors: shown('letter-errors') ? [...document.querySelectorAll('#letter-error-list li')].map((li) => li.textContent) : [],
      pages: [...document.querySelectorAll('#letter-page-list img')].map((img) => ({
        number: Number(img.dataset.page),
        alt: img.alt,
        sameOrigin: new URL(img.src).origin === window.location.origin,
        loaded: img.complete && img.naturalWidth > 0,
      })),
      focused: document.activeElement?.id ?? '',
    };
  });
}

// waitForView waits until the view shows notification id with its first snapshot (the
// status and timeline come together; some letter statuses have no label, shown as a dash).
async function waitForView(page, id) {
  await page.waitForFunction((want) => document.getElementById('notification-view').dataset.notificationId === want &&
    document.querySelectorAll('#timeline-rows tr').length > 0, id, { timeout: 15000 });
}

// waitForPages waits until the letter's page images have loaded.
async function waitForPages(page) {
  await page.waitForFunction(() => {
    const images = [...document.querySelectorAll('#letter-page-list img')];
    return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
  }, null, { timeout: 30000 });
}

// openRow opens a notification from the recent-messages list with the keyboard.
async function openRow(page, id) {
  const button = page.locator(`#notification-rows button[data-notification-id="${id}"]`);
  await button.waitFor({ state: 'visible', timeout: 10000 });
  await button.focus();
  await page.keyboard.press('Enter');
  await waitForView(page, id);
}

await run(origin, 'dashboard-notification', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(viewURL(emailId));
  await signIn(page, token);
  await waitForView(page, emailId);
  const requests = recordRequests(page);
  await checkAccessibility(page, 'on an email');
  await waitForGo({ event: 'opened', text: JSON.stringify(await readView(page)) });

  await page.waitForFunction(() => document.querySelectorAll('#timeline-rows tr').length > 1, null, { timeout: 20000 });
  report({ event: 'updated', text: JSON.stringify(await readView(page)) });

  await openRow(page, cancellableId);
  await page.locator('#cancel-letter').waitFor({ state: 'visible', timeout: 10000 });
  await waitForPages(page);
  const widths = await checkWidths(page, 'on a letter that can be cancelled', 'dashboard-notification-letter');
  await waitForGo({ event: 'letter', text: JSON.stringify({ ...(await readView(page)), widths }) });

  await page.getByRole('button', { name: 'Cancel letter' }).click();
  await page.locator('#cancel-confirm').waitFor({ state: 'visible', timeout: 5000 });
  const confirming = await readView(page);
  await checkAccessibility(page, 'asking to confirm the cancellation');
  await page.getByRole('button', { name: 'Yes, cancel letter' }).click();
  await page.waitForFunction(() => document.getElementById('letter-cancel-message').textContent !== '' &&
    [...document.querySelectorAll('#timeline-rows tr')].some((row) => row.dataset.status === 'CANCELLED'), null, { timeout: 15000 });
  await checkAccessibility(page, 'after cancelling a letter');
  await screenshot(page, 'dashboard-notification-cancelled');
  report({ event: 'cancelled', text: JSON.stringify({ confirming, cancelled: await readView(page) }) });

  await openRow(page, overtakenId);
  await page.getByRole('button', { name: 'Cancel letter' }).click();
  await page.locator('#cancel-confirm').waitFor({ state: 'visible', timeout: 5000 });
  await waitForGo({ event: 'confirming' });
  await page.waitForFunction(() => document.getElementById('letter-cancel-message').textContent !== '', null, { timeout: 15000 });
  const overtaken = await readView(page);

  await openRow(page, refusedId);
  await page.getByRole('button', { name: 'Cancel letter' }).click();
  await page.locator('#cancel-confirm').waitFor({ state: 'visible', timeout: 5000 });
  await waitForGo({ event: 'asking' });
  await page.getByRole('button', { name: 'Yes, cancel letter' }).click();
  await page.waitForFunction(() => document.getElementById('letter-cancel-message').textContent !== '', null, { timeout: 15000 });
  await checkAccessibility(page, 'after a refused cancellation');
  const refused = await readView(page);

  await openRow(page, invalidId);
  await page.locator('#letter-errors').waitFor({ state: 'visible', timeout: 15000 });
  await waitForPages(page);
  await checkAccessibility(page, 'on a letter that failed validation');
  await screenshot(page, 'dashboard-notification-invalid');
  const invalid = await readView(page);

  await openRow(page, pastId);
  await page.waitForFunction(() => document.getElementById('letter-print').textContent !== '', null, { timeout: 15000 });
  const past = await readView(page);
  report({ event: 'letters', text: JSON.stringify({ overtaken, refused, invalid, past, requests: [...requests] }) });

  await page.goto(viewURL(cancellableId));
  await signIn(page, memberToken);
  await page.waitForFunction(() => document.getElementById('notification-message').textContent !== '', null, { timeout: 15000 });
  await checkAccessibility(page, 'on a letter, for a member without the detail permissions');
  report({ event: 'member', text: JSON.stringify({ ...(await readView(page)), sockets }) });
});
