// graphiql-query.mjs: GraphiQL runs operations as a person would: open the home page (which
// redirects to GraphiQL), then for each operation type the headers and the operation, press
// run, and read the result pane. The network is closed but for the server's origin.
//
// usage: node browser/graphiql-query.mjs <origin> <screenshot name> (<headers JSON, or ""> <operation>)...
// reports: {"event":"opened","text":<the path GET / ended on>}
//          {"event":"result","text":<the result pane>} for each operation
//          {"event":"stored","text":<localStorage as key=value lines>}
import { report, run, screenshot } from './chromium.mjs';
import { execute, openGraphiQL, setHeaders, setQuery, storedText } from './graphiql.mjs';

const [origin, name, ...runs] = process.argv.slice(2);
if (runs.length === 0 || runs.length % 2 !== 0) throw new Error('want pairs of headers and operation');

await run(origin, name, async ({ page }) => {
  report({ event: 'opened', text: await openGraphiQL(page, origin) });
  for (let i = 0; i < runs.length; i += 2) {
    await setHeaders(page, runs[i]);
    await setQuery(page, runs[i + 1]);
    const result = await execute(page);
    await screenshot(page, runs.length > 2 ? `${name}-${i / 2 + 1}` : name);
    report({ event: 'result', text: result });
  }
  report({ event: 'stored', text: await storedText(page, runs[runs.length - 1]) });
});
