package live

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"notifyql"
)

const (
	serviceA = "11111111-1111-4111-8111-111111111111"
	serviceB = "22222222-2222-4222-8222-222222222222"
)

func totalsTopic(service, days string) notifyql.Topic {
	return notifyql.Topic{Kind: notifyql.TopicTotals, ServiceID: service, Key: days}
}

// fakeRedis is the shared pub/sub and watched set behind several fakeBus connections,
// one per hub (instance). Publish delivers synchronously, as Deliver never blocks.
type fakeRedis struct {
	mu      sync.Mutex
	conns   []*fakeBus
	watched map[string]time.Time
}

func newFakeRedis() *fakeRedis { return &fakeRedis{watched: make(map[string]time.Time)} }

// fakeBus is one instance's connection; it counts calls so tests can check reference
// counting and the relay's reads.
type fakeBus struct {
	redis *fakeRedis
	hub   *Hub

	mu           sync.Mutex
	subscribed   map[string]bool
	subscribes   map[string]int
	unsubscribes map[string]int
	published    map[string]int
	payloads     map[string][]byte // the last payload published per topic
	batches      int               // PublishMany calls
	watchedReads int
	failPublish  error
	failTopics   map[string]bool // topics whose publish fails
	failWatched  error
	// hold, when set, is waited on before each PublishMany: a slow Redis.
	hold chan struct{}
}

var _ Bus = (*fakeBus)(nil)

func (r *fakeRedis) connect() *fakeBus {
	b := &fakeBus{
		redis:        r,
		subscribed:   make(map[string]bool),
		subscribes:   make(map[string]int),
		unsubscribes: make(map[string]int),
		published:    make(map[string]int),
		payloads:     make(map[string][]byte),
		failTopics:   make(map[string]bool),
	}
	r.mu.Lock()
	r.conns = append(r.conns, b)
	r.mu.Unlock()
	return b
}

func (b *fakeBus) Publish(_ context.Context, topic string, payload []byte) error {
	b.mu.Lock()
	if b.failPublish != nil {
		b.mu.Unlock()
		return b.failPublish
	}
	if b.failTopics[topic] {
		b.mu.Unlock()
		return fmt.Errorf("publish %s: refused", topic)
	}
	b.published[topic]++
	b.payloads[topic] = payload
	b.mu.Unlock()
	b.deliver(topic, payload)
	return nil
}

// PublishMany publishes each snapshot in topic order, as one pipeline would.
func (b *fakeBus) PublishMany(ctx context.Context, snapshots map[string][]byte) ([]string, error) {
	b.mu.Lock()
	b.batches++
	hold := b.hold
	b.mu.Unlock()
	if hold != nil {
		<-hold
	}
	var failed []string
	var errs []error
	for _, topic := range slices.Sorted(maps.Keys(snapshots)) {
		if err := b.Publish(ctx, topic, snapshots[topic]); err != nil {
			failed = append(failed, topic)
			errs = append(errs, err)
		}
	}
	return failed, errors.Join(errs...)
}

// deliver hands payload to every connection subscribed to topic.
func (b *fakeBus) deliver(topic string, payload []byte) {
	b.redis.mu.Lock()
	conns := slices.Clone(b.redis.conns)
	b.redis.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		on := c.subscribed[topic]
		c.mu.Unlock()
		if on {
			c.hub.Deliver(topic, payload)
		}
	}
}

func (b *fakeBus) Subscribe(_ context.Context, topics ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		b.subscribed[t] = true
		b.subscribes[t]++
	}
	return nil
}

func (b *fakeBus) Unsubscribe(_ context.Context, topics ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		delete(b.subscribed, t)
		b.unsubscribes[t]++
	}
	return nil
}

func (b *fakeBus) Watch(_ context.Context, topics []string, ttl time.Duration) error {
	b.redis.mu.Lock()
	defer b.redis.mu.Unlock()
	for _, t := range topics {
		b.redis.watched[t] = time.Now().Add(ttl)
	}
	return nil
}

