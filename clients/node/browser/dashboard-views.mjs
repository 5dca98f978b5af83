// dashboard-views.mjs: the template usage, usage and inbox views. It signs in, chooses a
// service, reads the overview's usage panel and follows each view's link, reporting what each shows; on the inbox it lets
// the Go test write a received text and waits for the list to follow, downloads the inbox
// CSV, and opens the conversation that the text inboundSmsId starts. Then it opens each view's URL afresh (as a reload or a
// shared link does), signs in again and reports what opens. axe checks every view, and the
// usage view is photographed at 320, 768 and 1280 px, where the page must not scroll sideways.
//
// usage: node browser/dashboard-views.mjs <origin> <token> <serviceId> <year> <inboundSmsId>
import { readFile } from 'node:fs/promises';
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import {
  checkWidths, chooseService, recordRequests, recordSockets, signIn, waitForConnection,
} from './dashboard.mjs';

const [origin, token, serviceId, year, inboundSmsId] = process.argv.slice(2);

// waitForView waits until the section is shown and has answered: its message says
// something other than that it is loading, or it is empty and the view has rows.
async function waitForView(page, section, message) {
  await page.waitForFunction(({ section, message }) => {
    const root = document.getElementById(section);
    const text = document.getElementById(message).textContent;
    return !root.hidden && text !== 'Loading…' && (text !== '' || root.querySelector('tbody tr, ol li') !== null);
  }, { section, message }, { timeout: 15000 });
}

// readView reads the shown view as a person would see it: its address, title, heading,
// message, the current link, and every table's rows (the month or number each row names
// and its cells).
async function readView(page, section) {
  return page.evaluate((section) => {
    const root = document.getElementById(section);
    return {
      path: window.location.pathname,
      title: document.title,
      heading: root.querySelector('h3').textContent,
      message: root.querySelector('.message, [role="status"]')?.textContent ?? '',
      current: document.querySelector('.views a[aria-current="page"]')?.textContent ?? '',
      overviewShown: !document.getElementById('overview').hidden,
      tables: [...root.querySelectorAll('tbody')].map((body) => [...body.rows].map((row) => ({
        key: row.dataset.month ?? row.dataset.inboundSmsId ?? '',
        cells: [...row.cells].map((cell) => cell.textContent),
      }))),
      bars: [...root.querySelectorAll('svg rect title')].map((t) => t.textContent),
      chartLabel: [...root.querySelectorAll('svg')].find((svg) => svg.querySelector('rect title'))?.getAttribute('aria-label') ?? '',
      years: [...root.querySelectorAll('select option')].map((o) => ({ value: o.value, label: o.textContent, selected: o.selected })),
      messages: [...root.querySelectorAll('#conversation-messages li')].map((li) => ({
        id: li.dataset.messageId, direction: li.className, text: li.querySelector('.sms-body').textContent,
      })),
    };
  }, section);
}

const views = [
  { link: 'Template usage', section: 'template-usage', message: 'template-usage-message' },
  { link: 'Usage', section: 'usage', message: 'usage-message' },
  { link: 'Received text messages', section: 'inbox-view', message: 'inbox-view-message' },
];

await run(origin, 'dashboard-views', async ({ page }) => {
  const sockets = recordSockets(page);
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  await chooseService(page, serviceId);
  await waitForConnection(page, 'live');
  // The overview's usage panel, for a user with manage_service.
  await page.waitForFunction(() => document.getElementById('usage-summary-letter').textContent !== '–', null, { timeout: 15000 });
  const summary = await page.evaluate(() => ['email', 'sms', 'letter'].map((t) => document.getElementById(`usage-summary-${t}`).textContent));
  const requests = recordRequests(page);
  const shown = {};
  for (const { link, section, message } of views) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await waitForView(page, section, message);
    shown[section] = await readView(page, section);
    shown[section].focused = await page.evaluate(() => document.activeElement?.id ?? '');
    await checkAccessibility(page, `on ${link}`);
    await screenshot(page, `dashboard-${section}-1280`);
    if (section === 'template-usage') {
      // The year selector goes to the oldest year the API offers, at its own address.
      const oldest = shown[section].years.at(-1).value;
      await page.locator('#template-usage').getByLabel('Financial year').selectOption(oldest);
      await page.waitForFunction((year) => window.location.pathname.endsWith(`/templates/${year}`), oldest, { timeout: 10000 });
      await waitForView(page, section, message);
      shown['template-usage-oldest'] = await readView(page, section);
    }
  }

  // The inbox follows a text received while it is shown.
  const before = shown['inbox-view'].tables[0].length;
  await waitForGo({ event: 'inbox', text: JSON.stringify(shown['inbox-view']) });
  await page.waitForFunction((n) => document.querySelectorAll('#inbox-rows tr').length > n, before, { timeout: 15000 });
  const inboxAfter = await readView(page, 'inbox-view');

  const downloading = page.waitForEvent('download', { timeout: 15000 });
  await page.getByRole('button', { name: 'Download received text messages as CSV' }).click();
  const download = await downloading;
  const csv = { name: download.suggestedFilename(), text: await readFile(await download.path(), 'utf8') };
  await page.waitForFunction(() => document.getElementById('inbox-csv-message').textContent.startsWith('Downloaded'), null, { timeout: 10000 });

  await page.locator(`#inbox-rows tr[data-inbound-sms-id="${inboundSmsId}"] a`).click();
  await waitForView(page, 'conversation', 'conversation-message');
  const conversation = await readView(page, 'conversation');
  await checkAccessibility(page, 'on a conversation');
  await screenshot(page, 'dashboard-conversation-1280');
  const requestsInViews = [...requests];

  // Each view's address opens the same view after a reload (and sign-in).
  const reloaded = {};
  for (const [path, section, message] of [
    [`templates/${year}`, 'template-usage', 'template-usage-message'],
    [`usage/${year}`, 'usage', 'usage-message'],
    ['inbox', 'inbox-view', 'inbox-view-message'],
    [conversation.path.split(`/services/${serviceId}/`)[1], 'conversation', 'conversation-message'],
  ]) {
    await page.goto(`${origin}/dashboard/services/${serviceId}/${path}`);
    await signIn(page, token);
    await waitForView(page, section, message);
    reloaded[section] = await readView(page, section);
  }

  await page.goto(`${origin}/dashboard/services/${serviceId}/usage`);
  await signIn(page, token);
  await waitForView(page, 'usage', 'usage-message');
  const widths = await checkWidths(page, 'on usage', 'dashboard-usage');
  report({ event: 'views', text: JSON.stringify({ summary, shown, inboxAfter, csv, conversation, reloaded, widths, requestsInViews, sockets }) });
});
