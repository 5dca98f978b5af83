package notifyql

import (
	"context"
	"time"
)

// CancellableLetterStatuses are the statuses a letter may be cancelled from (DOMAIN.md
// §12.3). The store's guarded UPDATE matches exactly these, so that the rule and the write
// cannot drift apart.
var CancellableLetterStatuses = []NotificationStatus{StatusCreated, StatusPendingVirusCheck}

// LetterCanceller writes letter cancellations.
type LetterCanceller interface {
	// CancelLetter sets the service's letter `id` to cancelled with updated_at = now, in one
	// UPDATE guarded by CancellableLetterStatuses, so that a status another writer committed
	// meanwhile is never overwritten. It returns the row as it is after the attempt and
	// whether this call cancelled it; ENOTFOUND when the service has no notification with
	// that id.
	CancelLetter(ctx context.Context, serviceID, id string, now time.Time) (*Notification, bool, error)
}

// cancelAttempts bounds the retries when the status changes between the check and the
// guarded write to another status that may still be cancelled (pending-virus-check →
// created); each retry follows a change someone else committed, so a few are plenty.
const cancelAttempts = 3

// CancelLetter cancels a letter of a service (DOMAIN.md §12.3): not found, not a letter,
// too late, already cancelled and any other status are refused in that order, with the
// texts of the specification (ENOTFOUND, EINVALID, then ECONFLICT). A status that changes
// while the cancel runs is never overwritten: the refusal then names the status it changed
// to. The trigger on notifications writes the status history row.
func CancelLetter(ctx context.Context, notifications NotificationStore, letters LetterCanceller, serviceID, id string, now time.Time, loc *time.Location) (*Notification, error) {
	notFound := Errorf(ENOTFOUND, "Notification not found")
	n, err := notifications.Notification(ctx, id)
	if ErrorCode(err) == ENOTFOUND || (err == nil && n.ServiceID != serviceID) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	for range cancelAttempts {
		if err := CheckLetterCancellation(n.Type, n.Status, n.CreatedAt, now, loc); err != nil {
			return nil, err
		}
		after, cancelled, err := letters.CancelLetter(ctx, serviceID, id, now)
		if ErrorCode(err) == ENOTFOUND {
			return nil, notFound
		} else if err != nil {
			return nil, err
		}
		if cancelled {
			return after, nil
		}
		n = after
	}
	if err := CheckLetterCancellation(n.Type, n.Status, n.CreatedAt, now, loc); err != nil {
		return nil, err
	}
	return nil, Errorf(ECONFLICT, "The letter changed while it was being cancelled: try again")
}
