package seed

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"notifyql"
	"notifyql/pgtest"
)

// simulatorPool is one demo-seeded database shared by the simulator tests, which run one
// after another: seeding takes seconds on a small machine.
func simulatorPool(t *testing.T) (*pgxpool.Pool, *time.Location) {
	t.Helper()
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.NewPool(t)
	if _, err := Load(context.Background(), pool, Options{Profile: Demo, Seed: 1, Now: time.Now().UTC()}); err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	return pool, london
}

func simCount(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// lockedBuffer is a log sink the simulator's goroutine and the test can share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSimulator(t *testing.T) {
	pool, london := simulatorPool(t)
	t.Run("runs in real time until cancelled", func(t *testing.T) { testSimulatorRun(t, pool, london) })
	t.Run("moves notifications to final statuses and runs the jobs it schedules", func(t *testing.T) {
		testSimulatorLifecycle(t, pool, london)
	})
	t.Run("is deterministic given a seed and a clock", func(t *testing.T) { testSimulatorDeterministic(t, pool, london) })
	t.Run("refuses what it cannot simulate", func(t *testing.T) { testSimulatorRefuses(t, pool, london) })
}

func testSimulatorRun(t *testing.T, pool *pgxpool.Pool, london *time.Location) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := context.Background()
	const (
		countNotifications = "SELECT count(*) FROM notifications"
		countHistory       = "SELECT count(*) FROM notification_status_history"
		countInbound       = "SELECT count(*) FROM inbound_sms"
		countInProgress    = "SELECT count(*) FROM jobs WHERE job_status = 'in progress'"
	)
	notificationsBefore, historyBefore := simCount(t, pool, countNotifications), simCount(t, pool, countHistory)
	inboundBefore := simCount(t, pool, countInbound)
	if n := simCount(t, pool, countInProgress); n != 1 {
		t.Fatalf("the demo seed has %d jobs in progress, want 1", n)
	}
	started := time.Now().UTC()

	var logs lockedBuffer
	// The assertions below are about what 2.2 s of real time brings; with seed 3 the draws
	// happen to finish no notification that soon, so another seed is used.
	sim := NewSimulator(pool, london, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SimulatorOptions{Rate: 50, Seed: 4})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sim.Run(runCtx) }()
	time.Sleep(2200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}

	stats := sim.Stats()
	t.Logf("stats: %+v", stats)
	created := simCount(t, pool, countNotifications) - notificationsBefore
	if created < 60 || created != stats.Notifications {
		t.Errorf("%d notifications created (stats say %d), want about 100 at 50/s for 2 s", created, stats.Notifications)
	}
	if n := simCount(t, pool, `SELECT count(*) FROM notifications WHERE created_at >= $1
		AND (personalisation IS NULL OR (notification_type = 'letter' AND NOT personalisation ? 'address_line_1'))`, started); n > 0 {
		t.Errorf("%d new notifications without personalisation (letters: without their address), want 0", n)
	}
	if n := simCount(t, pool, `SELECT count(*) FROM notifications n JOIN templates t ON t.id = n.template_id
		WHERE n.created_at >= $1 AND (t.hidden AND t.name = 'Pre-compiled PDF')
		      <> EXISTS (SELECT 1 FROM letter_files f WHERE f.notification_id = n.id)`, started); n > 0 {
		t.Errorf("%d new notifications where having a letter file and being an uploaded letter disagree, want 0", n)
	}
	moved := simCount(t, pool, "SELECT count(*) FROM notifications WHERE created_at >= $1 AND notification_status NOT IN ('created', 'pending-virus-check')", started)
	if moved == 0 || stats.StatusChanges == 0 {
		t.Errorf("%d new notifications past created (%d status changes), want some", moved, stats.StatusChanges)
	}
	final := simCount(t, pool, `SELECT count(*) FROM notifications WHERE created_at >= $1
		AND notification_status IN ('delivered', 'sent', 'temporary-failure', 'permanent-failure', 'technical-failure')`, started)
	if final == 0 {
		t.Error("no new notification reached a final status")
	}
	if grown := simCount(t, pool, countHistory) - historyBefore; grown <= created {
		t.Errorf("status history grew by %d for %d new notifications, want more (their moves too)", grown, created)
	}
	if n := simCount(t, pool, countInbound) - inboundBefore; n < 3 || n != stats.InboundSMS {
		t.Errorf("%d inbound text messages received (stats say %d), want about 5", n, stats.InboundSMS)
	}
	scheduled := simCount(t, pool, "SELECT count(*) FROM jobs WHERE job_status = 'scheduled' AND created_at >= $1 AND scheduled_for > $1 + interval '1 minute'", started)
	if scheduled != 1 || stats.JobsScheduled != 1 {
		t.Errorf("%d jobs scheduled minutes ahead (stats say %d), want 1", scheduled, stats.JobsScheduled)
	}
	// The demo's job in progress was carried on to its end, as a restarted pipeline would.
	if n := simCount(t, pool, countInProgress); n != 0 {
		t.Errorf("%d jobs still in progress, want the seeded one finished", n)
	}
	if stats.WriteErrors != 0 {
		t.Errorf("%d write errors; logs:\n%s", stats.WriteErrors, logs.String())
	}
	for _, personal := range []string{"07700900", "447700900", "example.org", "PO Box"} {
		if strings.Contains(logs.String(), personal) {
			t.Errorf("logs hold personal data (%q):\n%s", personal, logs.String())
		}
	}
}

