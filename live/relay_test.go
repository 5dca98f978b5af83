package live

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"notifyql"
)

// dashboardRelay is a relay over a real Snapshots whose store is a dashboardStore, with
// totals and template statistics of services watched over the 7-day window and, for
// every other service, totals of today too: two windows.
type dashboardRelay struct {
	in     instance
	store  *dashboardStore
	snaps  *Snapshots
	topics map[string]notifyql.Topic
}

func newDashboardRelay(t *testing.T, services int) *dashboardRelay {
	t.Helper()
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 7, 14, 9, 0, 0, 0, time.UTC)
	r := &dashboardRelay{store: &dashboardStore{}, topics: make(map[string]notifyql.Topic)}
	r.snaps = &Snapshots{Notifications: r.store, London: london, Now: func() time.Time { return at }}
	r.in = newInstance(newFakeRedis(), r.snaps, Options{Tick: 10 * time.Millisecond})
	for i := range services {
		for _, topic := range []notifyql.Topic{
			totalsTopic(testService(i), "7"),
			{Kind: notifyql.TopicTemplateStatistics, ServiceID: testService(i), Key: "7"},
			totalsTopic(testService(i), "0"),
		} {
			if topic.Key == "0" && i%2 == 1 {
				continue
			}
			r.topics[topic.String()] = topic
		}
	}
	// Watched through the bus, as other instances' subscribers register them.
	if err := r.in.bus.Watch(t.Context(), slices.Collect(maps.Keys(r.topics)), time.Minute); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkPublished fails unless each topic's last published snapshot is what Snapshot
// computes for it one by one.
func (r *dashboardRelay) checkPublished(t *testing.T) {
	t.Helper()
	for name, topic := range r.topics {
		want, err := r.snaps.Snapshot(t.Context(), topic)
		if err != nil {
			t.Fatal(err)
		}
		r.in.bus.mu.Lock()
		got := r.in.bus.payloads[name]
		r.in.bus.mu.Unlock()
		if string(got) != string(want) {
			t.Errorf("%s: published %s, Snapshot computes %s", name, got, want)
		}
	}
	r.store.calls() // the one-by-one snapshots are not the relay's
}

func TestRelayTickBatchesDashboardTopics(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := newDashboardRelay(t, 60)
	ctx := t.Context()

	r.in.hub.Elected()
	r.in.hub.tick(ctx)
	single, batches := r.store.calls()
	if single != 0 || len(batches) != 2 {
		t.Fatalf("a tick over %d dashboard topics of 60 services and 2 windows made %d single and %d batched store calls, want 0 and 2",
			len(r.topics), single, len(batches))
	}
	slices.SortFunc(batches, func(a, b []string) int { return len(a) - len(b) })
	if len(batches[0]) != 30 || len(batches[1]) != 60 {
		t.Errorf("the batched calls asked for %d and %d services, want 30 (today) and 60 (7 days)", len(batches[0]), len(batches[1]))
	}
	r.checkPublished(t)
	if got := r.in.bus.batches; got != 1 {
		t.Errorf("the tick published in %d batches, want 1", got)
	}
	if s := r.in.hub.Stats(); s.Published != int64(len(r.topics)) || s.Recomputed != int64(len(r.topics)) {
		t.Errorf("stats = %+v, want %d recomputed and published", s, len(r.topics))
	}

	// Changes to a few services: still one query per window, for those services only.
	for _, i := range []int{3, 4, 5} {
		r.in.hub.Changed(notifyql.Change{ServiceID: testService(i), Table: notifyql.TableNotifications})
	}
	r.in.hub.tick(ctx)
	single, batches = r.store.calls()
	slices.SortFunc(batches, func(a, b []string) int { return len(a) - len(b) })
	if single != 0 || len(batches) != 2 || !slices.Equal(batches[0], []string{testService(4)}) ||
		!slices.Equal(batches[1], []string{testService(3), testService(4), testService(5)}) {
		t.Errorf("after changes to 3 services: %d single calls and batches %v; want 0, and [4] today and [3 4 5] over 7 days", single, batches)
	}
}

