// inbox.ts: the inbox panel's operation, alone in its module: the inbox's shape is the one
// part of the schema the page reads that is expected to change, and this is all that would
// change with it (then `npm run build` regenerates the types and the manifest).
import { graphql } from './gql';
import type { InboxCountSubscription as InboxCount } from './gql/graphql';

export const InboxCountSubscription = graphql(`
  subscription InboxCount($serviceId: ID!) {
    inbox(serviceId: $serviceId) { summary { count } }
  }
`);

// inboxCount is the count the panel shows, from a snapshot.
export function inboxCount(data: InboxCount): number {
  return data.inbox.summary.count;
}
