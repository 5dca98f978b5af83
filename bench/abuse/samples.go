package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql/internal/harness"
)

// sample is one reading of the server's resources.
type sample struct {
	label      string
	at         time.Time
	goroutines float64
	heapMiB    float64 // heap spans in use
	// heapAllocMiB is what the heap's objects take, reachable or not yet collected.
	heapAllocMiB float64
	rssMiB       float64
	fds          float64
	// pgBusy are the server's PostgreSQL connections doing something (not idle); pgAll
	// every one of them.
	pgBusy, pgAll float64
	// poolMax is how many connections the server's pools may hold in all.
	poolMax float64
}

func (a *abuse) sample(ctx context.Context, client *http.Client, label string) (sample, error) {
	s := sample{label: label, at: time.Now()}
	m, err := harness.ScrapeMetrics(ctx, client, a.srv.MetricsURL)
	if err != nil {
		return s, err
	}
	for _, v := range []struct {
		name string
		dest *float64
	}{
		{"go_goroutines", &s.goroutines},
		{`notifyql_db_pool_max_connections{pool="api"}`, &s.poolMax},
	} {
		if *v.dest, err = m.Value(v.name); err != nil {
			return s, err
		}
	}
	heap, err := m.Value("go_memstats_heap_inuse_bytes")
	if err != nil {
		return s, err
	}
	objects, err := m.Value("go_memstats_heap_alloc_bytes")
	if err != nil {
		return s, err
	}
	s.heapAllocMiB = objects / (1 << 20)
	live, err := m.Value(`notifyql_db_pool_max_connections{pool="live"}`)
	if err != nil {
		return s, err
	}
	s.poolMax += live
	s.heapMiB = heap / (1 << 20)
	s.rssMiB = float64(harness.VmRSS(a.srv.PID())) / (1 << 20)
	s.fds = float64(harness.OpenFiles(a.srv.PID()))
	err = a.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'idle'), count(*)
		FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, a.DB.Name, serveApplication).Scan(&s.pgBusy, &s.pgAll)
	if err != nil {
		return s, fmt.Errorf("count the server's PostgreSQL connections: %w", err)
	}
	return s, nil
}

// A series' allowance over the baseline: the largest of an absolute floor, a fraction of
// the baseline and a fraction of the rise the attacks caused (ofRise, the share of it that
// may stay).
type allowance struct {
	name     string
	value    func(sample) float64
	floor    float64
	fraction float64
	ofRise   float64
}

// limit is the most the series may be once back: its baseline plus its allowance.
func (l allowance) limit(baseline, peak sample) float64 {
	b := l.value(baseline)
	return b + max(l.floor, l.fraction*b, l.ofRise*(l.value(peak)-b))
}

// allowances are what "back to the baseline" means for each series. The resident memory
// may keep a quarter of its rise: after a burst the runtime keeps the pages of heap spans
// that still hold a few long-lived objects among the freed ones (fragmentation), about
// 30 MiB after this run's peak of about 240 MiB, while the memory the heap's objects take
// is judged on its own and must come back.
var allowances = []allowance{
	{name: "goroutines", value: func(s sample) float64 { return s.goroutines }, floor: 20, fraction: 0.10},
	{name: "open files", value: func(s sample) float64 { return s.fds }, floor: 10, fraction: 0.10},
	{name: "heap objects MiB", value: func(s sample) float64 { return s.heapAllocMiB }, floor: 16, fraction: 0.5},
	{name: "RSS MiB", value: func(s sample) float64 { return s.rssMiB }, floor: 24, fraction: 0.25, ofRise: 0.25},
	{name: "busy PostgreSQL connections", value: func(s sample) float64 { return s.pgBusy }},
}

// peakOf is each series' largest value among samples.
func peakOf(samples []sample) sample {
	var p sample
	for _, s := range samples {
		p.goroutines, p.fds = max(p.goroutines, s.goroutines), max(p.fds, s.fds)
		p.heapMiB, p.heapAllocMiB, p.rssMiB = max(p.heapMiB, s.heapMiB), max(p.heapAllocMiB, s.heapAllocMiB), max(p.rssMiB, s.rssMiB)
		p.pgBusy, p.pgAll = max(p.pgBusy, s.pgBusy), max(p.pgAll, s.pgAll)
	}
	return p
}

