package postgres

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"notifyql"
)

func reportInput(user string, t notifyql.NotificationType, status notifyql.ReportStatusFilter) notifyql.ReportRequestInput {
	return notifyql.ReportRequestInput{UserID: user, ServiceID: fxAlphaID, Type: t, Status: status}
}

func mustRequestReport(tb testing.TB, store *ReportStore, in notifyql.ReportRequestInput, now time.Time) (*notifyql.ReportRequest, bool) {
	tb.Helper()
	r, created, err := store.RequestReport(tb.Context(), in, now)
	if err != nil {
		tb.Fatalf("RequestReport(%+v): %v", in, err)
	}
	return r, created
}

func TestRequestReportDedupe(t *testing.T) {
	pool := newFixturePool(t)
	store := NewReportStore(pool)
	in := reportInput(fxMemberID, notifyql.TypeSMS, notifyql.ReportOfFailed)

	first, created := mustRequestReport(t, store, in, fxNow)
	if !created || first.Status != notifyql.ReportPending || !first.CreatedAt.Equal(fxNow) || first.UpdatedAt != nil ||
		first.NotificationType != notifyql.TypeSMS || first.NotificationStatus != notifyql.ReportOfFailed || first.UserID != fxMemberID {
		t.Fatalf("first request = %+v, created %v", first, created)
	}
	// Within 30 minutes of its creation (the edge included) it comes back.
	for _, at := range []time.Duration{time.Second, 30 * time.Minute} {
		again, created := mustRequestReport(t, store, in, fxNow.Add(at))
		if created || again.ID != first.ID {
			t.Errorf("at +%s: got %s created %v, want %s again", at, again.ID, created, first.ID)
		}
	}
	// Another user, another status filter or another type is another report.
	for _, other := range []notifyql.ReportRequestInput{
		reportInput(fxAdminID, notifyql.TypeSMS, notifyql.ReportOfFailed),
		reportInput(fxMemberID, notifyql.TypeSMS, notifyql.ReportOfAll),
		reportInput(fxMemberID, notifyql.TypeEmail, notifyql.ReportOfFailed),
	} {
		r, created := mustRequestReport(t, store, other, fxNow.Add(time.Minute))
		if !created || r.ID == first.ID {
			t.Errorf("%+v: got %s created %v, want a new request", other, r.ID, created)
		}
	}
	// In progress counts from updated_at: touched 20 minutes after creation, it is still
	// reused 45 minutes after creation, and not after 30 minutes past its update.
	fxExec(t, pool, `UPDATE report_requests SET status = 'in progress', updated_at = $2 WHERE id = $1`, first.ID, fxNow.Add(20*time.Minute))
	if r, created := mustRequestReport(t, store, in, fxNow.Add(45*time.Minute)); created || r.ID != first.ID {
		t.Errorf("in progress, touched 25 minutes ago: got %s created %v, want %s", r.ID, created, first.ID)
	}
	second, created := mustRequestReport(t, store, in, fxNow.Add(50*time.Minute+time.Second))
	if !created || second.ID == first.ID {
		t.Errorf("touched 30 minutes and 1 s ago: got %s created %v, want a new request", second.ID, created)
	}
	// Of two open ones, the oldest comes back.
	fxExec(t, pool, `UPDATE report_requests SET updated_at = $2 WHERE id = $1`, first.ID, fxNow.Add(50*time.Minute))
	if r, _ := mustRequestReport(t, store, in, fxNow.Add(55*time.Minute)); r.ID != first.ID {
		t.Errorf("two open requests: got %s, want the oldest, %s", r.ID, first.ID)
	}
	// Stored ones requested over 15 minutes ago, failed and deleted ones are never handed back.
	for _, status := range []string{"stored", "failed", "deleted"} {
		fxExec(t, pool, `UPDATE report_requests SET status = $2 WHERE id = ANY($1::uuid[])`, []string{first.ID, second.ID}, status)
		r, created := mustRequestReport(t, store, in, second.CreatedAt.Add(15*time.Minute+time.Second))
		if !created || r.ID == first.ID || r.ID == second.ID {
			t.Errorf("%s: got %s created %v, want a new request", status, r.ID, created)
		}
		fxExec(t, pool, `DELETE FROM report_requests WHERE id = $1`, r.ID)
	}
}

