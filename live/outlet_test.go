package live

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"notifyql"
)

// fixedSnapshotter answers every topic with the payload the test set last.
type fixedSnapshotter struct {
	mu      sync.Mutex
	payload []byte
}

func (s *fixedSnapshotter) Snapshot(context.Context, notifyql.Topic) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payload, nil
}

func (s *fixedSnapshotter) SnapshotMany(ctx context.Context, topics map[string]notifyql.Topic, _ int) map[string]SnapshotResult {
	results := make(map[string]SnapshotResult, len(topics))
	for name, t := range topics {
		payload, err := s.Snapshot(ctx, t)
		results[name] = SnapshotResult{Payload: payload, Err: err}
	}
	return results
}

func totalsJSON(t *testing.T, requested int64) []byte {
	t.Helper()
	payload, err := json.Marshal(notifyql.Totals{Email: notifyql.TypeTotals{Requested: requested}})
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func receiveValue[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a value")
		}
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no value within 5s")
	}
	var zero T
	return zero
}

func receiveNoValue[T any](t *testing.T, ch <-chan T, why string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		t.Fatalf("%s: got %v (open=%v), want nothing", why, v, ok)
	case <-time.After(20 * time.Millisecond):
	}
}

func sameTotals(v *notifyql.Totals) *notifyql.Totals { return v }

// Value outlets receive the snapshot decoded once for all of them, converted by their own
// function; a snapshot that does not decode reaches none of them (they keep theirs), while
// subscribers of bytes still get it.
func TestValueOutletsShareOneDecodedSnapshot(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := &fixedSnapshotter{payload: totalsJSON(t, 1)}
	in := newInstance(newFakeRedis(), snap, Options{})
	topic := totalsTopic(serviceA, "0")

	a, b := NewOutlet(sameTotals), NewOutlet(func(v *notifyql.Totals) int64 { return v.Email.Requested })
	for _, out := range []Outlet{a, b} {
		if _, err := in.hub.Attach(ctx, topic, out, AccessInterest{}); err != nil {
			t.Fatal(err)
		}
	}
	raw := mustSubscribe(t, ctx, in.hub, topic)
	first := receiveValue(t, a.C()).Value
	if first.Email.Requested != 1 || receiveValue(t, b.C()).Value != 1 {
		t.Fatalf("first snapshot: got %+v, want email requested 1", first)
	}
	receive(t, raw)

	in.hub.Deliver(topic.String(), totalsJSON(t, 2))
	secondDelivery := receiveValue(t, a.C())
	second := secondDelivery.Value
	if second.Email.Requested != 2 || receiveValue(t, b.C()).Value != 2 {
		t.Fatalf("second snapshot: got %+v, want email requested 2", second)
	}
	receive(t, raw)
	other := NewOutlet(sameTotals)
	if _, err := in.hub.Attach(ctx, topic, other, AccessInterest{}); err != nil {
		t.Fatal(err)
	}
	late := receiveValue(t, other.C())
	if late.Value != second {
		t.Errorf("a later subscriber got %p, want the shared decoded snapshot %p", late.Value, second)
	}
	if late.Shared == nil || late.Shared != secondDelivery.Shared {
		t.Errorf("a later subscriber's Shared is %p, want the snapshot's %p", late.Shared, secondDelivery.Shared)
	}

	broken := []byte(`{"Email":"not totals"}`)
	in.hub.Deliver(topic.String(), broken)
	receiveNoValue(t, a.C(), "a snapshot that does not decode")
	receiveNoValue(t, b.C(), "a snapshot that does not decode")
	if got := receive(t, raw); string(got) != string(broken) {
		t.Errorf("bytes subscriber got %s, want the undecodable bytes", got)
	}

	cancel()
	for _, closed := range []func() bool{
		func() bool { _, ok := <-a.C(); return !ok },
		func() bool { _, ok := <-b.C(); return !ok },
	} {
		waitFor(t, closed)
	}
}

// A subscription whose first snapshot does not decode into its outlet's type is refused,
// and leaves nothing held.
func TestAttachRefusesAFirstSnapshotThatDoesNotFit(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for name, tt := range map[string]struct {
		payload []byte
		out     Outlet
	}{
		"does not decode":     {[]byte(`[1, 2]`), NewOutlet(sameTotals)},
		"another kind's type": {totalsJSON(t, 1), NewOutlet(func(p *notifyql.InboxPage) *notifyql.InboxPage { return p })},
	} {
		in := newInstance(newFakeRedis(), &fixedSnapshotter{payload: tt.payload}, Options{})
		if _, err := in.hub.Attach(ctx, totalsTopic(serviceA, "0"), tt.out, AccessInterest{}); err == nil {
			t.Errorf("%s: Attach succeeded, want an error", name)
		}
		if stats := in.hub.Stats(); stats.Subscribers != 0 || stats.Topics != 0 {
			t.Errorf("%s: the hub holds %+v after a refusal, want nothing", name, stats)
		}
	}
}

