package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func getReadiness(t *testing.T, h http.Handler) (int, readiness, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var r readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("/readyz body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, r, rec.Body.String()
}

func probe(state string, err error) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return state, err }
}

func TestReadyz(t *testing.T) {
	ok := []server.ReadinessCheck{{Name: "postgres", Probe: probe("ok", nil)}, {Name: "relay", Probe: probe("this instance", nil)}}
	srv := server.New(server.Config{Readiness: ok}, subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	code, got, _ := getReadiness(t, srv.Handler())
	if code != http.StatusOK || got.Status != "ready" || got.Checks["postgres"] != "ok" || got.Checks["relay"] != "this instance" {
		t.Errorf("all passing: %d %+v", code, got)
	}

	// A failing check makes the instance unready; its error, which may name a host, is
	// not shown.
	failing := append(ok, server.ReadinessCheck{Name: "redis", Probe: probe("", errors.New("dial tcp 10.1.2.3:6379: connection refused"))})
	srv = server.New(server.Config{Readiness: failing}, subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	code, got, body := getReadiness(t, srv.Handler())
	if code != http.StatusServiceUnavailable || got.Status != "not ready" || got.Checks["redis"] != "unavailable" || got.Checks["postgres"] != "ok" {
		t.Errorf("one failing: %d %+v", code, got)
	}
	if strings.Contains(body, "10.1.2.3") {
		t.Errorf("/readyz shows the probe's error: %s", body)
	}

	// A probe that hangs counts as failing, within a bound.
	hanging := []server.ReadinessCheck{{Name: "postgres", Probe: func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}}}
	srv = server.New(server.Config{Readiness: hanging}, subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	if code, got, _ := getReadiness(t, srv.Handler()); code != http.StatusServiceUnavailable || got.Checks["postgres"] != "unavailable" {
		t.Errorf("hanging: %d %+v", code, got)
	}

	// /healthz needs nothing but the process.
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("/healthz: %d %q", rec.Code, rec.Body.String())
	}
}

// Once shutdown begins, /readyz answers "shutting down" for the drain delay while the
// server still serves, so that load balancers stop sending traffic before it stops.
func TestReadyzTurnsFalseWhenShuttingDown(t *testing.T) {
	srv := server.New(server.Config{Addr: "127.0.0.1:0", DrainDelay: time.Second,
		Readiness: []server.ReadinessCheck{{Name: "postgres", Probe: probe("ok", nil)}}},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	readyz := strings.TrimSuffix(srv.URL(), "/graphql") + "/readyz"
	get := func() (int, readiness) {
		resp, err := http.Get(readyz)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r readiness
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	if code, r := get(); code != http.StatusOK || r.Status != "ready" {
		t.Fatalf("before shutdown: %d %+v", code, r)
	}
	cancel()
	var code int
	var r readiness
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if code, r = get(); r.Status == "shutting down" {
			break
		}
	}
	if code != http.StatusServiceUnavailable || r.Status != "shutting down" {
		t.Errorf("during the drain delay: %d %+v", code, r)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A line logged while answering a request carries the request's id, the one its response's
// X-Request-Id header shows.
func TestLogLinesCarryTheRequestID(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	failing := []server.ReadinessCheck{{Name: "redis", Probe: probe("", errors.New("refused"))}}
	srv := server.New(server.Config{Logger: logger, Readiness: failing}, subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	id := rec.Header().Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id header")
	}
	var line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Msg != "not ready" || line.RequestID != id {
		t.Errorf("log line %+v, want request_id %s", line, id)
	}
	// Wrapping a handler twice adds the id once.
	h := server.WithRequestIDs(server.WithRequestIDs(slog.NewJSONHandler(&logs, nil)))
	if h != server.WithRequestIDs(h) {
		t.Error("WithRequestIDs wrapped an already wrapped handler")
	}
}
