package live

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"notifyql"
)

// Run is the hub's loop, until ctx is done (it then returns nil). Each step:
//   - makes sure the bus delivers access changes here, and as the relay publishes the
//     access hints gathered since the last step (see AccessInterest);
//   - after a bus gap, recomputes this instance's own topics once each and delivers them;
//   - as the relay, recomputes each watched topic that the change hints (or a gap) made
//     dirty, once however many hints touched it, and publishes them all in one round
//     trip (Bus.PublishMany), while the next step goes on;
//   - renews the Watch registration of this instance's topics every WatchRefresh;
//   - closes subscribers that left a snapshot untaken for SlowClientTimeout.
//
// Steps run every Tick, and the relay's change hints bring steps of their own: hints are
// taken a quarter Tick after the first of them arrives (the rest of a burst of commits
// arrives meanwhile), and never sooner than a Tick after the relay's last step. So a
// lone change waits a quarter Tick, and under a steady stream of changes the relay steps
// once a Tick: how often it queries the database depends on Tick and on whether changes
// keep coming, hardly on how the commits fall on the clock or on how late a busy
// instance reads them.
//
// A step's recomputes are one batch (Snapshotter.SnapshotMany): the dirty dashboard
// topics of all services cost one query per window, the other kinds are computed one
// topic at a time, Workers at once. So a step's database work is at most eight dashboard
// queries plus the other changed topics' own, however many subscribers, services and
// dashboards there are.
func (h *Hub) Run(ctx context.Context) error {
	ticker := time.NewTicker(h.opts.Tick)
	defer ticker.Stop()
	hintStep := time.NewTimer(0)
	defer hintStep.Stop()
	lastWatch, lastSweep := time.Now(), time.Now()
	sweepEvery := min(h.opts.SlowClientTimeout/4, time.Second)
	defer h.releaseAccessSubscription(ctx)
	defer h.awaitPublished()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.hinted:
			hintStep.Reset(h.hintWait(time.Now()))
		case <-hintStep.C:
			if wait := h.hintWait(time.Now()); wait > 0 {
				hintStep.Reset(wait)
				continue
			}
			h.step(ctx, true)
		case now := <-ticker.C:
			h.step(ctx, false)
			if now.Sub(lastWatch) >= h.opts.WatchRefresh {
				lastWatch = now
				h.refreshWatch(ctx)
			}
			if now.Sub(lastSweep) >= sweepEvery {
				lastSweep = now
				h.dropStalled(ctx, time.Now())
			}
		}
	}
}

// step does one step's resync and relay work, leaving the relay's publishing under way.
// due says the caller found the pending hints due (hintWait); otherwise the step takes
// them only if they are.
func (h *Hub) step(ctx context.Context, due bool) {
	h.holdAccessSubscription(ctx)
	h.publishAccess(ctx)
	h.resyncLocal(ctx)
	h.relayTick(ctx, due)
}

// hintWait returns how long the hints (or gap) pending at now must wait for their step:
// until a quarter Tick after the first of them, and a Tick after the relay's last step.
func (h *Hub) hintWait(now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hintWaitLocked(now)
}

// hintWaitLocked is hintWait with h.mu held.
func (h *Hub) hintWaitLocked(now time.Time) time.Duration {
	if len(h.pending) == 0 && !h.allDirty {
		return 0
	}
	due := h.pendingSince.Add(h.hintGather())
	if next := h.lastRelayStep.Add(h.opts.Tick); next.After(due) {
		due = next
	}
	return max(due.Sub(now), 0)
}

// hintGather is how long the first pending hint waits for the rest of its burst.
func (h *Hub) hintGather() time.Duration { return h.opts.Tick / 4 }

// localTopics returns the topics this instance has subscribers for. Called with h.mu held.
func (h *Hub) localTopics() map[string]notifyql.Topic {
	topics := make(map[string]notifyql.Topic, len(h.topics))
	for name, ts := range h.topics {
		topics[name] = ts.topic
	}
	return topics
}

