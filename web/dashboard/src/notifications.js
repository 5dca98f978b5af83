// notifications.js: the recent-messages list and the message view. Everything goes over the
// page's one WebSocket, queries included, so the page still makes no HTTP request once
// subscribed (letter page images aside, which are files). The list is asked for again
// whenever the totals change (a message was sent or changed status); the open message's
// status follows its own subscription; its content and letter pages are asked for once,
// by query, as RENDERING.md §7.1 asks of clients.
import {
  clearNotifications, hideNotification, showContent, showFacts, showNotification,
  showNotificationMessage, showNotificationRows, showNotificationsUnavailable, showPages, showStatus,
} from './notificationview.js';

// listSize is how many of the newest messages the list shows.
const listSize = 20;

const listQuery = `query RecentMessages($serviceId: ID!, $first: Int!) { service(id: $serviceId) {
  notifications(first: $first) { edges { node { id type recipient statusLabel createdAt template { name } } } } } }`;

const statusSubscription = `subscription MessageStatus($id: ID!) { notification(id: $id) {
  id status statusLabel isFinal updatedAt } }`;

const detailQuery = `query Message($id: ID!) { notification(id: $id) {
  id type recipient createdAt template { name }
  content { subject body html fragmentCount letterAddress letterDate letterContactBlock }
  contentUnavailableReason
  letter { preview { pageCount pages { number pngUrl widthPx heightPx } } } } }`;

// reasonOf words a GraphQL error, or a list of them, for the page.
export function reasonOf(error) {
  const errors = Array.isArray(error) ? error : [error];
  const first = errors[0];
  if (first?.extensions?.code === 'FORBIDDEN') return first.message || 'you may not see this.';
  if (first?.extensions?.code === 'NOT_FOUND') return 'it no longer exists, or is past the data retention.';
  return first?.message || 'the server could not send it.';
}

// ask runs a query over the client's socket and resolves with its one result.
function ask(client, query, variables) {
  return new Promise((resolve, reject) => {
    let result = null;
    client.subscribe({ query, variables }, {
      next: (r) => { result = r; },
      error: reject,
      complete: () => resolve(result),
    });
  });
}

// Messages is the list and view of one chosen service, on the client given.
export class Messages {
  constructor(client, serviceId) {
    this.client = client;
    this.serviceId = serviceId;
    this.stopped = false;
    // loading and again make reloads that arrive while one is running into one more.
    this.loading = false;
    this.again = false;
    // open is the open message: its id and how to end its status subscription.
    this.open = null;
    this.lastRows = [];
  }

  // reload asks for the list again; called on start and on each totals snapshot.
  async reload() {
    if (this.stopped) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const result = await ask(this.client, listQuery, { serviceId: this.serviceId, first: listSize });
      if (this.stopped) return;
      const edges = result?.data?.service?.notifications?.edges;
      if (result?.errors?.length || !Array.isArray(edges)) {
        showNotificationsUnavailable(reasonOf(result?.errors ?? []));
      } else {
        this.lastRows = edges.map((e) => e.node);
        showNotificationRows(this.lastRows, (id) => this.openMessage(id), this.open?.id);
      }
    } catch (error) {
      if (!this.stopped) showNotificationsUnavailable(reasonOf(error));
    } finally {
      this.loading = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.reload();
      }
    }
  }

  // openMessage shows one message: its status live, its content and its pages once.
  openMessage(id) {
    if (this.stopped) return;
    if (this.open?.id === id) {
      showNotification(id);
      this.showOpen();
      return;
    }
    this.closeMessage();
    const open = { id, latest: null, detail: null };
    this.open = open;
    showNotification(id);
    // The list's row heads the view until the detail query answers.
    const row = this.lastRows.find((n) => n.id === id);
    if (row) showFacts(row);
    open.unsubscribe = this.client.subscribe({ query: statusSubscription, variables: { id } }, {
      next: (result) => {
        if (this.open !== open) return;
        if (result.errors?.length) {
          showNotificationMessage(`Status not available: ${reasonOf(result.errors)}`);
          return;
        }
        if (result.data?.notification) {
          open.latest = result.data.notification;
          showStatus(open.latest);
        }
      },
      error: (error) => {
        if (this.open === open) showNotificationMessage(`Status not available: ${reasonOf(error)}`);
      },
      complete: () => {},
    });
    ask(this.client, detailQuery, { id }).then((result) => {
      if (this.open !== open) return;
      open.detail = result;
      this.showOpen();
    }, (error) => {
      if (this.open === open) showContentError(reasonOf(error));
    });
  }

  // showOpen shows what the detail query answered; a field the API could not give (a
  // letter's pages while the renderer is away, say) is said so, and the rest still shows.
  showOpen() {
    const result = this.open?.detail;
    if (!result) return;
    const n = result.data?.notification;
    if (!n) {
      showContentError(reasonOf(result.errors ?? []));
      return;
    }
    showFacts(n);
    if (this.open.latest) showStatus(this.open.latest);
    const failed = (field) => (result.errors ?? []).filter((e) => Array.isArray(e.path) && e.path.includes(field));
    const contentErrors = failed('content');
    if (contentErrors.length && !n.content) {
      showContentError(reasonOf(contentErrors));
    } else {
      showContent(n);
    }
    showPages(n.letter?.preview);
    const previewErrors = failed('preview');
    if (n.type === 'LETTER' && previewErrors.length) {
      showNotificationMessage(`Pages not available: ${reasonOf(previewErrors)}`);
    }
  }

  closeMessage() {
    const open = this.open;
    this.open = null;
    open?.unsubscribe?.();
    hideNotification();
  }

  stop() {
    this.stopped = true;
    this.closeMessage();
    clearNotifications();
  }
}

function showContentError(reason) {
  const message = document.getElementById('content-message');
  message.textContent = `Content not available: ${reason}`;
}
