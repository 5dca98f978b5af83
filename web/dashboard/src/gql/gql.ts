/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Activity($serviceId: ID!, $type: NotificationType!, $statuses: [NotificationStatus!], $first: Int!, $after: String, $search: NotificationSearch) {\n    service(id: $serviceId) {\n      notifications(type: $type, statuses: $statuses, first: $first, after: $after, search: $search) {\n        edges { node { id recipient statusLabel createdAt template { name } } }\n        pageInfo { hasNextPage endCursor }\n        statusCounts { total sending delivered failed }\n      }\n      downloads(type: $type, statuses: $statuses) { canDownload csvUrl }\n      myPermissions\n    }\n  }\n": typeof types.ActivityDocument,
    "\n  mutation RememberSearch($serviceId: ID!, $term: String!) {\n    rememberSearch(serviceId: $serviceId, term: $term) { hash }\n  }\n": typeof types.RememberSearchDocument,
    "\n  query DailyTotals($serviceId: ID!) {\n    service(id: $serviceId) {\n      d0: totals(days: 0) { ...DayWindowFields }\n      d1: totals(days: 1) { ...DayWindowFields }\n      d2: totals(days: 2) { ...DayWindowFields }\n      d3: totals(days: 3) { ...DayWindowFields }\n      d4: totals(days: 4) { ...DayWindowFields }\n      d5: totals(days: 5) { ...DayWindowFields }\n      d6: totals(days: 6) { ...DayWindowFields }\n      d7: totals(days: 7) { ...DayWindowFields }\n    }\n  }\n  fragment DayWindowFields on Totals {\n    email { requested delivered failed }\n    sms { requested delivered failed }\n    letter { requested delivered failed }\n  }\n": typeof types.DailyTotalsDocument,
    "\n  subscription InboxCount($serviceId: ID!) {\n    inbox(serviceId: $serviceId) { summary { count } }\n  }\n": typeof types.InboxCountDocument,
    "\n  subscription InboxList($serviceId: ID!) {\n    inbox(serviceId: $serviceId) {\n      edges { node { id phoneNumber content createdAt } }\n      inboundNumber\n    }\n  }\n": typeof types.InboxListDocument,
    "\n  query Conversation($serviceId: ID!, $inboundSmsId: ID!) {\n    service(id: $serviceId) {\n      conversation(inboundSmsId: $inboundSmsId) {\n        phoneNumber\n        messages { id direction content statusLabel createdAt }\n      }\n    }\n  }\n": typeof types.ConversationDocument,
    "\n  mutation CancelLetter($serviceId: ID!, $id: ID!) {\n    cancelLetter(serviceId: $serviceId, notificationId: $id) { ...MessageStatusFields }\n  }\n": typeof types.CancelLetterDocument,
    "\n  query Services {\n    services { id name }\n  }\n": typeof types.ServicesDocument,
    "\n  subscription Totals($serviceId: ID!) {\n    dashboardTotals(serviceId: $serviceId, days: 7) {\n      email { ...TypeTotalsFields }\n      sms { ...TypeTotalsFields }\n      letter { ...TypeTotalsFields }\n    }\n  }\n  fragment TypeTotalsFields on TypeTotals {\n    requested delivered failed failedPercentage showWarning\n  }\n": typeof types.TotalsDocument,
    "\n  subscription TemplateStatistics($serviceId: ID!) {\n    templateStatistics(serviceId: $serviceId, days: 7) {\n      templateId count template { name type }\n    }\n  }\n": typeof types.TemplateStatisticsDocument,
    "\n  query RecentMessages($serviceId: ID!, $first: Int!) {\n    service(id: $serviceId) {\n      notifications(first: $first) {\n        edges { node { id type recipient statusLabel createdAt template { name } } }\n      }\n    }\n  }\n": typeof types.RecentMessagesDocument,
    "\n  subscription MessageStatus($id: ID!) {\n    notification(id: $id) { ...MessageStatusFields }\n  }\n  fragment MessageStatusFields on Notification {\n    id status statusLabel isFinal updatedAt\n    statusHistory { status at }\n    letter { canBeCancelled printStatement statusNote }\n  }\n": typeof types.MessageStatusDocument,
    "\n  query Message($id: ID!) {\n    notification(id: $id) {\n      id type recipient createdAt template { name }\n      content { subject body html fragmentCount letterAddress letterDate letterContactBlock }\n      contentUnavailableReason\n      letter {\n        preview { pageCount pages { number pngUrl widthPx heightPx } }\n        validationErrors { title summary pages }\n      }\n    }\n  }\n": typeof types.MessageDocument,
    "\n  mutation RequestReport($serviceId: ID!, $type: NotificationType!, $status: ReportStatusFilter!) {\n    requestReport(serviceId: $serviceId, notificationType: $type, status: $status) {\n      created\n      reportRequest { id }\n    }\n  }\n": typeof types.RequestReportDocument,
    "\n  subscription ReportProgress($id: ID!) {\n    reportRequest(id: $id) { id status downloadUrl }\n  }\n": typeof types.ReportProgressDocument,
    "\n  query MonthlyStatistics($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      monthlyStatistics(financialYear: $financialYear) {\n        month { key name year }\n        email { ...MonthTypeFields }\n        sms { ...MonthTypeFields }\n        letter { ...MonthTypeFields }\n      }\n    }\n  }\n  fragment MonthTypeFields on TypeTotals {\n    requested failed failedPercentage\n  }\n": typeof types.MonthlyStatisticsDocument,
    "\n  query TemplateUsage($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      templateUsage(financialYear: $financialYear) {\n        month { key name year }\n        templates { name type count }\n      }\n    }\n  }\n": typeof types.TemplateUsageDocument,
    "\n  subscription UpcomingJobs($serviceId: ID!) {\n    upcomingJobs(serviceId: $serviceId) { id originalFileName notificationCount scheduledFor }\n  }\n": typeof types.UpcomingJobsDocument,
    "\n  query Usage($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      usage(financialYear: $financialYear) {\n        annual {\n          smsFreeAllowance smsSent smsAllowanceRemaining smsCost { display }\n          emailsSent lettersSent letterCost { display }\n        }\n        months {\n          month { key name year }\n          smsFreeAllowanceUsedLabel smsCost { display } letterCost { display } total { display } isEmpty\n        }\n      }\n    }\n  }\n": typeof types.UsageDocument,
    "\n  query UsageSummary($serviceId: ID!) {\n    service(id: $serviceId) {\n      usageThisYear { emailsSent emailAllowance smsAllowanceRemaining smsCost { amount display } letterCost { display } }\n    }\n  }\n": typeof types.UsageSummaryDocument,
};
const documents: Documents = {
    "\n  query Activity($serviceId: ID!, $type: NotificationType!, $statuses: [NotificationStatus!], $first: Int!, $after: String, $search: NotificationSearch) {\n    service(id: $serviceId) {\n      notifications(type: $type, statuses: $statuses, first: $first, after: $after, search: $search) {\n        edges { node { id recipient statusLabel createdAt template { name } } }\n        pageInfo { hasNextPage endCursor }\n        statusCounts { total sending delivered failed }\n      }\n      downloads(type: $type, statuses: $statuses) { canDownload csvUrl }\n      myPermissions\n    }\n  }\n": types.ActivityDocument,
    "\n  mutation RememberSearch($serviceId: ID!, $term: String!) {\n    rememberSearch(serviceId: $serviceId, term: $term) { hash }\n  }\n": types.RememberSearchDocument,
    "\n  query DailyTotals($serviceId: ID!) {\n    service(id: $serviceId) {\n      d0: totals(days: 0) { ...DayWindowFields }\n      d1: totals(days: 1) { ...DayWindowFields }\n      d2: totals(days: 2) { ...DayWindowFields }\n      d3: totals(days: 3) { ...DayWindowFields }\n      d4: totals(days: 4) { ...DayWindowFields }\n      d5: totals(days: 5) { ...DayWindowFields }\n      d6: totals(days: 6) { ...DayWindowFields }\n      d7: totals(days: 7) { ...DayWindowFields }\n    }\n  }\n  fragment DayWindowFields on Totals {\n    email { requested delivered failed }\n    sms { requested delivered failed }\n    letter { requested delivered failed }\n  }\n": types.DailyTotalsDocument,
    "\n  subscription InboxCount($serviceId: ID!) {\n    inbox(serviceId: $serviceId) { summary { count } }\n  }\n": types.InboxCountDocument,
    "\n  subscription InboxList($serviceId: ID!) {\n    inbox(serviceId: $serviceId) {\n      edges { node { id phoneNumber content createdAt } }\n      inboundNumber\n    }\n  }\n": types.InboxListDocument,
    "\n  query Conversation($serviceId: ID!, $inboundSmsId: ID!) {\n    service(id: $serviceId) {\n      conversation(inboundSmsId: $inboundSmsId) {\n        phoneNumber\n        messages { id direction content statusLabel createdAt }\n      }\n    }\n  }\n": types.ConversationDocument,
    "\n  mutation CancelLetter($serviceId: ID!, $id: ID!) {\n    cancelLetter(serviceId: $serviceId, notificationId: $id) { ...MessageStatusFields }\n  }\n": types.CancelLetterDocument,
    "\n  query Services {\n    services { id name }\n  }\n": types.ServicesDocument,
    "\n  subscription Totals($serviceId: ID!) {\n    dashboardTotals(serviceId: $serviceId, days: 7) {\n      email { ...TypeTotalsFields }\n      sms { ...TypeTotalsFields }\n      letter { ...TypeTotalsFields }\n    }\n  }\n  fragment TypeTotalsFields on TypeTotals {\n    requested delivered failed failedPercentage showWarning\n  }\n": types.TotalsDocument,
    "\n  subscription TemplateStatistics($serviceId: ID!) {\n    templateStatistics(serviceId: $serviceId, days: 7) {\n      templateId count template { name type }\n    }\n  }\n": types.TemplateStatisticsDocument,
    "\n  query RecentMessages($serviceId: ID!, $first: Int!) {\n    service(id: $serviceId) {\n      notifications(first: $first) {\n        edges { node { id type recipient statusLabel createdAt template { name } } }\n      }\n    }\n  }\n": types.RecentMessagesDocument,
    "\n  subscription MessageStatus($id: ID!) {\n    notification(id: $id) { ...MessageStatusFields }\n  }\n  fragment MessageStatusFields on Notification {\n    id status statusLabel isFinal updatedAt\n    statusHistory { status at }\n    letter { canBeCancelled printStatement statusNote }\n  }\n": types.MessageStatusDocument,
    "\n  query Message($id: ID!) {\n    notification(id: $id) {\n      id type recipient createdAt template { name }\n      content { subject body html fragmentCount letterAddress letterDate letterContactBlock }\n      contentUnavailableReason\n      letter {\n        preview { pageCount pages { number pngUrl widthPx heightPx } }\n        validationErrors { title summary pages }\n      }\n    }\n  }\n": types.MessageDocument,
    "\n  mutation RequestReport($serviceId: ID!, $type: NotificationType!, $status: ReportStatusFilter!) {\n    requestReport(serviceId: $serviceId, notificationType: $type, status: $status) {\n      created\n      reportRequest { id }\n    }\n  }\n": types.RequestReportDocument,
    "\n  subscription ReportProgress($id: ID!) {\n    reportRequest(id: $id) { id status downloadUrl }\n  }\n": types.ReportProgressDocument,
    "\n  query MonthlyStatistics($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      monthlyStatistics(financialYear: $financialYear) {\n        month { key name year }\n        email { ...MonthTypeFields }\n        sms { ...MonthTypeFields }\n        letter { ...MonthTypeFields }\n      }\n    }\n  }\n  fragment MonthTypeFields on TypeTotals {\n    requested failed failedPercentage\n  }\n": types.MonthlyStatisticsDocument,
    "\n  query TemplateUsage($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      templateUsage(financialYear: $financialYear) {\n        month { key name year }\n        templates { name type count }\n      }\n    }\n  }\n": types.TemplateUsageDocument,
    "\n  subscription UpcomingJobs($serviceId: ID!) {\n    upcomingJobs(serviceId: $serviceId) { id originalFileName notificationCount scheduledFor }\n  }\n": types.UpcomingJobsDocument,
    "\n  query Usage($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      usage(financialYear: $financialYear) {\n        annual {\n          smsFreeAllowance smsSent smsAllowanceRemaining smsCost { display }\n          emailsSent lettersSent letterCost { display }\n        }\n        months {\n          month { key name year }\n          smsFreeAllowanceUsedLabel smsCost { display } letterCost { display } total { display } isEmpty\n        }\n      }\n    }\n  }\n": types.UsageDocument,
    "\n  query UsageSummary($serviceId: ID!) {\n    service(id: $serviceId) {\n      usageThisYear { emailsSent emailAllowance smsAllowanceRemaining smsCost { amount display } letterCost { display } }\n    }\n  }\n": types.UsageSummaryDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Activity($serviceId: ID!, $type: NotificationType!, $statuses: [NotificationStatus!], $first: Int!, $after: String, $search: NotificationSearch) {\n    service(id: $serviceId) {\n      notifications(type: $type, statuses: $statuses, first: $first, after: $after, search: $search) {\n        edges { node { id recipient statusLabel createdAt template { name } } }\n        pageInfo { hasNextPage endCursor }\n        statusCounts { total sending delivered failed }\n      }\n      downloads(type: $type, statuses: $statuses) { canDownload csvUrl }\n      myPermissions\n    }\n  }\n"): typeof import('./graphql').ActivityDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RememberSearch($serviceId: ID!, $term: String!) {\n    rememberSearch(serviceId: $serviceId, term: $term) { hash }\n  }\n"): typeof import('./graphql').RememberSearchDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DailyTotals($serviceId: ID!) {\n    service(id: $serviceId) {\n      d0: totals(days: 0) { ...DayWindowFields }\n      d1: totals(days: 1) { ...DayWindowFields }\n      d2: totals(days: 2) { ...DayWindowFields }\n      d3: totals(days: 3) { ...DayWindowFields }\n      d4: totals(days: 4) { ...DayWindowFields }\n      d5: totals(days: 5) { ...DayWindowFields }\n      d6: totals(days: 6) { ...DayWindowFields }\n      d7: totals(days: 7) { ...DayWindowFields }\n    }\n  }\n  fragment DayWindowFields on Totals {\n    email { requested delivered failed }\n    sms { requested delivered failed }\n    letter { requested delivered failed }\n  }\n"): typeof import('./graphql').DailyTotalsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription InboxCount($serviceId: ID!) {\n    inbox(serviceId: $serviceId) { summary { count } }\n  }\n"): typeof import('./graphql').InboxCountDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription InboxList($serviceId: ID!) {\n    inbox(serviceId: $serviceId) {\n      edges { node { id phoneNumber content createdAt } }\n      inboundNumber\n    }\n  }\n"): typeof import('./graphql').InboxListDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Conversation($serviceId: ID!, $inboundSmsId: ID!) {\n    service(id: $serviceId) {\n      conversation(inboundSmsId: $inboundSmsId) {\n        phoneNumber\n        messages { id direction content statusLabel createdAt }\n      }\n    }\n  }\n"): typeof import('./graphql').ConversationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelLetter($serviceId: ID!, $id: ID!) {\n    cancelLetter(serviceId: $serviceId, notificationId: $id) { ...MessageStatusFields }\n  }\n"): typeof import('./graphql').CancelLetterDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Services {\n    services { id name }\n  }\n"): typeof import('./graphql').ServicesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Totals($serviceId: ID!) {\n    dashboardTotals(serviceId: $serviceId, days: 7) {\n      email { ...TypeTotalsFields }\n      sms { ...TypeTotalsFields }\n      letter { ...TypeTotalsFields }\n    }\n  }\n  fragment TypeTotalsFields on TypeTotals {\n    requested delivered failed failedPercentage showWarning\n  }\n"): typeof import('./graphql').TotalsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TemplateStatistics($serviceId: ID!) {\n    templateStatistics(serviceId: $serviceId, days: 7) {\n      templateId count template { name type }\n    }\n  }\n"): typeof import('./graphql').TemplateStatisticsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RecentMessages($serviceId: ID!, $first: Int!) {\n    service(id: $serviceId) {\n      notifications(first: $first) {\n        edges { node { id type recipient statusLabel createdAt template { name } } }\n      }\n    }\n  }\n"): typeof import('./graphql').RecentMessagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageStatus($id: ID!) {\n    notification(id: $id) { ...MessageStatusFields }\n  }\n  fragment MessageStatusFields on Notification {\n    id status statusLabel isFinal updatedAt\n    statusHistory { status at }\n    letter { canBeCancelled printStatement statusNote }\n  }\n"): typeof import('./graphql').MessageStatusDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Message($id: ID!) {\n    notification(id: $id) {\n      id type recipient createdAt template { name }\n      content { subject body html fragmentCount letterAddress letterDate letterContactBlock }\n      contentUnavailableReason\n      letter {\n        preview { pageCount pages { number pngUrl widthPx heightPx } }\n        validationErrors { title summary pages }\n      }\n    }\n  }\n"): typeof import('./graphql').MessageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RequestReport($serviceId: ID!, $type: NotificationType!, $status: ReportStatusFilter!) {\n    requestReport(serviceId: $serviceId, notificationType: $type, status: $status) {\n      created\n      reportRequest { id }\n    }\n  }\n"): typeof import('./graphql').RequestReportDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ReportProgress($id: ID!) {\n    reportRequest(id: $id) { id status downloadUrl }\n  }\n"): typeof import('./graphql').ReportProgressDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MonthlyStatistics($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      monthlyStatistics(financialYear: $financialYear) {\n        month { key name year }\n        email { ...MonthTypeFields }\n        sms { ...MonthTypeFields }\n        letter { ...MonthTypeFields }\n      }\n    }\n  }\n  fragment MonthTypeFields on TypeTotals {\n    requested failed failedPercentage\n  }\n"): typeof import('./graphql').MonthlyStatisticsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TemplateUsage($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      templateUsage(financialYear: $financialYear) {\n        month { key name year }\n        templates { name type count }\n      }\n    }\n  }\n"): typeof import('./graphql').TemplateUsageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription UpcomingJobs($serviceId: ID!) {\n    upcomingJobs(serviceId: $serviceId) { id originalFileName notificationCount scheduledFor }\n  }\n"): typeof import('./graphql').UpcomingJobsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Usage($serviceId: ID!, $financialYear: Int) {\n    service(id: $serviceId) {\n      financialYears { year label current }\n      usage(financialYear: $financialYear) {\n        annual {\n          smsFreeAllowance smsSent smsAllowanceRemaining smsCost { display }\n          emailsSent lettersSent letterCost { display }\n        }\n        months {\n          month { key name year }\n          smsFreeAllowanceUsedLabel smsCost { display } letterCost { display } total { display } isEmpty\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').UsageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UsageSummary($serviceId: ID!) {\n    service(id: $serviceId) {\n      usageThisYear { emailsSent emailAllowance smsAllowanceRemaining smsCost { amount display } letterCost { display } }\n    }\n  }\n"): typeof import('./graphql').UsageSummaryDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
