// dashboard-unavailable-views.mjs: each view a user may not see says so, and the others
// keep working. Signed in as a user of the service without view_activity (but with
// manage_service), it opens every view in turn, through the page's links, and reads what
// each says; then, signed in as a user with view_activity but not manage_service, it opens
// the usage view's URL and goes on to template usage. axe checks every view.
//
// usage: node browser/dashboard-unavailable-views.mjs <origin> <token> <serviceId> <notificationId> <inboundSmsId> <otherToken>
import { report, run, screenshot } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { chooseService, signIn } from './dashboard.mjs';

const [origin, token, serviceId, notificationId, inboundSmsId, otherToken] = process.argv.slice(2);

// Each view: where it is, the element that says whether it is available, and the rows it
// shows when it is.
const views = {
  overview: { path: '', says: '#totals-message', rows: '#notification-rows tr' },
  activity: { path: '/notifications/email', says: '#activity-csv-message', rows: '#activity-rows tr' },
  notification: { path: `/notifications/${notificationId}`, says: '#content-message', rows: '#content-body:not(:empty)' },
  statistics: { path: '/statistics', says: '#statistics-message', rows: '#statistics-rows tr' },
  templates: { path: '/templates', says: '#template-usage-message', rows: '#template-usage-rows tr' },
  usage: { path: '/usage', says: '#usage-message', rows: '#usage-rows tr' },
  inbox: { path: '/inbox', says: '#inbox-view-message', rows: '#inbox-rows tr' },
  conversation: { path: `/inbox/${inboundSmsId}`, says: '#conversation-message', rows: '#conversation-messages li' },
};

// open goes to the view through a link on the page (the router, the socket staying), or
// for a view no link names, through history as a shared link would.
async function open(page, name) {
  const url = `/dashboard/services/${serviceId}${views[name].path}`;
  await page.evaluate((url) => {
    const link = document.querySelector(`#dashboard a[href="${url}"]`);
    if (link) link.click();
    else {
      window.history.pushState(null, '', url);
      window.dispatchEvent(new PopStateEvent('popstate'));
    }
  }, url);
}

// read waits until the view has answered, one way or the other, and reads it.
async function read(page, name) {
  const { says, rows } = views[name];
  await page.waitForFunction(({ says, rows }) => {
    const text = document.querySelector(says).textContent;
    return (text !== '' && text !== 'Loading…' && text !== 'Downloading…') || document.querySelector(rows)?.textContent;
  }, { says, rows }, { timeout: 15000 });
  // The overview's other panels answer on their own subscriptions.
  if (name === 'overview') {
    await page.waitForFunction(() => document.getElementById('totals-message').textContent !== '' &&
      document.getElementById('templates-message').textContent !== '' &&
      document.getElementById('upcoming-jobs-message').textContent !== '' &&
      document.getElementById('inbox-count').textContent !== '–' &&
      (document.getElementById('usage-summary-letter').textContent !== '–' ||
        document.getElementById('usage-summary-message').textContent !== ''), null, { timeout: 15000 });
  }
  return page.evaluate(({ says, rows }) => ({
    path: window.location.pathname,
    says: document.querySelector(says).textContent,
    rows: document.querySelectorAll(rows).length,
    templates: document.getElementById('templates-message').textContent,
    inbox: document.getElementById('inbox-label').textContent,
    upcomingJobs: document.getElementById('upcoming-jobs-message').textContent,
    usageSummary: document.getElementById('usage-summary-message').textContent ||
      document.getElementById('usage-summary-letter').textContent,
  }), { says, rows });
}

await run(origin, 'dashboard-unavailable-views', async ({ page }) => {
  await page.goto(`${origin}/dashboard`);
  await signIn(page, token);
  // The overview's subscriptions all end in refusals: the socket closes, with nothing to
  // wait for.
  await chooseService(page, serviceId);
  const shown = {};
  for (const name of Object.keys(views)) {
    await open(page, name);
    shown[name] = await read(page, name);
    await checkAccessibility(page, `on ${name}, not available`);
  }
  await screenshot(page, 'dashboard-conversation-unavailable');

  await page.goto(`${origin}/dashboard/services/${serviceId}/usage`);
  await signIn(page, otherToken);
  const otherUsage = await read(page, 'usage');
  // The overview's usage panel is asked for once the service is chosen, shown or not.
  await page.waitForFunction(() => document.getElementById('usage-summary-message').textContent !== '', null, { timeout: 15000 });
  otherUsage.usageSummary = await page.evaluate(() => document.getElementById('usage-summary-message').textContent);
  await checkAccessibility(page, 'on usage, not available');
  await screenshot(page, 'dashboard-usage-unavailable');
  await open(page, 'templates');
  const otherTemplates = await read(page, 'templates');
  report({ event: 'views', text: JSON.stringify({ shown, otherUsage, otherTemplates }) });
});
