package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"notifyql/internal/harness"
)

// dashboardQuery is what the victim asks for: the dashboard's totals and templates.
const dashboardQuery = `query Dashboard($id: ID!) {
  service(id: $id) {
    name
    totals { email { requested delivered failed } sms { requested delivered failed } letter { requested delivered failed } }
    templateStatistics { count template { name } }
  }
}`

// victim is a signed-in user at their dashboard, from an address of their own, while the
// attacks run: every answer must be a 200 without errors.
type victim struct {
	url, token, serviceID string
	client                *http.Client

	mu        sync.Mutex
	latencies []time.Duration
	failures  []string
	failed    int
}

func newVictim(url, token, serviceID string) *victim {
	dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(victimAddress)}}
	transport := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 4}
	return &victim{url: url, token: token, serviceID: serviceID,
		client: &http.Client{Timeout: 10 * time.Second, Transport: transport}}
}

// ask sends the dashboard query once and records how it went.
func (v *victim) ask(ctx context.Context) (time.Duration, error) {
	started := time.Now()
	_, err := harness.PostQuery(ctx, v.client, v.url, v.token, dashboardQuery, map[string]any{"id": v.serviceID})
	took := time.Since(started)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return took, err // the run is ending, not the server failing
		}
		v.failed++
		if len(v.failures) < 5 {
			v.failures = append(v.failures, fmt.Sprintf("after %s: %v", took.Round(time.Millisecond), err))
		}
		return took, err
	}
	v.latencies = append(v.latencies, took)
	return took, nil
}

// run asks every interval until ctx ends.
func (v *victim) run(ctx context.Context, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			_, _ = v.ask(ctx)
		}
	}
}

// reset forgets what the warm-up asked.
func (v *victim) reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.latencies, v.failures, v.failed = nil, nil, 0
}

// summary is the victim's line of the report, and its failures.
func (v *victim) summary() (string, []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	sorted := slices.Clone(v.latencies)
	slices.Sort(sorted)
	at := func(q float64) time.Duration {
		if len(sorted) == 0 {
			return 0
		}
		return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
	}
	line := fmt.Sprintf("%d answered, %d failed; p50 %s, p99 %s, max %s", len(sorted), v.failed,
		at(0.5).Round(100*time.Microsecond), at(0.99).Round(100*time.Microsecond), at(1).Round(100*time.Microsecond))
	var failures []string
	if v.failed > 0 {
		failures = append(failures, fmt.Sprintf("the victim's dashboard query failed %d times: %v", v.failed, v.failures))
	}
	if len(sorted) == 0 {
		failures = append(failures, "the victim's dashboard query was never answered")
	}
	return line, failures
}
