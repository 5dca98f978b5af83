package notifyql

import "time"

// User is a person who signs in to the dashboard.
type User struct {
	ID            string
	Name          string
	EmailAddress  string // personal data
	PlatformAdmin bool
	State         string
}

// Service is a team's sending service.
type Service struct {
	ID               string
	Name             string
	Active           bool
	Restricted       bool
	OrganisationID   *string
	OrganisationType *string
	Crown            bool
	PrefixSMS        bool
	CreatedAt        time.Time
	GoLiveAt         *time.Time
}

// Template is the current version of a message template.
type Template struct {
	ID        string
	ServiceID string
	Name      string
	Type      NotificationType
	Version   int
	Hidden    bool
	Archived  bool
	Postage   *Postage
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// PrecompiledLetterName is the name of the hidden template that uploaded PDFs use.
const PrecompiledLetterName = "Pre-compiled PDF"

// IsPrecompiledLetter reports whether a template stands for an uploaded or API-provided PDF
// (DOMAIN.md §3.3).
func IsPrecompiledLetter(hidden bool, name string, t NotificationType) bool {
	return hidden && name == PrecompiledLetterName && t == TypeLetter
}

// IsPrecompiledLetter reports whether the template stands for an uploaded PDF.
func (t *Template) IsPrecompiledLetter() bool { return IsPrecompiledLetter(t.Hidden, t.Name, t.Type) }

// TemplateVersion is one row of a template's history: what a notification was sent with.
type TemplateVersion struct {
	ID      string
	Version int
	Name    string
	Type    NotificationType
	Hidden  bool
}

// IsPrecompiledLetter reports whether the template version stands for an uploaded PDF.
func (t *TemplateVersion) IsPrecompiledLetter() bool {
	return IsPrecompiledLetter(t.Hidden, t.Name, t.Type)
}

// TemplateVersionKey names one version of a template.
type TemplateVersionKey struct {
	ID      string
	Version int
}

// Job is a batch send from an uploaded file.
type Job struct {
	ID                string
	ServiceID         string
	TemplateID        string
	TemplateVersion   int
	OriginalFileName  string
	NotificationCount int
	Status            string
	ScheduledFor      *time.Time
	CreatedByID       *string
	CreatedAt         time.Time
	Archived          bool
}

// APIKey is a key a service sends with. Its secret is never loaded.
type APIKey struct {
	ID         string
	ServiceID  string
	Name       string
	KeyType    KeyType
	ExpiryDate *time.Time
}

// Notification is one message still within its service's retention.
type Notification struct {
	ID              string
	ServiceID       string
	TemplateID      string
	TemplateVersion int
	Type            NotificationType
	To              string // personal data
	ClientReference *string
	KeyType         KeyType
	Status          NotificationStatus
	BillableUnits   int
	RateMultiplier  *float64
	International   bool
	PhonePrefix     *string
	Postage         *Postage
	CreatedAt       time.Time
	UpdatedAt       *time.Time
	SentAt          *time.Time
	SentBy          *string
	JobID           *string
	JobRowNumber    *int
	APIKeyID        *string
	CreatedByID     *string
	LetterPageCount *int
	// LetterValidation explains why a letter failed validation (DOMAIN.md §3.4).
	LetterValidation *LetterValidation
}

// LetterValidation is what the validator said about a letter that failed validation.
type LetterValidation struct {
	Message      string `json:"message"`
	InvalidPages []int  `json:"invalid_pages"`
	PageCount    int    `json:"page_count"`
}

// StatusChange is one row of a notification's status timeline (DOMAIN.md §2.5).
type StatusChange struct {
	Status NotificationStatus
	At     time.Time
}

// StatusCount is a count of notifications of one template, type and status, the row that
// dashboard totals and template statistics are computed from (DOMAIN.md §5.1).
type StatusCount struct {
	TemplateID string
	Type       NotificationType
	Status     NotificationStatus
	Count      int64
}

// InboxSummary is the dashboard's inbox block (DOMAIN.md §5.4): texts received since
// London midnight 7 days ago, and when the newest one arrived.
type InboxSummary struct {
	Count      int64
	MostRecent *time.Time
}