func (b *fakeBus) Watched(context.Context) ([]string, error) {
	b.mu.Lock()
	b.watchedReads++
	err := b.failWatched
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	b.redis.mu.Lock()
	defer b.redis.mu.Unlock()
	var names []string
	for t, expires := range b.redis.watched {
		if time.Now().Before(expires) {
			names = append(names, t)
		}
	}
	return names, nil
}

func (b *fakeBus) count(m map[string]int, topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return m[topic]
}

// countingSnapshotter plays the database: each service has a version that tests bump
// to "write", and it counts how often each topic was computed and how many batches.
type countingSnapshotter struct {
	mu       sync.Mutex
	versions map[string]int
	calls    map[string]int
	batches  int
	fail     error
}

func newCountingSnapshotter() *countingSnapshotter {
	return &countingSnapshotter{versions: make(map[string]int), calls: make(map[string]int)}
}

func (s *countingSnapshotter) Snapshot(_ context.Context, t notifyql.Topic) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[t.String()]++
	if s.fail != nil {
		return nil, s.fail
	}
	return fmt.Appendf(nil, `{"topic":%q,"version":%d}`, t, s.versions[t.ServiceID]), nil
}

// SnapshotMany computes each topic as Snapshot does.
func (s *countingSnapshotter) SnapshotMany(ctx context.Context, topics map[string]notifyql.Topic, _ int) map[string]SnapshotResult {
	s.mu.Lock()
	s.batches++
	s.mu.Unlock()
	results := make(map[string]SnapshotResult, len(topics))
	for name, t := range topics {
		payload, err := s.Snapshot(ctx, t)
		results[name] = SnapshotResult{Payload: payload, Err: err}
	}
	return results
}

func (s *countingSnapshotter) write(service string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[service]++
}

func (s *countingSnapshotter) version(service string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[service]
}

func (s *countingSnapshotter) callsOf(t notifyql.Topic) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[t.String()]
}

func (s *countingSnapshotter) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

func want(t notifyql.Topic, version int) string {
	return fmt.Sprintf(`{"topic":%q,"version":%d}`, t, version)
}

// Subscribe is Attach with a channel of the encoded snapshots, for tests that look at
// the bytes the hub hands out. It returns EINVALID for a malformed topic. Otherwise it returns a channel that
// receives t's current snapshot at once and then each new one, never the same bytes twice
// in a row. The channel holds only the latest snapshot: a slow reader skips intermediate
// ones, and one that takes nothing for SlowClientTimeout has its channel closed. The
// channel is also closed when ctx is done. The received slices are shared between
// subscribers and must not be modified.
func (h *Hub) Subscribe(ctx context.Context, t notifyql.Topic) (<-chan []byte, error) {
	out := make(bytesOutlet, 1)
	if _, err := h.Attach(ctx, t, out, AccessInterest{}); err != nil {
		return nil, err
	}
	return out, nil
}

// bytesOutlet carries the encoded snapshots themselves (Hub.Subscribe).
type bytesOutlet chan []byte

func (o bytesOutlet) put(s *snapshot) bool {
	select {
	case o <- s.payload:
		return true
	default:
		return false
	}
}

func (o bytesOutlet) take() bool {
	select {
	case <-o:
		return true
	default:
		return false
	}
}

func (o bytesOutlet) waiting() bool { return len(o) > 0 }
func (o bytesOutlet) close()        { close(o) }
func (o bytesOutlet) decodes() bool { return false }

// tick is one whole tick, as Run does it, publishing included.
func (h *Hub) tick(ctx context.Context) {
	h.step(ctx, true)
	h.awaitPublished()
}

// instance is one hub with its bus connection.
type instance struct {
	hub *Hub
	bus *fakeBus
}

func newInstance(r *fakeRedis, snap Snapshotter, opts Options) instance {
	bus := r.connect()
	hub := NewHub(bus, snap, nil, opts)
	bus.hub = hub
	return instance{hub: hub, bus: bus}
}

// receive takes one snapshot or fails after 5 s (generous: the machine may be busy).
func receive(t *testing.T, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case p, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a snapshot")
		}
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot within 5s")
	}
	return nil
}