// resyncLocal recomputes this instance's topics after a bus gap and delivers them here
// only: the other instances handle their own gaps. A gap may mean Redis restarted and lost
// the registry of watched topics, so this instance registers its topics again first: until
// then the relay would not recompute the topics only this instance watches.
func (h *Hub) resyncLocal(ctx context.Context) {
	h.mu.Lock()
	if !h.localBackoff.ready(time.Now()) {
		h.mu.Unlock()
		return
	}
	todo := h.localRetry
	h.localRetry = make(map[string]notifyql.Topic)
	reregister := h.localResync
	if h.localResync {
		h.localResync = false
		maps.Copy(todo, h.localTopics())
	}
	h.mu.Unlock()
	if reregister {
		h.refreshWatch(ctx)
	}
	if len(todo) == 0 {
		return
	}
	snapshots, failed := h.recompute(ctx, todo)
	h.deliver(snapshots, false)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.localBackoff.record(len(failed) > 0, time.Now(), h.opts.Tick)
	for name, t := range failed {
		if h.topics[name] != nil {
			h.localRetry[name] = t
		}
	}
}

// relayTick turns the hints gathered since the last tick into published snapshots. Unless
// due, it leaves alone hints whose step is not due yet (hintWait).
func (h *Hub) relayTick(ctx context.Context, due bool) {
	h.mu.Lock()
	now := time.Now()
	if !h.relay || !h.relayBackoff.ready(now) || (!due && h.hintWaitLocked(now) > 0) {
		h.mu.Unlock()
		return
	}
	changes := h.pending
	h.pending = make(map[changeKey]notifyql.Change)
	all := h.allDirty
	h.allDirty = false
	since := h.pendingSince
	h.pendingSince = time.Time{}
	dirty := h.retry
	h.retry = make(map[string]notifyql.Topic)
	local := h.localTopics()
	if len(changes) == 0 && !all && len(dirty) == 0 {
		h.mu.Unlock()
		return
	}
	h.lastRelayStep = now
	h.mu.Unlock()

	failed := map[string]notifyql.Topic{}
	var recomputed, failures int
	if h.tracer != nil {
		// A step is a trace of its own: the changes it relays come from many requests'
		// commits, none of them its parent. Counts only: topic names hold service ids and
		// filters, which are the subscribers' business.
		var span trace.Span
		ctx, span = h.tracer.Start(ctx, "live relay step", trace.WithNewRoot(), trace.WithAttributes(
			attribute.Int("notifyql.live.changes", len(changes)), attribute.Bool("notifyql.live.all_dirty", all),
			attribute.Int("notifyql.live.retried", len(dirty))))
		defer func() {
			span.SetAttributes(attribute.Int("notifyql.live.recomputed", recomputed), attribute.Int("notifyql.live.failed", failures))
			span.End()
		}()
	}
	var snapshots map[string][]byte
	if len(changes) > 0 || all {
		// The watched list is read afresh whenever hints arrived: a topic another
		// instance registered a moment ago must not miss the change that follows its
		// first snapshot. That is one bus read per busy tick, whatever the load. It runs
		// while the topics of the list read last time are recomputed; the topics only
		// the fresh list names are recomputed once it has come.
		fresh := make(chan watchedRead, 1)
		go func() {
			names, err := h.bus.Watched(ctx)
			fresh <- watchedRead{names, err}
		}()
		h.mu.Lock()
		known := h.watched
		h.mu.Unlock()
		markAffected(dirty, h.topicsByService(known, local), changes, all)
		if len(dirty) > 0 {
			snapshots, failed = h.recompute(ctx, dirty)
		}
		read := <-fresh
		if read.err != nil {
			h.logger.Warn("live: read watched topics", "err", read.err)
			h.mu.Lock()
			h.requeue(changes, all, dirty, since)
			h.relayBackoff.record(true, time.Now(), h.opts.Tick)
			h.mu.Unlock()
			return
		}
		h.mu.Lock()
		h.watched = read.names
		h.mu.Unlock()
		extra := make(map[string]notifyql.Topic)
		markAffected(extra, h.topicsByService(read.names, local), changes, all)
		for name := range dirty {
			delete(extra, name)
		}
		if len(extra) > 0 {
			more, moreFailed := h.recompute(ctx, extra)
			if snapshots == nil {
				snapshots = more
			} else {
				maps.Copy(snapshots, more)
			}
			maps.Copy(failed, moreFailed)
			maps.Copy(dirty, extra)
		}
	} else if len(dirty) > 0 {
		snapshots, failed = h.recompute(ctx, dirty)
	}
	// Counted now: the publishing, under way after this returns, adds to failed.
	recomputed, failures = len(snapshots), len(failed)
	// This instance's own subscribers need not wait for the round trip through Redis,
	// nor the next tick for them: offering a tick's snapshots to thousands of subscribers
	// takes a while. Deliveries stay in tick order, each waiting for the one before.
	h.mu.Lock()
	previousDelivery := h.delivering
	delivered := make(chan struct{})
	h.delivering = delivered
	go func() {
		defer close(delivered)
		if previousDelivery != nil {
			<-previousDelivery
		}
		h.deliver(snapshots, true)
	}()
	if !h.relay {
		h.mu.Unlock()
		return
	}
	maps.Copy(h.retry, failed)
	previous := h.publishing
	done := make(chan struct{})
	h.publishing = done
	h.mu.Unlock()

	// The tick's snapshots go out while the next tick gathers and recomputes, so that
	// the round trip to Redis does not hold up the changes arriving meanwhile. Publishes
	// stay in tick order, each waiting for the one before: an older snapshot never
	// overtakes a newer one. Each waits for its own tick's delivery here too, which
	// notes the echoes that the bus will bring back.
	go func() {
		defer close(done)
		<-delivered
		if previous != nil {
			<-previous
		}
		h.publish(ctx, snapshots, dirty, failed)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.relay {
			return
		}
		// Failures are retried, with a growing pause so that an outage of Redis or the
		// database does not turn into a recompute of every failed topic every tick.
		h.relayBackoff.record(len(failed) > 0, time.Now(), h.opts.Tick)
		maps.Copy(h.retry, failed)
		if !since.IsZero() {
			h.recordLag(time.Since(since))
		}
	}()
}

