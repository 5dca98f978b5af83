// Package live is the subscription hub: topics, coalescing, snapshots, fan-out and resync.
package live

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"notifyql"
)

// Bus carries encoded snapshots between instances (redis.Bus implements it).
type Bus interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	// PublishMany publishes a tick's snapshots, keyed by topic, in one round trip. It
	// returns the topics whose publish failed, with the error; the others were sent.
	PublishMany(ctx context.Context, snapshots map[string][]byte) (failed []string, err error)
	Subscribe(ctx context.Context, topics ...string) error
	Unsubscribe(ctx context.Context, topics ...string) error
	Watch(ctx context.Context, topics []string, ttl time.Duration) error
	Watched(ctx context.Context) ([]string, error)
}

// Snapshotter computes topics' current snapshots, encoded (JSON).
type Snapshotter interface {
	// Snapshot computes one topic's snapshot: a new subscription's first.
	Snapshot(ctx context.Context, t notifyql.Topic) ([]byte, error)
	// SnapshotMany computes a tick's topics, keyed as in topics, sharing queries between
	// topics where it can and running at most workers queries at once. Every topic gets
	// a result: ctx's error for those it had not started when ctx ended.
	SnapshotMany(ctx context.Context, topics map[string]notifyql.Topic, workers int) map[string]SnapshotResult
}

// SnapshotResult is one topic's encoded snapshot, or why it could not be computed.
type SnapshotResult struct {
	Payload []byte
	Err     error
}

// Defaults for the zero Options.
const (
	DefaultTick              = 50 * time.Millisecond
	MaxTick                  = 100 * time.Millisecond
	DefaultWatchTTL          = 30 * time.Second
	DefaultWatchRefresh      = 10 * time.Second
	DefaultSlowClientTimeout = 10 * time.Second
	DefaultWorkers           = 4
)

// busCallTimeout bounds a bus call made on behalf of a subscriber that has already gone,
// whose own context can no longer carry a deadline.
const busCallTimeout = 5 * time.Second

// deliverChunk is how many subscribers a delivery offers a snapshot to under one hold of
// the hub's lock (see deliver): about half a millisecond's worth on a busy server.
const deliverChunk = 512

// lagSamples is how many recent relay lags the p99 is computed over.
const lagSamples = 1024

// Options tune a Hub; zero fields take the defaults above.
type Options struct {
	// Tick is how long the relay coalesces changes before recomputing (at most MaxTick).
	Tick time.Duration
	// WatchTTL is how long a Watch registration of this instance's topics lasts.
	WatchTTL time.Duration
	// WatchRefresh is how often this instance renews its Watch registrations; it must be
	// well under WatchTTL.
	WatchRefresh time.Duration
	// SlowClientTimeout is how long a subscriber may leave a snapshot untaken before its
	// channel is closed and it counts as a drop.
	SlowClientTimeout time.Duration
	// Workers is how many snapshot queries a tick runs at once: one window's batched
	// dashboard query, or one other topic's snapshot, takes one worker.
	Workers int
	// Tracing, when set, makes each relay step that has work a trace of its own ("live
	// relay step", with its recomputes' statements and its publishing beneath it); nil
	// traces nothing, at no cost.
	Tracing trace.TracerProvider
}