// receiveNothing fails if a snapshot is waiting.
func receiveNothing(t *testing.T, ch <-chan []byte) {
	t.Helper()
	select {
	case p, ok := <-ch:
		t.Fatalf("got %q (open=%v), want nothing", p, ok)
	case <-time.After(20 * time.Millisecond):
	}
}

func mustSubscribe(t testing.TB, ctx context.Context, h *Hub, topic notifyql.Topic) <-chan []byte {
	t.Helper()
	ch, err := h.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("Subscribe(%s): %v", topic, err)
	}
	return ch
}

func TestFanOutSendsTheSameBytesToEverySubscriber(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := newCountingSnapshotter()
	in := newInstance(newFakeRedis(), snap, Options{})
	in.hub.Elected()
	topic := totalsTopic(serviceA, "7")

	var chans []<-chan []byte
	for range 100 {
		ch := mustSubscribe(t, ctx, in.hub, topic)
		if got := string(receive(t, ch)); got != want(topic, 0) {
			t.Fatalf("first snapshot = %s, want %s", got, want(topic, 0))
		}
		chans = append(chans, ch)
	}
	if got := snap.callsOf(topic); got != 1 {
		t.Errorf("first snapshots computed %d times, want 1 (later subscribers share the cached one)", got)
	}
	in.hub.tick(ctx) // the election's resync
	snap.write(serviceA)
	in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	in.hub.tick(ctx)

	first := receive(t, chans[0])
	if string(first) != want(topic, 1) {
		t.Fatalf("update = %s, want %s", first, want(topic, 1))
	}
	for i, ch := range chans[1:] {
		got := receive(t, ch)
		if &got[0] != &first[0] {
			t.Fatalf("subscriber %d got a copy, want the same bytes", i+1)
		}
	}
	if got := in.bus.count(in.bus.published, topic.String()); got != 2 {
		t.Errorf("published %d times, want 2 (election, change)", got)
	}
	if s := in.hub.Stats(); s.Subscribers != 100 || s.Topics != 1 || !s.Relay {
		t.Errorf("stats = %+v, want 100 subscribers on 1 topic, relay", s)
	}
	cancel()
	waitFor(t, func() bool { return in.hub.Stats().Subscribers == 0 })
}

func TestRelayRecomputesEachDirtyTopicOncePerTick(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	relay := newInstance(redis, snap, Options{})
	other := newInstance(redis, snap, Options{})

	totalsA := totalsTopic(serviceA, "7")
	todayA := totalsTopic(serviceA, "0")
	statsA := notifyql.Topic{Kind: notifyql.TopicTemplateStatistics, ServiceID: serviceA, Key: "7"}
	inboxA := notifyql.Topic{Kind: notifyql.TopicInbox, ServiceID: serviceA}
	totalsB := totalsTopic(serviceB, "7")
	// totalsA and statsA are watched here, todayA and totalsB only on the other instance:
	// the relay must find those through the bus's watched set.
	mustSubscribe(t, ctx, relay.hub, totalsA)
	mustSubscribe(t, ctx, relay.hub, statsA)
	mustSubscribe(t, ctx, other.hub, todayA)
	mustSubscribe(t, ctx, other.hub, totalsB)
	if err := relay.bus.Watch(ctx, []string{inboxA.String()}, time.Minute); err != nil {
		t.Fatal(err)
	}

	relay.hub.Elected()
	relay.hub.tick(ctx)
	snap.reset()
	readsBefore := relay.bus.watchedReads

	for i := range 1000 {
		relay.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications, IDs: []string{fmt.Sprint(i)}})
	}
	relay.hub.tick(ctx)

	for _, topic := range []notifyql.Topic{totalsA, todayA, statsA} {
		if got := snap.callsOf(topic); got != 1 {
			t.Errorf("%s recomputed %d times for 1,000 changes in one tick, want 1", topic, got)
		}
	}
	for _, topic := range []notifyql.Topic{totalsB, inboxA} {
		if got := snap.callsOf(topic); got != 0 {
			t.Errorf("%s recomputed %d times, want 0: no change affects it", topic, got)
		}
	}
	if got := relay.bus.watchedReads - readsBefore; got != 1 {
		t.Errorf("watched set read %d times in one tick, want 1", got)
	}
	if got := relay.hub.Stats().Published; got != 5+3 {
		t.Errorf("published %d, want 8 (5 watched topics at election, 3 after the changes)", got)
	}

	// A quiet tick does nothing at all.
	snap.reset()
	relay.hub.tick(ctx)
	if got := snap.callsOf(totalsA); got != 0 {
		t.Errorf("a quiet tick recomputed %d times", got)
	}
	cancel()
	waitFor(t, func() bool { return relay.hub.Stats().Topics == 0 && other.hub.Stats().Topics == 0 })
}

