// inbox.ts: the operations that read the inbox, alone in their module: the inbox's shape
// is the one part of the schema the page reads that is expected to change, and this is all
// that would change with it (then `npm run build` regenerates the types and the manifest).
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

// The inbox view's list: the latest text from each number, live, with the service's
// inbound number to show when the list is empty.
export const InboxListSubscription = graphql(`
  subscription InboxList($serviceId: ID!) {
    inbox(serviceId: $serviceId) {
      edges { node { id phoneNumber content createdAt } }
      inboundNumber
    }
  }
`);

// The texts exchanged with the number that sent one of the inbox's texts.
export const ConversationQuery = graphql(`
  query Conversation($serviceId: ID!, $inboundSmsId: ID!) {
    service(id: $serviceId) {
      conversation(inboundSmsId: $inboundSmsId) {
        phoneNumber
        messages { id direction content statusLabel createdAt }
      }
    }
  }
`);