func (o Options) withDefaults() Options {
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	o.Tick = min(o.Tick, MaxTick)
	if o.WatchTTL <= 0 {
		o.WatchTTL = DefaultWatchTTL
	}
	if o.WatchRefresh <= 0 {
		o.WatchRefresh = DefaultWatchRefresh
	}
	o.WatchRefresh = min(o.WatchRefresh, o.WatchTTL/2)
	if o.SlowClientTimeout <= 0 {
		o.SlowClientTimeout = DefaultSlowClientTimeout
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	return o
}

// Stats are the hub's counters, plain numbers for logs and metrics.
type Stats struct {
	// Subscribers and Topics are the local subscriptions and distinct topics held now.
	Subscribers, Topics int
	// Drops counts subscribers closed for not taking a snapshot within SlowClientTimeout.
	Drops int64
	// Coalesced counts snapshots replaced by a newer one before their subscriber took them.
	Coalesced int64
	// Resyncs counts gaps handled: elections, listener gaps and bus gaps.
	Resyncs int64
	// Recomputed counts snapshots this instance computed in ticks (relay and resync).
	Recomputed int64
	// Published counts snapshots this instance published as the relay.
	Published int64
	// AccessChanges counts access hints this instance received from the bus, and gaps
	// that made every subscription re-check.
	AccessChanges int64
	// Relay reports whether this instance is the relay now.
	Relay bool
	// RelayLagP99 is the 99th percentile, over recent ticks, of the time from the first
	// change hint of a tick to the end of its publishing.
	RelayLagP99 time.Duration
}

// Hub fans snapshots out to this instance's subscribers and, while this instance is the
// relay, turns change hints into recomputed, published snapshots (docs/live.md). Its
// methods are safe for concurrent use; none of the bus and listener callbacks (Deliver,
// BusGap, Changed, Elected, ListenerGap) blocks.
type Hub struct {
	bus    Bus
	snap   Snapshotter
	logger *slog.Logger
	opts   Options
	seed   maphash.Seed
	// tracer makes the relay steps' spans; nil when Options.Tracing is.
	tracer trace.Tracer
	// deliverChunk is how many offers a delivery makes under one hold of the lock: the
	// constant of that name, which tests lower.
	deliverChunk int

	mu          sync.Mutex
	topics      map[string]*topicState
	subscribers int
	relay       bool
	// pending are the change hints since the last relay tick, merged per service and
	// table, and pendingSince when the oldest of them arrived.
	pending      map[changeKey]notifyql.Change
	pendingSince time.Time
	// lastRelayStep is when the relay last took hints, a gap or retries to recompute.
	lastRelayStep time.Time
	// hinted tells Run that hints arrived after none were pending.
	hinted chan struct{}
	// allDirty asks the next relay tick to recompute every watched topic.
	allDirty bool
	// retry holds topics whose recompute or publish failed, for the next relay tick.
	retry map[string]notifyql.Topic
	// localResync asks the next tick to recompute this instance's own topics and deliver
	// them locally; localRetry holds those that failed.
	localResync bool
	localRetry  map[string]notifyql.Topic
	// watched holds the watched topics' names as the relay last read them.
	watched []string
	// publishing is closed when the latest relay tick's snapshots have been published
	// (nil before the first).
	publishing chan struct{}
	// delivering is closed when the latest relay tick's snapshots have been offered to
	// this instance's subscribers.
	delivering chan struct{}
	// relayBackoff and localBackoff pause retries after failed ticks.
	relayBackoff, localBackoff backoff
	// pendingAccess is the access hint the relay publishes at its next tick, nil when none;
	// accessSubscribed says whether the bus delivers the access topic here.
	pendingAccess    *notifyql.AccessChange
	accessSubscribed bool
	// accessListeners are told of every access change besides the subscriptions
	// (OnAccessChange); only ever appended to, so a copy taken under mu stays valid.
	accessListeners []func(notifyql.AccessChange)
	lags            []time.Duration
	lagNext         int
	stats           Stats
}

// topicState is one topic this instance has local subscribers for.
type topicState struct {
	topic notifyql.Topic
	name  string

	// busMu orders this topic's bus Subscribe and Unsubscribe calls, so that a topic
	// whose last subscriber leaves while a new one arrives ends up subscribed.
	busMu      sync.Mutex
	subscribed bool // guarded by busMu

	// Guarded by Hub.mu.
	refs   int // subscribers registered or still joining
	subs   map[*subscriber]struct{}
	latest *snapshot // the newest snapshot seen for the topic, nil when none is held
	// decoders counts the subscribers that take decoded snapshots rather than bytes.
	decoders int
	// echoes are the hashes of the snapshots this instance, as the relay, delivered here
	// before publishing them, awaiting their return through the bus (see deliver).
	echoes   [8]uint64
	nextEcho int
}

// NewHub returns a hub over bus and snap. A nil logger discards.
func NewHub(bus Bus, snap Snapshotter, logger *slog.Logger, opts Options) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var tracer trace.Tracer
	if opts.Tracing != nil {
		tracer = opts.Tracing.Tracer("notifyql/live")
	}
	return &Hub{
		tracer:       tracer,
		deliverChunk: deliverChunk,
		bus:          bus,
		snap:         snap,
		logger:       logger,
		opts:         opts.withDefaults(),
		seed:         maphash.MakeSeed(),
		topics:       make(map[string]*topicState),
		pending:      make(map[changeKey]notifyql.Change),
		hinted:       make(chan struct{}, 1),
		retry:        make(map[string]notifyql.Topic),
		localRetry:   make(map[string]notifyql.Topic),
	}
}