func TestRelayRetriesAFailedBatchNextTick(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := newDashboardRelay(t, 10)
	ctx := t.Context()
	// The 7-day window's query fails (London today is 14 July); today's works.
	r.store.failFrom = func(from notifyql.Date) bool { return from.Day == 7 }

	r.in.hub.Elected()
	r.in.hub.tick(ctx)
	var week, today []string
	for name, topic := range r.topics {
		if topic.Key == "7" {
			week = append(week, name)
		} else {
			today = append(today, name)
		}
	}
	for _, name := range week {
		if got := r.in.bus.count(r.in.bus.published, name); got != 0 {
			t.Errorf("%s published %d times while its query fails", name, got)
		}
	}
	for _, name := range today {
		if got := r.in.bus.count(r.in.bus.published, name); got != 1 {
			t.Errorf("%s published %d times, want 1: its window's query works", name, got)
		}
	}
	r.store.calls()

	r.store.mu.Lock()
	r.store.failFrom = nil
	r.store.mu.Unlock()
	waitFor(t, func() bool {
		r.in.hub.tick(ctx)
		return r.in.bus.count(r.in.bus.published, week[0]) == 1
	})
	for _, name := range week {
		if got := r.in.bus.count(r.in.bus.published, name); got != 1 {
			t.Errorf("%s published %d times after the retry, want 1", name, got)
		}
	}
	for _, name := range today {
		if got := r.in.bus.count(r.in.bus.published, name); got != 1 {
			t.Errorf("%s published %d times, want 1: the retry is the failed window's only", name, got)
		}
	}
	single, batches := r.store.calls()
	if single != 0 || len(batches) != 1 || len(batches[0]) != 10 {
		t.Errorf("the retry made %d single calls and batches %v, want one batch of the 10 services", single, batches)
	}
	r.checkPublished(t)
	if got := r.in.hub.Stats().Published; got != int64(len(r.topics)) {
		t.Errorf("published %d, want %d", got, len(r.topics))
	}
}

func TestRelayRetriesOnlyTheFailedPublish(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	relay := newInstance(redis, snap, Options{Tick: 10 * time.Millisecond})
	other := newInstance(redis, snap, Options{})
	refused := totalsTopic(serviceA, "7")
	fine := []notifyql.Topic{totalsTopic(serviceA, "0"), totalsTopic(serviceB, "7")}
	refusedCh := mustSubscribe(t, ctx, other.hub, refused)
	receive(t, refusedCh)
	for _, topic := range fine {
		mustSubscribe(t, ctx, other.hub, topic)
	}

	relay.bus.mu.Lock()
	relay.bus.failTopics[refused.String()] = true
	relay.bus.mu.Unlock()
	snap.write(serviceA)
	relay.hub.Elected()
	relay.hub.tick(ctx)
	if got := relay.bus.count(relay.bus.published, refused.String()); got != 0 {
		t.Fatalf("refused topic published %d times", got)
	}
	for _, topic := range fine {
		if got := relay.bus.count(relay.bus.published, topic.String()); got != 1 {
			t.Errorf("%s published %d times, want 1", topic, got)
		}
	}
	if got := relay.hub.Stats().Published; got != 2 {
		t.Errorf("Stats.Published = %d after one refused publish of 3, want 2", got)
	}
	receiveNothing(t, refusedCh)

	relay.bus.mu.Lock()
	relay.bus.failTopics = map[string]bool{}
	relay.bus.mu.Unlock()
	snap.reset()
	waitFor(t, func() bool {
		relay.hub.tick(ctx)
		return relay.bus.count(relay.bus.published, refused.String()) == 1
	})
	if got := string(receive(t, refusedCh)); got != want(refused, 1) {
		t.Errorf("after the retry: %s, want %s", got, want(refused, 1))
	}
	for _, topic := range fine {
		if got := relay.bus.count(relay.bus.published, topic.String()); got != 1 {
			t.Errorf("%s published %d times, want 1: only the refused topic is retried", topic, got)
		}
		if got := snap.callsOf(topic); got != 0 {
			t.Errorf("%s recomputed %d times by the retry, want 0", topic, got)
		}
	}
	if got := relay.hub.Stats().Published; got != 3 {
		t.Errorf("Stats.Published = %d, want 3", got)
	}
	cancel()
	waitFor(t, func() bool { return other.hub.Stats().Topics == 0 })
}

