package notifyql

import "time"

// LetterStatusNote is what a letter's page shows in place of the print statement, or ""
// when the print statement and delivery estimate apply (DOMAIN.md §12.1).
func LetterStatusNote(n *Notification, loc *time.Location) string {
	if n.KeyType == KeyTest {
		return "We will not print this letter because you used a test key."
	}
	switch n.Status {
	case StatusCancelled:
		at := n.CreatedAt
		if n.UpdatedAt != nil {
			at = *n.UpdatedAt
		}
		return "Cancelled " + FormatShortDate(LondonDate(at, loc))
	case StatusValidationFailed:
		if n.LetterValidation == nil {
			_, summary := LetterValidationMessage("", nil, 0)
			return summary
		}
		title, summary := LetterValidationMessage(n.LetterValidation.Message, n.LetterValidation.InvalidPages, n.LetterValidation.PageCount)
		if summary == "" {
			return title
		}
		return summary
	case StatusPermanentFailure:
		return "Permanent failure – The provider cannot print the letter. Your letter will not be dispatched."
	case StatusTechnicalFailure:
		return "Technical failure – Do not try to send this letter again"
	}
	return ""
}
