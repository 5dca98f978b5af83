package live

import (
	"context"
	"encoding/json"
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
