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

// Chromium's console line for a response with status 400.
const badRequestLine = 'console: Failed to load resource: the server responded with a status of 400 (Bad Request)';

await run(origin, name, async ({ page, errors }) => {
  // In production the API refuses the schema introspection GraphiQL sends on its own, 400
  // INTROSPECTION_DISABLED (GraphQL over HTTP: an operation that never ran answers 4xx to
  // a client that accepts application/graphql-response+json), and Chromium logs each such
  // answer as a resource that failed to load. Each 400 from /graphql is read here, and as
  // many console lines are dropped as were introspection refusals; any other stays.
  const introspectionRefusals = [];
  page.on('response', (response) => {
    if (response.status() === 400 && new URL(response.url()).pathname === '/graphql') {
      introspectionRefusals.push(response.json().then(
        (body) => body?.errors?.[0]?.extensions?.code === 'INTROSPECTION_DISABLED',
        () => false,
      ));
    }
  });
  report({ event: 'opened', text: await openGraphiQL(page, origin) });
  for (let i = 0; i < runs.length; i += 2) {
    await setHeaders(page, runs[i]);
    await setQuery(page, runs[i + 1]);
    const result = await execute(page);
    await screenshot(page, runs.length > 2 ? `${name}-${i / 2 + 1}` : name);
    report({ event: 'result', text: result });
  }
  report({ event: 'stored', text: await storedText(page, runs[runs.length - 1]) });
  let refused = (await Promise.all(introspectionRefusals)).filter(Boolean).length;
  for (let i = errors.length - 1; i >= 0 && refused > 0; i--) {
    if (errors[i] === badRequestLine) {
      errors.splice(i, 1);
      refused--;
    }
  }
});