// AccessInterest asks a subscription's hub to call OnChange whenever an access change,
// relayed by whichever instance, may have altered what UserID may do on the topic's
// service, and after a bus gap (access changes may have been lost). OnChange is called
// from the hub's own goroutines: it must return at once (start the re-check elsewhere),
// and may be called again before an earlier re-check ends. A nil OnChange asks nothing.
type AccessInterest struct {
	UserID   string
	OnChange func()
}

// Attach subscribes out (see NewOutlet) to t: out receives t's current snapshot at once
// and then each new one, never the same bytes twice in a row. It holds only the latest
// snapshot: a slow reader skips intermediate ones, and one that takes nothing for
// SlowClientTimeout has out closed. The hub calls access.OnChange as AccessInterest says.
// Attach returns EINVALID for a malformed topic, and an error if the first snapshot cannot
// be computed or does not fit out. Otherwise out is closed when the subscription ends:
// when ctx is done, when the reader fell too far behind, or when the returned detach is
// called.
func (h *Hub) Attach(ctx context.Context, t notifyql.Topic, out Outlet, access AccessInterest) (detach func(), err error) {
	// Topic names become bus channel names: only well-formed ones get that far.
	if _, err := notifyql.ParseTopic(t.String()); err != nil {
		return nil, err
	}
	name := t.String()
	h.mu.Lock()
	ts := h.topics[name]
	if ts == nil {
		ts = &topicState{topic: t, name: name, subs: make(map[*subscriber]struct{})}
		h.topics[name] = ts
	}
	ts.refs++
	h.mu.Unlock()

	if err := h.holdBusSubscription(ctx, ts); err != nil {
		h.release(ctx, ts)
		return nil, err
	}

	h.mu.Lock()
	initial := ts.latest
	h.mu.Unlock()
	if initial == nil {
		payload, err := h.snap.Snapshot(ctx, t)
		if err != nil {
			h.release(ctx, ts)
			return nil, fmt.Errorf("first snapshot of %s: %w", name, err)
		}
		initial = h.newSnapshot(t.Kind, payload)
	}

	decodes := out.decodes()
	if decodes {
		// Decode before taking the lock, which put would otherwise do under it.
		_, _ = initial.decoded()
	}
	sub := &subscriber{out: out, ts: ts, access: access}
	h.mu.Lock()
	// A snapshot delivered while ours was computed is newer than ours.
	if ts.latest != nil {
		initial = ts.latest
	} else {
		ts.latest = initial
	}
	if !out.put(initial) {
		h.mu.Unlock()
		h.release(ctx, ts)
		_, err := initial.decoded()
		return nil, fmt.Errorf("first snapshot of %s does not fit its subscriber: %w", name, err)
	}
	sub.queued, sub.hasQueued, sub.pendingSince = initial.hash, true, time.Now()
	if decodes {
		ts.decoders++
	}
	ts.subs[sub] = struct{}{}
	h.subscribers++
	h.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { h.unsubscribe(ctx, sub) })
	h.mu.Lock()
	sub.stop = stop
	h.mu.Unlock()
	return func() {
		stop()
		h.unsubscribe(ctx, sub)
	}, nil
}

// newSnapshot wraps a payload of a topic kind for delivery.
func (h *Hub) newSnapshot(kind notifyql.TopicKind, payload []byte) *snapshot {
	return &snapshot{payload: payload, hash: maphash.Bytes(h.seed, payload), kind: kind}
}

// holdBusSubscription makes sure the bus delivers ts to this instance and that the
// relay knows it is watched, before any snapshot is computed: a change committed after
// that computation then reaches this subscriber through the relay.
func (h *Hub) holdBusSubscription(ctx context.Context, ts *topicState) error {
	ts.busMu.Lock()
	defer ts.busMu.Unlock()
	if ts.subscribed {
		return nil
	}
	if err := h.bus.Subscribe(ctx, ts.name); err != nil {
		return fmt.Errorf("subscribe to %s: %w", ts.name, err)
	}
	ts.subscribed = true
	h.mu.Lock()
	// Whatever was held before this subscription may have missed publishes.
	ts.latest = nil
	h.mu.Unlock()
	if err := h.bus.Watch(ctx, []string{ts.name}, h.opts.WatchTTL); err != nil {
		// The periodic refresh registers it again; until then only changes the relay
		// matches against its other topics reach it.
		h.logger.Warn("live: watch topic", "topic", ts.name, "err", err)
	}
	return nil
}

