package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"notifyql"
)

// countingLoads is a principal loader that counts its calls and can be held mid-load.
type countingLoads struct {
	calls atomic.Int64
	// gate, when set, is waited on by every load before it answers.
	gate chan struct{}
	// started receives once per load that has begun.
	started chan struct{}
	err     error
}

func (l *countingLoads) load(user string) func(context.Context) (*notifyql.Principal, error) {
	return func(ctx context.Context) (*notifyql.Principal, error) {
		n := l.calls.Add(1)
		if l.started != nil {
			l.started <- struct{}{}
		}
		if l.gate != nil {
			<-l.gate
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if l.err != nil {
			return nil, l.err
		}
		return &notifyql.Principal{User: notifyql.User{ID: user, Name: fmt.Sprintf("load %d", n)}}, nil
	}
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestPrincipalCacheKeepsAPrincipalForItsTTL(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	cache := newPrincipalCache(time.Second, 10, clock.Now)
	loads := &countingLoads{}
	get := func() *notifyql.Principal {
		t.Helper()
		p, err := cache.get(t.Context(), testUserID, loads.load(testUserID))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := get()
	clock.advance(999 * time.Millisecond)
	if again := get(); again != first || loads.calls.Load() != 1 {
		t.Errorf("within the TTL: %d loads, same principal %t; want 1 load and the same principal", loads.calls.Load(), again == first)
	}
	clock.advance(time.Millisecond)
	if later := get(); later == first || loads.calls.Load() != 2 {
		t.Errorf("at the TTL: %d loads, same principal %t; want a second load", loads.calls.Load(), later == first)
	}
}

func TestPrincipalCacheForgetsWhatAnAccessChangeNames(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	cache := newPrincipalCache(time.Second, 10, clock.Now)
	loads := &countingLoads{}
	fill := func() {
		for _, user := range []string{testUserID, unknownUserID} {
			if _, err := cache.get(t.Context(), user, loads.load(user)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill()
	cache.forget(notifyql.AccessChange{UserIDs: []string{testUserID}, ServiceIDs: []string{"5a000000-0000-0000-0000-00000000000a"}})
	if n := cache.size(); n != 1 {
		t.Errorf("after a change naming one of two users: %d kept, want 1", n)
	}
	before := loads.calls.Load()
	fill()
	if n := loads.calls.Load() - before; n != 1 {
		t.Errorf("after a change naming one of two users: %d loads, want 1 (the named user's)", n)
	}
	cache.forget(notifyql.AccessChange{All: true})
	if n := cache.size(); n != 0 {
		t.Errorf("after a change saying All: %d kept, want 0", n)
	}
}

// A load that read the database before a change was committed must not answer for the
// user after the change's hint arrived, nor share its answer with requests that started
// after the hint.
func TestPrincipalCacheKeepsNothingLoadedAcrossAnAccessChange(t *testing.T) {
	cache := newPrincipalCache(time.Second, 10, time.Now)
	loads := &countingLoads{gate: make(chan struct{}), started: make(chan struct{}, 2)}
	firstDone := make(chan *notifyql.Principal)
	go func() {
		p, _ := cache.get(context.Background(), testUserID, loads.load(testUserID))
		firstDone <- p
	}()
	<-loads.started
	cache.forget(notifyql.AccessChange{UserIDs: []string{testUserID}})
	secondDone := make(chan *notifyql.Principal)
	go func() {
		p, _ := cache.get(context.Background(), testUserID, loads.load(testUserID))
		secondDone <- p
	}()
	<-loads.started // the request after the change loads again rather than wait for the first
	close(loads.gate)
	first, second := <-firstDone, <-secondDone
	if first == second {
		t.Error("a request made after the access change shared the load made before it")
	}
	if n := cache.size(); n != 1 {
		t.Fatalf("%d principals kept, want 1 (the load made after the change)", n)
	}
	got, err := cache.get(context.Background(), testUserID, loads.load(testUserID))
	if err != nil {
		t.Fatal(err)
	}
	if got != second {
		t.Errorf("the cache answers with %q, want the load made after the change (%q)", got.User.Name, second.User.Name)
	}
}

func TestPrincipalCacheSharesOneLoadBetweenConcurrentRequests(t *testing.T) {
	cache := newPrincipalCache(time.Second, 10, time.Now)
	loads := &countingLoads{gate: make(chan struct{}), started: make(chan struct{}, 16)}
	var wg sync.WaitGroup
	got := make([]*notifyql.Principal, 16)
	for i := range got {
		wg.Go(func() {
			p, err := cache.get(t.Context(), testUserID, loads.load(testUserID))
			if err != nil {
				t.Error(err)
			}
			got[i] = p
		})
	}
	<-loads.started
	// Let the other requests reach the cache; they wait on the load that has started.
	waitForWaiters(t, cache, testUserID)
	close(loads.gate)
	wg.Wait()
	if n := loads.calls.Load(); n != 1 {
		t.Errorf("16 concurrent requests made %d loads, want 1", n)
	}
	for i, p := range got {
		if p != got[0] {
			t.Errorf("request %d got another principal", i)
		}
	}
}

// waitForWaiters waits until a load of user is in flight. The requests that will share it
// may still be on their way; a load shared by fewer is still one load.
func waitForWaiters(t *testing.T, cache *principalCache, user string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		cache.mu.Lock()
		n := 0
		for key := range cache.inflight {
			if key.user == user {
				n++
			}
		}
		cache.mu.Unlock()
		if n > 0 {
			time.Sleep(10 * time.Millisecond)
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no load in flight")
}

func TestPrincipalCacheKeepsNoErrors(t *testing.T) {
	cache := newPrincipalCache(time.Second, 10, time.Now)
	loads := &countingLoads{err: errors.New("database away")}
	for range 2 {
		if _, err := cache.get(t.Context(), testUserID, loads.load(testUserID)); err == nil {
			t.Fatal("a failing load answered")
		}
	}
	if n := loads.calls.Load(); n != 2 {
		t.Errorf("two requests after a failure made %d loads, want 2: a failure is not kept", n)
	}
	if n := cache.size(); n != 0 {
		t.Errorf("%d principals kept after failures", n)
	}
}

// A caller who hangs up gets its cancellation; the load goes on for the others.
func TestPrincipalCacheLoadOutlivesACallerWhoHangsUp(t *testing.T) {
	cache := newPrincipalCache(time.Second, 10, time.Now)
	loads := &countingLoads{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	first, hangUp := context.WithCancel(context.Background())
	firstErr := make(chan error)
	go func() {
		_, err := cache.get(first, testUserID, loads.load(testUserID))
		firstErr <- err
	}()
	<-loads.started
	secondErr := make(chan error)
	go func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := cache.get(ctx, testUserID, loads.load(testUserID))
		secondErr <- err
	}()
	waitForWaiters(t, cache, testUserID)
	hangUp()
	close(loads.gate)
	<-firstErr
	if err := <-secondErr; err != nil {
		t.Errorf("a caller waiting on a load whose starter hung up got %v", err)
	}
}

// The caller who starts a load waits no longer than its own deadline, as every other
// waiter does: a frozen database must not hold a request past its request timeout.
func TestPrincipalCacheStarterLeavesAtItsDeadline(t *testing.T) {
	cache := newPrincipalCache(time.Second, 10, time.Now)
	loads := &countingLoads{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	defer close(loads.gate)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	answered := make(chan error, 1)
	go func() {
		_, err := cache.get(ctx, testUserID, loads.load(testUserID))
		answered <- err
	}()
	<-loads.started
	select {
	case err := <-answered:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the starter of a stuck load got %v, want its deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the starter of a stuck load was held past its deadline")
	}
}

// The cache holds at most its size, however many users sign in.
func TestPrincipalCacheIsBounded(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	cache := newPrincipalCache(time.Second, 100, clock.Now)
	loads := &countingLoads{}
	for i := range 1000 {
		user := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		if _, err := cache.get(t.Context(), user, loads.load(user)); err != nil {
			t.Fatal(err)
		}
		if n := cache.size(); n > 100 {
			t.Fatalf("after %d users the cache holds %d principals, more than its size of 100", i+1, n)
		}
		if i%50 == 0 {
			clock.advance(300 * time.Millisecond)
		}
	}
}

// switchableAccess is an AccessStore whose one user can be deactivated, counting loads.
type switchableAccess struct {
	principalsByID
	mu     sync.Mutex
	active bool
	loads  int
}

func (s *switchableAccess) Principal(ctx context.Context, userID string) (*notifyql.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if !s.active {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
	}
	return s.principalsByID.Principal(ctx, userID)
}

func (s *switchableAccess) set(active bool) (loads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = active
	return s.loads
}

// Over HTTP a user's principal answers from the cache until the access change naming them
// reaches the server; from then on they are refused. A socket's start and its operations
// read the database each time, whatever the cache holds.
func TestAccessChangeDropsTheCachedPrincipalOfRequests(t *testing.T) {
	access := &switchableAccess{principalsByID: principalsByID{testUserID: {User: notifyql.User{ID: testUserID, State: "active"}}}, active: true}
	auth := NewAuthenticator(testSecret, access).WithPrincipalCache()
	srv := New(Config{}, nil, auth)
	token, err := MintToken(testSecret, testUserID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + token
	for range 3 {
		if _, err := auth.Authenticate(t.Context(), bearer); err != nil {
			t.Fatal(err)
		}
	}
	if loads := access.set(false); loads != 1 {
		t.Errorf("three requests loaded the principal %d times, want once", loads)
	}
	// The user is deactivated: a socket's start and a socket's operation see it at once.
	if _, _, err := auth.AuthenticateWithExpiry(t.Context(), bearer); notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED {
		t.Errorf("a socket's start after the user was deactivated: %v, want UNAUTHENTICATED", err)
	}
	if _, err := auth.Reload(t.Context(), testUserID); notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED {
		t.Errorf("a socket's operation after the user was deactivated: %v, want UNAUTHENTICATED", err)
	}
	// A change naming someone else leaves the cached principal.
	srv.AccessChanged(notifyql.AccessChange{UserIDs: []string{unknownUserID}})
	if _, err := auth.Authenticate(t.Context(), bearer); err != nil {
		t.Errorf("a request before the user's change reached the server: %v, want the cached principal", err)
	}
	srv.AccessChanged(notifyql.AccessChange{UserIDs: []string{testUserID}})
	if _, err := auth.Authenticate(t.Context(), bearer); notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED {
		t.Errorf("a request after the user's change reached the server: %v, want UNAUTHENTICATED", err)
	}
}

// size returns the principals kept now.
func (c *principalCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
