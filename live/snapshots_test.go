package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
)

// statusCountsStore answers StatusCounts from fixed rows and records the window asked for.
type statusCountsStore struct {
	notifyql.NotificationStore
	rows      []notifyql.StatusCount
	serviceID string
	from      notifyql.Date
}

func (s *statusCountsStore) StatusCounts(_ context.Context, serviceID string, from notifyql.Date, _ time.Time) ([]notifyql.StatusCount, error) {
	s.serviceID, s.from = serviceID, from
	return s.rows, nil
}

func TestSnapshots(t *testing.T) {
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	rows := []notifyql.StatusCount{
		{TemplateID: "t1", Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Count: 3},
		{TemplateID: "t2", Type: notifyql.TypeSMS, Status: notifyql.StatusPermanentFailure, Count: 5},
		{TemplateID: "t2", Type: notifyql.TypeSMS, Status: notifyql.StatusCancelled, Count: 9},
	}
	store := &statusCountsStore{rows: rows}
	// 23:30 UTC on 2026-07-14 is 00:30 on 15 July in London (BST).
	now := time.Date(2026, 7, 14, 23, 30, 0, 0, time.UTC)
	snaps := &Snapshots{Notifications: store, London: london, Now: func() time.Time { return now }}
	ctx := t.Context()

	encoded, err := snaps.Snapshot(ctx, totalsTopic(serviceA, "7"))
	if err != nil {
		t.Fatal(err)
	}
	var totals notifyql.Totals
	if err := json.Unmarshal(encoded, &totals); err != nil {
		t.Fatalf("decode %s: %v", encoded, err)
	}
	if diff := cmp.Diff(notifyql.ComputeTotals(rows), totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if want := (notifyql.Date{Year: 2026, Month: time.July, Day: 8}); store.from != want || store.serviceID != serviceA {
		t.Errorf("asked for %s from %v, want %s from %v (London today minus 7)", store.serviceID, store.from, serviceA, want)
	}

	encoded, err = snaps.Snapshot(ctx, notifyql.Topic{Kind: notifyql.TopicTemplateStatistics, ServiceID: serviceA, Key: "0"})
	if err != nil {
		t.Fatal(err)
	}
	var stats []notifyql.TemplateStatistic
	if err := json.Unmarshal(encoded, &stats); err != nil {
		t.Fatalf("decode %s: %v", encoded, err)
	}
	if diff := cmp.Diff(notifyql.ComputeTemplateStatistics(rows), stats); diff != "" {
		t.Errorf("template statistics (-want +got):\n%s", diff)
	}
	if want := (notifyql.Date{Year: 2026, Month: time.July, Day: 15}); store.from != want {
		t.Errorf("asked from %v, want London today %v", store.from, want)
	}

	store.rows = nil
	encoded, err = snaps.Snapshot(ctx, notifyql.Topic{Kind: notifyql.TopicTemplateStatistics, ServiceID: serviceA, Key: "1"})
	if err != nil || string(encoded) != "[]" {
		t.Errorf("no rows: %s, %v; want []", encoded, err)
	}

	again, _ := snaps.Snapshot(ctx, totalsTopic(serviceA, "7"))
	store.rows = rows
	twice, _ := snaps.Snapshot(ctx, totalsTopic(serviceA, "7"))
	thrice, _ := snaps.Snapshot(ctx, totalsTopic(serviceA, "7"))
	if string(twice) != string(thrice) || string(again) == string(twice) {
		t.Errorf("encoding is not a function of the rows: %s / %s / %s", again, twice, thrice)
	}
}

func TestSnapshotsRejectBadTopics(t *testing.T) {
	snaps := &Snapshots{Notifications: &statusCountsStore{}, London: time.UTC}
	for _, topic := range []notifyql.Topic{
		totalsTopic(serviceA, "8"),
		totalsTopic(serviceA, "-1"),
		totalsTopic(serviceA, "07"),
		totalsTopic(serviceA, "+7"),
		totalsTopic(serviceA, ""),
		{Kind: notifyql.TopicInbox, ServiceID: serviceA, Key: "1"},
		{Kind: notifyql.TopicUpcomingJobs, ServiceID: serviceA, Key: "7"},
		{Kind: "nonsense", ServiceID: serviceA},
	} {
		if _, err := snaps.Snapshot(t.Context(), topic); notifyql.ErrorCode(err) != notifyql.EINVALID {
			t.Errorf("Snapshot(%s) error = %v, want EINVALID", topic, err)
		}
	}
}

// detailStore answers one notification and its history, and upcoming jobs.
type detailStore struct {
	notifyql.NotificationStore
	n       *notifyql.Notification
	history []notifyql.StatusChange
	jobs    []*notifyql.Job
	asked   time.Time
}

func (s *detailStore) Notification(_ context.Context, id string) (*notifyql.Notification, error) {
	if s.n == nil || id != s.n.ID {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	return s.n, nil
}

func (s *detailStore) StatusHistory(_ context.Context, ids []string) (map[string][]notifyql.StatusChange, error) {
	return map[string][]notifyql.StatusChange{s.n.ID: s.history}, nil
}

func (s *detailStore) UpcomingJobs(_ context.Context, _ string, now time.Time) ([]*notifyql.Job, error) {
	s.asked = now
	return s.jobs, nil
}

func TestNotificationAndUpcomingJobsSnapshots(t *testing.T) {
	at := time.Date(2026, 7, 14, 9, 0, 0, 0, time.UTC)
	n := &notifyql.Notification{ID: serviceB, ServiceID: serviceA, Status: notifyql.StatusDelivered, CreatedAt: at}
	store := &detailStore{
		n:       n,
		history: []notifyql.StatusChange{{Status: notifyql.StatusCreated, At: at}, {Status: notifyql.StatusDelivered, At: at.Add(time.Minute)}},
		jobs:    []*notifyql.Job{{ID: "j1", ServiceID: serviceA, Status: "scheduled", ScheduledFor: &at}},
	}
	snaps := &Snapshots{Notifications: store, Jobs: store, London: time.UTC, Now: func() time.Time { return at }}

	encoded, err := snaps.Snapshot(t.Context(), notifyql.Topic{Kind: notifyql.TopicNotification, ServiceID: serviceA, Key: n.ID})
	if err != nil {
		t.Fatal(err)
	}
	var detail notifyql.NotificationDetail
	if err := json.Unmarshal(encoded, &detail); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(notifyql.NotificationDetail{Notification: n, StatusHistory: store.history}, detail); diff != "" {
		t.Errorf("notification detail (-want +got):\n%s", diff)
	}
	// The topic names the service too: another service's topic does not find it.
	_, err = snaps.Snapshot(t.Context(), notifyql.Topic{Kind: notifyql.TopicNotification, ServiceID: serviceB, Key: n.ID})
	if notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		t.Errorf("another service's topic: %v, want ENOTFOUND", err)
	}

	encoded, err = snaps.Snapshot(t.Context(), notifyql.Topic{Kind: notifyql.TopicUpcomingJobs, ServiceID: serviceA})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []*notifyql.Job
	if err := json.Unmarshal(encoded, &jobs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.jobs, jobs); diff != "" || !store.asked.Equal(at) {
		t.Errorf("upcoming jobs (-want +got), asked at %v:\n%s", store.asked, diff)
	}
}

// inboxStore answers one inbox page and one report request, and records what was asked.
type inboxStore struct {
	notifyql.ServiceStore
	page         notifyql.InboxPage
	request      notifyql.ReportRequest
	since        time.Time
	summarySince time.Time
}

func (s *inboxStore) InboxPage(_ context.Context, _ string, since time.Time, first, offset int) (*notifyql.InboxPage, error) {
	s.since = since
	page := s.page
	return &page, nil
}

func (s *inboxStore) ReportRequest(_ context.Context, id string) (*notifyql.ReportRequest, error) {
	if id != s.request.ID {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "report request not found")
	}
	request := s.request
	return &request, nil
}

