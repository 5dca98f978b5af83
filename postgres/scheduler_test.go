package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"notifyql/pgtest"
	"notifyql/postgres"
)

// schedClock is a clock a test moves by hand.
type schedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *schedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *schedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// startScheduler runs RunScheduler until the returned stop is called; stop waits for it.
func startScheduler(t *testing.T, pool *pgxpool.Pool, jobs []postgres.Job, now func() time.Time) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- postgres.RunScheduler(ctx, pool, nil, jobs, now, 5*time.Millisecond, nil) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunScheduler: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSchedulerRunsADueJobOnceAcrossInstances(t *testing.T) {
	pool := pgtest.NewPool(t)
	clock := &schedClock{now: time.Date(2025, 10, 26, 0, 20, 0, 0, time.UTC)}
	var runs atomic.Int32
	job := postgres.Job{Name: "nightly", DailyAt: 15 * time.Minute, Run: func(ctx context.Context) error {
		runs.Add(1)
		time.Sleep(50 * time.Millisecond) // long enough for the other instance to try
		return nil
	}}
	// Each instance has its own pool, as separate processes would.
	other, err := pgxpool.New(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	stopA := startScheduler(t, pool, []postgres.Job{job}, clock.Now)
	stopB := startScheduler(t, other, []postgres.Job{job}, clock.Now)
	waitFor(t, "the first run", func() bool { return runs.Load() >= 1 })
	time.Sleep(200 * time.Millisecond) // many ticks of both instances
	if got := runs.Load(); got != 1 {
		t.Fatalf("the occurrence ran %d times, want once", got)
	}

	// The next day's occurrence runs once more, whichever instance gets it.
	clock.Set(clock.Now().Add(24 * time.Hour))
	waitFor(t, "the second day's run", func() bool { return runs.Load() >= 2 })
	time.Sleep(200 * time.Millisecond)
	stopA()
	stopB()
	if got := runs.Load(); got != 2 {
		t.Fatalf("two occurrences ran %d times, want 2", got)
	}
}

func TestSchedulerSkipsDoneOccurrencesAndRetriesFailures(t *testing.T) {
	pool := pgtest.NewPool(t)
	clock := &schedClock{now: time.Date(2025, 10, 26, 10, 1, 0, 0, time.UTC)}
	var periodic, flaky atomic.Int32
	jobs := []postgres.Job{
		{Name: "every five minutes", Every: 5 * time.Minute, Run: func(context.Context) error {
			periodic.Add(1)
			return nil
		}},
		{Name: "fails twice", Every: time.Hour, Run: func(context.Context) error {
			if flaky.Add(1) <= 2 {
				return errors.New("not yet")
			}
			return nil
		}},
	}
	stop := startScheduler(t, pool, jobs, clock.Now)
	waitFor(t, "the first runs", func() bool { return periodic.Load() == 1 && flaky.Load() == 3 })
	clock.Set(time.Date(2025, 10, 26, 10, 4, 59, 0, time.UTC)) // same occurrence
	time.Sleep(100 * time.Millisecond)
	if got := periodic.Load(); got != 1 {
		t.Fatalf("periodic job ran %d times within one occurrence, want 1", got)
	}
	clock.Set(time.Date(2025, 10, 26, 10, 5, 0, 0, time.UTC))
	waitFor(t, "the next occurrence", func() bool { return periodic.Load() == 2 })
	// The job has run; its occurrence is recorded as done just after. Stopping before
	// that would rightly leave it to run again after the restart.
	waitFor(t, "the next occurrence recorded as done", func() bool {
		var done bool
		err := pool.QueryRow(context.Background(), `SELECT finished_at IS NOT NULL AND last_occurrence = $1
			FROM scheduled_jobs WHERE name = 'every five minutes'`, time.Date(2025, 10, 26, 10, 5, 0, 0, time.UTC)).Scan(&done)
		return err == nil && done
	})
	stop()
	if got := flaky.Load(); got != 3 {
		t.Errorf("flaky job ran %d times, want 3 (two failures, then done for the hour)", got)
	}

	// A restarted scheduler knows from the table that this occurrence is done.
	stop = startScheduler(t, pool, jobs, clock.Now)
	time.Sleep(100 * time.Millisecond)
	stop()
	if got := periodic.Load(); got != 2 {
		t.Errorf("after a restart the periodic job ran %d times, want still 2", got)
	}
}

func TestSchedulerStopsWhenItsContextEnds(t *testing.T) {
	pool := pgtest.NewPool(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	started := make(chan struct{})
	job := postgres.Job{Name: "slow", Every: time.Minute, Run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // a job that honours cancellation
		return ctx.Err()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- postgres.RunScheduler(ctx, pool, nil, []postgres.Job{job}, time.Now, time.Millisecond, nil)
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunScheduler after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunScheduler did not return after its context ended")
	}
}

func TestSchedulerRefusesBadJobs(t *testing.T) {
	run := func(context.Context) error { return nil }
	tests := []struct {
		name string
		jobs []postgres.Job
	}{
		{"no name", []postgres.Job{{Every: time.Minute, Run: run}}},
		{"no schedule", []postgres.Job{{Name: "a", Run: run}}},
		{"two schedules", []postgres.Job{{Name: "a", Every: time.Minute, DailyAt: time.Hour, Run: run}}},
		{"past the day", []postgres.Job{{Name: "a", DailyAt: 25 * time.Hour, Run: run}}},
		{"nothing to run", []postgres.Job{{Name: "a", Every: time.Minute}}},
		{"same name twice", []postgres.Job{{Name: "a", Every: time.Minute, Run: run}, {Name: "a", Every: time.Hour, Run: run}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := postgres.RunScheduler(context.Background(), nil, nil, tt.jobs, time.Now, time.Second, nil); err == nil {
				t.Error("RunScheduler accepted the jobs")
			}
		})
	}
}

// levelRecorder is a slog handler that keeps each record's level and message.
type levelRecorder struct {
	mu      sync.Mutex
	records []string
}

func (r *levelRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *levelRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *levelRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *levelRecorder) WithGroup(string) slog.Handler      { return r }

func (r *levelRecorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.records...)
}

// The start-up pass (catch-up of what fell due while no instance ran) logs at debug and is
// announced through caughtUp once it is over, before any later run; a job that falls due
// afterwards logs at info.
func TestSchedulerAnnouncesItsStartUpPassAndLogsItAtDebug(t *testing.T) {
	pool := pgtest.NewPool(t)
	clock := &schedClock{now: time.Date(2025, 10, 26, 0, 20, 0, 0, time.UTC)}
	var runs atomic.Int32
	job := postgres.Job{Name: "nightly", DailyAt: 15 * time.Minute, Run: func(context.Context) error {
		runs.Add(1)
		return nil
	}}
	logs := &levelRecorder{}
	caughtUp := make(chan int32, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- postgres.RunScheduler(ctx, pool, slog.New(logs), []postgres.Job{job}, clock.Now, 5*time.Millisecond,
			func() { caughtUp <- runs.Load() })
	}()
	if ran := <-caughtUp; ran != 1 {
		t.Errorf("caughtUp called after %d runs, want after the start-up run", ran)
	}
	if got, want := logs.lines(), []string{"DEBUG scheduled job started", "DEBUG scheduled job finished"}; !slices.Equal(got, want) {
		t.Errorf("start-up pass logged %q, want %q", got, want)
	}
	clock.Set(clock.Now().Add(24 * time.Hour))
	waitFor(t, "the next day's run to finish", func() bool { return len(logs.lines()) == 4 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := logs.lines(); len(got) != 4 || got[2] != "INFO scheduled job started" || got[3] != "INFO scheduled job finished" {
		t.Errorf("logged %q, want the later run at info", got)
	}
	if len(caughtUp) != 0 {
		t.Errorf("caughtUp called more than once")
	}
}
