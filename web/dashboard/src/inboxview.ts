// inboxview.ts: the inbox views. The list is the latest text from each number, live over
// the inbox subscription on the page's one socket; each opens the conversation with its
// number (asked for once, by query), whose URL names the text's id, never the number. The
// inbox CSV is fetched with the token in its Authorization header (the file has no signed
// link) and handed to the browser as a file: the URL holds the service's id only.
import type { Client } from 'graphql-ws';
import type { InboxListSubscription as InboxList } from './gql/graphql';
import { ConversationQuery, InboxListSubscription } from './inbox';
import { ask, run } from './live';
import { reasonOf } from './notifications';
import { routePath } from './routes';
import { byId } from './view';

const timeFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London',
});
const when = (time: string) => timeFormat.format(new Date(time));

// The inbox list's subscription, while the inbox view is shown.
let listed: { serviceId: string; stop: () => void } | null = null;

// showInbox shows the service's inbox, subscribing unless it already is.
export function showInbox(client: Client, serviceId: string): void {
  if (listed?.serviceId === serviceId) return;
  hideInbox();
  byId('inbox-view-message').textContent = 'Loading…';
  byId('inbox-rows').replaceChildren();
  byId('inbox-csv-message').textContent = '';
  const mine = {
    serviceId,
    stop: run(client, InboxListSubscription, { serviceId }, {
      next(result) {
        if (listed !== mine) return;
        if (result.errors?.length || !result.data) showInboxViewUnavailable(reasonOf(result.errors ?? []));
        else showInboxList(serviceId, result.data.inbox);
      },
      error(error: unknown) {
        if (listed === mine) showInboxViewUnavailable(reasonOf(error));
      },
      complete() {},
    }),
  };
  listed = mine;
}

// hideInbox ends the list's subscription: the view is no longer shown.
export function hideInbox(): void {
  const previous = listed;
  listed = null;
  previous?.stop();
}

function showInboxViewUnavailable(reason: string): void {
  byId('inbox-view').classList.add('unavailable');
  byId('inbox-rows').replaceChildren();
  byId('inbox-view-message').textContent = `Not available: ${reason}`;
}

function cell(tag: 'th' | 'td', content: string | Node): HTMLTableCellElement {
  const c = document.createElement(tag);
  if (tag === 'th') c.scope = 'row';
  c.append(content);
  return c;
}

function showInboxList(serviceId: string, inbox: InboxList['inbox']): void {
  byId('inbox-view').classList.remove('unavailable');
  const rows = inbox.edges.map(({ node }) => {
    const tr = document.createElement('tr');
    tr.dataset.inboundSmsId = node.id;
    const a = document.createElement('a');
    a.href = routePath({ view: 'conversation', serviceId, inboundSmsId: node.id });
    a.textContent = node.phoneNumber;
    tr.append(cell('th', a), cell('td', node.content), cell('td', when(node.createdAt)));
    return tr;
  });
  byId('inbox-rows').replaceChildren(...rows);
  byId('inbox-view-message').textContent = rows.length > 0 ? ''
    : inbox.inboundNumber ? `No texts received yet. People can text ${inbox.inboundNumber}.` : 'No texts received yet.';
}

let conversationShown = 0;

// showConversation asks for the conversation that inboundSmsId opens and shows it, unless
// the page has moved on (isCurrent) by the time it answers.
export async function showConversation(client: Client, serviceId: string, inboundSmsId: string, isCurrent: () => boolean): Promise<void> {
  const mine = ++conversationShown;
  const current = () => mine === conversationShown && isCurrent();
  const message = byId('conversation-message');
  message.textContent = 'Loading…';
  byId('conversation-heading').textContent = 'Conversation';
  byId('conversation-messages').replaceChildren();
  let reason: string;
  try {
    const result = await ask(client, ConversationQuery, { serviceId, inboundSmsId });
    if (!current()) return;
    const conversation = result?.data?.service?.conversation;
    if (conversation && !result?.errors?.length) {
      byId('conversation').classList.remove('unavailable');
      byId('conversation-heading').textContent = `Conversation with ${conversation.phoneNumber}`;
      byId('conversation-messages').replaceChildren(...conversation.messages.map((m) => {
        const item = document.createElement('li');
        item.dataset.messageId = m.id;
        item.className = m.direction === 'INBOUND' ? 'inbound' : 'outbound';
        const said = document.createElement('p');
        said.className = 'sms-body';
        said.textContent = m.content ?? 'A text the service sent (its content is not shown here).';
        const facts = document.createElement('p');
        facts.className = 'hint';
        facts.textContent = m.direction === 'INBOUND' ? `Received ${when(m.createdAt)}` : `Sent ${when(m.createdAt)}: ${m.statusLabel ?? ''}`;
        item.append(said, facts);
        return item;
      }));
      message.textContent = conversation.messages.length === 0 ? 'No texts within the retention period.' : '';
      return;
    }
    reason = reasonOf(result?.errors ?? []);
  } catch (error) {
    if (!current()) return;
    reason = reasonOf(error);
  }
  byId('conversation').classList.add('unavailable');
  message.textContent = `Not available: ${reason}`;
}

// downloadInbox fetches the service's inbox CSV as token's user and hands it to the
// browser as a file named as the server names it, or says why it cannot.
export async function downloadInbox(token: string, serviceId: string): Promise<void> {
  const message = byId('inbox-csv-message');
  message.textContent = 'Downloading…';
  try {
    const response = await fetch(`/services/${serviceId}/inbox.csv`, {
      headers: { Authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit',
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null) as { errors?: Array<{ message?: string; extensions?: { code?: string } }> } | null;
      message.textContent = `CSV download not available: ${reasonOf(body?.errors ?? [])}`;
      return;
    }
    const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'Received text messages.csv';
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    message.textContent = `Downloaded ${name}.`;
  } catch (error) {
    message.textContent = `CSV download not available: ${reasonOf(error)}`;
  }
}