// The snapshots never look rows up by id in bulk: node(id) does, through the resolvers.
func (s *inboxStore) ReportRequestsByIDs(context.Context, []string) ([]*notifyql.ReportRequest, error) {
	return nil, errors.New("not used by the snapshots")
}

func (s *inboxStore) InboundTextsByIDs(context.Context, []string) ([]*notifyql.InboxMessage, error) {
	return nil, errors.New("not used by the snapshots")
}

func (s *inboxStore) RetentionByServiceIDs(_ context.Context, ids []string) (map[string]notifyql.Retention, error) {
	return map[string]notifyql.Retention{ids[0]: {notifyql.TypeSMS: 30}}, nil
}

func (s *inboxStore) InboxSummariesByServiceIDs(_ context.Context, ids []string, since time.Time) (map[string]notifyql.InboxSummary, error) {
	s.summarySince = since
	return map[string]notifyql.InboxSummary{ids[0]: {Count: 2}}, nil
}

func TestInboxAndReportRequestSnapshots(t *testing.T) {
	at := time.Date(2026, 7, 14, 9, 0, 0, 0, time.UTC)
	number := "07700900500"
	store := &inboxStore{
		page:    notifyql.InboxPage{Messages: []*notifyql.InboxMessage{{ID: "m1", UserNumber: "447700900111", Content: "Hi", CreatedAt: at}}, InboundNumber: &number},
		request: notifyql.ReportRequest{ID: serviceB, ServiceID: serviceA, UserID: "u1", Status: notifyql.ReportInProgress, NotificationType: notifyql.TypeSMS, NotificationStatus: notifyql.ReportOfAll, CreatedAt: at},
	}
	snaps := &Snapshots{Inbox: store, Services: store, London: time.UTC, Now: func() time.Time { return at }}

	encoded, err := snaps.Snapshot(t.Context(), notifyql.Topic{Kind: notifyql.TopicInbox, ServiceID: serviceA})
	if err != nil {
		t.Fatal(err)
	}
	var page notifyql.InboxPage
	if err := json.Unmarshal(encoded, &page); err != nil {
		t.Fatal(err)
	}
	want := store.page
	want.Summary = notifyql.InboxSummary{Count: 2}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	// Messages within the SMS retention (30 days here); the summary always covers 7.
	if wantSince := time.Date(2026, 6, 14, 0, 0, 0, 0, time.UTC); !store.since.Equal(wantSince) {
		t.Errorf("inbox since %v, want %v", store.since, wantSince)
	}
	if wantSince := time.Date(2026, 7, 7, 0, 0, 0, 0, time.UTC); !store.summarySince.Equal(wantSince) {
		t.Errorf("summary since %v, want %v", store.summarySince, wantSince)
	}

	encoded, err = snaps.Snapshot(t.Context(), notifyql.Topic{Kind: notifyql.TopicReportRequest, ServiceID: serviceA, Key: serviceB})
	if err != nil {
		t.Fatal(err)
	}
	var request notifyql.ReportRequest
	if err := json.Unmarshal(encoded, &request); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.request, request); diff != "" {
		t.Errorf("report request (-want +got):\n%s", diff)
	}
	_, err = snaps.Snapshot(t.Context(), notifyql.Topic{Kind: notifyql.TopicReportRequest, ServiceID: serviceB, Key: serviceB})
	if notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		t.Errorf("another service's topic: %v, want ENOTFOUND", err)
	}
}

