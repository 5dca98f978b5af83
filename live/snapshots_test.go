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
		{Kind: notifyql.TopicInbox, ServiceID: serviceA},
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