func TestNoUnchangedDuplicates(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := newCountingSnapshotter()
	in := newInstance(newFakeRedis(), snap, Options{})
	in.hub.Elected()
	topic := totalsTopic(serviceA, "7")
	ch := mustSubscribe(t, ctx, in.hub, topic)
	receive(t, ch)

	// The election's resync and changes that alter nothing publish the same bytes.
	in.hub.tick(ctx)
	for range 3 {
		in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
		in.hub.tick(ctx)
	}
	receiveNothing(t, ch)

	// A snapshot replaced by the one the reader already has is not sent again.
	a := []byte(want(topic, 0))
	in.hub.Deliver(topic.String(), []byte(want(topic, 5)))
	in.hub.Deliver(topic.String(), a)
	receiveNothing(t, ch)

	// A real change arrives exactly once.
	snap.write(serviceA)
	in.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	in.hub.tick(ctx)
	in.hub.Deliver(topic.String(), []byte(want(topic, 1)))
	if got := string(receive(t, ch)); got != want(topic, 1) {
		t.Fatalf("got %s, want %s", got, want(topic, 1))
	}
	receiveNothing(t, ch)
}

func TestSlowSubscriberGetsTheLatestAndIsClosed(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	snap := newCountingSnapshotter()
	in := newInstance(newFakeRedis(), snap, Options{Tick: 10 * time.Millisecond, SlowClientTimeout: 200 * time.Millisecond})
	topic := totalsTopic(serviceA, "7")
	slow := mustSubscribe(t, ctx, in.hub, topic)
	fast := mustSubscribe(t, ctx, in.hub, topic)
	receive(t, fast)

	runDone := make(chan error)
	go func() { runDone <- in.hub.Run(ctx) }()

	// Deliver never waits for the slow reader; the fast one sees every snapshot.
	for v := 1; v <= 100; v++ {
		in.hub.Deliver(topic.String(), []byte(want(topic, v)))
		if got := string(receive(t, fast)); got != want(topic, v) {
			t.Fatalf("fast reader got %s, want %s", got, want(topic, v))
		}
	}
	if got := len(slow); got != 1 {
		t.Fatalf("slow reader's queue holds %d, want 1", got)
	}
	if got := string(receive(t, slow)); got != want(topic, 100) {
		t.Fatalf("slow reader got %s, want the latest %s", got, want(topic, 100))
	}

	// Now it stops reading altogether: after the timeout it is closed, the other not.
	in.hub.Deliver(topic.String(), []byte(want(topic, 101)))
	receive(t, fast)
	start := time.Now()
	waitFor(t, func() bool { return in.hub.Stats().Drops == 1 })
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("closed after %v, want about 200ms", waited)
	}
	<-slow // the snapshot it never took
	if _, open := <-slow; open {
		t.Fatal("slow reader's channel is still open")
	}
	in.hub.Deliver(topic.String(), []byte(want(topic, 102)))
	if got := string(receive(t, fast)); got != want(topic, 102) {
		t.Fatalf("fast reader got %s after the drop, want %s", got, want(topic, 102))
	}
	if s := in.hub.Stats(); s.Subscribers != 1 || s.Coalesced < 99 {
		t.Errorf("stats = %+v, want 1 subscriber left and ≥ 99 coalesced", s)
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestTopicsAreReferenceCounted(t *testing.T) {
	defer goleak.VerifyNone(t)
	redis := newFakeRedis()
	in := newInstance(redis, newCountingSnapshotter(), Options{})
	topic := totalsTopic(serviceA, "7")
	name := topic.String()

	var cancels []context.CancelFunc
	var chans []<-chan []byte
	for range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		cancels = append(cancels, cancel)
		chans = append(chans, mustSubscribe(t, ctx, in.hub, topic))
	}
	if got := in.bus.count(in.bus.subscribes, name); got != 1 {
		t.Errorf("bus subscribed %d times for 3 subscribers, want 1", got)
	}
	if names, _ := in.bus.Watched(t.Context()); !slices.Contains(names, name) {
		t.Errorf("watched = %v, want %s registered", names, name)
	}
	for _, cancel := range cancels[:2] {
		cancel()
	}
	for _, ch := range chans[:2] {
		drainUntilClosed(t, ch)
	}
	if got := in.bus.count(in.bus.unsubscribes, name); got != 0 {
		t.Errorf("bus unsubscribed %d times with a subscriber left, want 0", got)
	}
	cancels[2]()
	drainUntilClosed(t, chans[2])
	waitFor(t, func() bool { return in.bus.count(in.bus.unsubscribes, name) == 1 })
	waitFor(t, func() bool { return in.hub.Stats().Topics == 0 })

	// Coming back subscribes again.
	ctx, cancel := context.WithCancel(t.Context())
	mustSubscribe(t, ctx, in.hub, topic)
	if got := in.bus.count(in.bus.subscribes, name); got != 2 {
		t.Errorf("bus subscribed %d times after coming back, want 2", got)
	}
	cancel()
	waitFor(t, func() bool { return in.bus.count(in.bus.unsubscribes, name) == 2 })
}

func TestSubscribeFailsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t)
	snap := newCountingSnapshotter()
	snap.fail = notifyql.Errorf(notifyql.EINVALID, "topic kind is not live yet")
	in := newInstance(newFakeRedis(), snap, Options{})
	topic := totalsTopic(serviceA, "7")
	if _, err := in.hub.Subscribe(t.Context(), topic); notifyql.ErrorCode(err) != notifyql.EINVALID {
		t.Fatalf("Subscribe error = %v, want EINVALID", err)
	}
	if got := in.bus.count(in.bus.unsubscribes, topic.String()); got != 1 {
		t.Errorf("bus unsubscribed %d times after the failure, want 1", got)
	}
	if s := in.hub.Stats(); s.Topics != 0 || s.Subscribers != 0 {
		t.Errorf("stats = %+v, want nothing held", s)
	}
}

func TestSubscribeRejectsMalformedTopics(t *testing.T) {
	in := newInstance(newFakeRedis(), newCountingSnapshotter(), Options{})
	if _, err := in.hub.Subscribe(t.Context(), totalsTopic("not-a-uuid", "7")); notifyql.ErrorCode(err) != notifyql.EINVALID {
		t.Fatalf("Subscribe error = %v, want EINVALID", err)
	}
	if got := len(in.bus.subscribes); got != 0 {
		t.Errorf("bus subscribed %d topics, want 0", got)
	}
}

func TestRelayKeepsHintsWhileTheWatchedSetIsUnreadable(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	relay := newInstance(redis, snap, Options{})
	other := newInstance(redis, snap, Options{})
	topic := totalsTopic(serviceB, "7")
	ch := mustSubscribe(t, ctx, other.hub, topic)
	receive(t, ch)

	relay.bus.mu.Lock()
	relay.bus.failWatched = errors.New("redis is away")
	relay.bus.mu.Unlock()
	relay.hub.Elected()
	snap.write(serviceB)
	relay.hub.Changed(notifyql.Change{ServiceID: serviceB, Table: notifyql.TableNotifications})
	relay.hub.tick(ctx)
	receiveNothing(t, ch)

	relay.bus.mu.Lock()
	relay.bus.failWatched = nil
	relay.bus.mu.Unlock()
	snap.reset()
	waitFor(t, func() bool {
		relay.hub.tick(ctx)
		return len(ch) == 1
	})
	if got := string(receive(t, ch)); got != want(topic, 1) {
		t.Errorf("got %s, want %s", got, want(topic, 1))
	}
	if got := snap.callsOf(topic); got != 1 {
		t.Errorf("recomputed %d times once the bus was back, want 1", got)
	}
}

