// chromium.mjs: what every browser test shares. It starts Debian's Chromium headless through
// playwright-core, with the network closed but for the page's own origin, and saves
// screenshots where the Go test asks.
//
// The Go test runs a script with the environment below and reads its stdout line by line:
// a script prints one JSON object per line ({"event": ...}) and waits on stdin for the Go
// test's reply where the test must act in between (a database write, say).
//
//   NOTIFYQL_CHROMIUM     the browser executable (/usr/bin/chromium)
//   NOTIFYQL_ARTIFACTS    the folder the screenshots go to
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

// The flags keep a headless Chromium from reaching out on its own (updates, sync, field
// trials) and, as root in CI, from needing a sandbox. host-resolver-rules closes the
// network underneath the page: every name but the loopback fails to resolve.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

// openPage starts Chromium and opens a page whose every request off the given origin is
// aborted and recorded in `blocked`, so a test can assert that the page asked for nothing
// from elsewhere. Console errors and page errors are recorded in `errors`.
export async function openPage(origin) {
  const browser = await chromium.launch({
    executablePath: process.env.NOTIFYQL_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
  });
  const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 900 } });
  const blocked = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/') || url.startsWith('data:') || url.startsWith('blob:')) {
      return route.continue();
    }
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { browser, context, page, blocked, errors };
}

// screenshot saves the page as <NOTIFYQL_ARTIFACTS>/<name>.png and reports where.
export async function screenshot(page, name) {
  const dir = process.env.NOTIFYQL_ARTIFACTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report({ event: 'screenshot', file });
}

// report prints one event for the Go test.
export function report(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// waitForGo reports an event, then waits for the Go test to answer with a line on stdin
// (after it has written to the database, say).
export async function waitForGo(event) {
  report(event);
  const { value, done } = await stdinLines.next();
  if (done) throw new Error(`the Go test closed stdin while the script waited after ${event.event}`);
  return value;
}

// run runs a test body with a page, reports {"event":"done"} when it passes, and otherwise
// reports the error (with the page's recorded errors) and exits 1. The browser is closed
// either way, and a last screenshot is taken on failure.
export async function run(origin, name, body) {
  let opened;
  try {
    opened = await openPage(origin);
    await body(opened);
    report({ event: 'done', blocked: opened.blocked, errors: opened.errors });
    await opened.browser.close();
    process.exit(0);
  } catch (err) {
    report({ event: 'failed', error: String(err && err.stack || err), blocked: opened?.blocked, errors: opened?.errors });
    if (opened) {
      await screenshot(opened.page, `${name}-failed`).catch(() => {});
      await opened.browser.close().catch(() => {});
    }
    process.exit(1);
  }
}
