/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Which way a text went. */
export type MessageDirection =
  /** Received from the number. */
  | 'INBOUND'
  /** Sent by the service to the number. */
  | 'OUTBOUND';

/**
 * What a notifications search looks for: exactly one of `hash` or `term` (rememberSearch
 * keeps a term under its hash). Anything else is refused: BAD_USER_INPUT for variables, a
 * validation error for literals.
 */
export type NotificationSearch =
  {   /**
   * The hash rememberSearch returned for the term, so that the term itself travels only once.
   * SEARCH_EXPIRED when the service has no term under it (never remembered, or its 7 days
   * are up): search by term again.
   */
  hash: string; term?: never; }
  |  { hash?: never;   /** The term itself: 1 to 1,000 characters, not only whitespace. */
  term: string; };

/** A stored notification status. Totals, filters and exports group them: see StatusGroup. */
export type NotificationStatus =
  /** Cancelled by a user before printing. */
  | 'CANCELLED'
  /** Saved and queued, not yet handed to a provider. */
  | 'CREATED'
  /** Delivery confirmed. As a filter: the whole delivered group. */
  | 'DELIVERED'
  /** Legacy generic failure. As a filter: the whole failed group. */
  | 'FAILED'
  /** The provider reports it as pending (text messages). */
  | 'PENDING'
  /** An uploaded PDF waiting for a virus scan. */
  | 'PENDING_VIRUS_CHECK'
  /** The address or number does not exist, or the letter cannot be printed. */
  | 'PERMANENT_FAILURE'
  /** Royal Mail returned the letter. */
  | 'RETURNED_LETTER'
  /** With the provider or printer; no receipt yet. As a filter: the whole sending group. */
  | 'SENDING'
  /** Sent with no delivery receipt possible (international text messages). */
  | 'SENT'
  /** An error at Notify or the provider. */
  | 'TECHNICAL_FAILURE'
  /** Inbox full or phone off, or the 3-day timeout. */
  | 'TEMPORARY_FAILURE'
  /** The letter failed validation. */
  | 'VALIDATION_FAILED'
  /** The PDF failed the virus scan. */
  | 'VIRUS_SCAN_FAILED';

/** A message channel. */
export type NotificationType =
  /** Email. */
  | 'EMAIL'
  /** Letter. */
  | 'LETTER'
  /** Text message. */
  | 'SMS';

/** A permission a user holds on a service, as the dashboard names it. */
export type Permission =
  /** Manage the API integration. */
  | 'MANAGE_API_KEYS'
  /** Change settings and the team, and see usage. */
  | 'MANAGE_SERVICE'
  /** Add and edit templates. */
  | 'MANAGE_TEMPLATES'
  /** Send messages. */
  | 'SEND_MESSAGES'
  /** See the dashboard and the messages sent. */
  | 'VIEW_ACTIVITY';

/** Where a report request is in its processing. */
export type ReportRequestStatus =
  /** Cleaned up; no longer available. */
  | 'DELETED'
  /** Could not be written. */
  | 'FAILED'
  /** Being written. */
  | 'IN_PROGRESS'
  /** Waiting to be processed. */
  | 'PENDING'
  /** Ready to download. */
  | 'STORED';

/** The status group a report covers. */
export type ReportStatusFilter =
  /** Every status but cancelled. */
  | 'ALL'
  /** The delivered group. */
  | 'DELIVERED'
  /** The failed group. */
  | 'FAILED'
  /** The sending group. */
  | 'SENDING';

export type ActivityQueryVariables = Exact<{
  serviceId: string | number;
  type: NotificationType;
  statuses?: Array<NotificationStatus> | NotificationStatus | null | undefined;
  first: number;
  after?: string | null | undefined;
  search?: NotificationSearch | null | undefined;
}>;


export type ActivityQuery = { service: { myPermissions: Array<Permission>, notifications: { edges: Array<{ node: { id: string, recipient: string, statusLabel: string, createdAt: string, template: { name: string } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null }, statusCounts: { total: number, sending: number, delivered: number, failed: number } } | null, downloads: { canDownload: boolean, csvUrl: string | null } | null } | null };

export type RememberSearchMutationVariables = Exact<{
  serviceId: string | number;
  term: string;
}>;


export type RememberSearchMutation = { rememberSearch: { hash: string } };

export type DailyTotalsQueryVariables = Exact<{
  serviceId: string | number;
}>;


export type DailyTotalsQuery = { service: { d0: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d1: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d2: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d3: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d4: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d5: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d6: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null, d7: { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } } | null } | null };