// Every kind's snapshot decodes into the type Snapshots encodes it from.
func TestDecodeSnapshotReadsWhatSnapshotsEncode(t *testing.T) {
	number := "07700900123"
	updated := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	for kind, value := range map[notifyql.TopicKind]any{
		notifyql.TopicTotals:             &notifyql.Totals{SMS: notifyql.TypeTotals{Requested: 3, Delivered: 2, ByStatus: []notifyql.StatusTally{{Status: notifyql.StatusDelivered, Count: 2}}}},
		notifyql.TopicTemplateStatistics: []notifyql.TemplateStatistic{{TemplateID: "t1", Count: 4}},
		notifyql.TopicNotification:       &notifyql.NotificationDetail{Notification: &notifyql.Notification{ID: "n1", Status: notifyql.StatusSending}},
		notifyql.TopicUpcomingJobs:       []notifyql.Job{{ID: "j1"}},
		notifyql.TopicInbox:              &notifyql.InboxPage{HasNext: true, InboundNumber: &number, Offset: 50},
		notifyql.TopicReportRequest:      &notifyql.ReportRequest{ID: "r1", UpdatedAt: &updated},
	} {
		payload, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeSnapshot(kind, payload)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		if diff := cmp.Diff(value, got); diff != "" {
			t.Errorf("%s decoded differently (-encoded +decoded):\n%s", kind, diff)
		}
	}
	if _, err := DecodeSnapshot("nonsense", []byte(`{}`)); notifyql.ErrorCode(err) != notifyql.EINVALID {
		t.Errorf("an unknown kind: got %v, want EINVALID", err)
	}
}

// detach ends one subscription at once: its outlet closes, and the topic is let go when it
// was the last.
func TestDetachEndsTheSubscription(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := newInstance(newFakeRedis(), &fixedSnapshotter{payload: totalsJSON(t, 1)}, Options{})
	out := NewOutlet(sameTotals)
	detach, err := in.hub.Attach(ctx, totalsTopic(serviceA, "0"), out, AccessInterest{})
	if err != nil {
		t.Fatal(err)
	}
	receiveValue(t, out.C())
	detach()
	if _, ok := <-out.C(); ok {
		t.Fatal("the outlet is open after detach")
	}
	if stats := in.hub.Stats(); stats.Subscribers != 0 || stats.Topics != 0 {
		t.Errorf("the hub holds %+v after detach, want nothing", stats)
	}
	if got := in.bus.count(in.bus.unsubscribes, totalsTopic(serviceA, "0").String()); got != 1 {
		t.Errorf("the bus was unsubscribed %d times, want 1", got)
	}
	detach() // a second call, or the context ending, changes nothing
	cancel()
}

// Shared computes a key once for every caller that arrives while it runs, and keeps the
// result; a nil result is computed again by the next caller.
func TestSharedComputesOncePerKey(t *testing.T) {
	var s Shared
	var calls sync.Map
	count := func(key string) func() any {
		return func() any {
			n, _ := calls.LoadOrStore(key, new(int64))
			*n.(*int64)++
			time.Sleep(10 * time.Millisecond) // let the others arrive while it runs
			return "rendered " + key
		}
	}
	var wg sync.WaitGroup
	for i := range 50 {
		key := []string{"a", "b"}[i%2]
		wg.Go(func() {
			if got := s.Do(t.Context(), key, count(key)); got != "rendered "+key {
				t.Errorf("Do(%s) = %v", key, got)
			}
		})
	}
	wg.Wait()
	for _, key := range []string{"a", "b"} {
		if n, _ := calls.Load(key); *n.(*int64) != 1 {
			t.Errorf("key %s computed %d times, want 1", key, *n.(*int64))
		}
	}

	// A computation that gives up (returns nil) is not kept, and a waiter computes itself.
	started, release := make(chan struct{}), make(chan struct{})
	go s.Do(t.Context(), "c", func() any {
		close(started)
		<-release
		return nil
	})
	<-started
	waited := make(chan any)
	go func() { waited <- s.Do(t.Context(), "c", func() any { return "second try" }) }()
	close(release)
	if got := <-waited; got != "second try" {
		t.Errorf("after a nil result, Do = %v, want the waiter's own result", got)
	}

	// A waiter whose context ends gets nil.
	blocked := make(chan struct{})
	defer close(blocked)
	go s.Do(t.Context(), "d", func() any { <-blocked; return "late" })
	time.Sleep(5 * time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got := s.Do(ctx, "d", func() any { return "never" }); got != nil && got != "never" {
		t.Errorf("a cancelled waiter got %v, want nil", got)
	}
}

// An outlet told to notify calls its reader back after each snapshot it queues and once
// when it closes, so that the reader needs no goroutine waiting on C: a snapshot the
// reader already has (the same bytes) queues nothing and calls nothing.
func TestOutletNotifiesItsReader(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := &fixedSnapshotter{payload: totalsJSON(t, 1)}
	in := newInstance(newFakeRedis(), snap, Options{})
	topic := totalsTopic(serviceA, "0")

	out := NewOutlet(sameTotals)
	var mu sync.Mutex
	// What the reader sees when called: a snapshot waiting, or the channel closed.
	var seen []string
	out.Notify(func() {
		mu.Lock()
		defer mu.Unlock()
		select {
		case d, ok := <-out.C():
			if !ok {
				seen = append(seen, "closed")
				return
			}
			seen = append(seen, fmt.Sprint(d.Value.Email.Requested))
		default:
			seen = append(seen, "nothing")
		}
	})
	if _, err := in.hub.Attach(ctx, topic, out, AccessInterest{}); err != nil {
		t.Fatal(err)
	}
	in.hub.Deliver(topic.String(), totalsJSON(t, 2))
	in.hub.Deliver(topic.String(), totalsJSON(t, 2))
	in.hub.Deliver(topic.String(), totalsJSON(t, 3))
	cancel()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && seen[len(seen)-1] == "closed"
	})
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"1", "2", "3", "closed"}, seen); diff != "" {
		t.Errorf("what the reader saw when called (-want +got):\n%s", diff)
	}
}
