package notifyql

import (
	"context"
	"time"
)

// NotificationFilter selects a page of a service's notifications (DOMAIN.md §6.1).
type NotificationFilter struct {
	ServiceID string
	// Type, when set, limits the page to one channel.
	Type *NotificationType
	// Statuses is the expanded status filter (ExpandStatusFilter); never empty.
	Statuses []NotificationStatus
	// Since bounds each type by its own retention window: a row of type t is listed only
	// when created_at >= Since[t].
	Since map[NotificationType]time.Time
	// First is the page size and After the keyset position to continue from.
	First int
	After *Cursor
	// Search, when set, keeps the rows that match it (DOMAIN.md §6.3): then Since is not
	// applied (only rows still in the table are found) and After must be nil, since a
	// search shows its first matches only.
	Search *Search
	// Include names what the page reads beside its rows, in the same round trip.
	Include PageIncludes
	// WindowsAt, when set and Since is empty, bounds each type by the service's own
	// retention window at that instant as the statement itself reads it, and the service
	// with its facts at that instant comes back in the same round trip
	// (NotificationPage.Related.Services): a caller that does not yet know the service
	// needs no round trip before the page to learn it. Not with a search. The status
	// counts' first date (Include) stays the caller's to give: it can only guess it.
	WindowsAt time.Time
}

// PageIncludes names what a page reads beside its rows for the fields an operation
// selects: the rows each notification points at (NotificationPage.Related) and the
// service's status counts (NotificationPage.StatusCounts).
type PageIncludes struct {
	RelatedIncludes
	// StatusCountsFrom, when set, asks for StatusCounts' window from that London date to
	// today, today being Now's London date, summed as WindowCounts.
	StatusCountsFrom *Date
	Now              time.Time
}

// RelatedIncludes names the rows a statement of notifications reads beside each of them,
// for the fields an operation selects: its template version, job, creator and API key.
type RelatedIncludes struct {
	TemplateVersions, Jobs, CreatedBy, APIKeys bool
}

// NotificationIncludes names what a statement that finds notifications by id reads beside
// them, for the fields an operation selects. Their service's row always comes (the
// permission check reads it); its facts (features, retention, API keys) only when asked.
type NotificationIncludes struct {
	RelatedIncludes
	ServiceFacts  bool
	StatusHistory bool
}

// Related are the rows a statement read beside its own, for the operation's loaders, so
// that the fields showing them need no statement of their own. A key mapped to nil was
// looked for and has no row.
type Related struct {
	Services []*ServiceWithFacts
	// ServiceRows are services read without their facts.
	ServiceRows      []*Service
	Templates        map[string]*Template
	TemplateVersions map[TemplateVersionKey]*TemplateVersion
	Jobs             map[string]*Job
	Users            map[string]*User
	APIKeys          map[string]*APIKey
	// StatusHistory holds each notification's status changes, oldest first; a
	// notification without any maps to an empty list.
	StatusHistory map[string][]StatusChange
}

// ServiceWithFacts is a service with the facts pages ask of it beside its row, read with
// it: its switched-on features (sorted), its retention rows and whether it has an API key
// that is unrevoked or was revoked in the last 7 days (DOMAIN.md §3.7).
type ServiceWithFacts struct {
	Service    *Service
	Features   []string
	Retention  Retention
	HasAPIKeys bool
}

// NotificationScope says where a notification may be found: in any service, or in
// ServiceIDs only.
type NotificationScope struct {
	AnyService bool
	ServiceIDs []string
}

// NotificationPage is one page of notifications and the filter that produced it, so that
// the fields computed beside a page (status counts) see the same selection.
type NotificationPage struct {
	Filter        NotificationFilter
	Notifications []*Notification
	// HasNextPage says that more rows follow: for a search, that more matches exist than
	// the page shows.
	HasNextPage bool
	// DataAvailableDays is the retention of the filtered type, or 7 with no type: set by
	// the caller, who built the filter's windows from it (the store does not read it again).
	DataAvailableDays int
	// Related holds the rows the filter's Include asked for. StatusCounts, when Include
	// asked for them, waits for the counts: they may arrive after the page's rows.
	Related      Related
	StatusCounts func() (WindowCounts, error)
}

