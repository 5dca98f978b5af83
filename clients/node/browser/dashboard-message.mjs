// dashboard-message.mjs: a message opens from the recent-messages list. It signs in, chooses
// a service, opens the email with the keyboard and reports what the view shows (its content
// and status), lets the Go test mark it delivered and reports the status the view then
// shows, then opens the letter with a click on its row and reports its page images once
// they have loaded.
//
// usage: node browser/dashboard-message.mjs <origin> <token> <serviceId> <emailId> <letterId>
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { chooseService, recordRequests, signIn, waitForConnection } from './dashboard.mjs';

const [origin, token, serviceId, emailId, letterId] = process.argv.slice(2);

const rowButton = (id) => `#notification-rows button[data-notification-id="${id}"]`;

// readMessage reads the open message as a person would see it.
async function readMessage(page) {
  const frame = page.frameLocator('#content-html');
  const frameShown = await page.locator('#content-html').isVisible();
  return {
    ...(await page.evaluate(() => {
      const text = (id) => document.getElementById(id).textContent;
      const shown = (id) => !document.getElementById(id).hidden;
      return {
        viewShown: shown('notification-view'),
        heading: text('notification-heading'),
        focused: document.activeElement?.id ?? '',
        status: text('notification-status'),
        message: text('notification-message'),
        contentMessage: text('content-message'),
        subject: shown('content-subject-line') ? text('content-subject') : null,
        plainText: shown('content-plain') ? text('content-body') : null,
        sandbox: document.getElementById('content-html').getAttribute('sandbox'),
        address: [...document.querySelectorAll('#letter-address li')].map((li) => li.textContent),
        pages: [...document.querySelectorAll('#letter-page-list img')].map((img) => ({
          number: Number(img.dataset.page),
          alt: img.alt,
          sameOrigin: new URL(img.src).origin === window.location.origin,
          complete: img.complete,
          naturalWidth: img.naturalWidth,
          naturalHeight: img.naturalHeight,
        })),
      };
    })),
    // The email body as its frame shows it, and whether any markup from a value became an
    // element there.
    frameText: frameShown ? await frame.locator('body').innerText() : null,
    frameBold: frameShown ? await frame.locator('b').count() : null,
  };
}

await run(origin, 'dashboard-message', async ({ page }) => {
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  await page.locator(rowButton(emailId)).waitFor({ state: 'visible', timeout: 10000 });
  await page.locator(rowButton(letterId)).waitFor({ state: 'visible', timeout: 10000 });

  // The row's button, with the keyboard.
  await page.locator(rowButton(emailId)).focus();
  await page.keyboard.press('Enter');
  await page.locator('#notification-view').waitFor({ state: 'visible', timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('notification-status').textContent !== '–' &&
    !document.getElementById('content-html').hidden, null, { timeout: 15000 });
  // The frame's document loads after the frame is shown: read it once its body has text.
  await page.frameLocator('#content-html').locator('body', { hasText: /\S/ }).waitFor({ state: 'attached', timeout: 15000 });
  await checkAccessibility(page, '(dashboard-message-email)');
  await screenshot(page, 'dashboard-message-email');
  await waitForGo({ event: 'email', text: JSON.stringify(await readMessage(page)) });

  await page.waitForFunction(() => document.getElementById('notification-status').textContent === 'Delivered',
    null, { timeout: 15000 });
  report({ event: 'delivered', text: JSON.stringify(await readMessage(page)) });

  // A click on the row (its template cell), with the mouse.
  const requests = recordRequests(page);
  await page.locator(`#notification-rows tr[data-notification-id="${letterId}"] td`).first().click();
  await page.waitForFunction((id) => document.getElementById('notification-view').dataset.notificationId === id,
    letterId, { timeout: 10000 });
  await page.waitForFunction(() => {
    const images = [...document.querySelectorAll('#letter-page-list img')];
    return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
  }, null, { timeout: 30000 });
  await checkAccessibility(page, '(dashboard-message-letter)');
  await screenshot(page, 'dashboard-message-letter');
  report({ event: 'letter', text: JSON.stringify({ ...(await readMessage(page)), requests }) });

  // Back to the list gives the keyboard back to the letter's row.
  await page.getByRole('button', { name: 'Back to the list' }).click();
  await page.locator('#notification-view').waitFor({ state: 'hidden', timeout: 5000 });
  const focused = await page.evaluate(() => document.activeElement?.dataset?.notificationId ?? '');
  report({ event: 'closed', text: JSON.stringify({ focused }) });
});
