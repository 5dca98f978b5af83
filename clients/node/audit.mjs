// Runs the graphql-http audit suite (GraphQL over HTTP) against the URL given, printing one
// JSON object: each audit's id, name, status (ok, notice, warn, error) and reason.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
console.log(JSON.stringify(results.map((r) => ({
  id: r.id,
  name: r.name,
  status: r.status,
  reason: r.status === 'ok' ? '' : r.reason,
}))));
