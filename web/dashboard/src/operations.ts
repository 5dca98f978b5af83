// operations.ts: every operation the page sends but the inbox's (inbox.ts), written with
// graphql() so that GraphQL Code Generator checks each against the schema and types its
// result and variables (src/gql/, generated: `npm run build` writes it). The page sends
// each by its hash alone; the texts are in src/gql/persisted-documents.json, the manifest
// the server lists them from.
import { graphql } from './gql';

// The services the token's user can open: the page's one HTTP request.
export const ServicesQuery = graphql(`
  query Services {
    services { id name }
  }
`);

export const TotalsSubscription = graphql(`
  subscription Totals($serviceId: ID!) {
    dashboardTotals(serviceId: $serviceId, days: 7) {
      email { ...TypeTotalsFields }
      sms { ...TypeTotalsFields }
      letter { ...TypeTotalsFields }
    }
  }
  fragment TypeTotalsFields on TypeTotals {
    requested delivered failed failedPercentage showWarning
  }
`);

export const TemplateStatisticsSubscription = graphql(`
  subscription TemplateStatistics($serviceId: ID!) {
    templateStatistics(serviceId: $serviceId, days: 7) {
      templateId count template { name type }
    }
  }
`);

export const RecentMessagesQuery = graphql(`
  query RecentMessages($serviceId: ID!, $first: Int!) {
    service(id: $serviceId) {
      notifications(first: $first) {
        edges { node { id type recipient statusLabel createdAt template { name } } }
      }
    }
  }
`);

// The open message's live part: its status, its timeline and, for a letter, whether it can
// still be cancelled and the words that say when it is printed. The cancel mutation answers
// with the same fields, so its answer shows as a snapshot would.
export const MessageStatusSubscription = graphql(`
  subscription MessageStatus($id: ID!) {
    notification(id: $id) { ...MessageStatusFields }
  }
  fragment MessageStatusFields on Notification {
    id status statusLabel isFinal updatedAt
    statusHistory { status at }
    letter { canBeCancelled printStatement statusNote }
  }
`);

export const MessageQuery = graphql(`
  query Message($id: ID!) {
    notification(id: $id) {
      id type recipient createdAt template { name }
      content { subject body html fragmentCount letterAddress letterDate letterContactBlock }
      contentUnavailableReason
      letter {
        preview { pageCount pages { number pngUrl widthPx heightPx } }
        validationErrors { title summary pages }
      }
    }
  }
`);
