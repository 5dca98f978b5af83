package resolvers

import (
	"context"

	"notifyql"
)

// cancelLetterRequirement is who may cancel a letter (DOMAIN.md §16).
var cancelLetterRequirement = notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity, notifyql.SendMessages}}

// CancelLetter cancels a letter (DOMAIN.md §12.3). A caller who cannot open the service is
// told it does not exist.
func (r mutationResolver) CancelLetter(ctx context.Context, serviceID, notificationID string) (*notifyql.Notification, error) {
	_, svc, err := r.serviceFor(ctx, serviceID, cancelLetterRequirement)
	if err != nil {
		return nil, err
	}
	if err := notifyql.ValidateID("notification", notificationID); err != nil {
		return nil, err
	}
	return notifyql.CancelLetter(ctx, r.stores.Notifications, r.letters, svc.ID, notifyql.NormaliseID(notificationID), r.now(), r.london)
}