export type DayWindowFieldsFragment = { email: { requested: number, delivered: number, failed: number }, sms: { requested: number, delivered: number, failed: number }, letter: { requested: number, delivered: number, failed: number } };

export type InboxCountSubscriptionVariables = Exact<{
  serviceId: string | number;
}>;


export type InboxCountSubscription = { inbox: { summary: { count: number } } };

export type InboxListSubscriptionVariables = Exact<{
  serviceId: string | number;
}>;


export type InboxListSubscription = { inbox: { inboundNumber: string | null, edges: Array<{ node: { id: string, phoneNumber: string, content: string, createdAt: string } }> } };

export type ConversationQueryVariables = Exact<{
  serviceId: string | number;
  inboundSmsId: string | number;
}>;


export type ConversationQuery = { service: { conversation: { phoneNumber: string, messages: Array<{ id: string, direction: MessageDirection, content: string | null, statusLabel: string | null, createdAt: string }> } | null } | null };

export type CancelLetterMutationVariables = Exact<{
  serviceId: string | number;
  id: string | number;
}>;


export type CancelLetterMutation = { cancelLetter: { id: string, status: NotificationStatus, statusLabel: string, isFinal: boolean, updatedAt: string | null, statusHistory: Array<{ status: NotificationStatus, at: string }> | null, letter: { canBeCancelled: boolean, printStatement: string | null, statusNote: string | null } | null } | null };

export type ServicesQueryVariables = Exact<{ [key: string]: never; }>;


export type ServicesQuery = { services: Array<{ id: string, name: string }> };

export type TotalsSubscriptionVariables = Exact<{
  serviceId: string | number;
}>;


export type TotalsSubscription = { dashboardTotals: { email: { requested: number, delivered: number, failed: number, failedPercentage: string, showWarning: boolean }, sms: { requested: number, delivered: number, failed: number, failedPercentage: string, showWarning: boolean }, letter: { requested: number, delivered: number, failed: number, failedPercentage: string, showWarning: boolean } } };

export type TypeTotalsFieldsFragment = { requested: number, delivered: number, failed: number, failedPercentage: string, showWarning: boolean };

export type TemplateStatisticsSubscriptionVariables = Exact<{
  serviceId: string | number;
}>;


export type TemplateStatisticsSubscription = { templateStatistics: Array<{ templateId: string, count: number, template: { name: string, type: NotificationType } | null }> };

export type RecentMessagesQueryVariables = Exact<{
  serviceId: string | number;
  first: number;
}>;


export type RecentMessagesQuery = { service: { notifications: { edges: Array<{ node: { id: string, type: NotificationType, recipient: string, statusLabel: string, createdAt: string, template: { name: string } | null } }> } | null } | null };

export type MessageStatusSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type MessageStatusSubscription = { notification: { id: string, status: NotificationStatus, statusLabel: string, isFinal: boolean, updatedAt: string | null, statusHistory: Array<{ status: NotificationStatus, at: string }> | null, letter: { canBeCancelled: boolean, printStatement: string | null, statusNote: string | null } | null } };

export type MessageStatusFieldsFragment = { id: string, status: NotificationStatus, statusLabel: string, isFinal: boolean, updatedAt: string | null, statusHistory: Array<{ status: NotificationStatus, at: string }> | null, letter: { canBeCancelled: boolean, printStatement: string | null, statusNote: string | null } | null };

export type MessageQueryVariables = Exact<{
  id: string | number;
}>;


export type MessageQuery = { notification: { id: string, type: NotificationType, recipient: string, createdAt: string, contentUnavailableReason: string | null, template: { name: string } | null, content: { subject: string | null, body: string, html: string | null, fragmentCount: number | null, letterAddress: Array<string> | null, letterDate: string | null, letterContactBlock: Array<string> | null } | null, letter: { preview: { pageCount: number, pages: Array<{ number: number, pngUrl: string, widthPx: number, heightPx: number }> } | null, validationErrors: Array<{ title: string, summary: string | null, pages: Array<number> }> } | null } | null };

export type RequestReportMutationVariables = Exact<{
  serviceId: string | number;
  type: NotificationType;
  status: ReportStatusFilter;
}>;


export type RequestReportMutation = { requestReport: { created: boolean, reportRequest: { id: string } } | null };

export type ReportProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type ReportProgressSubscription = { reportRequest: { id: string, status: ReportRequestStatus, downloadUrl: string | null } };

export type MonthlyStatisticsQueryVariables = Exact<{
  serviceId: string | number;
  financialYear?: number | null | undefined;
}>;


