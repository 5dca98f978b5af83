// GraphiQL for notifyql: queries go to POST /graphql on this origin, subscriptions over a
// graphql-transport-ws socket to the same path, both signed in with the Authorization header
// the user types into the header editor.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './page.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createNotifyqlFetcher } from './fetcher.js';
import { headerlessStorage } from './storage.js';

const defaultQuery = `# notifyql's GraphiQL.
#
# Sign in: open Headers below and enter
#   { "Authorization": "Bearer <token>" }
# (in development, \`notifyql token --email viewer@notifyql.example\` mints one).
# Subscriptions send the same header in connection_init.

query Services {
  services {
    id
    name
  }
}
`;

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher: createNotifyqlFetcher(window.location),
    storage: headerlessStorage,
    defaultQuery,
    defaultEditorToolsVisibility: 'headers',
    // Headers carry the bearer token, which is never stored: offering to keep them would
    // be a setting that does nothing.
    shouldPersistHeaders: false,
    showPersistHeadersSettings: false,
  }),
);