// ServiceStore reads services and the facts about them.
type ServiceStore interface {
	// ServicesByIDs returns the services that exist among ids, in any order.
	ServicesByIDs(ctx context.Context, ids []string) ([]*Service, error)
	// ServicesWithFactsByIDs returns the services that exist among ids with their facts,
	// in any order, in one statement; now dates the API keys' 7 days.
	ServicesWithFactsByIDs(ctx context.Context, ids []string, now time.Time) ([]*ServiceWithFacts, error)
	// ServicesForUser returns the services the principal can open, ordered by name.
	ServicesForUser(ctx context.Context, p *Principal) ([]*Service, error)
	// FeaturesByServiceIDs returns each service's switched-on features, sorted.
	FeaturesByServiceIDs(ctx context.Context, ids []string) (map[string][]string, error)
	// RetentionByServiceIDs returns each service's retention rows (types without a row are
	// absent; Retention.Days fills in the default).
	RetentionByServiceIDs(ctx context.Context, ids []string) (map[string]Retention, error)
	// HasAPIKeysByServiceIDs reports, for each service, whether it has an API key that is
	// unrevoked or was revoked in the last 7 days (DOMAIN.md §3.7).
	HasAPIKeysByServiceIDs(ctx context.Context, ids []string, now time.Time) (map[string]bool, error)
	// InboxSummariesByServiceIDs counts each service's texts received since `since` and
	// finds the newest one's time, with no date limit.
	InboxSummariesByServiceIDs(ctx context.Context, ids []string, since time.Time) (map[string]InboxSummary, error)
}

// AccessStore loads who a user is and what they may do.
type AccessStore interface {
	// Principal returns the user with their memberships, UI permissions and organisations.
	// It returns ENOTFOUND when no active user has that id.
	Principal(ctx context.Context, userID string) (*Principal, error)
	// UsersByIDs returns the users that exist among ids, in any order.
	UsersByIDs(ctx context.Context, ids []string) ([]*User, error)
	// UserByEmail returns ENOTFOUND when no user has that email address.
	UserByEmail(ctx context.Context, email string) (*User, error)
}

// CatalogueStore reads the things notifications point at: templates, jobs and API keys.
type CatalogueStore interface {
	TemplatesByIDs(ctx context.Context, ids []string) ([]*Template, error)
	TemplateVersions(ctx context.Context, keys []TemplateVersionKey) ([]*TemplateVersion, error)
	JobsByIDs(ctx context.Context, ids []string) ([]*Job, error)
	APIKeysByIDs(ctx context.Context, ids []string) ([]*APIKey, error)
}

// UpcomingJobStore reads the jobs waiting for their scheduled time (the upcomingJobs
// subscription's snapshot).
type UpcomingJobStore interface {
	// UpcomingJobs returns the service's jobs with status scheduled and scheduled_for
	// after now, soonest first.
	UpcomingJobs(ctx context.Context, serviceID string, now time.Time) ([]*Job, error)
}

// NotificationDetail is a notification with its status history: the notification(id)
// subscription's snapshot, so that each update needs no query per subscriber.
type NotificationDetail struct {
	Notification  *Notification
	StatusHistory []StatusChange
}