// awaitPublished waits until the snapshots of the ticks so far have been delivered here
// and published.
func (h *Hub) awaitPublished() {
	h.mu.Lock()
	publishing, delivering := h.publishing, h.delivering
	h.mu.Unlock()
	if delivering != nil {
		<-delivering
	}
	if publishing != nil {
		<-publishing
	}
}

// watchedRead is one read of the watched topics' names.
type watchedRead struct {
	names []string
	err   error
}

// markAffected adds to dirty each topic of byService that the tick's hints can alter
// (every one when all is set).
func markAffected(dirty map[string]notifyql.Topic, byService map[string][]notifyql.Topic, changes map[changeKey]notifyql.Change, all bool) {
	for _, topics := range byService {
		for _, t := range topics {
			if all || affected(changes, t) {
				dirty[t.String()] = t
			}
		}
	}
}

// affected reports whether any of the tick's hints can alter t.
func affected(changes map[changeKey]notifyql.Change, t notifyql.Topic) bool {
	for _, table := range [...]string{notifyql.TableNotifications, notifyql.TableInboundSMS, notifyql.TableJobs, notifyql.TableReportRequests} {
		if c, ok := changes[changeKey{serviceID: t.ServiceID, table: table}]; ok && c.Affects(t) {
			return true
		}
	}
	return false
}

// requeue puts a tick's work back for the next one. Called with h.mu held.
func (h *Hub) requeue(changes map[changeKey]notifyql.Change, all bool, retry map[string]notifyql.Topic, since time.Time) {
	for key, c := range changes {
		h.pending[key] = mergeChange(h.pending[key], c)
	}
	h.allDirty = h.allDirty || all
	maps.Copy(h.retry, retry)
	if !since.IsZero() && (h.pendingSince.IsZero() || since.Before(h.pendingSince)) {
		h.pendingSince = since
	}
}

// topicsByService parses the watched topic names, adds this instance's own topics (its
// registration may not have reached the bus yet) and groups them by service.
func (h *Hub) topicsByService(names []string, local map[string]notifyql.Topic) map[string][]notifyql.Topic {
	all := maps.Clone(local)
	for _, name := range names {
		if _, ok := all[name]; ok {
			continue
		}
		t, err := notifyql.ParseTopic(name)
		if err != nil {
			h.logger.Warn("live: skip unreadable watched topic", "err", err)
			continue
		}
		all[name] = t
	}
	byService := make(map[string][]notifyql.Topic)
	for _, t := range all {
		byService[t.ServiceID] = append(byService[t.ServiceID], t)
	}
	return byService
}

