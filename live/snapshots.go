package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"notifyql"
)

// Snapshots computes topic snapshots from the stores, as JSON of the root package's
// types: notifyql.Totals for TopicTotals and []notifyql.TemplateStatistic for
// TopicTemplateStatistics, each keyed by the window in days ("0".."7");
// notifyql.NotificationDetail for TopicNotification, keyed by the notification id;
// []notifyql.Job for TopicUpcomingJobs, whose key is empty; notifyql.InboxPage (the first
// page with its summary) for TopicInbox, whose key is empty; and notifyql.ReportRequest
// for TopicReportRequest, keyed by the request id.
type Snapshots struct {
	Notifications notifyql.NotificationStore
	Jobs          notifyql.UpcomingJobStore
	Inbox         notifyql.InboxStore
	// Services supply the inbox's retention and summary.
	Services notifyql.ServiceStore
	London   *time.Location
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ Snapshotter = (*Snapshots)(nil)

// Snapshot returns t's current snapshot. It returns EINVALID for a malformed key and for
// kinds that are not live yet, and the store's errors wrapped.
func (s *Snapshots) Snapshot(ctx context.Context, t notifyql.Topic) ([]byte, error) {
	var snapshot any
	switch t.Kind {
	case notifyql.TopicTotals, notifyql.TopicTemplateStatistics:
		rows, err := s.dashboardRows(ctx, t)
		if err != nil {
			return nil, err
		}
		if t.Kind == notifyql.TopicTotals {
			snapshot = notifyql.ComputeTotals(rows)
		} else {
			snapshot = notifyql.ComputeTemplateStatistics(rows)
		}
	case notifyql.TopicNotification:
		detail, err := s.notificationDetail(ctx, t)
		if err != nil {
			return nil, err
		}
		snapshot = detail
	case notifyql.TopicUpcomingJobs:
		if t.Key != "" {
			return nil, notifyql.Errorf(notifyql.EINVALID, "an upcoming jobs topic has no key")
		}
		jobs, err := s.Jobs.UpcomingJobs(ctx, t.ServiceID, s.now())
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", t, err)
		}
		snapshot = jobs
	case notifyql.TopicInbox:
		if t.Key != "" {
			return nil, notifyql.Errorf(notifyql.EINVALID, "an inbox topic has no key")
		}
		page, err := notifyql.ReadInbox(ctx, s.Inbox, s.Services, t.ServiceID, notifyql.InboxPageSize, 0, s.now(), s.London)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", t, err)
		}
		snapshot = page
	case notifyql.TopicReportRequest:
		request, err := s.Inbox.ReportRequest(ctx, t.Key)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", t, err)
		}
		// The topic names the service too: a request of another service is not found.
		if request.ServiceID != t.ServiceID {
			return nil, notifyql.Errorf(notifyql.ENOTFOUND, "report request not found")
		}
		snapshot = request
	default:
		return nil, notifyql.Errorf(notifyql.EINVALID, "topic kind %q is not live yet", t.Kind)
	}
	encoded, err := json.Marshal(snapshot)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot of %s: %w", t, err)
	}
	return encoded, nil
}

// dashboardRows loads the DOMAIN.md §5.1 rows of the topic's window: today and the
// `days` London dates before it.
func (s *Snapshots) dashboardRows(ctx context.Context, t notifyql.Topic) ([]notifyql.StatusCount, error) {
	days, err := WindowDays(t.Key)
	if err != nil {
		return nil, err
	}
	now := s.now()
	from := notifyql.LondonDate(now, s.London).AddDays(-days)
	rows, err := s.Notifications.StatusCounts(ctx, t.ServiceID, from, now)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", t, err)
	}
	return rows, nil
}

// WindowDays reads a dashboard topic's key: the window in days written without sign or
// leading zero ("0".."7"), so that one window always has one topic name.
func WindowDays(key string) (int, error) {
	days, err := strconv.Atoi(key)
	if err != nil || strconv.Itoa(days) != key {
		return 0, notifyql.Errorf(notifyql.EINVALID, "a dashboard topic's key must be its window in days")
	}
	if err := notifyql.ValidateDays(days); err != nil {
		return 0, err
	}
	return days, nil
}

func (s *Snapshots) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// notificationDetail loads the topic's notification with its status history. A
// notification of another service than the topic's is not found: the topic names both.
func (s *Snapshots) notificationDetail(ctx context.Context, t notifyql.Topic) (*notifyql.NotificationDetail, error) {
	n, err := s.Notifications.Notification(ctx, t.Key)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", t, err)
	}
	if n.ServiceID != t.ServiceID {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	history, err := s.Notifications.StatusHistory(ctx, []string{n.ID})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", t, err)
	}
	return &notifyql.NotificationDetail{Notification: n, StatusHistory: history[n.ID]}, nil
}
