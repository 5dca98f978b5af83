package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql/bench/internal/harness"
)

// sample is one reading of the server's resources.
type sample struct {
	label      string
	at         time.Time
	goroutines float64
	heapMiB    float64
	rssMiB     float64
	fds        float64
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
	live, err := m.Value(`notifyql_db_pool_max_connections{pool="live"}`)
	if err != nil {
		return s, err
	}
	s.poolMax += live
	s.heapMiB = heap / (1 << 20)
	s.rssMiB = float64(harness.VmRSS(a.srv.PID())) / (1 << 20)
	s.fds = float64(harness.OpenFiles(a.srv.PID()))
	err = a.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'idle'), count(*)
		FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, a.db.Name, serveApplication).Scan(&s.pgBusy, &s.pgAll)
	if err != nil {
		return s, fmt.Errorf("count the server's PostgreSQL connections: %w", err)
	}
	return s, nil
}

// A series' allowance over the baseline: the larger of an absolute floor and a fraction.
type allowance struct {
	name     string
	value    func(sample) float64
	floor    float64
	fraction float64
}

func (l allowance) over(baseline sample) float64 {
	return math.Max(l.floor, l.fraction*l.value(baseline))
}

// allowances are what "back to the baseline" means for each series.
var allowances = []allowance{
	{"goroutines", func(s sample) float64 { return s.goroutines }, 20, 0.10},
	{"open files", func(s sample) float64 { return s.fds }, 10, 0.10},
	{"RSS MiB", func(s sample) float64 { return s.rssMiB }, 24, 0.25},
	{"busy PostgreSQL connections", func(s sample) float64 { return s.pgBusy }, 0, 0},
}

// judge lists the series of s that are not back within their allowance of baseline, and
// the connections beyond what the pools may hold.
func judge(baseline, s sample) []string {
	var out []string
	for _, l := range allowances {
		if got, limit := l.value(s), l.value(baseline)+l.over(baseline); got > limit {
			out = append(out, fmt.Sprintf("%s: %.0f, over the baseline's %.0f plus %.0f", l.name, got, l.value(baseline), l.over(baseline)))
		}
	}
	if s.pgAll > s.poolMax {
		out = append(out, fmt.Sprintf("PostgreSQL connections: %.0f, more than the pools' %.0f", s.pgAll, s.poolMax))
	}
	return out
}

func (a *abuse) printSample(s sample) {
	fmt.Printf("  %-8s goroutines %6.0f  heap %6.1f MiB  RSS %6.1f MiB  fds %6.0f  pg busy %2.0f of %2.0f\n",
		s.label, s.goroutines, s.heapMiB, s.rssMiB, s.fds, s.pgBusy, s.pgAll)
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
	peak := func(value func(sample) float64) float64 {
		p := 0.0
		for _, s := range samples {
			p = math.Max(p, value(s))
		}
		return p
	}
	fmt.Printf("\n| %-28s | %10s | %10s | %10s | %-9s |\n", "series", "baseline", "peak", "after", "verdict")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 30), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 11))
	rows := append(allowances,
		allowance{"heap in use MiB (not judged)", func(s sample) float64 { return s.heapMiB }, math.Inf(1), 0},
		allowance{"PostgreSQL connections", func(s sample) float64 { return s.pgAll }, math.Inf(1), 0})
	for _, l := range rows {
		verdict := "back"
		switch {
		case math.IsInf(l.floor, 1):
			verdict = "-"
		case l.value(after) > l.value(baseline)+l.over(baseline):
			verdict = "NOT BACK"
		}
		fmt.Printf("| %-28s | %10.1f | %10.1f | %10.1f | %-9s |\n", l.name, l.value(baseline), peak(l.value), l.value(after), verdict)
	}
	fmt.Printf("(after: %s after the attacks stopped)\n", after.at.Sub(a.stopped).Round(time.Second))
	fmt.Println("the garbage collector tuner's decisions, from the server's log:")
	for _, line := range a.tunerLines() {
		fmt.Println("  " + line)
	}
	if !settled {
		for _, f := range judge(baseline, after) {
			failures = append(failures, "not back after --settle: "+f)
		}
	}
	return failures
}

// tunerLines are the server's log lines about the garbage collector's target and the
// memory it returned, each as its time and message.
func (a *abuse) tunerLines() []string {
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
		if json.Unmarshal([]byte(line), &entry) != nil || !strings.Contains(entry.Msg, "garbage collector") && !strings.Contains(entry.Msg, "memory returned") {
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