func TestResyncAfterGaps(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	relay := newInstance(redis, snap, Options{})
	other := newInstance(redis, snap, Options{})
	here := totalsTopic(serviceA, "7")
	there := totalsTopic(serviceB, "3")
	hereCh := mustSubscribe(t, ctx, relay.hub, here)
	thereCh := mustSubscribe(t, ctx, other.hub, there)
	receive(t, hereCh)
	receive(t, thereCh)

	// Writes the relay never heard of (before its election): the election resends all.
	snap.write(serviceA)
	snap.write(serviceB)
	relay.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	relay.hub.tick(ctx)
	receiveNothing(t, hereCh)
	relay.hub.Elected()
	relay.hub.tick(ctx)
	if got := string(receive(t, hereCh)); got != want(here, 1) {
		t.Errorf("after election: %s, want %s", got, want(here, 1))
	}
	if got := string(receive(t, thereCh)); got != want(there, 1) {
		t.Errorf("after election, other instance: %s, want %s", got, want(there, 1))
	}

	// Hints lost while the listener reconnected.
	snap.write(serviceB)
	relay.hub.ListenerGap()
	relay.hub.tick(ctx)
	if got := string(receive(t, thereCh)); got != want(there, 2) {
		t.Errorf("after listener gap: %s, want %s", got, want(there, 2))
	}
	receiveNothing(t, hereCh)

	// A publish lost while Redis was away: the other instance recomputes its own topic
	// locally, once, without publishing.
	relay.bus.mu.Lock()
	relay.bus.failPublish = errors.New("redis is away")
	relay.bus.mu.Unlock()
	snap.write(serviceB)
	relay.hub.Changed(notifyql.Change{ServiceID: serviceB, Table: notifyql.TableNotifications})
	relay.hub.tick(ctx)
	receiveNothing(t, thereCh)
	snap.reset()
	// A restarted Redis lost the registry of watched topics: the gap registers them again.
	other.bus.redis.mu.Lock()
	clear(other.bus.redis.watched)
	other.bus.redis.mu.Unlock()
	other.hub.BusGap()
	other.hub.tick(ctx)
	if got := string(receive(t, thereCh)); got != want(there, 3) {
		t.Errorf("after bus gap: %s, want %s", got, want(there, 3))
	}
	if watched, err := other.bus.Watched(ctx); err != nil || !slices.Contains(watched, there.String()) {
		t.Errorf("after bus gap the watched set is %v (%v), want %s registered again", watched, err, there.String())
	}
	if got := snap.callsOf(there); got != 1 {
		t.Errorf("bus gap recomputed %d times, want 1", got)
	}
	if got := other.bus.count(other.bus.published, there.String()); got != 0 {
		t.Errorf("bus gap published %d times, want 0", got)
	}
	// The relay retries the failed publish once Redis is back.
	relay.bus.mu.Lock()
	relay.bus.failPublish = nil
	relay.bus.mu.Unlock()
	relay.hub.tick(ctx)
	if got := relay.bus.count(relay.bus.published, there.String()); got != 2 {
		t.Errorf("published %d times right after a failure, want 2: retries wait a tick", got)
	}
	waitFor(t, func() bool {
		relay.hub.tick(ctx)
		return relay.bus.count(relay.bus.published, there.String()) == 3
	})
	receiveNothing(t, thereCh) // the retry carries what the bus gap already delivered

	if got := relay.hub.Stats().Resyncs; got != 2 {
		t.Errorf("relay resyncs = %d, want 2", got)
	}
	if got := other.hub.Stats().Resyncs; got != 1 {
		t.Errorf("other resyncs = %d, want 1", got)
	}

	// Losing the relay role stops the relay work.
	relay.hub.SetRelay(false)
	snap.reset()
	relay.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	relay.hub.tick(ctx)
	if got := snap.callsOf(here); got != 0 {
		t.Errorf("a former relay recomputed %d times", got)
	}
}

