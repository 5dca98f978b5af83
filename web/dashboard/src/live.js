// live.js: the page's one graphql-ws client, over the same origin's /graphql, and how its
// socket's life maps onto the connection state the page shows.
import { createClient } from 'graphql-ws/client';

// The close codes with which the server refuses the token: the connection_init's credentials,
// or a token that expired while the socket was open. Retrying with the same token is
// pointless, so the page signs out instead.
export const authCloseCodes = new Set([4401, 4403]);

export function isAuthClose(event) {
  return typeof event?.code === 'number' && authCloseCodes.has(event.code);
}

function socketURL() {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/graphql`;
}

// retryWait waits about 1, 2, 4 ... up to 15 seconds before the nth reconnection, with
// jitter so that a server's clients do not all come back at the same moment.
function retryWait(retries) {
  const ceiling = Math.min(1000 * 2 ** retries, 15000);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

// createLiveClient opens the client for token. onState hears 'connecting', 'live',
// 'reconnecting' and 'refused' (the server closed the socket over the token).
export function createLiveClient(token, onState) {
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
      closed: (event) => onState(isAuthClose(event) ? 'refused' : 'reconnecting', event),
    },
  });
}
