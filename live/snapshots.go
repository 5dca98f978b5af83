package live

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
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
	return s.snapshotAt(ctx, t, s.now())
}

// SnapshotMany returns each topic's snapshot as Snapshot would, all at one reading of the
// clock. The dashboard topics (totals and template statistics) of one window share one
// StatusCountsByService query for all their services, and a service's totals and
// template statistics of a window come from the same rows; the other kinds take a query
// or a few each, as in Snapshot. At most workers of these (a window's query or another
// topic's) run at once; once ctx is done no more start, and the topics left get ctx's
// error.
func (s *Snapshots) SnapshotMany(ctx context.Context, topics map[string]notifyql.Topic, workers int) map[string]SnapshotResult {
	var mu sync.Mutex
	results := make(map[string]SnapshotResult, len(topics))
	set := func(name string, payload []byte, err error) {
		mu.Lock()
		results[name] = SnapshotResult{Payload: payload, Err: err}
		mu.Unlock()
	}
	now := s.now()
	windows := make(map[int]map[string]notifyql.Topic)
	var others []string
	for name, t := range topics {
		if !isDashboard(t.Kind) {
			others = append(others, name)
			continue
		}
		days, err := WindowDays(t.Key)
		if err != nil {
			results[name] = SnapshotResult{Err: err}
			continue
		}
		if windows[days] == nil {
			windows[days] = make(map[string]notifyql.Topic)
		}
		windows[days][name] = t
	}
	var jobs []func()
	for _, days := range slices.Sorted(maps.Keys(windows)) {
		jobs = append(jobs, func() { s.dashboardSnapshots(ctx, days, now, windows[days], set) })
	}
	slices.Sort(others)
	for _, name := range others {
		jobs = append(jobs, func() {
			payload, err := s.snapshotAt(ctx, topics[name], now)
			set(name, payload, err)
		})
	}
	runBounded(ctx, max(workers, 1), jobs)
	if err := ctx.Err(); err != nil {
		for name := range topics {
			if _, ok := results[name]; !ok {
				results[name] = SnapshotResult{Err: err}
			}
		}
	}
	return results
}

// dashboardSnapshots computes one window's dashboard topics from one query for all their
// services, and hands each to set.
func (s *Snapshots) dashboardSnapshots(ctx context.Context, days int, now time.Time, topics map[string]notifyql.Topic, set func(name string, payload []byte, err error)) {
	var ids []string
	for _, t := range topics {
		ids = append(ids, t.ServiceID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	from := notifyql.WindowFirstDate(now, days, s.London)
	rows, err := s.Notifications.StatusCountsByService(ctx, ids, from, now)
	for name, t := range topics {
		if err != nil {
			set(name, nil, fmt.Errorf("snapshot %s: %w", t, err))
			continue
		}
		payload, encodeErr := encode(t, dashboardSnapshot(t.Kind, rows[t.ServiceID]))
		set(name, payload, encodeErr)
	}
}

// runBounded runs jobs, at most workers at once, and waits for them. Once ctx is done it
// starts no more.
func runBounded(ctx context.Context, workers int, jobs []func()) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, workers)
	for _, job := range jobs {
		if ctx.Err() != nil {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			job()
		})
	}
}

func isDashboard(kind notifyql.TopicKind) bool {
	return kind == notifyql.TopicTotals || kind == notifyql.TopicTemplateStatistics
}

// dashboardSnapshot is a dashboard topic's snapshot of its window's rows.
func dashboardSnapshot(kind notifyql.TopicKind, rows []notifyql.StatusCount) any {
	if kind == notifyql.TopicTotals {
		return notifyql.ComputeTotals(rows)
	}
	return notifyql.ComputeTemplateStatistics(rows)
}

// snapshotAt is Snapshot at the time now.
func (s *Snapshots) snapshotAt(ctx context.Context, t notifyql.Topic, now time.Time) ([]byte, error) {
	var snapshot any
	switch t.Kind {
	case notifyql.TopicTotals, notifyql.TopicTemplateStatistics:
		rows, err := s.dashboardRows(ctx, t, now)
		if err != nil {
			return nil, err
		}
		snapshot = dashboardSnapshot(t.Kind, rows)
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
		jobs, err := s.Jobs.UpcomingJobs(ctx, t.ServiceID, now)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", t, err)
		}
		snapshot = jobs
	case notifyql.TopicInbox:
		if t.Key != "" {
			return nil, notifyql.Errorf(notifyql.EINVALID, "an inbox topic has no key")
		}
		page, err := notifyql.ReadInbox(ctx, s.Inbox, s.Services, t.ServiceID, notifyql.InboxPageSize, 0, now, s.London)
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
	return encode(t, snapshot)
}

// encode is the JSON of t's snapshot.
func encode(t notifyql.Topic, snapshot any) ([]byte, error) {
	encoded, err := json.Marshal(snapshot)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot of %s: %w", t, err)
	}
	return encoded, nil
}

// dashboardRows loads the DOMAIN.md §5.1 rows of the topic's window: today and the
// `days` London dates before it.
func (s *Snapshots) dashboardRows(ctx context.Context, t notifyql.Topic, now time.Time) ([]notifyql.StatusCount, error) {
	days, err := WindowDays(t.Key)
	if err != nil {
		return nil, err
	}
	from := notifyql.WindowFirstDate(now, days, s.London)
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
