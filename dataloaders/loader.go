package dataloaders

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// ErrNotFound is a key's error when the fetch found no row for it.
var ErrNotFound = errors.New("dataloaders: not found")

// Loader gathers the keys an operation asks for into one fetch and keeps what it fetched
// for the rest of the operation. Keys wait for a round in two ways: a caller that has
// queued (Queue) every key it knows of (a page's edges, memberships) sends the round at
// once with Dispatch, as Load does for a field outside any list; keys that the fields of
// a list's elements ask for one at a time, concurrently, wait up to wait for one another,
// then the round goes without the latecomers. Values that another statement brought back are put
// in with Prime (PrimeLater while its results are still arriving) and cost no round.
type Loader[K comparable, V any] struct {
	fetch func(context.Context, []K) (map[K]V, error)
	wait  time.Duration
	// timedRounds counts the rounds the timer sent, shared by an operation's loaders.
	timedRounds *atomic.Int64

	mu      sync.Mutex
	entries map[K]*entry[V]
	round   *round[K, V]
}

// entry is one key's value, ready once done is closed.
type entry[V any] struct {
	done  chan struct{}
	value V
	err   error
	// later, when set, gives the value: the first to wait for it calls it.
	later func() (V, error)
	once  sync.Once
}

// wait returns the entry's value once it is ready.
func (e *entry[V]) wait() (V, error) {
	if e.later != nil {
		e.once.Do(func() {
			e.value, e.err = e.later()
			close(e.done)
		})
	}
	<-e.done
	return e.value, e.err
}

// ready reports whether wait would return without waiting for a round: the value is in,
// or another statement's results bring it (later).
func (e *entry[V]) ready() bool {
	if e.later != nil {
		return true
	}
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// round is the keys queued for the next fetch and the timer that sends it if no one does
// first.
type round[K comparable, V any] struct {
	ctx     context.Context
	keys    []K
	entries []*entry[V]
	timer   *time.Timer
}

// newLoader returns a loader over fetch, whose map leaves out the keys it found nothing
// for (they load as ErrNotFound).
func newLoader[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error), wait time.Duration, timedRounds *atomic.Int64) *Loader[K, V] {
	return &Loader[K, V]{fetch: fetch, wait: wait, timedRounds: timedRounds, entries: make(map[K]*entry[V])}
}

// Load returns key's value, queueing it for the next round if no round has it yet. A
// field outside any list has no siblings resolving beside it that could add keys to its
// round, so its round goes at once; a field of a list's element waits for the other
// elements' keys.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	// A key whose value is in (primed by the statement that found its row, or fetched by
	// an earlier round) needs no round and no waiter: a page's fifty template versions.
	l.mu.Lock()
	e, ok := l.entries[key]
	l.mu.Unlock()
	if ok && e.ready() {
		return e.wait()
	}
	if !inList(ctx) {
		return l.LoadNow(ctx, key)
	}
	return l.LoadThunk(ctx, key)()
}

// inList reports whether the field being resolved belongs to an element of a list.
func inList(ctx context.Context) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Index != nil {
			return true
		}
	}
	return false
}

// LoadThunk queues key as Load does and returns a function that waits for its value: a
// round it starts is sent by its timer unless someone dispatches it first.
func (l *Loader[K, V]) LoadThunk(ctx context.Context, key K) func() (V, error) {
	return l.queue(ctx, key, true).wait
}

// Queue queues key for a caller that will call Dispatch once it has queued every key it
// knows of, and returns a function that waits for its value. A round it starts has no
// timer: it goes when dispatched, so a busy machine cannot make it count as waited.
func (l *Loader[K, V]) Queue(ctx context.Context, key K) func() (V, error) {
	return l.queue(ctx, key, false).wait
}

// Want queues key as Queue does, for a caller that will not wait for it itself (the
// fields that ask for it will): it makes no waiter.
func (l *Loader[K, V]) Want(ctx context.Context, key K) { l.queue(ctx, key, false) }

