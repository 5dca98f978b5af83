package notifyql

import (
	"context"
	"time"
)

// ContentStore loads what a notification's content and letter preview are rebuilt from
// (RENDERING.md §1.1, §6.1). Both methods look the notification up within serviceID only.
type ContentStore interface {
	// ContentInputs returns the inputs of a notification of the service that is still in
	// notifications; nil (or ENOTFOUND) otherwise.
	ContentInputs(ctx context.Context, serviceID, notificationID string) (*ContentInputs, error)
	// LetterFile returns an uploaded letter's stored PDF (letter_files); ENOTFOUND, or a
	// nil file, when none is stored.
	LetterFile(ctx context.Context, serviceID, notificationID string) ([]byte, error)
}

// LetterUpload is a PDF that validateLetterPdf checked, kept briefly so that its preview
// links work (RENDERING.md §7.4). Nothing about it is written to PostgreSQL.
type LetterUpload struct {
	// UserID is the uploader, the only user its links open for.
	UserID    string `json:"user_id"`
	ServiceID string `json:"service_id"`
	// PageCount is the file's page count, known from its validation.
	PageCount int `json:"page_count"`
	// OverlayPages are the pages a content-outside-printable-area error names.
	OverlayPages []int  `json:"overlay_pages,omitempty"`
	PDF          []byte `json:"pdf"`
}

// LetterUploadTTL is how long an upload, and so its preview links, are kept.
const LetterUploadTTL = 300 * time.Second

// LetterUploadStore keeps validated uploads for their preview links.
type LetterUploadStore interface {
	// PutLetterUpload keeps u under id for ttl.
	PutLetterUpload(ctx context.Context, id string, u LetterUpload, ttl time.Duration) error
	// LetterUpload returns the upload kept under id; ENOTFOUND once it is gone.
	LetterUpload(ctx context.Context, id string) (*LetterUpload, error)
}

// LetterRenderCache keeps rendered letter files (PDFs, page images, page facts) for a
// short while, under keys that hold ids and a keyed hash of the inputs only. It may
// decline to keep an entry (its byte budget); a failure of the cache is a miss.
type LetterRenderCache interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Put(ctx context.Context, key string, value []byte)
}

// ContentUnavailableReason is why a notification's content and preview are not served
// (RENDERING.md §1.1): RETENTION_EXPIRED when it was created before windowStart (the
// §14 bound of its type), which wins; UPLOADED_PDF for a precompiled letter, whose
// content is its PDF; "" when content can be served.
func ContentUnavailableReason(n *Notification, precompiled bool, windowStart time.Time) string {
	switch {
	case n.CreatedAt.Before(windowStart):
		return ContentRetentionExpired
	case precompiled:
		return ContentUploadedPDF
	}
	return ""
}

// UploadedLetterHasPreview reports whether a stored upload may be rasterised: never while
// it awaits its virus scan or after failing it (RENDERING.md §6.1).
func UploadedLetterHasPreview(status NotificationStatus) bool {
	return status != StatusPendingVirusCheck && status != StatusVirusScanFailed
}

// LetterOverlayPages are the pages of a stored or fresh verdict that get the overlay of
// RENDERING.md §6.2: those a content-outside-printable-area error names (membership,
// F16).
func LetterOverlayPages(errs []LetterValidationError) []int {
	for _, e := range errs {
		if e.Code == "content-outside-printable-area" {
			return e.Pages
		}
	}
	return nil
}

// LetterPreviewPages is how many pages a preview lists and serves: at most 10 (§5.7).
func LetterPreviewPages(pageCount int) int {
	return min(pageCount, MaxLetterPreviewPages)
}

// MaxLetterPreviewPages is the last page a preview lists.
const MaxLetterPreviewPages = 10
