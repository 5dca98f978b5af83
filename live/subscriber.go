package live

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"notifyql"
)

// snapshot is one encoded snapshot of a topic as it is handed to subscribers, with the
// value it decodes to, decoded at most once however many subscribers take it.
type snapshot struct {
	payload []byte
	hash    uint64
	kind    notifyql.TopicKind

	once  sync.Once
	value any
	err   error

	shared Shared
}

// decoded returns the snapshot decoded into its kind's type (see DecodeSnapshot).
func (s *snapshot) decoded() (any, error) {
	s.once.Do(func() { s.value, s.err = DecodeSnapshot(s.kind, s.payload) })
	return s.value, s.err
}

// DecodeSnapshot decodes a payload of a topic kind into the type Snapshots encodes it from:
// *notifyql.Totals, []notifyql.TemplateStatistic, *notifyql.NotificationDetail,
// []notifyql.Job, *notifyql.InboxPage or *notifyql.ReportRequest.
func DecodeSnapshot(kind notifyql.TopicKind, payload []byte) (any, error) {
	var v any
	switch kind {
	case notifyql.TopicTotals:
		v = new(notifyql.Totals)
	case notifyql.TopicTemplateStatistics:
		v = new([]notifyql.TemplateStatistic)
	case notifyql.TopicNotification:
		v = new(notifyql.NotificationDetail)
	case notifyql.TopicUpcomingJobs:
		v = new([]notifyql.Job)
	case notifyql.TopicInbox:
		v = new(notifyql.InboxPage)
	case notifyql.TopicReportRequest:
		v = new(notifyql.ReportRequest)
	default:
		return nil, notifyql.Errorf(notifyql.EINVALID, "topic kind %q is not live yet", kind)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return nil, fmt.Errorf("decode a %s snapshot: %w", kind, err)
	}
	switch v := v.(type) {
	case *[]notifyql.TemplateStatistic:
		return *v, nil
	case *[]notifyql.Job:
		return *v, nil
	}
	return v, nil
}

// Outlet is where the hub puts one subscription's snapshots: a channel of capacity one,
// which the hub alone sends to, and so can always refill after emptying it. NewOutlet
// makes one.
type Outlet interface {
	// put queues s without blocking, reporting false when it cannot (the channel is
	// full, or s does not decode into what the outlet carries).
	put(s *snapshot) bool
	// take removes the queued snapshot, reporting whether there was one.
	take() bool
	waiting() bool
	close()
	// decodes reports whether put needs the snapshot decoded.
	decodes() bool
}

// Delivery is one snapshot as a ValueOutlet hands it over: the value converted for this
// reader, and what is shared between every reader of the same snapshot.
type Delivery[T any] struct {
	Value  T
	Shared *Shared
}

// Shared holds values derived from one snapshot, each computed once for all the
// subscribers that take the snapshot, however many ask at once (a response rendered for
// one operation, say). It lives as long as the snapshot is held.
type Shared struct {
	// last is the value computed last, read without the lock: a snapshot's subscribers
	// mostly ask for one key, all at once.
	last atomic.Pointer[sharedValue]

	mu     sync.Mutex
	values map[any]*sharedValue
}

type sharedValue struct {
	key   any
	done  chan struct{}
	value any
}

// Do returns the value derived for key, calling compute when no call has produced it yet.
// Callers that arrive while compute runs wait for it (or for ctx, and then get nil). A nil
// result is not kept: a waiting caller then tries again, computing itself if need be.
func (s *Shared) Do(ctx context.Context, key any, compute func() any) any {
	if v := s.last.Load(); v != nil && v.key == key {
		return v.value
	}
	for {
		s.mu.Lock()
		v, running := s.values[key]
		if !running {
			if s.values == nil {
				s.values = make(map[any]*sharedValue)
			}
			v = &sharedValue{key: key, done: make(chan struct{})}
			s.values[key] = v
			s.mu.Unlock()
			return s.compute(key, v, compute)
		}
		s.mu.Unlock()
		select {
		case <-v.done:
		case <-ctx.Done():
			return nil
		}
		if v.value != nil {
			return v.value
		}
	}
}

func (s *Shared) compute(key any, v *sharedValue, compute func() any) any {
	defer func() {
		if v.value == nil {
			s.mu.Lock()
			delete(s.values, key)
			s.mu.Unlock()
		} else {
			s.last.Store(v)
		}
		close(v.done)
	}()
	v.value = compute()
	return v.value
}

// ValueOutlet carries a topic's decoded snapshots, converted for their reader: the
// conversion runs once per snapshot and subscriber, in the hub, so that no goroutine per
// subscription is needed between the hub and the reader.
type ValueOutlet[T any] struct {
	ch      chan Delivery[T]
	convert func(any) (T, bool)
	// ready, when set, is told of every snapshot queued and of the close (Notify).
	ready func()
}