// Issue 15, item 9: asking again for a report just stored hands back the stored one, for
// 15 minutes after it was requested, instead of building the same file again.
func TestRequestReportReusesAStoredReport(t *testing.T) {
	pool := newFixturePool(t)
	store := NewReportStore(pool)
	in := reportInput(fxMemberID, notifyql.TypeEmail, notifyql.ReportOfDelivered)
	stored, _ := mustRequestReport(t, store, in, fxNow)
	fxExec(t, pool, `UPDATE report_requests SET status = 'stored', updated_at = $2 WHERE id = $1`, stored.ID, fxNow.Add(4*time.Minute))

	for _, at := range []time.Duration{5 * time.Minute, 15 * time.Minute} {
		r, created := mustRequestReport(t, store, in, fxNow.Add(at))
		if created || r.ID != stored.ID || r.Status != notifyql.ReportStored {
			t.Errorf("at +%s: got %s (%s) created %v, want the stored %s back", at, r.ID, r.Status, created, stored.ID)
		}
	}
	// Other parameters are another report.
	for _, other := range []notifyql.ReportRequestInput{
		reportInput(fxAdminID, notifyql.TypeEmail, notifyql.ReportOfDelivered),
		reportInput(fxMemberID, notifyql.TypeEmail, notifyql.ReportOfFailed),
		reportInput(fxMemberID, notifyql.TypeLetter, notifyql.ReportOfDelivered),
		{UserID: fxMemberID, ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.ReportOfDelivered},
	} {
		if r, created := mustRequestReport(t, store, other, fxNow.Add(time.Minute)); !created || r.ID == stored.ID {
			t.Errorf("%+v: got %s created %v, want a new request", other, r.ID, created)
		}
	}
	// Requested more than 15 minutes ago, it is not.
	if r, created := mustRequestReport(t, store, in, fxNow.Add(15*time.Minute+time.Second)); !created || r.ID == stored.ID {
		t.Errorf("15 minutes and 1 s after: got %s created %v, want a new request", r.ID, created)
	}
}

// Issue 15, item 9: 108 requests in 20 s made 104 stored reports. Each user may make
// DefaultReportsPerDay requests in any 24 hours; the next is refused with RATE_LIMITED,
// saying when one is possible again. A request handed back makes nothing, so it is not
// refused.
func TestRequestReportDailyAllowance(t *testing.T) {
	store := NewReportStore(newFixturePool(t))
	in := reportInput(fxMemberID, notifyql.TypeSMS, notifyql.ReportOfAll)
	// Each 31 minutes apart, past the open one's dedupe window, so each is a new request.
	every := notifyql.ReportDedupeWindow + time.Minute
	var last *notifyql.ReportRequest
	for i := range notifyql.DefaultReportsPerDay {
		var created bool
		last, created = mustRequestReport(t, store, in, fxNow.Add(time.Duration(i)*every))
		if !created {
			t.Fatalf("request %d was not made", i+1)
		}
	}
	at := fxNow.Add(time.Duration(notifyql.DefaultReportsPerDay) * every) // 20 × 31 min: 10 h 20 min in
	other := reportInput(fxMemberID, notifyql.TypeEmail, notifyql.ReportOfAll)
	_, _, err := store.RequestReport(t.Context(), other, at)
	want := "you have asked for 20 reports in the last 24 hours, the most allowed: you can ask for another in 13 hours 40 minutes, at 2025-07-22 10:00 UTC"
	if notifyql.ErrorCode(err) != notifyql.ERATELIMITED || notifyql.ErrorMessage(err) != want {
		t.Errorf("the 21st request in 24 hours: %v, want RATE_LIMITED %q", err, want)
	}
	if r, created := mustRequestReport(t, store, in, last.CreatedAt.Add(time.Minute)); created || r.ID != last.ID {
		t.Errorf("the open request asked for again at the allowance: got %s created %v, want %s back", r.ID, created, last.ID)
	}
	// 24 hours after the first, it no longer counts: one more, and then the second is the
	// one to wait for.
	if _, created := mustRequestReport(t, store, other, fxNow.Add(notifyql.ReportQuotaWindow)); !created {
		t.Error("24 hours after the first request, another was not made")
	}
	_, _, err = store.RequestReport(t.Context(), reportInput(fxMemberID, notifyql.TypeLetter, notifyql.ReportOfAll), fxNow.Add(notifyql.ReportQuotaWindow+time.Second))
	want = "you have asked for 20 reports in the last 24 hours, the most allowed: you can ask for another in 31 minutes, at 2025-07-22 10:31 UTC"
	if notifyql.ErrorMessage(err) != want {
		t.Errorf("then: %v, want %q", err, want)
	}
	// Another user has an allowance of their own.
	if _, created := mustRequestReport(t, store, reportInput(fxAdminID, notifyql.TypeEmail, notifyql.ReportOfAll), at); !created {
		t.Error("another user's request was not made")
	}
}

