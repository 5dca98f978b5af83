// dashboard-refused.mjs: wrong input in the sign-in form. Blank input and text that cannot
// be a token are refused on the page; a well-formed token the API refuses shows the API's
// refusal. Neither shows the service picker. It reports each message the page showed, and
// the statuses of the API's answers.
//
// usage: node browser/dashboard-refused.mjs <origin> <garbage-token>
import { report, run, screenshot } from './chromium.mjs';
import { checkAccessibility } from './axe.mjs';
import { signIn, waitForConnection } from './dashboard.mjs';

const [origin, garbage] = process.argv.slice(2);

await run(origin, 'dashboard-refused', async ({ page }) => {
  const message = page.locator('#sign-in-message');
  const picker = page.locator('#service-picker');
  await page.goto(`${origin}/dashboard`);
  await waitForConnection(page, 'signed out');

  const shown = { answers: [] };
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/graphql') shown.answers.push(response.status());
  });
  for (const [name, input] of [['blank', '   '], ['spaces', 'not a token at all']]) {
    await signIn(page, input);
    await page.waitForFunction(() => document.getElementById('sign-in-message').textContent !== '');
    shown[name] = await message.textContent();
  }

  await signIn(page, garbage);
  await page.waitForFunction(() => document.getElementById('sign-in-message').textContent.startsWith('Token refused'));
  shown.garbage = await message.textContent();
  shown.pickerVisible = await picker.isVisible();
  shown.connection = await page.locator('#connection-state').textContent();
  shown.tokenLeftInForm = await page.getByLabel('API token').inputValue();
  await checkAccessibility(page, '(dashboard-refused)');
  await screenshot(page, 'dashboard-refused');

  report({ event: 'refused', text: JSON.stringify(shown) });
});