// NewOutlet returns an outlet whose channel carries convert's results for snapshots that
// decode to S (see DecodeSnapshot). convert runs while the hub holds its lock: it must be
// quick and must not call the hub.
func NewOutlet[S, T any](convert func(S) T) *ValueOutlet[T] {
	return &ValueOutlet[T]{ch: make(chan Delivery[T], 1), convert: func(v any) (T, bool) {
		s, ok := v.(S)
		if !ok {
			var zero T
			return zero, false
		}
		return convert(s), true
	}}
}

// C is the channel of converted snapshots; it is closed when the subscription ends.
func (o *ValueOutlet[T]) C() <-chan Delivery[T] { return o.ch }

// Notify has the outlet call ready after it queues a snapshot and after it closes, so
// that its reader can take from C when told rather than keep a goroutine waiting on it.
// ready runs while the hub holds its lock: it must be quick and must not call the hub.
// Call it before the outlet is attached.
func (o *ValueOutlet[T]) Notify(ready func()) { o.ready = ready }

func (o *ValueOutlet[T]) put(s *snapshot) bool {
	v, err := s.decoded()
	if err != nil {
		return false
	}
	t, ok := o.convert(v)
	if !ok {
		return false
	}
	select {
	case o.ch <- Delivery[T]{Value: t, Shared: &s.shared}:
		if o.ready != nil {
			o.ready()
		}
		return true
	default:
		return false
	}
}

func (o *ValueOutlet[T]) take() bool {
	select {
	case <-o.ch:
		return true
	default:
		return false
	}
}

func (o *ValueOutlet[T]) waiting() bool { return len(o.ch) > 0 }
func (o *ValueOutlet[T]) close() {
	close(o.ch)
	if o.ready != nil {
		o.ready()
	}
}

func (o *ValueOutlet[T]) decodes() bool { return true }

// subscriber is one local subscription: an outlet that holds at most the latest snapshot.
// Every field is guarded by Hub.mu; the hub is the only sender, so a send into an outlet
// it has just emptied cannot block.
type subscriber struct {
	out    Outlet
	ts     *topicState
	stop   func() bool // stops the context.AfterFunc that removes the subscriber
	access AccessInterest

	// taken is the hash of the snapshot the reader is known to have taken, queued the
	// hash of the one waiting in out; the has flags tell a zero hash from none.
	taken, queued       uint64
	hasTaken, hasQueued bool
	// pendingSince is when out last went from empty to holding a snapshot.
	pendingSince time.Time
	closed       bool
}

// offer queues s unless the reader already has those bytes, replacing a snapshot the
// reader has not taken yet. It reports whether it replaced one.
func (sub *subscriber) offer(s *snapshot, now time.Time) (replaced bool) {
	if sub.closed {
		return false
	}
	if sub.hasQueued {
		if sub.out.take() {
			replaced = true
		} else {
			// The reader took it: it is what the reader has now.
			sub.taken, sub.hasTaken = sub.queued, true
		}
		sub.hasQueued = false
	}
	if sub.hasTaken && sub.taken == s.hash {
		// The reader already shows these bytes; a replaced newer one was never seen.
		return replaced
	}
	if !sub.out.put(s) {
		// Unreachable while the hub is the only sender and the snapshot decodes; the
		// reader keeps what it has rather than block the hub.
		return replaced
	}
	sub.queued, sub.hasQueued = s.hash, true
	if !replaced {
		sub.pendingSince = now
	}
	return replaced
}

// stalled reports whether a snapshot has waited in out untaken since before deadline.
func (sub *subscriber) stalled(deadline time.Time) bool {
	return !sub.closed && sub.hasQueued && sub.out.waiting() && sub.pendingSince.Before(deadline)
}

// changeKey is what change hints are merged by within one tick.
type changeKey struct {
	serviceID, table string
}

// maxMergedIDs caps the ids one merged hint keeps; past it the hint says More, which
// makes it affect every topic of its table for the service.
const maxMergedIDs = 256

// mergeChange folds c into the hint merged so far for the same service and table.
func mergeChange(merged, c notifyql.Change) notifyql.Change {
	if merged.ServiceID == "" {
		merged = notifyql.Change{ServiceID: c.ServiceID, Table: c.Table}
	}
	merged.More = merged.More || c.More
	if merged.More {
		merged.IDs = nil
		return merged
	}
	// Duplicates are kept: they cost nothing in Affects, and finding them would cost
	// time under the hub's lock on the listener's path.
	if len(merged.IDs)+len(c.IDs) > maxMergedIDs {
		merged.IDs, merged.More = nil, true
		return merged
	}
	merged.IDs = append(merged.IDs, c.IDs...)
	return merged
}

// percentile returns the p-quantile (0..1) of samples, 0 when there are none.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}