// Requests at once for different reports cannot together go past the allowance.
func TestRequestReportAtOnceKeepToTheAllowance(t *testing.T) {
	const perDay = 5
	store := NewReportStore(newFixturePool(t)).WithReportsPerDay(perDay)
	var inputs []notifyql.ReportRequestInput
	for _, typ := range []notifyql.NotificationType{notifyql.TypeEmail, notifyql.TypeSMS, notifyql.TypeLetter} {
		for _, status := range []notifyql.ReportStatusFilter{notifyql.ReportOfAll, notifyql.ReportOfSending, notifyql.ReportOfDelivered, notifyql.ReportOfFailed} {
			inputs = append(inputs, reportInput(fxMemberID, typ, status))
		}
	}
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Go(func() { _, _, errs[i] = store.RequestReport(t.Context(), in, fxNow) })
	}
	wg.Wait()
	made, refused := 0, 0
	for _, err := range errs {
		switch notifyql.ErrorCode(err) {
		case "":
			made++
		case notifyql.ERATELIMITED:
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if made != perDay || refused != len(inputs)-perDay {
		t.Errorf("%d requests at once: %d made, %d refused; want %d made", len(inputs), made, refused, perDay)
	}
}

func TestRequestReportAtOnceQueuesOne(t *testing.T) {
	pool := newFixturePool(t)
	store := NewReportStore(pool)
	in := reportInput(fxMemberID, notifyql.TypeEmail, notifyql.ReportOfAll)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r, _, err := store.RequestReport(t.Context(), in, fxNow)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent requests got ids %v, want one", ids)
		}
	}
}

func TestRequestReportRefusesBadInput(t *testing.T) {
	store := NewReportStore(newFixturePool(t))
	for _, in := range []notifyql.ReportRequestInput{
		reportInput(fxMemberID, "fax", notifyql.ReportOfAll),
		reportInput(fxMemberID, notifyql.TypeSMS, "cancelled"),
		reportInput("not-a-uuid", notifyql.TypeSMS, notifyql.ReportOfAll),
		{UserID: fxMemberID, ServiceID: "", Type: notifyql.TypeSMS, Status: notifyql.ReportOfAll},
	} {
		if _, _, err := store.RequestReport(t.Context(), in, fxNow); notifyql.ErrorCode(err) != notifyql.EINVALID {
			t.Errorf("RequestReport(%+v) = %v, want EINVALID", in, err)
		}
	}
}

func TestCleanupReports(t *testing.T) {
	pool := newFixturePool(t)
	store := NewReportStore(pool)
	run := time.Date(2025, 7, 22, 2, 0, 0, 0, time.UTC)
	// Each request's created_at against the run: the window is [run-5d, run-24h].
	requests := []struct {
		id      string
		created time.Time
		status  string
		deleted bool
	}{
		{"2e000000-0000-4000-8000-000000000001", run.Add(-5*24*time.Hour - time.Second), "stored", false},
		{"2e000000-0000-4000-8000-000000000002", run.Add(-5 * 24 * time.Hour), "stored", true},
		{"2e000000-0000-4000-8000-000000000003", run.Add(-3 * 24 * time.Hour), "failed", true},
		{"2e000000-0000-4000-8000-000000000004", run.Add(-24 * time.Hour), "pending", true},
		{"2e000000-0000-4000-8000-000000000005", run.Add(-24*time.Hour + time.Second), "stored", false},
		{"2e000000-0000-4000-8000-000000000006", run.Add(-2 * 24 * time.Hour), "deleted", false},
	}
	for _, r := range requests {
		fxExec(t, pool, `INSERT INTO report_requests (id, user_id, service_id, status, parameter, created_at, updated_at)
			VALUES ($1, $2, $3, $4, '{"notification_type": "sms", "notification_status": "all"}', $5, $5)`,
			r.id, fxMemberID, fxAlphaID, r.status, r.created)
		fxExec(t, pool, `INSERT INTO report_chunks (report_request_id, seq, data) VALUES ($1, 0, 'a'), ($1, 1, 'b')`, r.id)
	}
	n, err := store.CleanupReports(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("CleanupReports deleted %d, want 3", n)
	}
	for _, r := range requests {
		var status string
		var updated time.Time
		var chunks int
		if err := pool.QueryRow(t.Context(), `SELECT status, updated_at, (SELECT count(*) FROM report_chunks WHERE report_request_id = $1)
			FROM report_requests WHERE id = $1`, r.id).Scan(&status, &updated, &chunks); err != nil {
			t.Fatal(err)
		}
		switch {
		case r.deleted && (status != "deleted" || !updated.Equal(run) || chunks != 0):
			t.Errorf("%s (created %s): status %s, updated %s, %d chunks; want deleted at the run, no chunks", r.id, r.created, status, updated, chunks)
		case !r.deleted && (status != r.status || !updated.Equal(r.created)):
			t.Errorf("%s (created %s): status %s, updated %s; want it untouched", r.id, r.created, status, updated)
		}
	}
	if err := store.WriteReportFile(t.Context(), requests[1].id, &bytes.Buffer{}); notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		t.Errorf("download of a cleaned-up report: %v, want ENOTFOUND", err)
	}
}

