package notifyql

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"
)

// Report requests (DOMAIN.md §13): a user asks for a notifications CSV too big to stream
// at once; a background worker writes it into storage, and the requester downloads it
// once it is stored. This file holds the rules; postgres holds the queue and the files.

const (
	// ReportDedupeWindow is how recently an open request must have been touched for the
	// same request to be handed back instead of queueing another.
	ReportDedupeWindow = 30 * time.Minute
	// ReportReuseWindow is how recently a stored report must have been requested for the
	// same request to hand it back instead of queueing another: asking again at once gets
	// the file already built, not a copy of it.
	ReportReuseWindow = 15 * time.Minute
	// DefaultReportsPerDay is how many report requests a user may make in any 24 hours
	// (ReportQuotaWindow) unless configuration says otherwise: each is a file stored for
	// days and a worker's time, and a person needs a few.
	DefaultReportsPerDay = 20
	// ReportQuotaWindow is the rolling period report requests are counted over.
	ReportQuotaWindow = 24 * time.Hour
	// ReportCleanupAt is when the nightly cleanup runs, after UTC midnight.
	ReportCleanupAt = 2 * time.Hour
	// ReportCleanupOldest and ReportCleanupNewest bound the cleanup: requests created
	// between 5 days and 24 hours before the run (both ends included) are deleted, so a
	// stored report stays downloadable for at least a day.
	ReportCleanupOldest = 5 * 24 * time.Hour
	ReportCleanupNewest = 24 * time.Hour
)

// ReportRequestInput is what a user asks a report for.
type ReportRequestInput struct {
	UserID    string
	ServiceID string
	Type      NotificationType
	Status    ReportStatusFilter
}

// Validate checks the type and status filter.
func (in ReportRequestInput) Validate() error {
	if !in.Type.IsValid() {
		return Errorf(EINVALID, "notificationType must be EMAIL, SMS or LETTER")
	}
	if !in.Status.IsValid() {
		return Errorf(EINVALID, "status must be ALL, SENDING, DELIVERED or FAILED")
	}
	return nil
}

// Statuses is the filter as stored statuses: every requested status for all (never
// cancelled, DOMAIN.md §2.3), else the statuses of the group.
func (f ReportStatusFilter) Statuses() []NotificationStatus {
	if f == ReportOfAll {
		return ExpandStatusFilter(nil)
	}
	return StatusesInGroup(StatusGroup(f))
}

// ReportStore keeps report requests and their files.
type ReportStore interface {
	// RequestReport returns, with created false, a request by the same user for the same
	// service, type and status filter that is stored and was requested within
	// ReportReuseWindow of now, or else the oldest such one that is pending or in progress
	// and was last touched (updated_at, else created_at) within ReportDedupeWindow of now.
	// Otherwise it queues a new pending request created at now, with created true, unless
	// the user has made their daily allowance of requests in the ReportQuotaWindow before
	// now: then it returns ERATELIMITED (ReportQuotaExceeded). Calls at once by one user
	// give one request for the same report, and never more requests than the allowance.
	RequestReport(ctx context.Context, in ReportRequestInput, now time.Time) (r *ReportRequest, created bool, err error)
	// ReportRequest returns the request, deleted ones included; ENOTFOUND when none has
	// that id.
	ReportRequest(ctx context.Context, id string) (*ReportRequest, error)
	// WriteReportFile writes a stored request's CSV to w a chunk at a time. It returns
	// ENOTFOUND when the request or its file does not exist, and ECONFLICT when the
	// request is not stored.
	WriteReportFile(ctx context.Context, id string, w io.Writer) error
}

// ReportQuotaExceeded refuses a report request from a user who has made perDay of them in
// the ReportQuotaWindow before now; the next is possible at next, when the oldest of those
// that count leaves the window.
// Both the wait and the time are rounded up to the minute, so that asking then works.
func ReportQuotaExceeded(perDay int, next, now time.Time) *Error {
	at := next.UTC().Truncate(time.Minute)
	if at.Before(next) {
		at = at.Add(time.Minute)
	}
	wait := max((at.Sub(now) + time.Minute - 1).Truncate(time.Minute), time.Minute)
	return Errorf(ERATELIMITED, "you have asked for %d reports in the last 24 hours, the most allowed: you can ask for another in %s, at %s UTC",
		perDay, formatWait(wait), at.Format("2006-01-02 15:04"))
}

// formatWait writes a wait of whole minutes as "2 hours 5 minutes", "1 hour", "40 minutes".
func formatWait(wait time.Duration) string {
	hours, minutes := int(wait/time.Hour), int(wait%time.Hour/time.Minute)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case hours == 0:
		return plural(minutes, "minute")
	case minutes == 0:
		return plural(hours, "hour")
	}
	return plural(hours, "hour") + " " + plural(minutes, "minute")
}

// CheckReportAccess decides whether p may see request r, whose service is s (nil when the
// service is gone), as DOMAIN.md §13 and §16 say: a deleted request, or one of a service
// the user is neither a platform admin for nor a member of, does not exist for them;
// anyone but the requester is forbidden; and the requester still needs view_activity.
func CheckReportAccess(p *Principal, r *ReportRequest, s *ServiceFacts) error {
	if p == nil {
		return Errorf(EUNAUTHENTICATED, "you must sign in")
	}
	notFound := Errorf(ENOTFOUND, "report request not found")
	if r.Status == ReportDeleted || s == nil || !(p.User.PlatformAdmin || p.IsMember(s.ID)) {
		return notFound
	}
	if r.UserID != p.User.ID {
		return Errorf(EFORBIDDEN, "only the user who asked for a report can see it")
	}
	if err := p.Check(*s, ReportRequirement); ErrorCode(err) == ENOTFOUND {
		return notFound
	} else if err != nil {
		return err
	}
	return nil
}

// ReportRequirement is what asking for, reading and downloading reports needs.
var ReportRequirement = Requirement{AnyOf: []Permission{ViewActivity}}

// CheckReportSize refuses a report whose estimated rows (DOMAIN.md §7.2) exceed
// ReportRequestLimit, unless the caller is a platform admin.
func CheckReportSize(p *Principal, estimate int64) error {
	if CanRequestReport(estimate, p != nil && p.User.PlatformAdmin) {
		return nil
	}
	return Errorf(ETOOLARGE, "this report would have about %s rows, more than the %s a report can have: contact support for it",
		FormatCount(estimate), FormatCount(ReportRequestLimit))
}

// ReportFilename is a stored report's download name: "{report request id}.csv".
func ReportFilename(id string) string { return NormaliseID(id) + ".csv" }

// ReportRequestPath is where a stored report is downloaded from.
func ReportRequestPath(id string) string { return "/report-requests/" + ReportFilename(id) }

// EncodeReportChunk writes one batch of rows as CSV (DOMAIN.md §7.1: encoding/csv, CRLF
// line ends), after the header when header is set; a report is these chunks in order.
func EncodeReportChunk(rows []ExportRow, header bool, loc *time.Location) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if header {
		if err := w.Write(NotificationCSVHeader); err != nil {
			return nil, err
		}
	}
	for _, row := range rows {
		if err := w.Write(row.CSVRecord(loc)); err != nil {
			return nil, fmt.Errorf("encode report row %s: %w", row.ID, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
