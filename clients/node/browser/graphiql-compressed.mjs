// graphiql-compressed.mjs: GraphiQL arrives compressed and still works. Every response for
// the page's own files is recorded with the Accept-Encoding Chromium sent and the
// Content-Encoding, ETag and Cache-Control the server answered; then a query runs, so the
// decoded scripts, styles, fonts and workers are shown to work, not only to arrive.
//
// usage: node browser/graphiql-compressed.mjs <origin> <headers JSON> <operation>
// reports: {"event":"loaded","text":<JSON: [{path, status, acceptEncoding, contentEncoding, etag, cacheControl}]>}
//          {"event":"result","text":<the result pane>}
import { report, run, screenshot } from './chromium.mjs';
import { execute, openGraphiQL, setHeaders, setQuery } from './graphiql.mjs';

const [origin, headers, operation] = process.argv.slice(2);
if (!operation) throw new Error('usage: graphiql-compressed.mjs <origin> <headers JSON> <operation>');

await run(origin, 'graphiql-compressed', async ({ page }) => {
  const loaded = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (path !== '/graphiql' && !path.startsWith('/graphiql/')) return;
    loaded.push(Promise.all([response.request().allHeaders(), response.allHeaders()]).then(([sent, got]) => ({
      path,
      status: response.status(),
      acceptEncoding: sent['accept-encoding'] ?? '',
      contentEncoding: got['content-encoding'] ?? '',
      etag: got['etag'] ?? '',
      cacheControl: got['cache-control'] ?? '',
    })));
  });
  await openGraphiQL(page, origin);
  await setHeaders(page, headers);
  await setQuery(page, operation);
  const result = await execute(page);
  await screenshot(page, 'graphiql-compressed');
  report({ event: 'loaded', text: JSON.stringify(await Promise.all(loaded)) });
  report({ event: 'result', text: result });
});
