package dataloaders

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// recordingFetch answers each key with its length and records the rounds it was sent.
type recordingFetch struct {
	mu     sync.Mutex
	rounds [][]string
}

func (f *recordingFetch) fetch(_ context.Context, keys []string) (map[string]int, error) {
	f.mu.Lock()
	f.rounds = append(f.rounds, slices.Clone(keys))
	f.mu.Unlock()
	found := make(map[string]int, len(keys))
	for _, k := range keys {
		if k != "missing" {
			found[k] = len(k)
		}
	}
	return found, nil
}

func (f *recordingFetch) sent() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rounds)
}

// inListCtx is the context of a field of a list's element.
func inListCtx() context.Context {
	i := 0
	list := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Index: &i})
	return graphql.WithFieldContext(list, &graphql.FieldContext{})
}

// A field outside any list (a root field's one id) sends its round at once: a loader
// whose wait would outlast the test answers, and no round was timed.
func TestLoadOutsideAListDoesNotWait(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Hour, &timed)
	root := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{})
	v, err := l.Load(root, "abc")
	if err != nil || v != 3 {
		t.Fatalf("Load = %d, %v; want 3", v, err)
	}
	if got := timed.Load(); got != 0 {
		t.Errorf("%d rounds timed, want 0", got)
	}
	if got := f.sent(); !slices.EqualFunc(got, [][]string{{"abc"}}, slices.Equal) {
		t.Errorf("rounds %q, want one of abc", got)
	}
}

// Keys queued by one caller go in one round when it dispatches, and a key asked for again
// is not fetched again.
func TestDispatchSendsTheQueuedKeysInOneRound(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Hour, &timed)
	ctx := inListCtx()
	a, b, missing := l.LoadThunk(ctx, "a"), l.LoadThunk(ctx, "bb"), l.LoadThunk(ctx, "missing")
	l.Dispatch()
	if v, err := a(); v != 1 || err != nil {
		t.Errorf("a = %d, %v", v, err)
	}
	if v, err := b(); v != 2 || err != nil {
		t.Errorf("bb = %d, %v", v, err)
	}
	if _, err := missing(); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
	if v, err := l.Load(ctx, "bb"); v != 2 || err != nil {
		t.Errorf("bb again = %d, %v", v, err)
	}
	if got := f.sent(); !slices.EqualFunc(got, [][]string{{"a", "bb", "missing"}}, slices.Equal) {
		t.Errorf("rounds %q, want one of a, bb, missing", got)
	}
	if got := timed.Load(); got != 0 {
		t.Errorf("%d rounds timed, want 0", got)
	}
}

// Fields of a list's elements, each asking for its own key, wait for one another and go
// in one timed round.
func TestLoadInAListWaitsForItsSiblings(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, 50*time.Millisecond, &timed)
	ctx := inListCtx()
	var wg sync.WaitGroup
	for _, k := range []string{"x", "yy", "zzz"} {
		wg.Go(func() {
			if v, err := l.Load(ctx, k); v != len(k) || err != nil {
				t.Errorf("%s = %d, %v", k, v, err)
			}
		})
	}
	wg.Wait()
	rounds := f.sent()
	if len(rounds) != 1 || len(rounds[0]) != 3 {
		t.Errorf("rounds %q, want one of the three keys", rounds)
	}
	if got := timed.Load(); got != 1 {
		t.Errorf("%d rounds timed, want 1", got)
	}
}

// Primed values and primed absences cost no round; a key already asked for keeps its
// round's value.
func TestPrimedKeysCostNoRound(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Hour, &timed)
	l.Prime("p", 42)
	l.PrimeNotFound("gone")
	if v, err := l.Load(context.Background(), "p"); v != 42 || err != nil {
		t.Errorf("p = %d, %v; want the primed 42", v, err)
	}
	if _, err := l.Load(context.Background(), "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("gone: %v, want ErrNotFound", err)
	}
	if v, err := l.Load(context.Background(), "abcd"); v != 4 || err != nil {
		t.Errorf("abcd = %d, %v", v, err)
	}
	l.Prime("abcd", 0)
	if v, _ := l.Load(context.Background(), "abcd"); v != 4 {
		t.Errorf("abcd after Prime = %d, want the loaded 4", v)
	}
	if got := f.sent(); !slices.EqualFunc(got, [][]string{{"abcd"}}, slices.Equal) {
		t.Errorf("rounds %q, want one of abcd", got)
	}
}

// A failed round fails each of its keys; a panicking fetch does not leave them waiting.
func TestARoundsErrorReachesEveryKey(t *testing.T) {
	boom := errors.New("boom")
	failing := newLoader(func(context.Context, []string) (map[string]int, error) { return nil, boom }, time.Hour, nil)
	ctx := inListCtx()
	a, b := failing.LoadThunk(ctx, "a"), failing.LoadThunk(ctx, "b")
	failing.Dispatch()
	for _, thunk := range []func() (int, error){a, b} {
		if _, err := thunk(); !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
	}
	panicking := newLoader(func(context.Context, []string) (map[string]int, error) { panic("bug") }, time.Hour, nil)
	if _, err := panicking.LoadNow(ctx, "a"); err == nil {
		t.Error("a panicking fetch answered without an error")
	}
}

