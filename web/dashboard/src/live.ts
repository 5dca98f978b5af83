// live.ts: the page's one graphql-ws client, over the same origin's /graphql, how its
// socket's life maps onto the connection state the page shows, and how an operation is
// run on it by its hash.
import type { FormattedExecutionResult } from 'graphql';
import type { Client, Sink, SubscribePayload } from 'graphql-ws';
import { createClient } from 'graphql-ws/client';
import { type Document, documentId } from './documents';

// The close codes with which the server refuses the token: the connection_init's credentials,
// or a token that expired while the socket was open. Retrying with the same token is
// pointless, so the page signs out instead.
export const authCloseCodes = new Set([4401, 4403]);

export function isAuthClose(event: unknown): boolean {
  const code = (event as { code?: unknown } | null)?.code;
  return typeof code === 'number' && authCloseCodes.has(code);
}

export type ConnectionState = 'signed-out' | 'idle' | 'connecting' | 'live' | 'reconnecting' | 'refused';

function socketURL(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/graphql`;
}

// retryWait waits about 1, 2, 4 ... up to 15 seconds before the nth reconnection, with
// jitter so that a server's clients do not all come back at the same moment.
function retryWait(retries: number): Promise<void> {
  const ceiling = Math.min(1000 * 2 ** retries, 15000);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

// createLiveClient opens the client for token. onState hears 'connecting', 'live',
// 'reconnecting' and 'refused' (the server closed the socket over the token).
export function createLiveClient(token: string, onState: (state: ConnectionState) => void): Client {
  return createClient({
    url: socketURL(),
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: Infinity,
    retryWait,
    // Anything but a refused token is worth another try: a dropped socket, a server
    // restarting, a network that went away (which browsers report as an error event).
    shouldRetry: (errOrClose) => !isAuthClose(errOrClose),
    on: {
      connecting: (isRetry) => onState(isRetry ? 'reconnecting' : 'connecting'),
      connected: () => onState('live'),
      closed: (event) => onState(isAuthClose(event) ? 'refused' : 'reconnecting'),
    },
  });
}

export type Result<Data> = FormattedExecutionResult<Data>;

// run starts document on the client with variables, by its documentId (the API takes one
// in place of a query), and returns what ends it.
export function run<Data, Variables extends Record<string, unknown>>(client: Client, document: Document<Data, Variables>, variables: Variables,
  sink: Sink<Result<Data>>): () => void {
  // graphql-ws will not send a payload without a query string: the query is empty, and
  // the API runs the document the documentId names.
  const payload: SubscribePayload & { documentId: string } = { query: '', documentId: documentId(document), variables };
  return client.subscribe<Data>(payload, sink);
}

// ask runs a query on the client and resolves with its one result.
export function ask<Data, Variables extends Record<string, unknown>>(client: Client, document: Document<Data, Variables>, variables: Variables): Promise<Result<Data> | null> {
  return new Promise((resolve, reject) => {
    let result: Result<Data> | null = null;
    run(client, document, variables, {
      next: (r) => { result = r; },
      error: reject,
      complete: () => resolve(result),
    });
  });
}