func TestWriteReportFile(t *testing.T) {
	pool := newFixturePool(t)
	store := NewReportStore(pool)
	const stored, pending, empty = "2e000000-0000-4000-8000-000000000001", "2e000000-0000-4000-8000-000000000002", "2e000000-0000-4000-8000-000000000003"
	fxExec(t, pool, `INSERT INTO report_requests (id, user_id, service_id, status, parameter) VALUES
		($1, $4, $5, 'stored', '{"notification_type": "sms", "notification_status": "all"}'),
		($2, $4, $5, 'pending', '{"notification_type": "sms", "notification_status": "all"}'),
		($3, $4, $5, 'stored', '{"notification_type": "sms", "notification_status": "all"}')`, stored, pending, empty, fxMemberID, fxAlphaID)
	// Chunks come out in sequence order, however they went in.
	fxExec(t, pool, `INSERT INTO report_chunks (report_request_id, seq, data) VALUES ($1, 10, 'c'), ($1, 2, 'b'), ($1, 0, 'a')`, stored)
	var buf bytes.Buffer
	if err := store.WriteReportFile(t.Context(), stored, &buf); err != nil || buf.String() != "abc" {
		t.Errorf("WriteReportFile = %q, %v; want \"abc\"", buf.String(), err)
	}
	for id, want := range map[string]string{pending: notifyql.ECONFLICT, empty: notifyql.ENOTFOUND, fxMissingID: notifyql.ENOTFOUND, "x": notifyql.ENOTFOUND} {
		if err := store.WriteReportFile(t.Context(), id, &bytes.Buffer{}); notifyql.ErrorCode(err) != want {
			t.Errorf("WriteReportFile(%s) = %v, want %s", id, err, want)
		}
	}
}

// The scheduled job runs the cleanup nightly at 02:00 UTC, at the time its clock gives.
func TestReportCleanupJob(t *testing.T) {
	pool := newFixturePool(t)
	run := time.Date(2025, 7, 22, 2, 0, 0, 0, time.UTC)
	jobs := NewReportStore(pool).Jobs(func() time.Time { return run })
	if len(jobs) != 1 || jobs[0].DailyAt != 2*time.Hour || jobs[0].Every != 0 {
		t.Fatalf("jobs = %+v, want one daily at 02:00", jobs)
	}
	const id = "2e000000-0000-4000-8000-000000000001"
	fxExec(t, pool, `INSERT INTO report_requests (id, user_id, service_id, status, parameter, created_at)
		VALUES ($1, $2, $3, 'stored', '{"notification_type": "sms", "notification_status": "all"}', $4)`, id, fxMemberID, fxAlphaID, run.Add(-2*24*time.Hour))
	if err := jobs[0].Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	var status string
	var updated time.Time
	if err := pool.QueryRow(t.Context(), `SELECT status, updated_at FROM report_requests WHERE id = $1`, id).Scan(&status, &updated); err != nil || status != "deleted" || !updated.Equal(run) {
		t.Errorf("after the job: %s at %s (%v), want deleted at the run", status, updated, err)
	}
}