export type MonthlyStatisticsQuery = { service: { financialYears: Array<{ year: number, label: string, current: boolean }> | null, monthlyStatistics: Array<{ month: { key: string, name: string, year: number }, email: { requested: number, failed: number, failedPercentage: string }, sms: { requested: number, failed: number, failedPercentage: string }, letter: { requested: number, failed: number, failedPercentage: string } }> | null } | null };

export type MonthTypeFieldsFragment = { requested: number, failed: number, failedPercentage: string };

export type TemplateUsageQueryVariables = Exact<{
  serviceId: string | number;
  financialYear?: number | null | undefined;
}>;


export type TemplateUsageQuery = { service: { financialYears: Array<{ year: number, label: string, current: boolean }> | null, templateUsage: Array<{ month: { key: string, name: string, year: number }, templates: Array<{ name: string, type: NotificationType, count: number }> }> | null } | null };

export type UpcomingJobsSubscriptionVariables = Exact<{
  serviceId: string | number;
}>;


export type UpcomingJobsSubscription = { upcomingJobs: Array<{ id: string, originalFileName: string, notificationCount: number, scheduledFor: string | null }> };

export type UsageQueryVariables = Exact<{
  serviceId: string | number;
  financialYear?: number | null | undefined;
}>;


export type UsageQuery = { service: { financialYears: Array<{ year: number, label: string, current: boolean }> | null, usage: { annual: { smsFreeAllowance: number, smsSent: number, smsAllowanceRemaining: number | null, emailsSent: number, lettersSent: number, smsCost: { display: string }, letterCost: { display: string } }, months: Array<{ smsFreeAllowanceUsedLabel: string, isEmpty: boolean, month: { key: string, name: string, year: number }, smsCost: { display: string }, letterCost: { display: string }, total: { display: string } }> } | null } | null };

export type UsageSummaryQueryVariables = Exact<{
  serviceId: string | number;
}>;


