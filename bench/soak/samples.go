package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"notifyql/internal/harness"
)

// sample is the server's state at one moment of the soak, and the load's counts so far.
type sample struct {
	at                 time.Duration // since the load started
	goroutines         float64
	heapInuse          float64 // bytes
	rss                float64 // bytes
	fds                float64
	pgServe            float64 // the server's PostgreSQL connections
	pgAll              float64 // every connection to the soak database
	poolMax            float64 // the most the server's pools may hold, together
	webSockets         float64
	subscriptions      float64
	updates            int64 // received by the clients
	answered, failed   int64 // queries
	statusChanges      int64 // notification_status_history inserts less notifications inserts
	stale              int   // subscriptions without an update for longer than --stale
	longestGap         time.Duration
	endedSubscriptions int
}

// judged is a series the rule looks at, with its limit and how to print it.
type judged struct {
	name  string
	unit  float64 // printed values are divided by it
	limit limit
	value func(sample) float64
}

var judgedSeries = []judged{
	{"goroutines", 1, limit{floor: 50, tolerance: 0.10}, func(s sample) float64 { return s.goroutines }},
	{"heap in use (MiB)", 1 << 20, limit{floor: 8 << 20, tolerance: 0.20}, func(s sample) float64 { return s.heapInuse }},
	{"RSS (MiB)", 1 << 20, limit{floor: 8 << 20, tolerance: 0.10}, func(s sample) float64 { return s.rss }},
	{"open files", 1, limit{floor: 10, tolerance: 0.10}, func(s sample) float64 { return s.fds }},
	{"PostgreSQL connections", 1, limit{floor: 2, tolerance: 0.25}, func(s sample) float64 { return s.pgServe }},
}

