// notificationview.ts: writes the recent-messages list and the open message into the page.
// Recipients, template names, subjects and bodies are personal or user data: they go in
// through textContent. The one exception is an email's HTML body, which goes into a
// sandboxed iframe (see showContent).

import type { MessageQuery, MessageStatusSubscription, RecentMessagesQuery } from './gql/graphql';
import { byId, typeNames as typeWords } from './view';

// A row of the list, a message as the detail query answers it, its status's snapshot.
export type Row = NonNullable<NonNullable<RecentMessagesQuery['service']>['notifications']>['edges'][number]['node'];
export type Message = NonNullable<MessageQuery['notification']>;
export type MessageStatus = MessageStatusSubscription['notification'];
type Preview = NonNullable<NonNullable<Message['letter']>['preview']>;

const timeFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London',
});
const formatTime = (iso: string | null | undefined) => (iso ? timeFormat.format(new Date(iso)) : '');

// The words for contentUnavailableReason (RENDERING.md §1.1).
const unavailableWords: Record<string, string> = {
  RETENTION_EXPIRED: 'The content is no longer available: it is past the service’s data retention.',
  UPLOADED_PDF: 'This letter was uploaded as a PDF: its pages are its content.',
};

// The styles an email body is shown with inside its frame: the frame's document has none of
// the page's, and the GOV.UK classes the server writes need a few to read as an email.
const emailFrameStyle = `<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #0b0c0c;
  line-height: 1.4; margin: 0.75rem; }
.govuk-inset-text { border-left: 5px solid #b1b4b6; padding-left: 0.75rem; }
.govuk-section-break--visible { border: 0; border-top: 1px solid #b1b4b6; }
a { color: #1d70b8; }
</style>`;

// showNotificationRows fills the list with one row per notification. Each row's recipient
// is a button, so the list is used with the keyboard as with the mouse; a click anywhere
// on the row presses it. onOpen is called with the notification's id.
export function showNotificationRows(notifications: Row[], onOpen: (id: string) => void, openId: string | undefined): void {
  const rows = notifications.map((n) => {
    const row = document.createElement('tr');
    row.dataset.notificationId = n.id;
    row.classList.toggle('open', n.id === openId);
    const recipient = document.createElement('th');
    recipient.scope = 'row';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'row-button';
    button.dataset.notificationId = n.id;
    button.textContent = n.recipient;
    button.setAttribute('aria-label', `${typeWords[n.type]} to ${n.recipient}: open`);
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      onOpen(n.id);
    });
    recipient.append(button);
    const template = document.createElement('td');
    template.textContent = n.template?.name ?? '';
    const status = document.createElement('td');
    status.textContent = n.statusLabel;
    const created = document.createElement('td');
    created.textContent = formatTime(n.createdAt);
    row.append(recipient, template, status, created);
    row.addEventListener('click', () => onOpen(n.id));
    return row;
  });
  byId('notification-rows').replaceChildren(...rows);
  byId('notifications-message').textContent = notifications.length === 0 ? 'No messages sent in the last 7 days.' : '';
}

export function showNotificationsUnavailable(reason: string): void {
  byId('notification-rows').replaceChildren();
  byId('notifications-message').textContent = `Messages not available: ${reason}`;
}

export function clearNotifications(): void {
  byId('notification-rows').replaceChildren();
  byId('notifications-message').textContent = '';
  hideNotification();
}

// markOpenRow highlights the open notification's row, if it is listed.
function markOpenRow(id: string | null): void {
  for (const row of byId<HTMLTableSectionElement>('notification-rows').rows) {
    row.classList.toggle('open', row.dataset.notificationId === id);
  }
}

// showNotification empties the view for a newly opened notification and moves focus to
// its heading, so that a screen reader announces it and the keyboard goes on from there.
export function showNotification(id: string): void {
  markOpenRow(id);
  byId('notification-heading').textContent = 'Message';
  byId('notification-status').textContent = '–';
  byId('notification-status').dataset.status = '';
  byId('notification-type').textContent = '';
  byId('notification-recipient').textContent = '';
  byId('notification-template').textContent = '';
  byId('notification-created').textContent = '';
  byId('notification-message').textContent = '';
  byId('content-message').textContent = 'Loading…';
  byId('content-subject-line').hidden = true;
  byId('content-sms').hidden = true;
  byId('content-letter').hidden = true;
  emptyFrame();
  byId('content-plain').hidden = true;
  byId('letter-pages').hidden = true;
  byId('letter-page-list').replaceChildren();
  const view = byId('notification-view');
  view.hidden = false;
  view.dataset.notificationId = id;
  byId('notification-heading').focus();
}

export function hideNotification(): void {
  const view = byId('notification-view');
  view.hidden = true;
  delete view.dataset.notificationId;
  emptyFrame();
  markOpenRow(null);
}

