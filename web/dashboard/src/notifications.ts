// notifications.ts: the recent-messages list and the message view. Everything goes over the
// page's one WebSocket, queries included, so the page still makes no HTTP request once
// subscribed (letter page images aside, which are files). The list is asked for again
// whenever the totals change (a message was sent or changed status); the open message's
// status follows its own subscription; its content and letter pages are asked for once,
// by query, as clients of the API are asked to.
import type { GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import type { MessageQuery } from './gql/graphql';
import { clearLetterState, showLetterState, showValidationErrors } from './letter';
import { ask, run, type Result } from './live';
import {
  type MessageStatus, type Row,
  clearNotifications, hideNotification, showContent, showFacts, showNotification,
  showNotificationMessage, showNotificationRows, showNotificationsUnavailable, showPages, showStatus,
} from './notificationview';
import { MessageQuery as MessageDocument, MessageStatusSubscription, RecentMessagesQuery } from './operations';
import { clearTimeline, showTimeline } from './timeline';
import { byId } from './view';

// listSize is how many of the newest messages the list shows.
const listSize = 20;

// reasonOf words a GraphQL error, a list of them, or a failure of the socket, for the page.
export function reasonOf(error: unknown): string {
  const errors = Array.isArray(error) ? error : [error];
  const first = errors[0] as (Partial<GraphQLFormattedError> & { extensions?: { code?: unknown } }) | undefined;
  if (first?.extensions?.code === 'FORBIDDEN') return first.message || 'you may not see this.';
  if (first?.extensions?.code === 'NOT_FOUND') return 'it no longer exists, or is past the data retention.';
  return first?.message || 'the server could not send it.';
}

// OpenMessage is the open message: its id, its latest status, what the detail query
// answered, and how to end its status subscription.
interface OpenMessage {
  id: string;
  latest: MessageStatus | null;
  detail: Result<MessageQuery> | null;
  unsubscribe?: () => void;
}

// Messages is the list and view of one chosen service, on the client given.
export class Messages {
  private stopped = false;
  // loading and again make reloads that arrive while one is running into one more.
  private loading = false;
  private again = false;
  private open: OpenMessage | null = null;
  private lastRows: Row[] = [];

  // onOpen is what choosing a row does: navigate to the message's URL, which opens it.
  constructor(private readonly client: Client, private readonly serviceId: string, private readonly onOpen: (id: string) => void) {}

  // reload asks for the list again; called on start and on each totals snapshot.
  async reload(): Promise<void> {
    if (this.stopped) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const result = await ask(this.client, RecentMessagesQuery, { serviceId: this.serviceId, first: listSize });
      if (this.stopped) return;
      const edges = result?.data?.service?.notifications?.edges;
      if (result?.errors?.length || !Array.isArray(edges)) {
        showNotificationsUnavailable(reasonOf(result?.errors ?? []));
      } else {
        this.lastRows = edges.map((e) => e.node);
        showNotificationRows(this.lastRows, this.onOpen, this.open?.id);
      }
    } catch (error) {
      if (!this.stopped) showNotificationsUnavailable(reasonOf(error));
    } finally {
      this.loading = false;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.reload();
      }
    }
  }

  // openMessage shows one message: its status live, its content and its pages once.
  openMessage(id: string): void {
    if (this.stopped) return;
    if (this.open?.id === id) {
      showNotification(id);
      this.showOpen();
      return;
    }
    this.closeMessage();
    const open: OpenMessage = { id, latest: null, detail: null };
    this.open = open;
    showNotification(id);
    clearTimeline();
    clearLetterState();
    // The list's row heads the view until the detail query answers.
    const row = this.lastRows.find((n) => n.id === id);
    if (row) showFacts(row);
    open.unsubscribe = run(this.client, MessageStatusSubscription, { id }, {
      next: (result) => {
        if (this.open !== open) return;
        if (result.errors?.length) {
          showNotificationMessage(`Status not available: ${reasonOf(result.errors)}`);
          return;
        }
        if (result.data?.notification) this.showLatest(open, result.data.notification);
      },
      error: (error: unknown) => {
        if (this.open === open) showNotificationMessage(`Status not available: ${reasonOf(error)}`);
      },
      complete: () => {},
    });
    ask(this.client, MessageDocument, { id }).then((result) => {
      if (this.open !== open) return;
      open.detail = result;
      this.showOpen();
    }, (error: unknown) => {
      if (this.open === open) showContentError(reasonOf(error));
    });
  }

  // showLatest shows a snapshot of the open message: its status, its timeline and, for a
  // letter, whether it can still be cancelled (the cancel's answer is shown as one too).
  private showLatest(open: OpenMessage, n: MessageStatus): void {
    if (this.open !== open) return;
    open.latest = n;
    showStatus(n);
    showTimeline(n.statusHistory);
    showLetterState(this.client, this.serviceId, n, (cancelled) => this.showLatest(open, cancelled));
  }

  // showOpen shows what the detail query answered; a field the API could not give (a
  // letter's pages while the renderer is away, say) is said so, and the rest still shows.
  private showOpen(): void {
    const open = this.open;
    const result = open?.detail;
    if (!open || !result) return;
    const n = result.data?.notification;
    if (!n) {
      showContentError(reasonOf(result.errors ?? []));
      return;
    }
    showFacts(n);
    if (open.latest) this.showLatest(open, open.latest);
    const failed = (field: string) => (result.errors ?? []).filter((e) => Array.isArray(e.path) && e.path.includes(field));
    const contentErrors = failed('content');
    if (contentErrors.length && !n.content) {
      showContentError(reasonOf(contentErrors));
    } else {
      showContent(n);
    }
    showPages(n.letter?.preview);
    showValidationErrors(n.letter?.validationErrors);
    const previewErrors = failed('preview');
    if (n.type === 'LETTER' && previewErrors.length) {
      showNotificationMessage(`Pages not available: ${reasonOf(previewErrors)}`);
    }
  }

  closeMessage(): void {
    const open = this.open;
    this.open = null;
    open?.unsubscribe?.();
    clearLetterState();
    hideNotification();
  }

  stop(): void {
    this.stopped = true;
    this.closeMessage();
    clearNotifications();
  }
}

function showContentError(reason: string): void {
  byId('content-message').textContent = `Content not available: ${reason}`;
}