// judge lists the series of s that are not back within their allowance of baseline, and
// the connections beyond what the pools may hold.
func judge(baseline, peak, s sample) []string {
	var out []string
	for _, l := range allowances {
		if got, limit := l.value(s), l.limit(baseline, peak); got > limit {
			out = append(out, fmt.Sprintf("%s: %.0f, over the baseline's %.0f plus its allowance (%.0f in all)", l.name, got, l.value(baseline), limit))
		}
	}
	if s.pgAll > s.poolMax {
		out = append(out, fmt.Sprintf("PostgreSQL connections: %.0f, more than the pools' %.0f", s.pgAll, s.poolMax))
	}
	return out
}

func (a *abuse) printSample(s sample) {
	fmt.Printf("  %-8s goroutines %6.0f  heap objects %6.1f MiB, spans %6.1f MiB  RSS %6.1f MiB  fds %6.0f  pg busy %2.0f of %2.0f\n",
		s.label, s.goroutines, s.heapAllocMiB, s.heapMiB, s.rssMiB, s.fds, s.pgBusy, s.pgAll)
}

// report prints what each attack got, the victim's experience and the table of series,
// and returns the run's failures.
func (a *abuse) report(attacks []attack, v *victim, samples []sample, settled bool, apqKeysAdded int64) []string {
	fmt.Println("\nattacks:")
	for _, at := range attacks {
		fmt.Printf("  %-20s %s\n", at.name(), at.summary())
	}
	fmt.Printf("  %-20s %d query texts stored in Redis\n", "", apqKeysAdded)
	line, failures := v.summary()
	fmt.Printf("\nthe victim's dashboard query, every 250 ms from %s: %s\n", victimAddress, line)

	baseline, after := samples[0], samples[len(samples)-1]
	peak := peakOf(samples)
	fmt.Printf("\n| %-28s | %10s | %10s | %10s | %10s | %-9s |\n", "series", "baseline", "peak", "after", "allowed", "verdict")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 30), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 11))
	for _, l := range allowances {
		verdict := "back"
		if l.value(after) > l.limit(baseline, peak) {
			verdict = "NOT BACK"
		}
		fmt.Printf("| %-28s | %10.1f | %10.1f | %10.1f | %10.1f | %-9s |\n", l.name, l.value(baseline), l.value(peak), l.value(after), l.limit(baseline, peak), verdict)
	}
	for _, info := range []allowance{
		{name: "heap spans in use MiB", value: func(s sample) float64 { return s.heapMiB }},
		{name: "PostgreSQL connections", value: func(s sample) float64 { return s.pgAll }},
	} {
		fmt.Printf("| %-28s | %10.1f | %10.1f | %10.1f | %10s | %-9s |\n", info.name, info.value(baseline), info.value(peak), info.value(after), "-", "-")
	}
	fmt.Printf("(after: %s after the attacks stopped)\n", after.at.Sub(a.stopped).Round(time.Second))
	fmt.Println("from the server's log: the garbage collector tuner's decisions, and the shared rate limiter's pauses:")
	for _, line := range a.notableLines() {
		fmt.Println("  " + line)
	}
	if !settled {
		for _, f := range judge(baseline, peak, after) {
			failures = append(failures, "not back after --settle: "+f)
		}
	}
	return failures
}

// notableLines are the server's log lines about the garbage collector's target and the
// memory it returned, and about the rate limits applied by the instance alone while the
// shared limiter could not answer, each as its time and message.
func (a *abuse) notableLines() []string {
	log, err := os.ReadFile(a.srv.LogPath)
	if err != nil {
		return []string{err.Error()}
	}
	var lines []string
	for line := range strings.Lines(string(log)) {
		var entry struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || !strings.Contains(entry.Msg, "garbage collector") && !strings.Contains(entry.Msg, "memory returned") &&
			!strings.Contains(entry.Msg, "rate limits are applied by this instance alone") {
			continue
		}
		when := "before the attacks"
		if !a.stopped.IsZero() && entry.Time.After(a.stopped) {
			when = fmt.Sprintf("%s after they stopped", entry.Time.Sub(a.stopped).Round(time.Second))
		} else if entry.Time.After(a.started) {
			when = fmt.Sprintf("%s into the attacks", entry.Time.Sub(a.started).Round(time.Second))
		}
		lines = append(lines, when+": "+entry.Msg)
	}
	return lines
}

// apqKeys counts the persisted query texts kept in the private Redis.
func apqKeys(ctx context.Context, redisURL string) (int64, error) {
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		return 0, err
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	var n int64
	iter := client.Scan(ctx, 0, "apq-*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("count the persisted queries in Redis: %w", err)
	}
	return n, nil
}
