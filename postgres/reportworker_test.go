package postgres

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// insertReportRows adds n delivered texts to alpha inside the SMS window at fxNow, 100 to
// each created_at so that batch edges fall among equal times, with the recipients
// 07700000001 onwards; and rows every SMS report must leave out: a cancelled text, a test
// key's, one from before the window and an email.
func insertReportRows(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	fxExec(tb, pool, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    key_type, notification_status, created_at)
		SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, $1, $2, 1, 'sms',
		       '07700' || lpad(i::text, 6, '0'), 'normal', 'delivered',
		       $3::timestamp - (i / 100) * interval '1 minute'
		  FROM generate_series(1, $4::int) i`, fxAlphaID, fxSMSTemplateID, fxNow.Add(-time.Hour), n)
	insertNotifications(tb, pool,
		fxNotification{ID: fxNotificationID(900001), Type: notifyql.TypeSMS, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-21T08:00:00Z"},
		fxNotification{ID: fxNotificationID(900002), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, Key: notifyql.KeyTest, CreatedAt: "2025-07-21T08:00:00Z"},
		fxNotification{ID: fxNotificationID(900003), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-13T22:59:59Z"},
		fxNotification{ID: fxNotificationID(900004), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:00:00Z"},
	)
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestReportWorker(tb testing.TB, pool *pgxpool.Pool, exports notifyql.ExportStore, name string, clock *testClock, logs io.Writer) *ReportWorker {
	if exports == nil {
		exports = NewExportStore(pool)
	}
	if logs == nil {
		logs = io.Discard
	}
	return NewReportWorker(pool, exports, fxLondon(tb), slog.New(slog.NewJSONHandler(logs, nil)),
		ReportWorkerOptions{Name: name, Now: clock.Now, Lease: time.Minute})
}

func mustQueueReport(tb testing.TB, pool *pgxpool.Pool, user string) string {
	tb.Helper()
	r, created, err := NewReportStore(pool).RequestReport(tb.Context(), reportInput(user, notifyql.TypeSMS, notifyql.ReportOfDelivered), fxNow)
	if err != nil || !created {
		tb.Fatalf("queue a report: %v (created %v)", err, created)
	}
	return r.ID
}

// mustReadReport downloads a stored report and checks it: the header once, then one row
// per recipient 1..n, each once.
func mustReadReport(tb testing.TB, pool *pgxpool.Pool, id string, n int) {
	tb.Helper()
	var buf bytes.Buffer
	if err := NewReportStore(pool).WriteReportFile(tb.Context(), id, &buf); err != nil {
		tb.Fatalf("download report %s: %v", id, err)
	}
	if !strings.HasSuffix(buf.String(), "\r\n") || strings.Count(buf.String(), "\r\n") != n+1 {
		tb.Errorf("report %s has %d CRLF lines, want %d", id, strings.Count(buf.String(), "\r\n"), n+1)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		tb.Fatalf("report %s does not parse: %v", id, err)
	}
	if len(records) == 0 || !slices.Equal(records[0], notifyql.NotificationCSVHeader) {
		tb.Fatalf("report %s starts with %v, want the header", id, records[:min(1, len(records))])
	}
	seen := map[string]bool{}
	for _, r := range records[1:] {
		if seen[r[0]] {
			tb.Errorf("report %s repeats %s", id, r[0])
		}
		seen[r[0]] = true
		if r[3] != "sms" || r[7] != "Delivered" || r[2] != "Code" {
			tb.Errorf("report %s row %v", id, r)
		}
	}
	for i := 1; i <= n; i++ {
		if want := fmt.Sprintf("07700%06d", i); !seen[want] {
			tb.Errorf("report %s lacks %s", id, want)
			break
		}
	}
	if len(records)-1 != n {
		tb.Errorf("report %s has %d rows, want %d", id, len(records)-1, n)
	}
}

type reportState struct {
	Status   string
	Updated  *time.Time
	Attempts int
	Chunks   int
	Rows     int64
	Workers  string
}

func mustReportState(tb testing.TB, pool *pgxpool.Pool, id string) reportState {
	tb.Helper()
	var s reportState
	err := pool.QueryRow(tb.Context(), `
		SELECT r.status, r.updated_at, coalesce(b.attempts, 0), coalesce(b.rows_written, 0), coalesce(b.worker, ''),
		       (SELECT count(*) FROM report_chunks c WHERE c.report_request_id = r.id)
		  FROM report_requests r LEFT JOIN report_builds b ON b.report_request_id = r.id WHERE r.id = $1`, id).Scan(
		&s.Status, &s.Updated, &s.Attempts, &s.Rows, &s.Workers, &s.Chunks)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestReportWorkerBuildsInBatches(t *testing.T) {
	pool := newFixturePool(t)
	const n = 2*notifyql.ReportBatchSize + 7
	insertReportRows(t, pool, n)
	id := mustQueueReport(t, pool, fxMemberID)
	// A report with nothing in it is the header alone.
	empty, _, err := NewReportStore(pool).RequestReport(t.Context(), reportInput(fxMemberID, notifyql.TypeLetter, notifyql.ReportOfAll), fxNow)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: fxNow.Add(time.Minute)}
	w := newTestReportWorker(t, pool, nil, "w1", clock, nil)
	for range 2 {
		if built, err := w.RunOnce(t.Context()); !built || err != nil {
			t.Fatalf("RunOnce = %v, %v", built, err)
		}
	}
	if built, err := w.RunOnce(t.Context()); built || err != nil {
		t.Errorf("RunOnce with nothing queued = %v, %v", built, err)
	}
	// 2,500 + 2,500 + 7 rows: three chunks, the first with the header.
	got := mustReportState(t, pool, id)
	if got.Status != "stored" || got.Chunks != 3 || got.Rows != n || got.Attempts != 1 || got.Updated == nil || !got.Updated.Equal(clock.Now()) {
		t.Errorf("report state %+v", got)
	}
	mustReadReport(t, pool, id, n)
	mustReadReport(t, pool, empty.ID, 0)
}

// Two workers on two pools, as on two instances, share out a queue of reports: each is
// built once, by one of them.
func TestReportWorkersNeverBuildTheSameReport(t *testing.T) {
	pool := newFixturePool(t)
	other, err := pgxpool.New(t.Context(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const n = notifyql.ReportBatchSize + 10
	insertReportRows(t, pool, n)
	var ids []string
	for i := range 8 {
		// Eight users' requests, so that none is the same request as another.
		user := fmt.Sprintf("a1000000-0000-4000-8000-%012d", i)
		fxExec(t, pool, `INSERT INTO users (id, name, email_address) VALUES ($1, 'Worker test', $2)`, user, user+"@example.gov.uk")
		ids = append(ids, mustQueueReport(t, pool, user))
	}
	clock := &testClock{now: fxNow.Add(time.Minute)}
	built := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, p := range []*pgxpool.Pool{pool, other} {
		w := newTestReportWorker(t, p, nil, fmt.Sprintf("worker-%d", i), clock, nil)
		wg.Go(func() {
			for {
				ok, err := w.RunOnce(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				built[w.opts.Name]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if built["worker-0"]+built["worker-1"] != len(ids) {
		t.Errorf("builds %v, want %d in all", built, len(ids))
	}
	for _, id := range ids {
		if got := mustReportState(t, pool, id); got.Status != "stored" || got.Attempts != 1 || got.Chunks != 2 {
			t.Errorf("%s: %+v, want stored by one worker in one attempt", id, got)
		}
		mustReadReport(t, pool, id, n)
	}
}

// stopAfter is the real export store, with the worker's context cancelled once it has read
// the given number of batches: the worker stops there, as if killed.
type stopAfter struct {
	notifyql.ExportStore
	batches int
	cancel  context.CancelFunc
}

func (s *stopAfter) ExportRows(ctx context.Context, f notifyql.ExportFilter, after *notifyql.Cursor, limit int) ([]notifyql.ExportRow, error) {
	if s.batches == 0 {
		s.cancel()
		return nil, ctx.Err()
	}
	s.batches--
	return s.ExportStore.ExportRows(ctx, f, after, limit)
}

// A worker that dies after two batches leaves its lease; once the lease runs out another
// worker carries on from the third batch, and the one that died can write no more.
func TestReportWorkerKilledMidReportIsTakenOver(t *testing.T) {
	pool := newFixturePool(t)
	const n = 3*notifyql.ReportBatchSize + 1
	insertReportRows(t, pool, n)
	id := mustQueueReport(t, pool, fxMemberID)
	clock := &testClock{now: fxNow.Add(time.Minute)}

	ctx, cancel := context.WithCancel(t.Context())
	dying := newTestReportWorker(t, pool, &stopAfter{ExportStore: NewExportStore(pool), batches: 2, cancel: cancel}, "dying", clock, nil)
	// claim and build, not RunOnce: a killed process releases nothing.
	claim, err := dying.claim(ctx)
	if err != nil || claim == nil {
		t.Fatalf("claim = %v, %v", claim, err)
	}
	if err := dying.build(ctx, claim); !errors.Is(err, context.Canceled) {
		t.Fatalf("build = %v, want it cut short", err)
	}
	if got := mustReportState(t, pool, id); got.Status != "in progress" || got.Chunks != 2 || got.Rows != 2*notifyql.ReportBatchSize {
		t.Fatalf("after the crash: %+v", got)
	}

	heir := newTestReportWorker(t, pool, nil, "heir", clock, nil)
	if built, err := heir.RunOnce(t.Context()); built || err != nil {
		t.Errorf("RunOnce inside the lease = %v, %v; want nothing to claim", built, err)
	}
	clock.Add(time.Minute + time.Second)
	if built, err := heir.RunOnce(t.Context()); !built || err != nil {
		t.Fatalf("RunOnce after the lease = %v, %v", built, err)
	}
	got := mustReportState(t, pool, id)
	if got.Status != "stored" || got.Attempts != 2 || got.Chunks != 4 || got.Rows != n || got.Workers != "heir" {
		t.Errorf("after the take-over: %+v", got)
	}
	mustReadReport(t, pool, id, n)

	// The dead worker's claim is fenced off: it can neither add a chunk nor finish.
	if err := dying.appendChunk(t.Context(), claim, []byte("late"), nil, 1); !errors.Is(err, errLeaseLost) {
		t.Errorf("a stale claim's chunk: %v, want errLeaseLost", err)
	}
	if err := dying.finish(t.Context(), claim, notifyql.ReportFailed); !errors.Is(err, errLeaseLost) {
		t.Errorf("a stale claim's finish: %v, want errLeaseLost", err)
	}
	mustReadReport(t, pool, id, n)
}

// A worker stopped for a shutdown hands its report over at once.
func TestReportWorkerStoppedReleasesItsReport(t *testing.T) {
	pool := newFixturePool(t)
	const n = 2*notifyql.ReportBatchSize + 3
	insertReportRows(t, pool, n)
	id := mustQueueReport(t, pool, fxMemberID)
	clock := &testClock{now: fxNow.Add(time.Minute)}
	ctx, cancel := context.WithCancel(t.Context())
	stopping := newTestReportWorker(t, pool, &stopAfter{ExportStore: NewExportStore(pool), batches: 1, cancel: cancel}, "stopping", clock, nil)
	if built, err := stopping.RunOnce(ctx); !built || err != nil {
		t.Fatalf("RunOnce = %v, %v", built, err)
	}
	if got := mustReportState(t, pool, id); got.Status != "in progress" || got.Chunks != 1 {
		t.Fatalf("after the stop: %+v", got)
	}
	if built, err := newTestReportWorker(t, pool, nil, "next", clock, nil).RunOnce(t.Context()); !built || err != nil {
		t.Fatalf("RunOnce at the same instant = %v, %v", built, err)
	}
	mustReadReport(t, pool, id, n)
}

// failing is the real export store failing from the given batch on.
type failing struct {
	notifyql.ExportStore
	batches int
}

func (s *failing) ExportRows(ctx context.Context, f notifyql.ExportFilter, after *notifyql.Cursor, limit int) ([]notifyql.ExportRow, error) {
	if s.batches == 0 {
		return nil, errors.New("export rows: connection reset")
	}
	s.batches--
	return s.ExportStore.ExportRows(ctx, f, after, limit)
}

// A build that fails marks its request failed, and the log says which request without a
// word of its rows; a request whose builds keep dying is failed when it runs out of tries.
func TestReportWorkerFailures(t *testing.T) {
	pool := newFixturePool(t)
	insertReportRows(t, pool, notifyql.ReportBatchSize+1)
	id := mustQueueReport(t, pool, fxMemberID)
	clock := &testClock{now: fxNow.Add(time.Minute)}
	var logs bytes.Buffer
	w := newTestReportWorker(t, pool, &failing{ExportStore: NewExportStore(pool), batches: 1}, "w", clock, &logs)
	if built, err := w.RunOnce(t.Context()); !built || err != nil {
		t.Fatalf("RunOnce = %v, %v", built, err)
	}
	if got := mustReportState(t, pool, id); got.Status != "failed" || got.Updated == nil || !got.Updated.Equal(clock.Now()) {
		t.Errorf("after the failure: %+v", got)
	}
	if built, err := w.RunOnce(t.Context()); built || err != nil {
		t.Errorf("a failed request was claimed again: %v, %v", built, err)
	}

	// Five claims whose builds all died: the sixth claim fails it instead.
	dying := mustQueueReport(t, pool, fxAdminID)
	fxExec(t, pool, `INSERT INTO report_builds (report_request_id, attempts, worker, lease_until, rows_since)
		VALUES ($1, 5, 'gone', $2, $2)`, dying, fxNow)
	fxExec(t, pool, `UPDATE report_requests SET status = 'in progress' WHERE id = $1`, dying)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- newTestReportWorker(t, pool, nil, "w", clock, &logs).Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for mustReportState(t, pool, dying).Status != "failed" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if got := mustReportState(t, pool, dying); got.Status != "failed" {
		t.Errorf("a request out of tries: %+v, want failed", got)
	}
	if !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), dying) {
		t.Errorf("logs do not name the failed requests:\n%s", logs.String())
	}
	for _, private := range []string{"07700", "someone", "@example"} {
		if strings.Contains(logs.String(), private) {
			t.Errorf("logs hold %q:\n%s", private, logs.String())
		}
	}
}

// The cleanup during a build: the worker stops, and leaves no chunk behind.
func TestReportCleanupStopsABuild(t *testing.T) {
	pool := newFixturePool(t)
	insertReportRows(t, pool, notifyql.ReportBatchSize+1)
	id := mustQueueReport(t, pool, fxMemberID)
	clock := &testClock{now: fxNow.Add(time.Minute)}
	w := newTestReportWorker(t, pool, nil, "w", clock, nil)
	claim, err := w.claim(t.Context())
	if err != nil || claim == nil {
		t.Fatalf("claim = %v, %v", claim, err)
	}
	if n, err := NewReportStore(pool).CleanupReports(t.Context(), fxNow.Add(2*24*time.Hour)); n != 1 || err != nil {
		t.Fatalf("CleanupReports = %d, %v", n, err)
	}
	if err := w.build(t.Context(), claim); !errors.Is(err, errLeaseLost) {
		t.Errorf("build of a deleted request = %v, want errLeaseLost", err)
	}
	if got := mustReportState(t, pool, id); got.Status != "deleted" || got.Chunks != 0 {
		t.Errorf("after the cleanup: %+v", got)
	}
}
