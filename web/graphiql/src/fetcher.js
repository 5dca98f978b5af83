// The fetcher GraphiQL runs every operation through. Queries and mutations are POSTed to
// /graphql with the header editor's headers; subscriptions run over graphql-transport-ws on
// the same path, where the API reads credentials from connection_init rather than from
// headers (a browser cannot set headers on a WebSocket). So the socket client is made for
// the Authorization value the operation carries, and made again when that value changes.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';

// The API closes a socket with 4403 when it refuses the credentials in connection_init;
// trying again with the same token cannot succeed, so the error is shown at once.
const forbidden = 4403;

// authorizationFrom finds the Authorization header whatever its case: HTTP header names are
// case-insensitive, and so is the API's connection_init payload.
export function authorizationFrom(headers) {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization' && typeof value === 'string') return value;
  }
  return undefined;
}

// webSocketURL is the page's origin with ws: for http: and wss: for https:.
export function webSocketURL(location, path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

export function createNotifyqlFetcher(location) {
  const url = `${location.origin}/graphql`;
  const subscriptionURL = webSocketURL(location, '/graphql');
  // The fetcher for the Authorization value last seen. A replaced socket client is not
  // disposed: it is lazy, so it closes on its own once its subscriptions (another tab's,
  // say) end.
  let current = null;
  return (params, opts) => {
    const authorization = authorizationFrom(opts?.headers);
    if (!current || current.authorization !== authorization) {
      const client = createClient({
        url: subscriptionURL,
        connectionParams: authorization === undefined ? {} : { Authorization: authorization },
        shouldRetry: (closeEvent) => closeEvent?.code !== forbidden,
      });
      current = {
        authorization,
        fetcher: createGraphiQLFetcher({ url, wsClient: showingErrors(client), enableIncrementalDelivery: false }),
      };
    }
    return current.fetcher(params, opts);
  };
}

// showingErrors wraps a socket client so that a subscription that fails ends with a result
// carrying the error, which GraphiQL shows in its result pane like any GraphQL error. A
// failure passed on as an error would be shown with a stack trace and also surface as an
// uncaught error in the page.
function showingErrors(client) {
  return {
    subscribe(payload, sink) {
      return client.subscribe(payload, {
        next: (result) => sink.next(result),
        complete: () => sink.complete(),
        error(err) {
          sink.next({ errors: Array.isArray(err) ? err : [{ message: failureMessage(err) }] });
          sink.complete();
        },
      });
    },
  };
}

// failureMessage says why a subscription failed: a closed socket by its code and the API's
// reason (a refused token also says what to do about it), anything else by its message.
function failureMessage(err) {
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    const closed = `The subscription's socket closed: ${err.code} ${err.reason}`.trim();
    if (err.code === forbidden && !/authorization/i.test(err.reason)) {
      return `${closed}. Sign in with an Authorization header, Bearer <token>, in Headers and run it again.`;
    }
    return closed;
  }
  return err instanceof Error ? err.message : String(err);
}
