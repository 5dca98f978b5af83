package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"notifyql/internal/harness"
)

// syncBuffer is a buffer serve can write while the test reads: the harness's.
type syncBuffer = harness.SyncBuffer

// TestMakeRunAnswersGraphQL runs the program as `make run` does, with no DATABASE_URL or
// REDIS_URL: a private PostgreSQL, in-process Redis, demo data and simulated traffic. It
// mints a token with the token command and asks GraphQL for the demo admin's services and
// totals.
func TestMakeRunAnswersGraphQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL")
	}
	vars := map[string]string{"NOTIFYQL_DATA_DIR": privateDataDir(t), "NOTIFYQL_ENV": "development"}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"notifyql", "serve", "--addr", "127.0.0.1:0", "--simulate", "5"}, envOf(vars), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v\nstderr: %s", err, stderr.String())
			}
			// The shutdown line carries the live path's statement count: at least the
			// relay election's.
			stopped := regexp.MustCompile(`"msg":"live updates stopped".*"queries":([0-9]+)`).FindStringSubmatch(stderr.String())
			if stopped == nil || stopped[1] == "0" {
				t.Errorf("serve logged no live updates stopped line with a statement count:\n%s", stderr.String())
			}
			// serve's report worker built the demo data's pending report request.
			if !strings.Contains(stderr.String(), `"msg":"report stored"`) {
				t.Errorf("serve's report worker stored no report:\n%s", stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop within 30 s of cancel")
		}
	})

	var url, metricsURL string
	for deadline := time.Now().Add(2 * time.Minute); url == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\nstderr: %s", err, stderr.String())
		default:
		}
		url, metricsURL, _ = servedURLs(stdout.String())
	}
	if url == "" {
		t.Fatalf("serve printed no URL:\n%s\nstderr: %s", stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "notifyql token --email") {
		t.Errorf("serve does not print how to mint a token:\n%s", stdout.String())
	}

	tokenOut, tokenErr, err := runCommand(t, vars, "token", "--email", demoAdminEmail)
	if err != nil {
		t.Fatalf("token: %v\n%s", err, tokenErr)
	}
	body := strings.NewReader(`{"query": "{ me { name platformAdmin } services { name totals { email { requested } sms { requested } letter { requested } } } }"}`)
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tokenOut))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		Data struct {
			Me       struct{ PlatformAdmin bool }
			Services []struct {
				Name   string
				Totals map[string]struct{ Requested int }
			}
		}
		Errors []any
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || len(got.Errors) > 0 {
		t.Fatalf("status %d, errors %v", res.StatusCode, got.Errors)
	}
	if !got.Data.Me.PlatformAdmin || len(got.Data.Services) < 2 {
		t.Fatalf("the demo admin should see the demo services: %+v", got.Data)
	}
	requested := 0
	for _, s := range got.Data.Services {
		for _, totals := range s.Totals {
			requested += totals.Requested
		}
	}
	if requested == 0 {
		t.Errorf("the demo services sent nothing in the last 7 days: %+v", got.Data.Services)
	}

	// Development serves its metrics beside GraphQL: the live path's, once this instance is
	// the relay, having run the election's statements.
	if want := strings.TrimSuffix(url, "/graphql") + "/metrics"; metricsURL != want {
		t.Errorf("development serves its metrics at %s, want %s, beside the API", metricsURL, want)
	}
	metrics := waitForMetric(t, metricsURL, "notifyql_live_relay", 10*time.Second, func(v float64) bool { return v == 1 })
	if metrics["notifyql_live_db_queries_total"] <= 0 {
		t.Errorf("notifyql_live_db_queries_total = %v with the relay elected, want above 0", metrics["notifyql_live_db_queries_total"])
	}
	if _, ok := metrics["process_cpu_seconds_total"]; !ok {
		t.Error("serve's /metrics lacks the process collector's process_cpu_seconds_total")
	}

	// The chores start with serve: the nightly runs missed before this start run at once.
	for _, job := range []string{"rollup-billing-nightly", "rollup-status-nightly", "rollup-billing-today", "retention-notifications", "retention-inbound-sms"} {
		finished := regexp.MustCompile(`"msg":"scheduled job finished"[^\n]*"job":"` + job + `"`)
		deadline := time.Now().Add(time.Minute)
		for !finished.MatchString(stderr.String()) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !finished.MatchString(stderr.String()) {
			t.Errorf("serve did not run %s:\n%s", job, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"simulating the sending pipeline"`) {
		t.Errorf("serve --simulate did not start the simulator:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "scheduled job failed") {
		t.Errorf("a scheduled job failed:\n%s", stderr.String())
	}
}