// unsubscribe removes sub when its context ends.
func (h *Hub) unsubscribe(ctx context.Context, sub *subscriber) {
	if h.detach(sub, false) {
		h.release(ctx, sub.ts)
	}
}

// detach closes sub's channel and removes it from its topic, reporting whether this
// call did so (and so owes the topic a release).
func (h *Hub) detach(sub *subscriber, dropped bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sub.closed {
		return false
	}
	sub.closed = true
	sub.out.close()
	if sub.out.decodes() {
		sub.ts.decoders--
	}
	delete(sub.ts.subs, sub)
	h.subscribers--
	if dropped {
		h.stats.Drops++
	}
	return true
}

// release gives back one reference to ts; the last one unsubscribes the bus.
func (h *Hub) release(ctx context.Context, ts *topicState) {
	h.mu.Lock()
	ts.refs--
	last := ts.refs == 0
	h.mu.Unlock()
	if !last {
		return
	}

	ts.busMu.Lock()
	defer ts.busMu.Unlock()
	h.mu.Lock()
	idle := ts.refs == 0
	h.mu.Unlock()
	if idle && ts.subscribed {
		busCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), busCallTimeout)
		err := h.bus.Unsubscribe(busCtx, ts.name)
		cancel()
		if err != nil {
			h.logger.Warn("live: unsubscribe topic", "topic", ts.name, "err", err)
		}
		ts.subscribed = false
	}
	h.mu.Lock()
	if ts.refs == 0 {
		ts.latest = nil
		if h.topics[ts.name] == ts {
			delete(h.topics, ts.name)
		}
	}
	h.mu.Unlock()
}

// Deliver hands a snapshot received from the bus to the topic's local subscribers. It
// never blocks. payload must not be modified afterwards: subscribers share it.
func (h *Hub) Deliver(topic string, payload []byte) {
	if topic == notifyql.AccessTopic {
		h.deliverAccess(payload)
		return
	}
	h.deliver(map[string][]byte{topic: payload}, false)
}

