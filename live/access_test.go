package live

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"notifyql"
)

const (
	userA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	userB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
)

// signalled fails unless ch has a value waiting (or receives one within 5 s).
func signalled(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed, want a signal", what)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no signal within 5 s", what)
	}
}

func notSignalled(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: signalled, want nothing", what)
	case <-time.After(20 * time.Millisecond):
	}
}

// An access hint heard by the relay reaches the subscriptions of every instance whose user
// or service it names, and only those.
func TestAccessChangesReachEveryInstance(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	relay := newInstance(redis, snap, Options{})
	other := newInstance(redis, snap, Options{})
	watchA := watchAccess(t, ctx, other.hub, userA, serviceA)
	watchB := watchAccess(t, ctx, relay.hub, userB, serviceB)
	other.hub.tick(ctx) // subscribes the bus to access changes

	relay.hub.Elected()
	relay.hub.tick(ctx)
	signalled(t, watchA, "after an election, on the other instance")
	signalled(t, watchB, "after an election, on the relay")

	relay.hub.AccessChanged(notifyql.AccessChange{UserIDs: []string{userA}})
	relay.hub.AccessChanged(notifyql.AccessChange{UserIDs: []string{userA}})
	relay.hub.tick(ctx)
	signalled(t, watchA, "user A's change")
	notSignalled(t, watchA, "two hints of one tick") // one re-check covers both
	notSignalled(t, watchB, "user A's change, for user B")
	if got := relay.bus.count(relay.bus.published, notifyql.AccessTopic); got != 2 {
		t.Errorf("access published %d times, want 2 (election, one per tick)", got)
	}

	relay.hub.AccessChanged(notifyql.AccessChange{ServiceIDs: []string{serviceB}})
	relay.hub.tick(ctx)
	signalled(t, watchB, "service B's facts")
	notSignalled(t, watchA, "service B's facts, for service A")

	// Hints reach only the relay's listener; another instance ignores any it is given.
	other.hub.AccessChanged(notifyql.AccessChange{All: true})
	other.hub.tick(ctx)
	notSignalled(t, watchA, "a hint given to an instance that is not the relay")

	other.hub.BusGap()
	signalled(t, watchA, "a bus gap")
	notSignalled(t, watchB, "another instance's bus gap")

	// Once the subscription's context ends, it is told nothing more.
	cancel()
	waitFor(t, func() bool { return other.hub.Stats().Subscribers == 0 })
	other.hub.BusGap()
	notSignalled(t, watchA, "a bus gap after the context ended")
}

// watchAccess subscribes userID to a topic of serviceID and turns the calls of its access
// interest into a channel holding at most one signal.
func watchAccess(t *testing.T, ctx context.Context, h *Hub, userID, serviceID string) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{}, 1)
	notify := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	if _, err := h.Attach(ctx, totalsTopic(serviceID, "7"), make(bytesOutlet, 1), AccessInterest{UserID: userID, OnChange: notify}); err != nil {
		t.Fatal(err)
	}
	return ch
}

// An instance-level listener hears every access change that reaches the instance, whether
// or not it holds a subscription the change names, and every bus gap as one that says All.
func TestAccessChangesReachTheInstancesListeners(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	redis := newFakeRedis()
	snap := newCountingSnapshotter()
	relay := newInstance(redis, snap, Options{})
	other := newInstance(redis, snap, Options{})
	heard := make(chan notifyql.AccessChange, 4)
	other.hub.OnAccessChange(func(c notifyql.AccessChange) { heard <- c })
	other.hub.tick(ctx) // subscribes the bus to access changes
	hear := func(want notifyql.AccessChange, what string) {
		t.Helper()
		select {
		case got := <-heard:
			if got.String() != want.String() || strings.Join(got.UserIDs, ",") != strings.Join(want.UserIDs, ",") {
				t.Errorf("%s: heard %+v, want %+v", what, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: heard nothing within 5 s", what)
		}
	}

	relay.hub.Elected()
	relay.hub.tick(ctx)
	hear(notifyql.AccessChange{All: true}, "an election")
	relay.hub.AccessChanged(notifyql.AccessChange{UserIDs: []string{userB}})
	relay.hub.AccessChanged(notifyql.AccessChange{UserIDs: []string{userA}})
	relay.hub.tick(ctx)
	hear(notifyql.AccessChange{UserIDs: []string{userA, userB}}, "a tick's changes, no subscription held")
	other.hub.BusGap()
	hear(notifyql.AccessChange{All: true}, "a bus gap")
}
