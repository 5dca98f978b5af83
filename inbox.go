package notifyql

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// InboxPageSize is how many conversations one inbox page lists (DOMAIN.md §11).
const InboxPageSize = 50

// InboxMessage is the latest text one number sent the service. UserNumber and Content
// are personal data: they are shown to permitted callers and never logged.
type InboxMessage struct {
	ID        string
	ServiceID string
	// UserNumber is the sender's number as stored; the API shows it in human form.
	UserNumber string
	Content    string
	CreatedAt  time.Time
}

// InboxPage is one page of a service's inbox (DOMAIN.md §11): the latest message per
// sender within the SMS retention, newest first, with the dashboard's inbox summary and the
// service's active inbound number, which the empty state shows.
type InboxPage struct {
	Messages []*InboxMessage
	HasNext  bool
	Summary  InboxSummary
	// InboundNumber is nil when the service has no active inbound number.
	InboundNumber *string
	// Offset is the position of the page's first message, so that the next page can
	// continue after this one.
	Offset int
}

// RelativeTime labels when something happened as the inbox does (DOMAIN.md §11): "just
// now" under 30 seconds, "in the last minute" under 60, then whole minutes, hours or days
// ago, with "1" where English would say "a".
func RelativeTime(then, now time.Time) string {
	ago := now.Sub(then)
	switch {
	case ago < 30*time.Second:
		return "just now"
	case ago < time.Minute:
		return "in the last minute"
	case ago < time.Hour:
		return plural(int(ago/time.Minute), "minute") + " ago"
	case ago < 24*time.Hour:
		return plural(int(ago/time.Hour), "hour") + " ago"
	default:
		return plural(int(ago/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// ReportRequestStatus is where a report request is in its processing (DOMAIN.md §13).
type ReportRequestStatus string

const (
	ReportPending    ReportRequestStatus = "pending"
	ReportInProgress ReportRequestStatus = "in progress"
	ReportStored     ReportRequestStatus = "stored"
	ReportFailed     ReportRequestStatus = "failed"
	ReportDeleted    ReportRequestStatus = "deleted"
)

// ReportRequestStatuses lists every report request status in processing order.
var ReportRequestStatuses = []ReportRequestStatus{ReportPending, ReportInProgress, ReportStored, ReportFailed, ReportDeleted}

// ReportStatusFilter is the status group a report request covers: all, sending,
// delivered or failed (DOMAIN.md §13).
type ReportStatusFilter string

const (
	ReportOfAll       ReportStatusFilter = "all"
	ReportOfSending   ReportStatusFilter = "sending"
	ReportOfDelivered ReportStatusFilter = "delivered"
	ReportOfFailed    ReportStatusFilter = "failed"
)

// ReportStatusFilters lists every report status filter.
var ReportStatusFilters = []ReportStatusFilter{ReportOfAll, ReportOfSending, ReportOfDelivered, ReportOfFailed}

// ReportRequest is an asynchronous notifications report one user asked for (DOMAIN.md
// §13). Only its requester may see it.
type ReportRequest struct {
	ID                 string
	ServiceID          string
	UserID             string
	Status             ReportRequestStatus
	NotificationType   NotificationType
	NotificationStatus ReportStatusFilter
	CreatedAt          time.Time
	// UpdatedAt is nil until the request first changes.
	UpdatedAt *time.Time
}

// The stored report request status "in progress" has a space, which EnumName keeps, so
// these enums spell their GraphQL names themselves.

func reportEnumName(stored string) string {
	return strings.ToUpper(strings.ReplaceAll(stored, " ", "_"))
}

func (s ReportRequestStatus) IsValid() bool { return contains(ReportRequestStatuses, s) }
func (f ReportStatusFilter) IsValid() bool  { return contains(ReportStatusFilters, f) }

func (s ReportRequestStatus) MarshalGQL(w io.Writer) {
	io.WriteString(w, strconv.Quote(reportEnumName(string(s))))
}
func (f ReportStatusFilter) MarshalGQL(w io.Writer) {
	io.WriteString(w, strconv.Quote(reportEnumName(string(f))))
}

func (s *ReportRequestStatus) UnmarshalGQL(v any) error {
	return unmarshalReportEnum(v, "ReportRequestStatus", ReportRequestStatuses, s)
}
func (f *ReportStatusFilter) UnmarshalGQL(v any) error {
	return unmarshalReportEnum(v, "ReportStatusFilter", ReportStatusFilters, f)
}

func unmarshalReportEnum[T ~string](v any, enum string, values []T, dst *T) error {
	name, ok := v.(string)
	if !ok {
		return Errorf(EINVALID, "%s must be a string", enum)
	}
	for _, value := range values {
		if reportEnumName(string(value)) == name {
			*dst = value
			return nil
		}
	}
	return Errorf(EINVALID, "%q is not a valid %s", name, enum)
}