// dashboardStore answers StatusCounts and StatusCountsByService from rows made up per
// service and window, counts both, and fails the batched call while failFrom says so.
// Its other methods are the embedded store's.
type dashboardStore struct {
	notifyql.NotificationStore

	mu       sync.Mutex
	single   int
	batches  [][]string // the ids of each StatusCountsByService call
	failFrom func(from notifyql.Date) bool
}

// dashboardRowsOf is made-up data that differs by service and by window.
func dashboardRowsOf(serviceID string, from notifyql.Date) []notifyql.StatusCount {
	n := int64(from.Day) + int64(serviceID[7]-'0')
	template := "7e000000-0000-4000-8000-" + serviceID[:12]
	return []notifyql.StatusCount{
		{TemplateID: template, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Count: n},
		{TemplateID: template, Type: notifyql.TypeSMS, Status: notifyql.StatusPermanentFailure, Count: n % 7},
		{TemplateID: template, Type: notifyql.TypeSMS, Status: notifyql.StatusSending, Count: 3},
	}
}

func (s *dashboardStore) StatusCounts(_ context.Context, serviceID string, from notifyql.Date, _ time.Time) ([]notifyql.StatusCount, error) {
	s.mu.Lock()
	s.single++
	s.mu.Unlock()
	return dashboardRowsOf(serviceID, from), nil
}

func (s *dashboardStore) StatusCountsByService(_ context.Context, ids []string, from notifyql.Date, _ time.Time) (map[string][]notifyql.StatusCount, error) {
	s.mu.Lock()
	s.batches = append(s.batches, slices.Clone(ids))
	fail := s.failFrom != nil && s.failFrom(from)
	s.mu.Unlock()
	if fail {
		return nil, errors.New("database is away")
	}
	rows := make(map[string][]notifyql.StatusCount, len(ids))
	for _, id := range ids {
		rows[id] = dashboardRowsOf(id, from)
	}
	return rows, nil
}

