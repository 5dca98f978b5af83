// timeline.ts: the open message's status timeline, each status it has had and when, oldest
// first, as the API's statusHistory gives it with each snapshot of the message. Times are
// London's, to the second (a message can change twice in a minute), each in a <time>
// element that carries the instant itself.
import type { NotificationStatus } from './gql/graphql';
import type { MessageStatus } from './notificationview';
import { byId } from './view';

// The words for each stored status. A status's label on screen depends on the message's
// type (statusLabel); the timeline names what each step was.
const statusWords: Record<NotificationStatus, string> = {
  CREATED: 'Created',
  SENDING: 'Sending',
  PENDING: 'Pending',
  SENT: 'Sent internationally',
  DELIVERED: 'Delivered',
  FAILED: 'Failed',
  TECHNICAL_FAILURE: 'Technical failure',
  TEMPORARY_FAILURE: 'Temporary failure',
  PERMANENT_FAILURE: 'Permanent failure',
  PENDING_VIRUS_CHECK: 'Waiting for a virus scan',
  VALIDATION_FAILED: 'Validation failed',
  VIRUS_SCAN_FAILED: 'Virus scan failed',
  RETURNED_LETTER: 'Returned',
  CANCELLED: 'Cancelled',
};

const londonTime = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  timeZone: 'Europe/London',
});

// showTimeline writes the rows of a snapshot's history; null (the detail is not the
// caller's to see) empties it and says so.
export function showTimeline(history: MessageStatus['statusHistory']): void {
  const rows = (history ?? []).map((change) => {
    const row = document.createElement('tr');
    row.dataset.status = change.status;
    const status = document.createElement('td');
    status.textContent = statusWords[change.status] ?? change.status;
    const at = document.createElement('td');
    const time = document.createElement('time');
    time.dateTime = change.at;
    time.textContent = londonTime.format(new Date(change.at));
    at.append(time);
    row.append(status, at);
    return row;
  });
  byId('timeline-rows').replaceChildren(...rows);
  byId('timeline-message').textContent = history == null ? 'The status history is not available.' : '';
  byId('notification-timeline').hidden = false;
}

export function clearTimeline(): void {
  byId('timeline-rows').replaceChildren();
  byId('timeline-message').textContent = '';
  byId('notification-timeline').hidden = true;
}
