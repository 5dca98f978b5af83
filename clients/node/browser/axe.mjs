// axe.mjs: checks a page with axe-core (pinned in clients/node's lockfile) against WCAG 2.2
// A and AA, and fails on any violation. axe is evaluated into the page through the DevTools
// protocol, which the page's content security policy (script-src 'self') does not govern,
// so the page under test is the one served, policy and all.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

// The rule tags checked: every A and AA success criterion axe tests, WCAG 2.0 to 2.2.
export const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

// checkAccessibility runs axe on the page as it is now and throws, naming each violated
// rule and the elements that break it, unless it finds nothing. where says which state of
// the page was checked, for the message.
export async function checkAccessibility(page, where) {
  const injected = await page.evaluate(() => typeof window.axe === 'object');
  if (!injected) await page.evaluate(axeSource);
  const violations = await page.evaluate(async (tags) => {
    const results = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  }, wcagTags);
  if (violations.length > 0) {
    throw new Error(`axe found ${violations.length} WCAG 2.2 A/AA violations ${where}: ${JSON.stringify(violations)}`);
  }
}
