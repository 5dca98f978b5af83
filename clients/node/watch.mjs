import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const client = createClient({
  url: 'ws://localhost:8080/graphql',
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${process.env.TOKEN}` },
});
const query = `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested delivered failed } } }`;
client.subscribe({ query, variables: { id: process.env.SERVICE } }, { next: (r) => console.log(JSON.stringify(r)), error: console.error, complete: () => {} });