// Clearing a key whose round is queued leaves the round to answer those already waiting,
// and the next Load asks afresh.
func TestClearWhileQueued(t *testing.T) {
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Hour, nil)
	ctx := inListCtx()
	thunk := l.LoadThunk(ctx, "k")
	l.Clear("k")
	l.Dispatch()
	if v, err := thunk(); v != 1 || err != nil {
		t.Errorf("k = %d, %v", v, err)
	}
	if v, err := l.LoadNow(ctx, "k"); v != 1 || err != nil {
		t.Errorf("k after Clear = %d, %v", v, err)
	}
	if got := len(f.sent()); got != 2 {
		t.Errorf("%d rounds, want 2", got)
	}
}

// A value primed for later is waited for by those who load it, fetched by no round, and
// asked of later once however many wait.
func TestPrimeLaterWaitsForTheValue(t *testing.T) {
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Hour, nil)
	arrive := make(chan struct{})
	var calls atomic.Int64
	l.PrimeLater("counts", func() (int, error) {
		calls.Add(1)
		<-arrive
		return 7, nil
	})
	l.PrimeLater("counts", func() (int, error) { return 0, errors.New("primed twice") })
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if v, err := l.Load(inListCtx(), "counts"); v != 7 || err != nil {
				t.Errorf("counts = %d, %v; want 7", v, err)
			}
		})
	}
	close(arrive)
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("later called %d times, want once", got)
	}
	if got := f.sent(); len(got) != 0 {
		t.Errorf("rounds %q, want none", got)
	}
}

// A round that a caller queues and dispatches itself has no timer: however late the
// Dispatch comes, it is sent once, by the Dispatch, and not counted as a waited round.
func TestQueuedRoundWaitsForItsDispatch(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Nanosecond, &timed)
	ctx := inListCtx()
	a, b := l.Queue(ctx, "a"), l.Queue(ctx, "bb")
	time.Sleep(10 * time.Millisecond)
	if got := f.sent(); len(got) != 0 {
		t.Fatalf("rounds %q sent before the Dispatch", got)
	}
	l.Dispatch()
	if v, err := a(); v != 1 || err != nil {
		t.Errorf("a = %d, %v", v, err)
	}
	if v, err := b(); v != 2 || err != nil {
		t.Errorf("bb = %d, %v", v, err)
	}
	if got := f.sent(); !slices.EqualFunc(got, [][]string{{"a", "bb"}}, slices.Equal) {
		t.Errorf("rounds %q, want one of a, bb", got)
	}
	if got := timed.Load(); got != 0 {
		t.Errorf("%d rounds timed, want 0", got)
	}
}

// A key a list's element asks for joins a queued round and goes with its Dispatch; a
// Dispatch that finds the timer already fired leaves the round to the timer, which sends
// it once.
func TestDispatchAndTimerSendARoundOnce(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Nanosecond, &timed)
	ctx := inListCtx()
	queued := l.Queue(ctx, "q")
	joined := l.LoadThunk(ctx, "jj")
	l.Dispatch()
	if v, err := queued(); v != 1 || err != nil {
		t.Errorf("q = %d, %v", v, err)
	}
	if v, err := joined(); v != 2 || err != nil {
		t.Errorf("jj = %d, %v", v, err)
	}
	if got := f.sent(); !slices.EqualFunc(got, [][]string{{"q", "jj"}}, slices.Equal) {
		t.Errorf("rounds %q, want one of q, jj", got)
	}

	late := l.LoadThunk(ctx, "late")
	time.Sleep(10 * time.Millisecond)
	l.Dispatch()
	if v, err := late(); v != 4 || err != nil {
		t.Errorf("late = %d, %v", v, err)
	}
	if got := len(f.sent()); got != 2 {
		t.Errorf("%d rounds, want 2", got)
	}
	if got := timed.Load(); got != 1 {
		t.Errorf("%d rounds timed, want the late one", got)
	}
}

// A list's rows load keys their list primed or fetched already: each Load answers at once,
// with no round, no waiter allocated and nothing left pending; Want queues a key for a
// round without a waiter, and Pending says a round waits to be sent.
func TestLoadedKeysAnswerWithoutARound(t *testing.T) {
	var timed atomic.Int64
	f := &recordingFetch{}
	l := newLoader(f.fetch, time.Hour, &timed)
	ctx := inListCtx()
	l.Prime("primed", 7)
	if allocs := testing.AllocsPerRun(100, func() {
		if v, err := l.Load(ctx, "primed"); v != 7 || err != nil {
			t.Fatalf("primed = %d, %v", v, err)
		}
	}); allocs != 0 {
		t.Errorf("a primed key's Load allocated %.0f times, want 0", allocs)
	}
	if l.Pending() {
		t.Error("loading a primed key left a round pending")
	}

	l.Want(ctx, "abc")
	l.Want(ctx, "abc")
	if !l.Pending() {
		t.Fatal("a wanted key is not pending")
	}
	l.Dispatch()
	if l.Pending() {
		t.Error("a dispatched round is still pending")
	}
	if v, err := l.Load(ctx, "abc"); v != 3 || err != nil {
		t.Errorf("abc = %d, %v", v, err)
	}
	if got := f.sent(); !slices.EqualFunc(got, [][]string{{"abc"}}, slices.Equal) {
		t.Errorf("rounds %q, want one of abc", got)
	}
	if got := timed.Load(); got != 0 {
		t.Errorf("%d rounds timed, want 0", got)
	}
}
