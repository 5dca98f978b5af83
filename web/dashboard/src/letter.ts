// letter.ts: what the open message's view shows of a letter besides its content and pages:
// when it is printed (or why it will not be), why it failed validation, and the "Cancel
// letter" button. The button shows only while the API says the letter can be cancelled
// (canBeCancelled, which only a user who may cancel it can see), asks for a confirmation
// first, as GOV.UK's pattern for a destructive action does, and then sends cancelLetter
// over the page's socket. The API's answer shows at once, and the status subscription
// confirms it; a refusal is shown with the API's reason.
import type { Client } from 'graphql-ws';
import { graphql } from './gql';
import type { MessageQuery } from './gql/graphql';
import { ask } from './live';
import type { MessageStatus } from './notificationview';
import { byId } from './view';

const CancelLetterMutation = graphql(`
  mutation CancelLetter($serviceId: ID!, $id: ID!) {
    cancelLetter(serviceId: $serviceId, notificationId: $id) { ...MessageStatusFields }
  }
`);

type ValidationErrors = NonNullable<NonNullable<MessageQuery['notification']>['letter']>['validationErrors'];

// Cancellable is the open letter the button would cancel, and where its answer goes.
interface Cancellable {
  client: Client;
  serviceId: string;
  id: string;
  show: (n: MessageStatus) => void;
}

let cancellable: Cancellable | null = null;
// cancelling is true while the mutation is on its way: a snapshot then leaves the buttons be.
let cancelling = false;
// openings counts the messages opened, so an answer that arrives after another opened is
// dropped.
let openings = 0;
// printed is the open letter's print statement or note; summaries are its validation
// errors' (a failed letter's note repeats its error's summary).
let printed = '';
let summaries = new Set<string>();

// showLetterState shows a snapshot's letter facts: the print statement or the note in its
// place, and the cancel button when the letter can be cancelled. show is how the view shows
// a snapshot, which the mutation's answer is.
export function showLetterState(client: Client, serviceId: string, n: MessageStatus, show: (n: MessageStatus) => void): void {
  const letter = n.letter;
  byId('letter-state').hidden = !letter;
  printed = letter?.statusNote || letter?.printStatement || '';
  showPrinted();
  cancellable = letter?.canBeCancelled ? { client, serviceId, id: n.id, show } : null;
  if (cancelling) return;
  // The user was asked to confirm, and the letter moved on meanwhile (printing started, or
  // someone else cancelled it): say so rather than let the question vanish.
  const asking = !byId('letter-cancel').hidden && !byId('cancel-confirm').hidden;
  byId('letter-cancel').hidden = !cancellable;
  if (!cancellable) showConfirm(false);
  if (!cancellable && asking) say('This letter can no longer be cancelled.');
}

// showPrinted shows the print statement or note, unless the validation errors say the same.
function showPrinted(): void {
  const print = byId('letter-print');
  print.textContent = printed;
  print.hidden = summaries.has(printed);
}

// say puts the outcome of a cancellation where the focus goes, so it is read out.
function say(text: string): void {
  const message = byId('letter-cancel-message');
  message.textContent = text;
  message.focus();
}

// clearLetterState empties the letter's facts for another message.
export function clearLetterState(): void {
  openings++;
  cancellable = null;
  cancelling = false;
  printed = '';
  byId('letter-state').hidden = true;
  byId('letter-cancel').hidden = true;
  byId('letter-cancel-message').textContent = '';
  showConfirm(false);
  showValidationErrors([]);
}

function showConfirm(asking: boolean): void {
  byId('cancel-letter').hidden = asking;
  byId('cancel-confirm').hidden = !asking;
  if (asking) byId('cancel-question').focus();
}

async function cancel(): Promise<void> {
  const target = cancellable;
  if (!target || cancelling) return;
  const opened = openings;
  cancelling = true;
  byId<HTMLButtonElement>('cancel-yes').disabled = true;
  byId('letter-cancel-message').textContent = '';
  let reason: string | null = null;
  try {
    const result = await ask(target.client, CancelLetterMutation, { serviceId: target.serviceId, id: target.id });
    const n = result?.data?.cancelLetter;
    if (n && opened === openings) target.show(n);
    if (!n) reason = result?.errors?.[0]?.message || 'the server could not cancel it.';
  } catch (error) {
    reason = error instanceof Error ? error.message : 'the connection failed.';
  } finally {
    byId<HTMLButtonElement>('cancel-yes').disabled = false;
  }
  // Another message opened meanwhile: this answer is not about the one on screen.
  if (opened !== openings) return;
  cancelling = false;
  showConfirm(false);
  byId('letter-cancel').hidden = !cancellable;
  say(reason === null ? 'The letter has been cancelled.' : `The letter was not cancelled: ${reason}`);
}

// showValidationErrors lists why the letter failed validation. A summary names the pages
// concerned where there are any; without one, the pages are listed.
export function showValidationErrors(errors: ValidationErrors | null | undefined): void {
  const items = (errors ?? []).map((e) => {
    const item = document.createElement('li');
    const title = document.createElement('strong');
    title.textContent = e.title;
    const detail = document.createElement('p');
    detail.textContent = e.summary || (e.pages.length ? `${e.pages.length === 1 ? 'Page' : 'Pages'} ${e.pages.join(', ')}.` : '');
    item.append(title, detail);
    return item;
  });
  byId('letter-error-list').replaceChildren(...items);
  byId('letter-errors').hidden = items.length === 0;
  summaries = new Set((errors ?? []).map((e) => e.summary ?? ''));
  showPrinted();
}

byId('cancel-letter').addEventListener('click', () => showConfirm(true));
byId('cancel-no').addEventListener('click', () => {
  showConfirm(false);
  byId('cancel-letter').focus();
});
byId('cancel-yes').addEventListener('click', () => void cancel());