// calls returns the StatusCounts calls and the StatusCountsByService calls' ids so far,
// and forgets them.
func (s *dashboardStore) calls() (single int, batches [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	single, batches = s.single, s.batches
	s.single, s.batches = 0, nil
	return single, batches
}

func testService(i int) string { return fmt.Sprintf("5e%06d-0000-4000-8000-000000000000", i) }

func TestSnapshotManyMatchesSnapshot(t *testing.T) {
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 7, 14, 23, 30, 0, 0, time.UTC)
	n := &notifyql.Notification{ID: serviceB, ServiceID: serviceA, Status: notifyql.StatusDelivered, CreatedAt: at}
	detail := &detailStore{n: n, jobs: []*notifyql.Job{{ID: "j1", ServiceID: serviceA, Status: "scheduled", ScheduledFor: &at}}}
	store := &dashboardStore{NotificationStore: detail}
	snaps := &Snapshots{Notifications: store, Jobs: detail, London: london, Now: func() time.Time { return at }}

	topics := make(map[string]notifyql.Topic)
	add := func(t notifyql.Topic) { topics[t.String()] = t }
	for i := range 20 {
		add(totalsTopic(testService(i), "7"))
		add(notifyql.Topic{Kind: notifyql.TopicTemplateStatistics, ServiceID: testService(i), Key: "7"})
		if i%2 == 0 {
			add(totalsTopic(testService(i), "0"))
		}
	}
	add(notifyql.Topic{Kind: notifyql.TopicNotification, ServiceID: serviceA, Key: n.ID})
	add(notifyql.Topic{Kind: notifyql.TopicNotification, ServiceID: serviceB, Key: n.ID}) // another service's: not found
	add(notifyql.Topic{Kind: notifyql.TopicUpcomingJobs, ServiceID: serviceA})
	add(totalsTopic(serviceA, "8"))                                               // no such window
	add(notifyql.Topic{Kind: "nonsense", ServiceID: serviceA})                    // not live
	add(notifyql.Topic{Kind: notifyql.TopicInbox, ServiceID: serviceA, Key: "1"}) // malformed

	got := snaps.SnapshotMany(t.Context(), topics, 4)
	single, batches := store.calls()
	if single != 0 {
		t.Errorf("SnapshotMany called StatusCounts %d times, want 0", single)
	}
	if len(batches) != 2 {
		t.Fatalf("SnapshotMany made %d batched calls, want 2 (windows 0 and 7): %v", len(batches), batches)
	}
	slices.SortFunc(batches, func(a, b []string) int { return len(a) - len(b) })
	if len(batches[0]) != 10 || len(batches[1]) != 20 {
		t.Errorf("batched calls asked for %d and %d services, want 10 and 20, each once", len(batches[0]), len(batches[1]))
	}
	if len(got) != len(topics) {
		t.Errorf("%d results for %d topics", len(got), len(topics))
	}
	for name, topic := range topics {
		want, wantErr := snaps.Snapshot(t.Context(), topic)
		result, ok := got[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if string(result.Payload) != string(want) || notifyql.ErrorCode(result.Err) != notifyql.ErrorCode(wantErr) || (result.Err == nil) != (wantErr == nil) {
			t.Errorf("%s: SnapshotMany = %s, %v; Snapshot = %s, %v", name, result.Payload, result.Err, want, wantErr)
		}
	}

	// A failing window fails its topics only.
	store.failFrom = func(from notifyql.Date) bool { return from.Day == 8 } // the 7-day window
	got = snaps.SnapshotMany(t.Context(), topics, 4)
	for name, topic := range topics {
		if !isDashboard(topic.Kind) || topic.Key == "8" {
			continue
		}
		if failed := got[name].Err != nil; failed != (topic.Key == "7") {
			t.Errorf("%s: error %v; want one only for the failing 7-day window", name, got[name].Err)
		}
	}
}

// gatedJobs is an upcoming-jobs store that records how many calls run at once.
type gatedJobs struct {
	mu            sync.Mutex
	running, most int
}

func (s *gatedJobs) UpcomingJobs(ctx context.Context, _ string, _ time.Time) ([]*notifyql.Job, error) {
	s.mu.Lock()
	s.running++
	s.most = max(s.most, s.running)
	s.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
	return nil, ctx.Err()
}

func TestSnapshotManyBoundsItsWorkers(t *testing.T) {
	jobs := &gatedJobs{}
	snaps := &Snapshots{Jobs: jobs, London: time.UTC}
	topics := make(map[string]notifyql.Topic)
	for i := range 12 {
		topic := notifyql.Topic{Kind: notifyql.TopicUpcomingJobs, ServiceID: testService(i)}
		topics[topic.String()] = topic
	}
	for name, result := range snaps.SnapshotMany(t.Context(), topics, 3) {
		if result.Err != nil || string(result.Payload) != "null" {
			t.Errorf("%s: %s, %v", name, result.Payload, result.Err)
		}
	}
	if jobs.most > 3 || jobs.most < 2 {
		t.Errorf("%d snapshots ran at once with 3 workers", jobs.most)
	}

	// Once ctx is done nothing more starts, and every topic still gets a result.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	results := snaps.SnapshotMany(ctx, topics, 3)
	if len(results) != len(topics) {
		t.Fatalf("%d results for %d topics after cancel", len(results), len(topics))
	}
	for name, result := range results {
		if !errors.Is(result.Err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, result.Err)
		}
	}
}
