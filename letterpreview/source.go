package letterpreview

import (
	"context"

	"notifyql"
)

// NotificationSource finds what a letter's preview is made from, given the reason its
// content is unavailable ("" when it is available; notifyql.ContentUnavailableReason):
// ok is false when it has no preview (RENDERING.md §1.1, §5.7, §6.1): outside retention,
// or an upload awaiting or failing its virus scan, or without a stored file. The letter
// is looked up within its own service.
func NotificationSource(ctx context.Context, content notifyql.ContentStore, n *notifyql.Notification, reason string) (src Source, ok bool, err error) {
	switch reason {
	case "":
		inputs, err := content.ContentInputs(ctx, n.ServiceID, n.ID)
		if notifyql.ErrorCode(err) == notifyql.ENOTFOUND || (err == nil && inputs == nil) {
			// Moved out of notifications since it was read: past retention now.
			return Source{}, false, nil
		}
		if err != nil {
			return Source{}, false, err
		}
		return Source{ID: n.ID, Inputs: inputs}, true, nil
	case notifyql.ContentUploadedPDF:
		if !notifyql.UploadedLetterHasPreview(n.Status) {
			return Source{}, false, nil
		}
		file, err := content.LetterFile(ctx, n.ServiceID, n.ID)
		if notifyql.ErrorCode(err) == notifyql.ENOTFOUND || (err == nil && len(file) == 0) {
			return Source{}, false, nil
		}
		if err != nil {
			return Source{}, false, err
		}
		stored := notifyql.StoredLetterValidationErrors(n.LetterValidation)
		return Source{ID: n.ID, PDF: file, HideNotifyTag: true, OverlayPages: notifyql.LetterOverlayPages(stored)}, true, nil
	}
	return Source{}, false, nil
}