func TestRelayTreatsAMissingResultAsAFailure(t *testing.T) {
	ctx := t.Context()
	in := newInstance(newFakeRedis(), forgetfulSnapshotter{newCountingSnapshotter()}, Options{})
	topic := totalsTopic(serviceA, "7")
	snapshots, failed := in.hub.recompute(ctx, map[string]notifyql.Topic{topic.String(): topic})
	if len(snapshots) != 0 || failed[topic.String()] != topic {
		t.Errorf("recompute = %v, %v; want the topic to retry", snapshots, failed)
	}
}

// forgetfulSnapshotter breaks the SnapshotMany contract: it returns no results.
type forgetfulSnapshotter struct{ *countingSnapshotter }

func (forgetfulSnapshotter) SnapshotMany(context.Context, map[string]notifyql.Topic, int) map[string]SnapshotResult {
	return nil
}

// A tick does not wait for its snapshots to reach Redis: the relay's own subscribers get
// them at once, the next tick recomputes while they are on their way, and publishes keep
// tick order, so another instance's subscribers never see a newer snapshot overtaken by
// an older one. The relay drops its own snapshots when they come back through the bus.
func TestRelayPublishesInTickOrderWithoutWaiting(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := newCountingSnapshotter()
	redis := newFakeRedis()
	in := newInstance(redis, snap, Options{})
	other := newInstance(redis, snap, Options{})
	topic := totalsTopic(serviceA, "0")
	here := mustSubscribe(t, ctx, in.hub, topic)
	there := mustSubscribe(t, ctx, other.hub, topic)
	receive(t, here)
	receive(t, there)
	in.hub.SetRelay(true)

	hold := make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	defer release()
	in.bus.mu.Lock()
	in.bus.hold = hold
	in.bus.mu.Unlock()
	first := snap.callsOf(topic) // each instance computed its first snapshot
	for version := 1; version <= 2; version++ {
		snap.write(serviceA)
		in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
		in.hub.step(ctx, true) // returns with the publish held
		if got := snap.callsOf(topic); got != first+version {
			t.Fatalf("tick %d: %d recomputes, want %d: a held publish must not stop the next tick", version, got-first, version)
		}
		if got := string(receive(t, here)); got != want(topic, version) {
			t.Fatalf("tick %d: the relay's own subscriber got %s, want %s at once", version, got, want(topic, version))
		}
	}
	receiveNothing(t, there)
	release()
	in.hub.awaitPublished()
	var last []byte
	for len(there) > 0 {
		last = receive(t, there)
	}
	if string(last) != want(topic, 2) {
		t.Errorf("the other instance's subscriber ends with %s, want the newer snapshot %s", last, want(topic, 2))
	}
	if got := in.bus.count(in.bus.published, topic.String()); got != 2 {
		t.Errorf("published %d times, want 2", got)
	}
	in.bus.mu.Lock()
	payload := in.bus.payloads[topic.String()]
	in.bus.mu.Unlock()
	if string(payload) != want(topic, 2) {
		t.Errorf("the last publish was %s, want %s (publishes out of order)", payload, want(topic, 2))
	}
	// The echoes of versions 1 and 2 came back to the relay after version 2 reached its
	// subscriber: neither may take it back to version 1.
	receiveNothing(t, here)
}

// The relay recomputes the topics of the watched list it read last while it reads the list
// again: a topic registered since then is still recomputed in the same tick, in a batch of
// its own once the fresh list has come.
func TestRelayRecomputesATopicRegisteredSinceItsLastRead(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := newDashboardRelay(t, 4)
	ctx := t.Context()
	r.in.hub.Elected()
	r.in.hub.tick(ctx)
	r.store.calls()

	late := totalsTopic(testService(9), "1")
	if err := r.in.bus.Watch(ctx, []string{late.String()}, time.Minute); err != nil {
		t.Fatal(err)
	}
	r.topics[late.String()] = late
	r.in.hub.Changed(notifyql.Change{ServiceID: testService(9), Table: notifyql.TableNotifications})
	r.in.hub.Changed(notifyql.Change{ServiceID: testService(2), Table: notifyql.TableNotifications})
	r.in.hub.tick(ctx)
	single, batches := r.store.calls()
	var two, nine int
	for _, batch := range batches {
		switch {
		case slices.Equal(batch, []string{testService(2)}):
			two++
		case slices.Equal(batch, []string{testService(9)}):
			nine++
		}
	}
	if single != 0 || len(batches) != 3 || two != 2 || nine != 1 {
		t.Errorf("got %d single calls and batches %v; want service 2's two windows from the list read before, and service 9's own batch", single, batches)
	}
	r.checkPublished(t)
}