// simStatusesByType are the statuses each type may have (DOMAIN §2.1).
var simStatusesByType = map[string][]notifyql.NotificationStatus{
	"email":  seedStatusesByType[notifyql.TypeEmail],
	"sms":    seedStatusesByType[notifyql.TypeSMS],
	"letter": seedStatusesByType[notifyql.TypeLetter],
}

func testSimulatorLifecycle(t *testing.T, pool *pgxpool.Pool, london *time.Location) {
	ctx := context.Background()
	// A clock an hour ahead keeps these rows apart from the real-time run's.
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	clock := start
	sim := NewSimulator(pool, london, nil, SimulatorOptions{Rate: 2, Seed: 11, Now: func() time.Time { return clock }})
	if err := sim.prepare(ctx); err != nil {
		t.Fatal(err)
	}
	// Ten minutes in steps of two seconds: the first job, scheduled at the first tick, runs
	// within five. The checks of final statuses leave out the last 90 s, in which a letter
	// may still be on its way.
	end := start.Add(10 * time.Minute)
	settled := end.Add(-90 * time.Second)
	for ; clock.Before(end); clock = clock.Add(2 * time.Second) {
		if err := sim.tick(ctx, clock); err != nil {
			t.Fatalf("tick at %s: %v", clock.Sub(start), err)
		}
	}
	stats := sim.Stats()
	t.Logf("stats: %+v", stats)
	if stats.JobsScheduled < 2 || stats.JobsStarted < 1 || stats.JobsFinished < 1 {
		t.Errorf("stats %+v: want jobs scheduled, started and finished", stats)
	}

	type row struct {
		ID, Type, Status string
		CreatedAt        time.Time
		SentAt           *time.Time
		UpdatedAt        *time.Time
		SentBy           *string
		JobID            *string
	}
	rows, err := pool.Query(ctx, `SELECT id::text, notification_type, notification_status, created_at, sent_at, updated_at, sent_by,
		job_id::text FROM notifications WHERE created_at >= $1 ORDER BY created_at, id`, start)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != stats.Notifications || len(got) < 1100 {
		t.Fatalf("%d notifications created (stats say %d), want about 1,200 one-off plus job rows", len(got), stats.Notifications)
	}
	seen := map[string]map[string]int{}
	for _, n := range got {
		status := notifyql.NotificationStatus(n.Status)
		if !slices.Contains(simStatusesByType[n.Type], status) {
			t.Errorf("%s notification %s is %s, not a status of its type", n.Type, n.ID, n.Status)
		}
		if !n.CreatedAt.Before(settled) {
			continue
		}
		if !status.IsFinal() {
			t.Errorf("%s notification %s is still %s after %s", n.Type, n.ID, n.Status, end.Sub(n.CreatedAt))
		}
		if n.UpdatedAt == nil {
			t.Errorf("notification %s has no updated_at", n.ID)
		}
		wasSent := status != notifyql.StatusCancelled && status != notifyql.StatusValidationFailed && status != notifyql.StatusVirusScanFailed
		if wasSent && (n.SentAt == nil || n.SentBy == nil) {
			t.Errorf("%s notification %s is %s with sent_at %v and sent_by %v", n.Type, n.ID, n.Status, n.SentAt, n.SentBy)
		}
		if seen[n.Type] == nil {
			seen[n.Type] = map[string]int{}
		}
		seen[n.Type][n.Status]++
	}
	t.Logf("statuses of settled notifications: %v", seen)
	for _, typ := range []string{"email", "sms", "letter"} {
		if seen[typ]["delivered"] == 0 {
			t.Errorf("no %s delivered: %v", typ, seen[typ])
		}
	}

	// Every notification went through sending (or was stopped before it), in order.
	var badHistories int64
	if err := pool.QueryRow(ctx, `
		SELECT count(*) FROM (
		    SELECT h.notification_id, array_agg(h.status ORDER BY h.id) AS statuses
		      FROM notification_status_history h JOIN notifications n ON n.id = h.notification_id
		     WHERE n.created_at >= $1 AND n.created_at < $2
		     GROUP BY h.notification_id) t
		 WHERE NOT (statuses[1] IN ('created', 'pending-virus-check')
		        AND (statuses @> ARRAY['sending'] OR statuses[cardinality(statuses)] IN
		             ('cancelled', 'validation-failed', 'virus-scan-failed')))`, start, settled).Scan(&badHistories); err != nil {
		t.Fatal(err)
	}
	if badHistories != 0 {
		t.Errorf("%d notifications have a status history that skips sending", badHistories)
	}

	// The jobs that ran sent every row, numbered from 0, and finished.
	var jobs, badJobs int64
	if err := pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE j.processing_started < $2 AND (j.job_status <> 'finished' OR j.processing_started IS NULL
		           OR j.processing_finished IS NULL OR j.scheduled_for > j.processing_started
		           OR (SELECT count(*) FROM notifications n WHERE n.job_id = j.id) <> j.notification_count
		           OR (SELECT max(job_row_number) FROM notifications n WHERE n.job_id = j.id) <> j.notification_count - 1))
		  FROM jobs j
		 WHERE j.created_at >= $1 AND j.processing_started IS NOT NULL`, start, end.Add(-30*time.Second)).Scan(&jobs, &badJobs); err != nil {
		t.Fatal(err)
	}
	if jobs == 0 || badJobs != 0 {
		t.Errorf("%d jobs ran, %d of them incompletely", jobs, badJobs)
	}
	if n := simCount(t, pool, `SELECT count(*) FROM jobs WHERE created_at >= $1 AND job_status = 'scheduled'
		AND scheduled_for > $1`, start); n+jobs != stats.JobsScheduled {
		t.Errorf("%d jobs waiting and %d run, want the %d scheduled", n, jobs, stats.JobsScheduled)
	}
}

func testSimulatorDeterministic(t *testing.T, pool *pgxpool.Pool, london *time.Location) {
	ctx := context.Background()
	now := time.Date(2026, 7, 14, 10, 0, 0, 0, time.UTC)
	sample := func(seed int64) []string {
		sim := NewSimulator(pool, london, nil, SimulatorOptions{Rate: 10, Seed: seed})
		if err := sim.loadCatalogue(ctx); err != nil {
			t.Fatal(err)
		}
		var out []string
		for range 200 {
			n := sim.newNotification(now)
			var steps []string
			for _, s := range n.steps {
				steps = append(steps, string(s.to)+"@"+s.at.Sub(now).String())
			}
			out = append(out, strings.Join(append([]string{n.template.id, n.to, string(n.keyType),
				string(n.status)}, steps...), " "))
		}
		return out
	}
	first, second := sample(5), sample(5)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("same seed, different notifications (-first +second):\n%s", diff)
	}
	if cmp.Equal(first, sample(6)) {
		t.Error("another seed gave the same notifications")
	}
}

func testSimulatorRefuses(t *testing.T, pool *pgxpool.Pool, london *time.Location) {
	ctx := context.Background()
	var closed string
	if err := pool.QueryRow(ctx, "SELECT id::text FROM services WHERE NOT active LIMIT 1").Scan(&closed); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts SimulatorOptions
		code string
	}{
		{"no rate", SimulatorOptions{}, notifyql.EINVALID},
		{"negative rate", SimulatorOptions{Rate: -1}, notifyql.EINVALID},
		{"malformed service id", SimulatorOptions{Rate: 1, Services: []string{"not-a-uuid"}}, notifyql.EINVALID},
		{"unknown service", SimulatorOptions{Rate: 1, Services: []string{"00000000-0000-4000-8000-000000000000"}}, notifyql.ENOTFOUND},
		{"inactive service", SimulatorOptions{Rate: 1, Services: []string{closed}}, notifyql.ENOTFOUND},
	} {
		err := NewSimulator(pool, london, nil, tc.opts).Run(ctx)
		if code := notifyql.ErrorCode(err); code != tc.code {
			t.Errorf("%s: Run = %v (code %q), want code %q", tc.name, err, code, tc.code)
		}
	}
}
