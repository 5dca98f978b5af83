// subscribe.mjs: a real graphql-ws client for notifyql's live path. It subscribes to
// dashboardTotals for one service and prints each payload as one JSON line on stdout, so a
// test (cmd/notifyql/node_test.go) or a person can watch updates arrive.
//
// usage: node subscribe.mjs <ws-url> <token> <serviceId> <count> <timeoutMs>
//
// It exits 0 after <count> payloads, 1 on an error, and 2 when <timeoutMs> passes first.
// Errors go to stderr; stdout carries only payloads.

import { createClient } from 'graphql-ws';
// Node 20 builds do not all have a global WebSocket; the ws package is the one that works
// everywhere.
import WebSocket from 'ws';

const [url, token, serviceId, countArg, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
const timeoutMs = Number(timeoutArg);
if (!url || !token || !serviceId || !(count > 0) || !(timeoutMs > 0)) {
  console.error('usage: node subscribe.mjs <ws-url> <token> <serviceId> <count> <timeoutMs>');
  process.exit(64);
}

const query = `subscription ($serviceId: ID!) {
  dashboardTotals(serviceId: $serviceId, days: 0) {
    email { requested delivered failed }
    sms { requested delivered failed }
    letter { requested delivered failed }
  }
}`;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  // A test wants the first failure, not a client quietly retrying it.
  retryAttempts: 0,
  lazy: true,
});

// finish disposes the client first so the socket closes cleanly before the process exits.
async function finish(code, message) {
  if (message) console.error(message);
  clearTimeout(timer);
  try {
    await client.dispose();
  } finally {
    process.exit(code);
  }
}

const timer = setTimeout(
  () => finish(2, `timed out after ${timeoutMs} ms`),
  timeoutMs,
);

let received = 0;
client.subscribe(
  { query, variables: { serviceId } },
  {
    next(payload) {
      if (payload.errors?.length) {
        finish(1, `subscription errors: ${JSON.stringify(payload.errors)}`);
        return;
      }
      process.stdout.write(JSON.stringify(payload) + '\n');
      received += 1;
      if (received >= count) finish(0);
    },
    error(err) {
      // A socket error event, a close event or an array of GraphQL errors: say which,
      // without the token.
      let detail;
      if (err && typeof err.code === 'number') {
        detail = `socket closed with ${err.code} ${err.reason ?? ''}`.trim();
      } else if (err && typeof err.message === 'string') {
        detail = err.message;
      } else {
        detail = JSON.stringify(err);
      }
      finish(1, `subscription failed: ${detail}`);
    },
    complete() {
      finish(received >= count ? 0 : 1, received >= count ? undefined : 'the server completed the subscription early');
    },
  },
);
