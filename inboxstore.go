package notifyql

import (
	"context"
	"fmt"
	"time"
)

// InboxStore reads the inbox and report requests (DOMAIN.md §11, §13).
type InboxStore interface {
	// InboxPage returns the latest message per sender received since `since`, newest
	// first (created_at, then id), `first` of them from offset, with HasNext, Offset and
	// the service's active inbound number set. It leaves Summary empty.
	InboxPage(ctx context.Context, serviceID string, since time.Time, first, offset int) (*InboxPage, error)
	// ReportRequest returns the request, deleted ones included; ENOTFOUND when no request
	// has that id.
	ReportRequest(ctx context.Context, id string) (*ReportRequest, error)
	// ReportRequestsByIDs returns the requests that exist among ids, deleted ones
	// included, in any order.
	ReportRequestsByIDs(ctx context.Context, ids []string) ([]*ReportRequest, error)
	// InboundTextsByIDs returns the inbound texts that exist among ids, of any service and
	// any age, in any order.
	InboundTextsByIDs(ctx context.Context, ids []string) ([]*InboxMessage, error)
}

// ReadInbox assembles an inbox page as the inbox query and subscription show it: messages
// within the service's SMS retention (7 days without a retention row) and the dashboard's
// inbox summary (always 7 days, DOMAIN.md §5.4).
func ReadInbox(ctx context.Context, inbox InboxStore, services ServiceStore, serviceID string, first, offset int, now time.Time, london *time.Location) (*InboxPage, error) {
	retention, err := services.RetentionByServiceIDs(ctx, []string{serviceID})
	if err != nil {
		return nil, fmt.Errorf("read the inbox's retention: %w", err)
	}
	since := WindowStart(now, retention[serviceID].Days(TypeSMS), london)
	page, err := inbox.InboxPage(ctx, serviceID, since, first, offset)
	if err != nil {
		return nil, err
	}
	summaries, err := services.InboxSummariesByServiceIDs(ctx, []string{serviceID}, WindowStart(now, DefaultRetentionDays, london))
	if err != nil {
		return nil, fmt.Errorf("read the inbox summary: %w", err)
	}
	page.Summary = summaries[serviceID]
	return page, nil
}