func (s *soak) sample(ctx context.Context, client *http.Client, at time.Duration, subs *subscribers, load *queryLoad) (sample, error) {
	smp := sample{at: at}
	m, err := harness.ScrapeMetrics(ctx, client, s.srv.MetricsURL)
	if err != nil {
		return smp, err
	}
	for _, f := range []struct {
		name string
		to   *float64
	}{
		{"go_goroutines", &smp.goroutines},
		{"go_memstats_heap_inuse_bytes", &smp.heapInuse},
		{"process_open_fds", &smp.fds},
		{"notifyql_websocket_connections", &smp.webSockets},
		{"notifyql_live_subscriptions", &smp.subscriptions},
		{`notifyql_db_pool_max_connections{pool="api"}`, &smp.poolMax},
	} {
		if *f.to, err = m.Value(f.name); err != nil {
			return smp, err
		}
	}
	live, err := m.Value(`notifyql_db_pool_max_connections{pool="live"}`)
	if err != nil {
		return smp, err
	}
	smp.poolMax += live
	smp.rss = float64(harness.VmRSS(s.srv.PID()))
	err = s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name = $2), count(*)
		FROM pg_stat_activity WHERE datname = $1`, s.DB.Name, serveApplication).Scan(&smp.pgServe, &smp.pgAll)
	if err != nil {
		return smp, fmt.Errorf("count PostgreSQL connections: %w", err)
	}
	counters, err := harness.ReadCounters(ctx, s.pool)
	if err != nil {
		return smp, err
	}
	smp.statusChanges = counters.StatusChanges()
	smp.updates = subs.updates.Load()
	smp.answered, smp.failed = load.answered.Load(), load.failed.Load()
	smp.stale, smp.longestGap = subs.stale(time.Now(), s.o.stale)
	smp.endedSubscriptions = len(subs.ended())
	return smp, nil
}

// rates are the per-second increases since the previous sample.
func (s *soak) rates(i int) (updates, queries, changes float64) {
	if i == 0 {
		return 0, 0, 0
	}
	a, b := s.samples[i-1], s.samples[i]
	sec := (b.at - a.at).Seconds()
	return float64(b.updates-a.updates) / sec, float64(b.answered-a.answered) / sec, float64(b.statusChanges-a.statusChanges) / sec
}

func (s *soak) printSample(smp sample) {
	updates, queries, changes := s.rates(len(s.samples) - 1)
	mark := ""
	if smp.at < s.o.warmup {
		mark = " (warm-up)"
	}
	fmt.Printf("%8s %10.0f %9.1f %9.1f %6.0f %4.0f %5.0f %6.0f %10.0f %9.1f %9.1f %8d%s\n",
		smp.at.Round(time.Second), smp.goroutines, smp.heapInuse/(1<<20), smp.rss/(1<<20), smp.fds, smp.pgServe,
		smp.webSockets, smp.subscriptions, updates, queries, changes, smp.stale, mark)
}

// report prints the summary and returns the reasons the soak failed, none when it passed.
func (s *soak) report(subs *subscribers, load *queryLoad, simSummary string, serverStats map[string]any) []string {
	if len(s.samples) == 0 {
		return []string{"no sample was taken"}
	}
	var failures []string
	var judgedSamples []sample
	for _, smp := range s.samples {
		if smp.at >= s.o.warmup {
			judgedSamples = append(judgedSamples, smp)
		}
	}
	fmt.Printf("\nsummary: %d samples every %s, the %d from the end of the %s warm-up on judged; %d clients, %d subscriptions\n",
		len(s.samples), s.o.interval, len(judgedSamples), s.o.warmup, s.o.clients, 2*s.o.clients)
	fmt.Printf("\n%-24s %10s %10s %10s %10s %12s %20s %10s  %s\n",
		"series", "first", "last", "peak", "mean", "slope/min", "growth ± s.e.", "allowance", "verdict")
	times := make([]float64, len(judgedSamples))
	for i, smp := range judgedSamples {
		times[i] = smp.at.Seconds()
	}
	for _, j := range judgedSeries {
		values := make([]float64, len(judgedSamples))
		for i, smp := range judgedSamples {
			values[i] = j.value(smp)
		}
		peak := 0.0
		for _, smp := range s.samples {
			peak = max(peak, j.value(smp))
		}
		tr, err := fitTrend(times, values, j.limit)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", j.name, err))
			continue
		}
		verdict := "steady"
		if tr.rising {
			verdict = "RISING"
			failures = append(failures, fmt.Sprintf("%s rose by %.1f over the judged window (± %.1f), more than its allowance of %.1f",
				j.name, tr.growth/j.unit, tr.growthStdErr/j.unit, tr.allowance/j.unit))
		}
		fmt.Printf("%-24s %10.1f %10.1f %10.1f %10.1f %12.2f %20s %10.1f  %s\n",
			j.name, values[0]/j.unit, values[len(values)-1]/j.unit, peak/j.unit, tr.mean/j.unit, tr.slope*60/j.unit,
			fmt.Sprintf("%.1f ± %.1f", tr.growth/j.unit, tr.growthStdErr/j.unit), tr.allowance/j.unit, verdict)
	}

	last := s.samples[len(s.samples)-1]
	var peakRSS float64
	for _, smp := range s.samples {
		peakRSS = max(peakRSS, smp.rss)
	}
	fmt.Printf("\npeak RSS %.1f MiB; PostgreSQL connections at the end: %.0f the server's (its pools may hold %.0f, and the change listener holds one more), %.0f in all\n",
		peakRSS/(1<<20), last.pgServe, last.poolMax, last.pgAll)
	if len(judgedSamples) >= 2 {
		first, end := judgedSamples[0], judgedSamples[len(judgedSamples)-1]
		sec := (end.at - first.at).Seconds()
		fmt.Printf("over the judged window: %.1f status changes/s, %.0f updates/s to the clients, %.1f queries/s answered\n",
			float64(end.statusChanges-first.statusChanges)/sec, float64(end.updates-first.updates)/sec,
			float64(end.answered-first.answered)/sec)
	}
	longest := time.Duration(0)
	for _, smp := range s.samples {
		longest = max(longest, smp.longestGap)
	}
	fmt.Printf("updates received: %d (longest wait of a subscription at a sample: %s); queries answered: %d, failed: %d, not sent because every worker was busy: %d\n",
		subs.updates.Load(), longest.Round(time.Millisecond), load.answered.Load(), load.failed.Load(), load.missed.Load())
	fmt.Printf("simulator: %s\nserver live stats at shutdown: %v\n", simSummary, serverStats)
	errorLines := s.serverErrors()
	fmt.Printf("the server logged %d errors\n", len(errorLines))

	if ended := subs.ended(); len(ended) > 0 {
		failures = append(failures, fmt.Sprintf("%d subscription failures; the first: %s", len(ended), ended[0]))
	}
	if len(errorLines) > 0 {
		failures = append(failures, fmt.Sprintf("the server logged %d errors; the first: %s", len(errorLines), errorLines[0]))
	}
	if n := load.failed.Load(); n > 0 {
		failures = append(failures, fmt.Sprintf("%d queries failed; the first: %s", n, strings.Join(load.firstErrors(), "; ")))
	}
	if i := slices.IndexFunc(s.samples, func(smp sample) bool { return smp.stale > 0 }); i >= 0 {
		failures = append(failures, fmt.Sprintf("at %s, %d subscriptions had no update for more than %s",
			s.samples[i].at.Round(time.Second), s.samples[i].stale, s.o.stale))
	}
	if i := slices.IndexFunc(s.samples, func(smp sample) bool {
		return smp.webSockets != float64(s.o.clients) || smp.subscriptions != float64(2*s.o.clients)
	}); i >= 0 {
		failures = append(failures, fmt.Sprintf("at %s, the server held %.0f WebSockets and %.0f subscriptions, want %d and %d",
			s.samples[i].at.Round(time.Second), s.samples[i].webSockets, s.samples[i].subscriptions, s.o.clients, 2*s.o.clients))
	}
	return failures
}

// serverErrors are the server's log lines at level ERROR.
func (s *soak) serverErrors() []string {
	f, err := os.Open(s.srv.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(nil, 1<<20)
	for scanner.Scan() {
		var line struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(scanner.Bytes(), &line) == nil && line.Level == "ERROR" {
			out = append(out, scanner.Text())
		}
	}
	return out
}
