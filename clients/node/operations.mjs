// operations.mjs: a real graphql-ws client that signs in once and then runs, on that one
// socket, whatever operations a test writes on its stdin, printing everything the server
// answers as JSON lines on stdout: a test can follow a socket through a change of its
// user's access (cmd/notifyql/socketops_test.go).
//
// usage: node operations.mjs <ws-url> <token>
//
// stdin: one operation a line, {"id": "label", "query": "...", "variables": {...}}.
// stdout: {"event":"connected"} once the server has acknowledged the sign-in; then, for
// each operation, {"id","event":"next","payload"}, {"id","event":"error","errors"} and
// {"id","event":"complete"}; and {"event":"closed","code","reason"} whenever the socket
// closes. It exits 0 when stdin ends. Errors go to stderr; the token is never printed.

import { createInterface } from 'node:readline';
import { createClient } from 'graphql-ws';
// Node 20 builds do not all have a global WebSocket; the ws package is the one that works
// everywhere.
import WebSocket from 'ws';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node operations.mjs <ws-url> <token>');
  process.exit(64);
}

const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  // Connect at once, so that the test sees the acknowledgement before it changes anything,
  // and never retry: the test wants to see the server's close, not a client hiding it.
  lazy: false,
  retryAttempts: 0,
  onNonLazyError: (err) => console.error(`connection failed: ${describe(err)}`),
  on: {
    connected: () => print({ event: 'connected' }),
    closed: (event) => print({ event: 'closed', code: event?.code, reason: event?.reason }),
  },
});

// describe says what went wrong without the token: a close event, an error, or GraphQL errors.
function describe(err) {
  if (err && typeof err.code === 'number') return `socket closed with ${err.code} ${err.reason ?? ''}`.trim();
  if (err && typeof err.message === 'string') return err.message;
  return JSON.stringify(err);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const { id, query, variables } = JSON.parse(line);
  client.subscribe(
    { query, variables },
    {
      next: (payload) => print({ id, event: 'next', payload }),
      error: (err) => {
        if (Array.isArray(err)) {
          print({ id, event: 'error', errors: err });
        } else {
          print({ id, event: 'error', reason: describe(err) });
        }
      },
      complete: () => print({ id, event: 'complete' }),
    },
  );
});
lines.on('close', async () => {
  await client.dispose();
  process.exit(0);
});
