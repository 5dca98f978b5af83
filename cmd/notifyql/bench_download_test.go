package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"notifyql/server"
)

// benchDownloadRows is the largest file a direct download serves (DirectDownloadLimit).
const benchDownloadRows = 250_000

// BenchmarkNotificationsCSVDownload downloads a full 250,000-row notifications CSV through
// the HTTP handler serve builds, over a real socket, and reports the server's memory growth
// during each download: the peak of live heap objects (runtime/metrics, sampled every
// millisecond) and the peak RSS (VmHWM, reset before each download), each above what they
// were before it.
//
// notifyql_bench has no service with about 250,000 rows in one type's window and an
// estimate within the limit (the big department has a million texts; the rest a few
// thousand), so this builds its own: a scratch database with the API fixture and 250,000
// emails of service A inside its 7-day window, in the bench profile's mix (a quarter from
// jobs with their user, half through an API key, a third with a reference), and an
// estimate of exactly 250,000.
//
//	go test -run '^$' -bench NotificationsCSVDownload -benchtime 5x ./cmd/notifyql
//
// GOGC is 50, as serve sets it, unless the environment sets it.
func BenchmarkNotificationsCSVDownload(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	api := newDownloadAPI(b, downloadOptions{})
	start := time.Now()
	mustInsertBenchEmails(b, api.testAPI, benchDownloadRows)
	mustExecTB(b, api.testAPI, `
		INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider,
		    rate_multiplier, international, rate, postage, billable_units, notifications_sent)
		VALUES ('2026-07-10', '7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a',
		        'email', 'ses', 0, false, 0, 'none', 0, $1)`, benchDownloadRows)
	mustExecTB(b, api.testAPI, `VACUUM ANALYZE notifications`)
	b.Logf("fixture: %d rows in %s", benchDownloadRows, time.Since(start).Round(time.Millisecond))

	path := api.url + csvPath(serviceA, "message_type=email")
	token, err := server.MintToken([]byte(testSecret), userManager, 2*time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	download := func() int {
		resp := openDownload(b, path, token)
		defer resp.Body.Close()
		lines := 0
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			lines += bytes.Count(buf[:n], []byte("\n"))
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		return lines - 1
	}
	if rows := download(); rows != benchDownloadRows { // warm-up and check
		b.Fatalf("%d rows, want %d", rows, benchDownloadRows)
	}

	var peakHeap, peakRSS float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		heapBefore := liveHeapBytes()
		rssBefore := resetPeakRSS()
		stop := sampleLiveHeap()
		b.StartTimer()

		download()

		b.StopTimer()
		heapPeak := stop()
		peakHeap = max(peakHeap, float64(heapPeak-heapBefore)/(1<<20))
		if rssBefore > 0 {
			peakRSS = max(peakRSS, float64(peakRSSBytes()-rssBefore)/(1<<20))
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(peakHeap, "peak-heap-growth-MB")
	b.ReportMetric(peakRSS, "peak-rss-growth-MB")
	b.ReportMetric(float64(benchDownloadRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// mustInsertBenchEmails gives service A n emails (n > 4) inside its 7-day window, in the
// bench profile's mix: a quarter from jobs with their user, half through an API key, a
// third with a reference. With the fixture's 4, its email CSV has n rows.
func mustInsertBenchEmails(tb testing.TB, api *testAPI, n int) {
	tb.Helper()
	mustExecTB(tb, api, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
		    "to", normalised_to, client_reference, key_type, notification_status, created_at,
		    job_id, job_row_number, api_key_id, created_by_id)
		SELECT gen_random_uuid(), '5a000000-0000-0000-0000-00000000000a',
		       '7e000000-0000-0000-0000-000000000001', 1 + i % 2, 'email',
		       'person.' || i || '@department' || i % 97 || '.example.gov.uk',
		       'person.' || i || '@department' || i % 97 || '.example.gov.uk',
		       CASE WHEN i % 3 = 0 THEN 'REF-' || lpad(i::text, 9, '0') END,
		       'normal',
		       (ARRAY['delivered', 'delivered', 'delivered', 'sending', 'permanent-failure', 'temporary-failure'])[1 + i % 6],
		       timestamp '2026-07-08 00:00' + (i * interval '1 second') * 2.2,
		       CASE WHEN i % 4 = 0 THEN '10b00000-0000-0000-0000-000000000001'::uuid END,
		       CASE WHEN i % 4 = 0 THEN i END,
		       CASE WHEN i % 2 = 1 THEN 'ae000000-0000-0000-0000-000000000001'::uuid END,
		       CASE WHEN i % 4 = 0 THEN '00000000-0000-0000-0000-0000000000aa'::uuid END
		  FROM generate_series(1, $1::int - 4) AS i`, n)
}

func mustExecTB(tb testing.TB, api *testAPI, sql string, args ...any) {
	tb.Helper()
	if _, err := api.pool.Exec(tb.Context(), sql, args...); err != nil {
		tb.Fatalf("exec: %v", err)
	}
}

// liveHeapBytes is the memory held by heap objects, live or not yet swept.
func liveHeapBytes() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// sampleLiveHeap samples liveHeapBytes every millisecond until the returned function is
// called, which returns the largest sample.
func sampleLiveHeap() func() uint64 {
	var (
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(time.Millisecond)
		defer ticker.Stop()
		for {
			peak = max(peak, liveHeapBytes())
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// resetPeakRSS resets the process's peak RSS (Linux: clear_refs 5) and returns the RSS now,
// or 0 where that is not possible.
func resetPeakRSS() uint64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0
	}
	return procStatusBytes("VmRSS:")
}

func peakRSSBytes() uint64 { return procStatusBytes("VmHWM:") }

// procStatusBytes reads a "kB" field of /proc/self/status.
func procStatusBytes(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