func TestRunRelaysBetweenInstances(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	opts := Options{Tick: 10 * time.Millisecond}
	first := newInstance(redis, snap, opts)
	second := newInstance(redis, snap, opts)
	var wg sync.WaitGroup
	for _, in := range []instance{first, second} {
		wg.Go(func() {
			if err := in.hub.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	topic := totalsTopic(serviceA, "7")
	ch := mustSubscribe(t, ctx, second.hub, topic)
	receive(t, ch)

	first.hub.Elected()
	for v := 1; v <= 3; v++ {
		snap.write(serviceA)
		first.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
		if got := string(receive(t, ch)); got != want(topic, v) {
			t.Fatalf("got %s, want %s", got, want(topic, v))
		}
	}
	// Handover: the second instance becomes the relay.
	first.hub.SetRelay(false)
	second.hub.Elected()
	snap.write(serviceA)
	second.hub.Changed(notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications})
	if got := string(receive(t, ch)); got != want(topic, 4) {
		t.Fatalf("after handover got %s, want %s", got, want(topic, 4))
	}
	// The lag is recorded once the tick's publishing is over.
	waitFor(t, func() bool { return second.hub.Stats().RelayLagP99 > 0 })
	if lag := second.hub.Stats().RelayLagP99; lag > 5*time.Second {
		t.Errorf("relay lag p99 = %v, want a small positive duration", lag)
	}
	cancel()
	wg.Wait()
}

func TestSubscribeCompleteCyclesLeaveNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := newInstance(newFakeRedis(), newCountingSnapshotter(), Options{Tick: 10 * time.Millisecond})
	runDone := make(chan error)
	go func() { runDone <- in.hub.Run(ctx) }()
	in.hub.Elected()

	before := runtime.NumGoroutine()
	topics := []notifyql.Topic{totalsTopic(serviceA, "7"), totalsTopic(serviceB, "0")}
	for i := range 10_000 {
		subCtx, subCancel := context.WithCancel(ctx)
		ch := mustSubscribe(t, subCtx, in.hub, topics[i%2])
		receive(t, ch)
		subCancel()
		drainUntilClosed(t, ch)
	}
	// The last subscription's topic is let go on a goroutine of its own after its channel
	// closes; the relay's goroutines counted in before may have ended first.
	waitFor(t, func() bool {
		s := in.hub.Stats()
		return runtime.NumGoroutine() <= before && s.Subscribers == 0 && s.Topics == 0
	})
	cancel()
	if err := <-runDone; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestMergeChange(t *testing.T) {
	var merged notifyql.Change
	merged = mergeChange(merged, notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications, IDs: []string{"a"}})
	merged = mergeChange(merged, notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications, IDs: []string{"b"}})
	if !slices.Equal(merged.IDs, []string{"a", "b"}) || merged.More {
		t.Fatalf("merged = %+v, want ids a, b", merged)
	}
	for range maxMergedIDs {
		merged = mergeChange(merged, notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications, IDs: []string{"c"}})
	}
	if !merged.More || merged.IDs != nil {
		t.Fatalf("merged past the cap = %+v, want More and no ids", merged)
	}
	merged = mergeChange(merged, notifyql.Change{ServiceID: serviceA, Table: notifyql.TableNotifications, IDs: []string{"d"}})
	if !merged.More || merged.IDs != nil {
		t.Fatalf("merged after More = %+v, want More to stick", merged)
	}
}

func drainUntilClosed(t *testing.T, ch <-chan []byte) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-timeout:
			t.Fatal("channel not closed within 5s")
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkDeliverTo10000Subscribers measures one snapshot's fan-out to 10,000 local
// subscribers of one topic that leave it queued (the replace path, the dearest one).
func BenchmarkDeliverTo10000Subscribers(b *testing.B) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	in := newInstance(newFakeRedis(), newCountingSnapshotter(), Options{})
	topic := totalsTopic(serviceA, "7")
	for range 10_000 {
		mustSubscribe(b, ctx, in.hub, topic)
	}
	payloads := [][]byte{[]byte(want(topic, 1)), []byte(want(topic, 2))}
	b.ResetTimer()
	for i := range b.N {
		in.hub.Deliver(topic.String(), payloads[i%2])
	}
}
