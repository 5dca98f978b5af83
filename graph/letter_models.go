package graph

import (
	"time"

	"notifyql"
)

// LetterDetail is what a letter's detail page shows. It carries its notification, from
// which the preview and the validation errors are built when they are selected.
type LetterDetail struct {
	// Pages in the PDF, if known.
	PageCount *int `json:"pageCount,omitempty"`
	// Sheets of paper: pages halved, rounded up.
	SheetCount int `json:"sheetCount"`
	// Whether it can still be cancelled.
	CanBeCancelled bool `json:"canBeCancelled"`
	// When it is or was printed, e.g. "Printing starts today at 5:30pm".
	PrintStatement *string `json:"printStatement,omitempty"`
	// The latest expected delivery, 16:00 London on the day.
	EstimatedDelivery *time.Time `json:"estimatedDelivery,omitempty"`
	// The delivery estimate as text, e.g. "Estimated delivery by Monday 12 May".
	EstimatedDeliveryText *string `json:"estimatedDeliveryText,omitempty"`
	// A note in place of the print statement for cancelled, failed or test letters.
	StatusNote *string `json:"statusNote,omitempty"`
	// Notification is the letter itself; never serialised.
	Notification *notifyql.Notification `json:"-"`
}

// LetterValidationResult is the GraphQL LetterValidation: validateLetterPdf's verdict on
// an uploaded file. PreviewErr, when set, is what the preview field answers with (the
// upload could not be kept), while the rest of the verdict still stands.
type LetterValidationResult struct {
	PageCount  *int                              `json:"pageCount,omitempty"`
	Errors     []*notifyql.LetterValidationError `json:"errors"`
	Preview    *LetterPreview                    `json:"preview,omitempty"`
	PreviewErr error                             `json:"-"`
}
