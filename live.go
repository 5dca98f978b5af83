package notifyql

import (
	"fmt"
	"strings"
)

// TopicKind names what a live subscription watches (docs/live.md).
type TopicKind string

const (
	// TopicTotals is a service's dashboard totals; its key is the window in days.
	TopicTotals TopicKind = "totals"
	// TopicTemplateStatistics is a service's template statistics; its key is the window.
	TopicTemplateStatistics TopicKind = "template-statistics"
	// TopicInbox is a service's first inbox page and summary.
	TopicInbox TopicKind = "inbox"
	// TopicUpcomingJobs is a service's scheduled jobs.
	TopicUpcomingJobs TopicKind = "upcoming-jobs"
	// TopicNotification is one notification's detail; its key is the notification id.
	TopicNotification TopicKind = "notification"
	// TopicReportRequest is one report request; its key is the request id.
	TopicReportRequest TopicKind = "report-request"
)

// Topic is one live view of one service: everyone watching it gets the same snapshot.
// Topics carry ids and windows only, never personal data, since they travel through
// Redis channel names and logs.
type Topic struct {
	Kind      TopicKind
	ServiceID string
	Key       string
}

// String is the topic's name on the event bus: kind:service:key.
func (t Topic) String() string { return string(t.Kind) + ":" + t.ServiceID + ":" + t.Key }

// ParseTopic reads a topic name written by String.
func ParseTopic(s string) (Topic, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || !IsUUID(parts[1]) {
		return Topic{}, Errorf(EINVALID, "invalid topic %q", s)
	}
	return Topic{Kind: TopicKind(parts[0]), ServiceID: parts[1], Key: parts[2]}, nil
}

// Tables whose writes the change triggers report.
const (
	TableNotifications  = "notifications"
	TableInboundSMS     = "inbound_sms"
	TableJobs           = "jobs"
	TableReportRequests = "report_requests"
)

// Change is the hint one committed statement leaves for one service: which table it
// wrote and, up to a cap, which row ids. Events are hints; snapshots are the truth.
type Change struct {
	ServiceID string
	Table     string
	IDs       []string
	// More is set when the statement touched more rows than IDs lists.
	More bool
}

// Affects reports whether a change can alter a topic's snapshot (DOMAIN.md §17).
func (c Change) Affects(t Topic) bool {
	if c.ServiceID != t.ServiceID {
		return false
	}
	switch t.Kind {
	case TopicTotals, TopicTemplateStatistics:
		return c.Table == TableNotifications
	case TopicInbox:
		return c.Table == TableInboundSMS
	case TopicUpcomingJobs:
		return c.Table == TableJobs
	case TopicNotification:
		return c.Table == TableNotifications && (c.More || contains(c.IDs, t.Key))
	case TopicReportRequest:
		return c.Table == TableReportRequests && (c.More || contains(c.IDs, t.Key))
	}
	return false
}

func (c Change) String() string {
	return fmt.Sprintf("%s on %s (%d ids, more=%v)", c.Table, c.ServiceID, len(c.IDs), c.More)
}