// emptyFrame puts a blank, hidden email frame in place of the one shown. The frame is
// replaced, never navigated: a frame's navigation (a new srcdoc) is an entry in the tab's
// history, and the browser's Back would then step through old emails instead of
// returning to the view before.
function emptyFrame(): void {
  const old = byId<HTMLIFrameElement>('content-html');
  const frame = old.cloneNode(false) as HTMLIFrameElement;
  frame.removeAttribute('srcdoc');
  frame.hidden = true;
  old.replaceWith(frame);
}

// showStatus shows the status a snapshot of the notification carries; the screen label is
// blank for some letter statuses (DOMAIN.md §2.4), which then show as a dash.
export function showStatus(n: MessageStatus): void {
  const status = byId('notification-status');
  status.textContent = n.statusLabel || '–';
  status.dataset.status = n.status;
  const row = byId('notification-rows').querySelector<HTMLElement>(`tr[data-notification-id="${CSS.escape(n.id)}"] td:nth-child(3)`);
  if (row) row.textContent = n.statusLabel;
}

export function showNotificationMessage(text: string): void {
  byId('notification-message').textContent = text;
}

// showFacts shows what the detail query says about the notification besides its content.
export function showFacts(n: Row | Message): void {
  const type = typeWords[n.type];
  byId('notification-heading').textContent = `${type} to ${n.recipient}`;
  byId('notification-type').textContent = type;
  byId('notification-recipient').textContent = n.recipient;
  byId('notification-template').textContent = n.template?.name ?? '';
  byId('notification-created').textContent = formatTime(n.createdAt);
}

// showContent shows the message as its recipient received it. Text goes in as text. An
// email's HTML body goes into an iframe's srcdoc with an empty sandbox attribute: the
// server built that HTML and escaped every value in it, but the frame is a second wall
// should that ever fail. In it nothing runs (no scripts, forms or plugins), it has an
// opaque origin (it cannot read this page, its token or its socket), and it cannot
// navigate this page. SMS previews and letter markup are not shown as HTML at all: the
// text message's body is what the phone shows, and a letter's pages are images.
export function showContent(n: Message): void {
  const content = n.content;
  if (!content) {
    byId('content-message').textContent = (n.contentUnavailableReason && unavailableWords[n.contentUnavailableReason]) ||
      `The content is not available${n.contentUnavailableReason ? ` (${n.contentUnavailableReason})` : ''}.`;
    return;
  }
  byId('content-message').textContent = '';
  if (content.subject != null) {
    byId('content-subject-label').textContent = n.type === 'LETTER' ? 'Title:' : 'Subject:';
    byId('content-subject').textContent = content.subject;
    byId('content-subject-line').hidden = false;
  }
  if (n.type === 'SMS') {
    byId('content-sms-body').textContent = content.body;
    const fragments = content.fragmentCount;
    byId('content-sms-fragments').textContent = fragments == null ? ''
      : `Charged as ${fragments} text message${fragments === 1 ? '' : 's'}.`;
    byId('content-sms').hidden = false;
    return;
  }
  if (n.type === 'EMAIL') {
    if (content.html != null) {
      // A fresh frame each time: Chromium can leave a frame whose srcdoc changes while its
      // previous document is still loading showing that document, and a frame's
      // navigation would be an entry in the tab's history (see emptyFrame).
      const old = byId<HTMLIFrameElement>('content-html');
      const frame = old.cloneNode(false) as HTMLIFrameElement;
      frame.srcdoc = `<!doctype html><html lang="en"><head><meta charset="utf-8">${emailFrameStyle}</head><body>${content.html}</body></html>`;
      frame.hidden = false;
      old.replaceWith(frame);
    }
    byId('content-body').textContent = content.body;
    byId('content-plain').hidden = false;
    return;
  }
  const lines = (list: string[] | null) => (list ?? []).map((line) => {
    const item = document.createElement('li');
    item.textContent = line;
    return item;
  });
  byId('letter-address').replaceChildren(...lines(content.letterAddress));
  byId('letter-contact').replaceChildren(...lines(content.letterContactBlock));
  // A letter without a contact block printed none: no empty heading for it.
  byId('letter-contact-block').hidden = !content.letterContactBlock?.length;
  byId('letter-date').textContent = content.letterDate ?? '';
  byId('content-letter').hidden = false;
}

// showPages shows a letter's pages as images, by the signed links the API handed out;
// the page's policy lets images load from its own origin only, which is where they are.
export function showPages(preview: Preview | null | undefined): void {
  if (!preview) return;
  const items = preview.pages.map((p) => {
    const item = document.createElement('li');
    const image = document.createElement('img');
    image.src = p.pngUrl;
    image.width = p.widthPx;
    image.height = p.heightPx;
    image.alt = `Page ${p.number} of ${preview.pageCount}`;
    image.decoding = 'async';
    image.dataset.page = String(p.number);
    item.append(image);
    return item;
  });
  byId('letter-page-list').replaceChildren(...items);
  byId('letter-pages-note').textContent = preview.pageCount > preview.pages.length
    ? `Showing the first ${preview.pages.length} of ${preview.pageCount} pages.` : '';
  byId('letter-pages').hidden = false;
}