// recompute computes the topics' snapshots in one batch (Snapshotter.SnapshotMany, at
// most Workers queries at once). It returns the snapshots computed, and the topics worth
// trying again next tick: those whose computation failed for a reason other than the
// topic itself being invalid or gone. Nothing is retried once ctx is done.
func (h *Hub) recompute(ctx context.Context, topics map[string]notifyql.Topic) (snapshots map[string][]byte, failed map[string]notifyql.Topic) {
	results := h.snap.SnapshotMany(ctx, topics, h.opts.Workers)
	snapshots = make(map[string][]byte, len(topics))
	failed = make(map[string]notifyql.Topic)
	var computed int64
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		result, ok := results[name]
		if !ok {
			result.Err = errors.New("the snapshotter returned nothing for it")
		}
		if result.Err == nil {
			computed++
			snapshots[name] = result.Payload
			continue
		}
		if ctx.Err() != nil {
			continue
		}
		computed++
		h.logger.Warn("live: recompute snapshot", "topic", name, "err", result.Err)
		if code := notifyql.ErrorCode(result.Err); code == notifyql.EINVALID || code == notifyql.ENOTFOUND {
			continue
		}
		failed[name] = topics[name]
	}
	h.mu.Lock()
	h.stats.Recomputed += computed
	h.mu.Unlock()
	return snapshots, failed
}

// publish sends a relay tick's snapshots in one batch and adds the topics whose publish
// failed to failed, to be recomputed and published next tick; the others are not sent
// again.
func (h *Hub) publish(ctx context.Context, snapshots map[string][]byte, topics, failed map[string]notifyql.Topic) {
	if len(snapshots) == 0 {
		return
	}
	unsent, err := h.bus.PublishMany(ctx, snapshots)
	if err != nil {
		h.logger.Warn("live: publish snapshots", "failed", len(unsent), "snapshots", len(snapshots), "err", err)
		if len(unsent) == 0 {
			// A failure that names no topic: none is known to have gone out.
			unsent = slices.Collect(maps.Keys(snapshots))
		}
	}
	published := int64(len(snapshots))
	for _, name := range unsent {
		if _, sent := snapshots[name]; !sent {
			continue
		}
		if _, counted := failed[name]; counted {
			continue
		}
		failed[name] = topics[name]
		published--
	}
	h.mu.Lock()
	h.stats.Published += published
	h.mu.Unlock()
}

// backoff spaces out retries after failures: Tick, then doubling up to maxBackoff.
type backoff struct {
	delay time.Duration
	until time.Time
}

const maxBackoff = 2 * time.Second

func (b *backoff) ready(now time.Time) bool { return !now.Before(b.until) }

func (b *backoff) record(failed bool, now time.Time, base time.Duration) {
	if !failed {
		*b = backoff{}
		return
	}
	b.delay = min(max(2*b.delay, base), maxBackoff)
	b.until = now.Add(b.delay)
}

// refreshWatch renews the registration of this instance's topics before it expires.
func (h *Hub) refreshWatch(ctx context.Context) {
	h.mu.Lock()
	names := slices.Collect(maps.Keys(h.topics))
	h.mu.Unlock()
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	if err := h.bus.Watch(ctx, names, h.opts.WatchTTL); err != nil {
		h.logger.Warn("live: renew watched topics", "topics", len(names), "err", err)
	}
}

// dropStalled closes the subscribers that have left a snapshot untaken for
// SlowClientTimeout, so that a stuck client holds one snapshot at most and never delays
// the others.
func (h *Hub) dropStalled(ctx context.Context, now time.Time) {
	deadline := now.Add(-h.opts.SlowClientTimeout)
	var stalled []*subscriber
	var stops []func() bool
	h.mu.Lock()
	for _, ts := range h.topics {
		for sub := range ts.subs {
			if sub.stalled(deadline) {
				stalled = append(stalled, sub)
				stops = append(stops, sub.stop)
			}
		}
	}
	h.mu.Unlock()
	for i, sub := range stalled {
		if stops[i] != nil {
			stops[i]()
		}
		if h.detach(sub, true) {
			h.release(ctx, sub.ts)
		}
	}
}
