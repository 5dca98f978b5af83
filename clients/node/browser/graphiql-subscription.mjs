// graphiql-subscription.mjs: a GraphiQL subscription shows a database write. It subscribes
// with the typed Authorization header (which the page sends in connection_init), reports
// the first snapshot, waits while the Go test writes, then waits for the result pane to
// change and reports what it shows.
//
// usage: node browser/graphiql-subscription.mjs <origin> <headers JSON> <subscription>
// reports: {"event":"snapshot","text":<the result pane>}, then waits for the Go test's reply
//          {"event":"updated","text":<the result pane>}
import { report, run, screenshot, waitForGo } from './chromium.mjs';
import { execute, openGraphiQL, setHeaders, setQuery, waitForResult } from './graphiql.mjs';

const [origin, headers, subscription] = process.argv.slice(2);

await run(origin, 'graphiql-subscription', async ({ page }) => {
  await openGraphiQL(page, origin);
  await setHeaders(page, headers);
  await setQuery(page, subscription);
  const snapshot = await execute(page);
  await screenshot(page, 'graphiql-subscription-before');
  await waitForGo({ event: 'snapshot', text: snapshot });
  const updated = await waitForResult(page, (text) => text !== snapshot, 'an update after the write');
  await screenshot(page, 'graphiql-subscription-after');
  report({ event: 'updated', text: updated });
});