// NotificationStore reads notifications and the counts computed over them.
type NotificationStore interface {
	// Notification returns ENOTFOUND when no notification within retention has that id.
	Notification(ctx context.Context, id string) (*Notification, error)
	// NotificationIn is Notification restricted to the services serviceIDs: ENOTFOUND
	// too when the notification belongs to another service, found by the same single
	// statement, so that neither the answer nor its cost tells another service's id from
	// one that does not exist.
	NotificationIn(ctx context.Context, id string, serviceIDs []string) (*Notification, error)
	// NotificationWithRelated is Notification or NotificationIn, as scope says, with the
	// notification's service and what include names (its service's facts as of now) read
	// in the same statement. Its answers and its cost are NotificationIn's whatever the id
	// names.
	NotificationWithRelated(ctx context.Context, id string, scope NotificationScope, include NotificationIncludes, now time.Time) (*Notification, *Related, error)
	// NotificationsWithRelated is NotificationWithRelated for many ids in one statement: the
	// notifications found in scope, in any order; the others are absent.
	NotificationsWithRelated(ctx context.Context, ids []string, scope NotificationScope, include NotificationIncludes, now time.Time) ([]*Notification, *Related, error)
	// ListNotifications returns one page, newest first, keyset on (created_at, id).
	ListNotifications(ctx context.Context, f NotificationFilter) (*NotificationPage, error)
	// StatusHistory returns each notification's status changes, oldest first.
	StatusHistory(ctx context.Context, notificationIDs []string) (map[string][]StatusChange, error)
	// StatusCounts returns the (template, type, status, count) rows of DOMAIN.md §5.1 for
	// London dates from..today inclusive: facts for the days before today, and live rows
	// for today, test keys excluded.
	StatusCounts(ctx context.Context, serviceID string, from Date, now time.Time) ([]StatusCount, error)
	// StatusCountsWithTemplates is StatusCounts' window summed as the dashboard shows it,
	// with the current version of each template the sums name, read in the same statement.
	StatusCountsWithTemplates(ctx context.Context, serviceID string, from Date, now time.Time) (WindowCounts, map[string]*Template, error)
	// StatusCountsWithService is StatusCountsWithTemplates with the service and its facts
	// at now read in the same round trip, in Related.Services (empty when there is no such
	// service) beside Related.Templates.
	StatusCountsWithService(ctx context.Context, serviceID string, from Date, now time.Time) (WindowCounts, *Related, error)
	// StatusCountsByService returns StatusCounts' rows for each of serviceIDs at once,
	// keyed by the ids as given; services without rows, and ids that are not UUIDs, are
	// absent.
	StatusCountsByService(ctx context.Context, serviceIDs []string, from Date, now time.Time) (map[string][]StatusCount, error)
	// BankHolidays returns the England and Wales bank holidays.
	BankHolidays(ctx context.Context) (Holidays, error)
}

// ReportingStore reads the history pages and the money (DOMAIN.md §8–§10).
type ReportingStore interface {
	// MonthlyStatusCounts sums ft_notification_status per London month, type and status
	// within fy (test keys excluded) and, when fy contains now, adds London today's live
	// rows (from notification_status_counts) to the current month.
	MonthlyStatusCounts(ctx context.Context, serviceID string, fy FinancialYear, now time.Time) ([]MonthlyStatusCount, error)
	// TemplateUsage returns counts per template and London month within fy (facts, plus
	// London today's live rows when fy contains now), test keys and cancelled excluded, with
	// the template's current name, type and hidden flag.
	TemplateUsage(ctx context.Context, serviceID string, fy FinancialYear, now time.Time) ([]TemplateUsageRow, error)
	// BillingRows returns the service's ft_billing rows with bst_date within fy, summed
	// per day, type, rate, postage, rate multiplier and international (TemplateID and
	// Provider are ""): within a day SMS has one rate, so ComputeUsage's figures are the
	// same as from the unsummed rows (§10.3).
	BillingRows(ctx context.Context, serviceID string, fy FinancialYear) ([]BillingRow, error)
	// EnsureAllowance returns annual_billing for (service, fy), creating it first as
	// DecideAllowance says when it is missing (§10.1). Concurrent callers get the same row.
	EnsureAllowance(ctx context.Context, serviceID string, fy FinancialYear) (*AnnualBilling, error)
	// SetAllowance sets the allowance for (service, fy), recording whether it differs from
	// the organisation type's default.
	SetAllowance(ctx context.Context, serviceID string, fy FinancialYear, limit int64) (*AnnualBilling, error)
}

// BillingRebuilder rebuilds one service's ft_billing rows for one London day, so that
// usage for the current year includes today (§10.5).
type BillingRebuilder interface {
	RebuildBilling(ctx context.Context, serviceID string, day Date) error
}