func TestHintsWaitForTheirBurstAndATickAfterTheLastStep(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := newCountingSnapshotter()
	tick := 30 * time.Millisecond
	in := newInstance(newFakeRedis(), snap, Options{Tick: tick})
	topic := totalsTopic(serviceA, "7")
	mustSubscribe(t, ctx, in.hub, topic)
	in.hub.Elected()
	in.hub.tick(ctx)
	snap.reset()

	// A hint within a Tick of the relay's last step waits for the Tick to end.
	in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	if wait := in.hub.hintWait(time.Now()); wait <= 0 || wait > tick {
		t.Fatalf("a hint just after a step must wait for the rest of the tick: wait %v, tick %v", wait, tick)
	}
	in.hub.step(ctx, false)
	in.hub.awaitPublished()
	if got := snap.callsOf(topic); got != 0 {
		t.Fatalf("a step within a tick of the last took a hint: %d recomputes, want 0", got)
	}
	time.Sleep(tick)
	in.hub.step(ctx, false)
	in.hub.awaitPublished()
	if got := snap.callsOf(topic); got != 1 {
		t.Fatalf("a step a tick after the last left the hint: %d recomputes, want 1", got)
	}

	// After a quiet tick, a hint waits only a quarter tick, for the rest of its burst.
	snap.reset()
	time.Sleep(tick)
	in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	if wait := in.hub.hintWait(time.Now()); wait <= 0 || wait > tick/4 {
		t.Fatalf("a hint after a quiet tick waits %v, want up to a quarter tick (%v)", wait, tick/4)
	}
	in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	time.Sleep(tick / 4)
	if wait := in.hub.hintWait(time.Now()); wait != 0 {
		t.Fatalf("hints a quarter tick old still wait %v", wait)
	}
	in.hub.step(ctx, false)
	in.hub.awaitPublished()
	if got := snap.callsOf(topic); got != 1 {
		t.Fatalf("a burst of hints after a quiet tick: %d recomputes, want 1", got)
	}
	cancel()
	waitFor(t, func() bool { return in.hub.Stats().Topics == 0 })
}

func TestRunTakesAtMostOneHintStepATick(t *testing.T) {
	// However the hints are paced, steps keep the Tick's: hints every 2 ms never pause,
	// and hints every 30 ms pause for longer than the quarter tick that once ended a burst.
	for _, pace := range []time.Duration{2 * time.Millisecond, 30 * time.Millisecond} {
		t.Run(pace.String(), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			snap := newCountingSnapshotter()
			in := newInstance(newFakeRedis(), snap, Options{Tick: MaxTick})
			runDone := make(chan error, 1)
			go func() { runDone <- in.hub.Run(ctx) }()
			topic := totalsTopic(serviceA, "7")
			ch := mustSubscribe(t, ctx, in.hub, topic)
			receive(t, ch)
			in.hub.Elected()
			waitFor(t, func() bool { return snap.callsOf(topic) >= 2 }) // the election's resync
			snap.reset()

			start := time.Now()
			for time.Since(start) < time.Second {
				snap.write(serviceA)
				in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
				time.Sleep(pace)
			}
			elapsed := time.Since(start)
			// One step a tick: a span holds one more than its ticks at most, and one
			// clock step more if a hint step ran late.
			if got, most := snap.callsOf(topic), int(elapsed/MaxTick)+2; got > most || got == 0 {
				t.Errorf("%d recomputes over %v of hints every %v, want 1 to %d", got, elapsed, pace, most)
			}
			// The last hint's snapshot arrives: nothing is left behind.
			final := want(topic, snap.version(serviceA))
			for got := ""; got != final; {
				got = string(receive(t, ch))
			}
			cancel()
			if err := <-runDone; err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return in.hub.Stats().Topics == 0 })
		})
	}
}
