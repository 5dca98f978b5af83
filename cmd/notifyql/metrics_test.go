package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scrapeMetrics reads GET metricsURL (a server's /metrics) into name → value; it fails on a
// metric it cannot read.
func scrapeMetrics(t *testing.T, metricsURL string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("scrape: unreadable line %q", line)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("scrape: line %q: %v", line, err)
		}
		out[name] = v
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return out
}

// waitForMetric scrapes until ok accepts the named metric's value.
func waitForMetric(t *testing.T, metricsURL, name string, within time.Duration, ok func(float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := scrapeMetrics(t, metricsURL)
		if v, found := m[name]; found && ok(v) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after %s", name, m[name], within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// /metrics counts one subscriber's connection, subscription and topic, and the live path's
// database statements: the first snapshot's, and a relay recompute's after a plain SQL write.
func TestMetricsCountTheLivePath(t *testing.T) {
	api := startLiveAPI(t)
	// Once elected, the relay runs no statement until a change or a subscription comes.
	before := waitForMetric(t, api.metricsURL, "notifyql_live_relay", 10*time.Second, func(v float64) bool { return v == 1 })
	for name, want := range map[string]float64{
		"notifyql_websocket_connections":  0,
		"notifyql_live_subscriptions":     0,
		"notifyql_live_topics":            0,
		"notifyql_live_recomputed_total":  0,
		"notifyql_live_published_total":   0,
		"notifyql_live_queue_drops_total": 0,
	} {
		if got, ok := before[name]; !ok || got != want {
			t.Errorf("before subscribing: %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := before["go_goroutines"]; !ok {
		t.Error("the Go collector's go_goroutines is missing")
	}
	if _, ok := before["process_resident_memory_bytes"]; !ok {
		t.Error("the process collector's process_resident_memory_bytes is missing")
	}

	stream := subscribeOverWebSocket(t, api.wsURL, userViewer,
		`subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`,
		map[string]any{"id": serviceA})
	requested := next(t, stream, 10*time.Second)["dashboardTotals"].(map[string]any)["email"].(map[string]any)["requested"].(float64)
	subscribed := scrapeMetrics(t, api.metricsURL)
	for name, want := range map[string]float64{
		"notifyql_websocket_connections": 1,
		"notifyql_live_subscriptions":    1,
		"notifyql_live_topics":           1,
		"notifyql_live_relay":            1,
	} {
		if got := subscribed[name]; got != want {
			t.Errorf("with one subscription: %s = %v, want %v", name, got, want)
		}
	}
	queriesBefore, queriesSubscribed := before["notifyql_live_db_queries_total"], subscribed["notifyql_live_db_queries_total"]
	if queriesSubscribed <= 0 || queriesSubscribed <= queriesBefore {
		t.Errorf("notifyql_live_db_queries_total = %v before the first snapshot and %v after it, want a rise",
			queriesBefore, queriesSubscribed)
	}

	api.exec(`INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'created', $2)`,
		serviceA, time.Now().UTC())
	deadline := time.Now().Add(5 * time.Second)
	for {
		email := next(t, stream, time.Until(deadline))["dashboardTotals"].(map[string]any)["email"].(map[string]any)
		if email["requested"].(float64) == requested+1 {
			break
		}
	}
	// The relay's own subscribers get a snapshot before its publish to Redis ends: the
	// publish is counted a moment after the update arrives.
	written := waitForMetric(t, api.metricsURL, "notifyql_live_published_total", 5*time.Second, func(v float64) bool {
		return v > subscribed["notifyql_live_published_total"]
	})
	for _, name := range []string{"notifyql_live_recomputed_total", "notifyql_live_published_total", "notifyql_live_db_queries_total"} {
		if written[name] <= subscribed[name] {
			t.Errorf("after a plain SQL write reached the subscriber: %s = %v, was %v; want a rise", name, written[name], subscribed[name])
		}
	}
	if lag := written["notifyql_live_relay_lag_p99_seconds"]; lag <= 0 || lag > 5 {
		t.Errorf("notifyql_live_relay_lag_p99_seconds = %v after one relayed change, want between 0 and 5", lag)
	}
}

// /metrics times queries by operation name, counts errors by code, and shows both
// database pools.
func TestMetricsCountRequestsErrorsAndPools(t *testing.T) {
	api := startLiveAPI(t)
	post := func(token, body string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, api.httpURL+"/graphql", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	token := tokenFor(t, userManager)
	post(token, `{"query": "query WhoAmI { me { name } }"}`)
	post(token, `{"query": "query WhoAmI { me { name } }"}`)
	post(token, `{"query": "{ me { name } }"}`)
	post(token, `{"query": "{ me { nonsense } }"}`)
	post("", `{"query": "{ me { name } }"}`)

	m := scrapeMetrics(t, api.metricsURL)
	for series, want := range map[string]float64{
		`notifyql_graphql_request_duration_seconds_count{operation_name="WhoAmI",operation_type="query"}`:          2,
		`notifyql_graphql_request_duration_seconds_count{operation_name="anonymous",operation_type="query"}`:       1, // signed in, unnamed
		`notifyql_graphql_request_duration_seconds_count{operation_name="unauthenticated",operation_type="query"}`: 1,
		`notifyql_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}`:                                          1,
		`notifyql_graphql_errors_total{code="UNAUTHENTICATED"}`:                                                    1,
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, pool := range []string{"api", "live"} {
		if got := m[`notifyql_db_pool_max_connections{pool="`+pool+`"}`]; got <= 0 {
			t.Errorf("%s pool's max connections = %v", pool, got)
		}
	}
	if got := m[`notifyql_db_pool_acquires_total{pool="api"}`]; got <= 0 {
		t.Errorf("the API pool's acquires = %v", got)
	}
}

// Production serves /metrics on a listener of its own, printed at start-up, and not on the
// API's address, where anyone who can reach the API could read it.
func TestServeMetricsOnTheirOwnListener(t *testing.T) {
	api := startServe(t, nil)
	base := strings.TrimSuffix(api.url, "/graphql")
	if api.metricsURL == base+"/metrics" {
		t.Fatalf("production serves its metrics at %s, on the API's address", api.metricsURL)
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || strings.Contains(string(body), "notifyql_") {
		t.Errorf("GET /metrics on the API's address: status %d, body %.200s; want 404", res.StatusCode, body)
	}
	m := scrapeMetrics(t, api.metricsURL)
	for _, name := range []string{"go_goroutines", "process_open_fds", "notifyql_websocket_connections", `notifyql_db_pool_max_connections{pool="api"}`} {
		if _, ok := m[name]; !ok {
			t.Errorf("the metrics listener lacks %s", name)
		}
	}
}

// Callers who are not signed in cannot grow the operation-name labels, nor use up the
// names kept for the signed-in callers' dashboards: 300 operations under distinct names,
// without a token, are all counted under "unauthenticated", and a signed-in caller's name
// still becomes a label.
func TestMetricsNameOnlySignedInOperations(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_RATE_LIMIT_PER_IP": "0", "NOTIFYQL_RATE_LIMIT_PER_USER": "0"})
	ctx := context.Background()
	for i := range 300 {
		answer := postOverHTTP(ctx, api.url, "", fmt.Sprintf("query Probe%03d { __typename }", i), nil)
		if answer.err != nil || answer.res.status != http.StatusOK {
			t.Fatalf("anonymous operation %d: %v, status %d %s", i, answer.err, answer.res.status, answer.res.body)
		}
	}
	answer := postOverHTTP(ctx, api.url, tokenFor(t, userManager), "query SignedInDashboard { me { name } }", nil)
	if answer.err != nil {
		t.Fatal(answer.err)
	}
	answer.res.requireNoErrors(t)

	names := map[string]float64{}
	for series, count := range scrapeMetrics(t, api.metricsURL) {
		if !strings.HasPrefix(series, "notifyql_graphql_request_duration_seconds_count{") {
			continue
		}
		name := regexp.MustCompile(`operation_name="([^"]*)"`).FindStringSubmatch(series)
		if name == nil {
			t.Fatalf("%s has no operation_name", series)
		}
		names[name[1]] += count
	}
	if diff := cmp.Diff(map[string]float64{"unauthenticated": 300, "SignedInDashboard": 1}, names); diff != "" {
		t.Errorf("operations counted by operation_name (-want +got):\n%s", diff)
	}
}