// deliver hands snapshots, by topic, to the topics' local subscribers. The relay delivers
// the snapshots it publishes here first (own is true), and the same bytes coming back
// through the bus are then its own echo, dropped: let through, an echo delayed past the
// relay's next delivery would take subscribers back to the older snapshot.
//
// A batch takes the hub's lock twice however many topics it holds, and decodes between
// the two: under a heavy fan-out a relay that waited for the lock once per topic would
// queue behind the very goroutines its deliveries woke. The second time, it lets go of
// the lock after every deliverChunk offers and takes it again: offering a snapshot to
// 50,000 subscribers takes tens of milliseconds, and the relay's next step, the change
// hints and the subscribers joining and leaving, which all take the lock, would wait for
// all of them.
func (h *Hub) deliver(payloads map[string][]byte, own bool) {
	type delivery struct {
		ts     *topicState
		s      *snapshot
		decode bool
	}
	hashes := make(map[string]uint64, len(payloads))
	for topic, payload := range payloads {
		hashes[topic] = maphash.Bytes(h.seed, payload)
	}
	batch := make([]delivery, 0, len(payloads))
	h.mu.Lock()
	for topic, payload := range payloads {
		ts := h.topics[topic]
		if ts == nil || (!own && ts.takeEcho(hashes[topic])) {
			continue
		}
		s := &snapshot{payload: payload, hash: hashes[topic], kind: ts.topic.Kind}
		batch = append(batch, delivery{ts: ts, s: s, decode: ts.decoders > 0})
	}
	h.mu.Unlock()
	// Decoded once for every subscriber that needs it, outside the lock. One that does not
	// decode reaches none of them: they keep the snapshot they have.
	for _, d := range batch {
		if !d.decode {
			continue
		}
		if _, err := d.s.decoded(); err != nil {
			h.logger.Warn("live: snapshot does not decode", "topic", d.ts.name, "err", err)
		}
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	var subs []*subscriber
	held := 0
	for _, d := range batch {
		if h.topics[d.ts.name] != d.ts {
			continue
		}
		if own {
			d.ts.expectEcho(d.s.hash)
		}
		d.ts.latest = d.s
		// The subscribers are listed, not ranged over: the lock is let go between
		// offers, and the set may change meanwhile. One that joins has the latest
		// already; one that leaves is closed, and offer skips it.
		subs = subs[:0]
		for sub := range d.ts.subs {
			subs = append(subs, sub)
		}
		for _, sub := range subs {
			if held == h.deliverChunk {
				h.mu.Unlock()
				h.mu.Lock()
				held = 0
				if d.ts.latest != d.s {
					// A newer snapshot came meanwhile, and its delivery offers it
					// to every subscriber: this one must not follow it.
					break
				}
			}
			if sub.offer(d.s, now) {
				h.stats.Coalesced++
			}
			held++
		}
	}
}

// expectEcho notes the hash of a snapshot this relay delivered here before publishing it.
// Called with Hub.mu held.
func (ts *topicState) expectEcho(hash uint64) {
	ts.echoes[ts.nextEcho] = hash
	ts.nextEcho = (ts.nextEcho + 1) % len(ts.echoes)
}

// takeEcho reports whether hash is one expectEcho noted, and forgets it. Called with
// Hub.mu held.
func (ts *topicState) takeEcho(hash uint64) bool {
	for i, h := range ts.echoes {
		if h == hash && h != 0 {
			ts.echoes[i] = 0
			return true
		}
	}
	return false
}

// BusGap tells the hub that bus messages may have been lost (Redis reconnected): the
// next tick recomputes each of this instance's topics once and delivers it locally, and
// every local subscription re-checks its access at once.
func (h *Hub) BusGap() {
	h.mu.Lock()
	h.localResync = true
	h.stats.Resyncs++
	h.mu.Unlock()
	h.notifyAccess(notifyql.AccessChange{All: true})
}

// Changed records a change hint; the relay's next tick recomputes the watched topics it
// affects. Hints arriving while this instance is not the relay are ignored: an election
// recomputes everything anyway.
func (h *Hub) Changed(c notifyql.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.relay {
		return
	}
	h.notePending()
	key := changeKey{serviceID: c.ServiceID, table: c.Table}
	h.pending[key] = mergeChange(h.pending[key], c)
}

// Elected makes this instance the relay: every watched topic is recomputed and published
// at the next tick, and every instance's subscriptions re-check their access, since
// changes made during the handover were seen by no relay.
func (h *Hub) Elected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.relay = true
	h.markAllDirty()
	h.mergeAccess(notifyql.AccessChange{All: true})
}

// ListenerGap tells the relay that change hints may have been lost (the listener
// reconnected): every watched topic is recomputed and published at the next tick, and
// every subscription re-checks its access.
func (h *Hub) ListenerGap() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.markAllDirty()
	h.mergeAccess(notifyql.AccessChange{All: true})
}

func (h *Hub) markAllDirty() {
	h.notePending()
	h.allDirty = true
	h.stats.Resyncs++
}

// notePending, before a hint or a gap is recorded, notes its arrival, and starts the
// relay's wait for its step if nothing was pending. Called with h.mu held.
func (h *Hub) notePending() {
	if len(h.pending) > 0 || h.allDirty {
		return
	}
	h.pendingSince = time.Now()
	select {
	case h.hinted <- struct{}{}:
	default: // Run has yet to take the last one: it will arm the step then
	}
}

// SetRelay sets whether this instance is the relay. Losing the role drops what was
// pending; gaining it through SetRelay, unlike Elected, recomputes nothing by itself.
func (h *Hub) SetRelay(relay bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.relay = relay
	if !relay {
		clear(h.pending)
		clear(h.retry)
		h.allDirty = false
		h.pendingAccess = nil
	}
}

// Stats returns the hub's counters now.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Subscribers = h.subscribers
	s.Topics = len(h.topics)
	s.Relay = h.relay
	s.RelayLagP99 = percentile(h.lags, 0.99)
	return s
}

// recordLag keeps the newest lagSamples relay lags. Called with h.mu held.
func (h *Hub) recordLag(d time.Duration) {
	if len(h.lags) < lagSamples {
		h.lags = append(h.lags, d)
		return
	}
	h.lags[h.lagNext] = d
	h.lagNext = (h.lagNext + 1) % lagSamples
}