func (l *Loader[K, V]) queue(ctx context.Context, key K, timed bool) *entry[V] {
	l.mu.Lock()
	e, ok := l.entries[key]
	if !ok {
		e = &entry[V]{done: make(chan struct{})}
		l.entries[key] = e
		if l.round == nil {
			r := &round[K, V]{ctx: ctx}
			if timed {
				r.timer = time.AfterFunc(l.wait, func() { l.send(r, true) })
			}
			l.round = r
		}
		l.round.keys = append(l.round.keys, key)
		l.round.entries = append(l.round.entries, e)
	}
	l.mu.Unlock()
	return e
}

// Pending reports whether keys are queued for a round not yet sent.
func (l *Loader[K, V]) Pending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.round != nil
}

// Dispatch sends the queued keys now, for a caller that knows no other key can join them;
// it returns when their values are in. A round whose timer has already fired is the
// timer's to send.
func (l *Loader[K, V]) Dispatch() {
	l.mu.Lock()
	r := l.round
	if r == nil || r.timer != nil && !r.timer.Stop() {
		l.mu.Unlock()
		return
	}
	l.round = nil
	l.mu.Unlock()
	l.send(r, false)
}

// LoadNow is Load for a caller that knows no other key can join key's round: a root
// field's one id.
func (l *Loader[K, V]) LoadNow(ctx context.Context, key K) (V, error) {
	thunk := l.Queue(ctx, key)
	l.Dispatch()
	return thunk()
}

// Has reports whether the operation has asked for key or had it primed.
func (l *Loader[K, V]) Has(key K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.entries[key]
	return ok
}

// Prime gives key its value, found by another statement, unless the operation has already
// asked for it.
func (l *Loader[K, V]) Prime(key K, value V) { l.prime(key, value, nil) }

// PrimeNotFound records that another statement looked for key and found no row.
func (l *Loader[K, V]) PrimeNotFound(key K) {
	var zero V
	l.prime(key, zero, ErrNotFound)
}

// PrimeLater gives key the value that another statement's results will bring, unless the
// operation has already asked for it: those who load key wait for later, which the first
// of them calls.
func (l *Loader[K, V]) PrimeLater(key K, later func() (V, error)) {
	l.put(key, &entry[V]{done: make(chan struct{}), later: later})
}

func (l *Loader[K, V]) prime(key K, value V, err error) {
	e := &entry[V]{done: make(chan struct{}), value: value, err: err}
	close(e.done)
	l.put(key, e)
}

// put sets key's entry unless it has one.
func (l *Loader[K, V]) put(key K, e *entry[V]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.entries[key]; !ok {
		l.entries[key] = e
	}
}

// Clear forgets key's value, so that the next Load or Prime sets it afresh; a round that
// has it still hands its value to those already waiting.
func (l *Loader[K, V]) Clear(key K) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

// send fetches round r's keys and hands out their values. The timer and Dispatch both call
// it; whichever stops the round first sends it.
func (l *Loader[K, V]) send(r *round[K, V], timed bool) {
	l.mu.Lock()
	if l.round == r {
		l.round = nil
	}
	keys, entries := r.keys, r.entries
	l.mu.Unlock()
	if timed && l.timedRounds != nil {
		l.timedRounds.Add(1)
	}
	found, err := l.safeFetch(r.ctx, keys)
	for i, k := range keys {
		e := entries[i]
		switch v, ok := found[k]; {
		case err != nil:
			e.err = err
		case ok:
			e.value = v
		default:
			e.err = ErrNotFound
		}
		close(e.done)
	}
}

// safeFetch turns a panic in fetch into every key's error: the keys' waiters would
// otherwise wait for ever.
func (l *Loader[K, V]) safeFetch(ctx context.Context, keys []K) (found map[K]V, err error) {
	defer func() {
		if p := recover(); p != nil {
			found, err = nil, errors.New("dataloaders: fetch panicked")
		}
	}()
	return l.fetch(ctx, keys)
}