export type UsageSummaryQuery = { service: { usageThisYear: { emailsSent: number, emailAllowance: string, smsAllowanceRemaining: number | null, smsCost: { amount: string, display: string }, letterCost: { display: string } } | null } | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const DayWindowFieldsFragmentDoc = new TypedDocumentString(`
    fragment DayWindowFields on Totals {
  email {
    requested
    delivered
    failed
  }
  sms {
    requested
    delivered
    failed
  }
  letter {
    requested
    delivered
    failed
  }
}
    `, {"fragmentName":"DayWindowFields"}) as unknown as TypedDocumentString<DayWindowFieldsFragment, unknown>;
export const TypeTotalsFieldsFragmentDoc = new TypedDocumentString(`
    fragment TypeTotalsFields on TypeTotals {
  requested
  delivered
  failed
  failedPercentage
  showWarning
}
    `, {"fragmentName":"TypeTotalsFields"}) as unknown as TypedDocumentString<TypeTotalsFieldsFragment, unknown>;
export const MessageStatusFieldsFragmentDoc = new TypedDocumentString(`
    fragment MessageStatusFields on Notification {
  id
  status
  statusLabel
  isFinal
  updatedAt
  statusHistory {
    status
    at
  }
  letter {
    canBeCancelled
    printStatement
    statusNote
  }
}
    `, {"fragmentName":"MessageStatusFields"}) as unknown as TypedDocumentString<MessageStatusFieldsFragment, unknown>;
export const MonthTypeFieldsFragmentDoc = new TypedDocumentString(`
    fragment MonthTypeFields on TypeTotals {
  requested
  failed
  failedPercentage
}
    `, {"fragmentName":"MonthTypeFields"}) as unknown as TypedDocumentString<MonthTypeFieldsFragment, unknown>;
export const ActivityDocument = {"__meta__":{"hash":"sha256:aff3618f188ce19b7102dde2e742aaf2369e80a0ae02805bfa7b868490bf5806"}} as unknown as TypedDocumentString<ActivityQuery, ActivityQueryVariables>;
export const RememberSearchDocument = {"__meta__":{"hash":"sha256:b00d62c946c2b8f1e1d5eebc69467cf8ace066ca337e57fb0472844ceee8d494"}} as unknown as TypedDocumentString<RememberSearchMutation, RememberSearchMutationVariables>;
export const DailyTotalsDocument = {"__meta__":{"hash":"sha256:b6a787b8bc09cf524514b0357d6e4176762b16308fc370dcb34061e0c12e8d4e"}} as unknown as TypedDocumentString<DailyTotalsQuery, DailyTotalsQueryVariables>;
export const InboxCountDocument = {"__meta__":{"hash":"sha256:5a0f79694cb89ae587d951e87c1a0df29e5dd9fcfdf7aa2f67ff67e3b9bf56c2"}} as unknown as TypedDocumentString<InboxCountSubscription, InboxCountSubscriptionVariables>;
export const InboxListDocument = {"__meta__":{"hash":"sha256:3fd458da74bc199625b26e678bb28988bc2dcb978d93188b3d8becf46228c2db"}} as unknown as TypedDocumentString<InboxListSubscription, InboxListSubscriptionVariables>;
export const ConversationDocument = {"__meta__":{"hash":"sha256:28e7a60c997b80c81d8de54baa82f6cc203db3f93e44dabd2b78720a16bc1511"}} as unknown as TypedDocumentString<ConversationQuery, ConversationQueryVariables>;
export const CancelLetterDocument = {"__meta__":{"hash":"sha256:5a7caf751b08656f8a58a41471384eff3db0bd8fd1bd61ab3304b1e02432ee17"}} as unknown as TypedDocumentString<CancelLetterMutation, CancelLetterMutationVariables>;
export const ServicesDocument = {"__meta__":{"hash":"sha256:b2f15c0863b773e8d283ba46c6c839c52519a50a92c33fb3d95c46e966208043"}} as unknown as TypedDocumentString<ServicesQuery, ServicesQueryVariables>;
export const TotalsDocument = {"__meta__":{"hash":"sha256:c9a353cd8fe9a15102ecea1ce3ff77c973c6e4d2dacbbfae6b5cf4a19f4a8e2d"}} as unknown as TypedDocumentString<TotalsSubscription, TotalsSubscriptionVariables>;
export const TemplateStatisticsDocument = {"__meta__":{"hash":"sha256:31961970ff3c628c47b61a453e0bb994dc49bf0aba41827683d58483eacd9c40"}} as unknown as TypedDocumentString<TemplateStatisticsSubscription, TemplateStatisticsSubscriptionVariables>;
export const RecentMessagesDocument = {"__meta__":{"hash":"sha256:35b37283e44f61b7bcb0e341a3107818dca6cf923a6694fab68632e52842c79a"}} as unknown as TypedDocumentString<RecentMessagesQuery, RecentMessagesQueryVariables>;
export const MessageStatusDocument = {"__meta__":{"hash":"sha256:ca68b101c34ebd2dbd1f311e77be12cc56425226af461ae5f8a3a1e0772d3b98"}} as unknown as TypedDocumentString<MessageStatusSubscription, MessageStatusSubscriptionVariables>;
export const MessageDocument = {"__meta__":{"hash":"sha256:7e3c33313725db596bcdaf73df1b79ee94ab106c3f9428f145d41eb8f159959c"}} as unknown as TypedDocumentString<MessageQuery, MessageQueryVariables>;
export const RequestReportDocument = {"__meta__":{"hash":"sha256:982080e3425eb1282dde7fcccc05541fecfe07504aa8ae81295a221b48922f52"}} as unknown as TypedDocumentString<RequestReportMutation, RequestReportMutationVariables>;
export const ReportProgressDocument = {"__meta__":{"hash":"sha256:e9a833634153c4f1fc325eabfd31982db06af7027a293167a5d6a2ebcb19bbb2"}} as unknown as TypedDocumentString<ReportProgressSubscription, ReportProgressSubscriptionVariables>;
export const MonthlyStatisticsDocument = {"__meta__":{"hash":"sha256:d11f963cd5bb3984aeeae916cce60424d503311455e7f7f9c1caef9d490722bf"}} as unknown as TypedDocumentString<MonthlyStatisticsQuery, MonthlyStatisticsQueryVariables>;
export const TemplateUsageDocument = {"__meta__":{"hash":"sha256:17303fad9f4ac88e407bcf582fe5231152f53cccfa27ada9fcc87ffe659a8aea"}} as unknown as TypedDocumentString<TemplateUsageQuery, TemplateUsageQueryVariables>;
export const UpcomingJobsDocument = {"__meta__":{"hash":"sha256:b2fcaee3c49497e2506a851bd1af805f01e45b40863dff208fe8cc95ecb063e7"}} as unknown as TypedDocumentString<UpcomingJobsSubscription, UpcomingJobsSubscriptionVariables>;
export const UsageDocument = {"__meta__":{"hash":"sha256:8d4ee22750855953ab006c4c457131b76c08b792a39ffcf0d26729061cd31a7a"}} as unknown as TypedDocumentString<UsageQuery, UsageQueryVariables>;
export const UsageSummaryDocument = {"__meta__":{"hash":"sha256:02184c429bf2f35cec9889fdbbacb75069f5b0c67f42a8495d52c9211dbeb7bb"}} as unknown as TypedDocumentString<UsageSummaryQuery, UsageSummaryQueryVariables>;