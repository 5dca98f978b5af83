package notifyql

import "time"

// ContentInputs are what a notification's content is rebuilt from (RENDERING.md §1.1): the
// template version it was sent with, its stored personalisation and recipient, and the
// service as it was when it was sent. Everything here but the template is personal data.
type ContentInputs struct {
	Type            NotificationType
	TemplateSubject string
	TemplateContent string
	// LetterLanguages is "english" or "welsh_then_english"; the Welsh fields are set for
	// the latter only.
	LetterLanguages       string
	LetterWelshSubject    string
	LetterWelshContent    string
	RedactPersonalisation bool
	// Personalisation is the stored jsonb object as JSON text; empty means no values.
	Personalisation []byte
	To              string
	ReplyToText     string
	CreatedAt       time.Time
	ServiceName     string
	PrefixSMS       bool
	// InternationalLetters is the service's international_letters feature (§6.4).
	InternationalLetters bool
}

// MessageContent is a notification's message as the recipient received it
// (RENDERING.md §7.1).
type MessageContent struct {
	Subject            *string
	Body               string
	HTML               *string
	FragmentCount      *int
	LetterAddress      []string
	LetterDate         *string
	LetterContactBlock []string
}

// The reasons content is not served (RENDERING.md §1.1).
const (
	ContentRetentionExpired = "RETENTION_EXPIRED"
	ContentUploadedPDF      = "UPLOADED_PDF"
)
