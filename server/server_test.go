package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"notifyql/server"
)

// /metrics serves the configured gatherer in Prometheus' text format, and does not exist
// without one.
func TestMetricsEndpoint(t *testing.T) {
	registry := prometheus.NewRegistry()
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "notifyql_test_gauge", Help: "A gauge for the test."})
	gauge.Set(42)
	registry.MustRegister(gauge)
	for _, tt := range []struct {
		name       string
		metrics    prometheus.Gatherer
		wantStatus int
		wantBody   string
	}{
		{"without a gatherer", nil, http.StatusNotFound, ""},
		{"with a gatherer", registry, http.StatusOK, "\nnotifyql_test_gauge 42\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := server.New(server.Config{Metrics: tt.metrics}, subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != tt.wantStatus {
				t.Fatalf("GET /metrics: status %d, want %d; body %.200s", w.Code, tt.wantStatus, body)
			}
			if tt.wantBody == "" {
				if strings.Contains(string(body), "notifyql_test_gauge") {
					t.Errorf("GET /metrics without a gatherer served metrics: %.200s", body)
				}
				return
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET /metrics: body lacks %q:\n%s", tt.wantBody, body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want Prometheus' text format", ct)
			}
		})
	}
}

// With a metrics address of its own, /metrics is served on that listener only: the API's
// address answers 404 for it, as for any path it does not serve.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	registry := prometheus.NewRegistry()
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "notifyql_test_gauge", Help: "A gauge for the test."})
	registry.MustRegister(gauge)
	srv := server.New(server.Config{Addr: "127.0.0.1:0", Metrics: registry, MetricsAddr: "127.0.0.1:0"},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	api := strings.TrimSuffix(srv.URL(), "/graphql")
	if srv.MetricsURL() == api+"/metrics" {
		t.Fatalf("MetricsURL() = %s, the API's address", srv.MetricsURL())
	}
	for _, tt := range []struct {
		url        string
		wantStatus int
	}{
		{api + "/metrics", http.StatusNotFound},
		{srv.MetricsURL(), http.StatusOK},
	} {
		res, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.wantStatus {
			t.Errorf("GET %s: status %d, want %d", tt.url, res.StatusCode, tt.wantStatus)
		}
		if served := strings.Contains(string(body), "notifyql_test_gauge"); served != (tt.wantStatus == http.StatusOK) {
			t.Errorf("GET %s: metrics served %v: %.200s", tt.url, served, body)
		}
	}
}

// With Profiling, the runtime's profiles are served beside /metrics on the metrics
// listener, never on the API's address; without it, nowhere.
func TestProfilesOnTheMetricsListener(t *testing.T) {
	for _, profiling := range []bool{true, false} {
		srv := server.New(server.Config{Addr: "127.0.0.1:0", Metrics: prometheus.NewRegistry(), MetricsAddr: "127.0.0.1:0", Profiling: profiling},
			subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
		if err := srv.Listen(); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		api := strings.TrimSuffix(srv.URL(), "/graphql")
		metrics := strings.TrimSuffix(srv.MetricsURL(), "/metrics")
		wantOnMetrics := http.StatusNotFound
		if profiling {
			wantOnMetrics = http.StatusOK
		}
		for _, tt := range []struct {
			url        string
			wantStatus int
		}{
			{api + "/debug/pprof/", http.StatusNotFound},
			{metrics + "/debug/pprof/", wantOnMetrics},
			{metrics + "/debug/pprof/heap?debug=1", wantOnMetrics},
			{srv.MetricsURL(), http.StatusOK},
		} {
			res, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("profiling %v: GET %s: status %d, want %d", profiling, tt.url, res.StatusCode, tt.wantStatus)
			}
		}
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// OpenWebSockets counts a socket from its upgrade until it closes.
func TestOpenWebSockets(t *testing.T) {
	f := newWSFixture(t, nil)
	if got := f.server.OpenWebSockets(); got != 0 {
		t.Fatalf("before any socket: %d open, want 0", got)
	}
	conn := f.connect(t, transportWS)
	if got := f.server.OpenWebSockets(); got != 1 {
		t.Fatalf("with one socket: %d open, want 1", got)
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for f.server.OpenWebSockets() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the client closed: %d open, want 0", f.server.OpenWebSockets())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Pages are served at their path and beneath it, and GET / redirects to the home page; the
// API's own routes are not shadowed by them.
func TestPagesAndHome(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	srv := server.New(server.Config{Pages: map[string]http.Handler{"/graphiql": page}, Home: "/graphiql"},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	for _, tt := range []struct {
		method, target string
		wantStatus     int
		wantBody       string
		wantLocation   string
	}{
		{http.MethodGet, "/", http.StatusFound, "", "/graphiql"},
		{http.MethodGet, "/graphiql", http.StatusOK, "page /graphiql", ""},
		{http.MethodGet, "/graphiql/assets/a.js", http.StatusOK, "page /graphiql/assets/a.js", ""},
		{http.MethodPost, "/graphiql", http.StatusMethodNotAllowed, "", ""},
		{http.MethodGet, "/elsewhere", http.StatusNotFound, "", ""},
		{http.MethodGet, "/healthz", http.StatusOK, "ok", ""},
	} {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
		if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) || w.Header().Get("Location") != tt.wantLocation {
			t.Errorf("%s %s: %d %q (Location %q), want %d %q (Location %q)", tt.method, tt.target,
				w.Code, w.Body.String(), w.Header().Get("Location"), tt.wantStatus, tt.wantBody, tt.wantLocation)
		}
	}
}

// A panic in a handler is answered as an internal error with the request id, and logged by
// its type and line, without its value or a stack; a deliberate abort still drops the
// connection.
func TestHandlerPanicsAreInternalErrors(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("cannot format 07700 900482")
	})
	srv := server.New(server.Config{Logger: logger, Pages: map[string]http.Handler{"/broken": page}},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/broken", nil))
	id := w.Header().Get("X-Request-Id")
	if w.Code != http.StatusInternalServerError || id == "" ||
		!strings.Contains(w.Body.String(), `"code":"INTERNAL"`) || !strings.Contains(w.Body.String(), `"requestId":"`+id+`"`) {
		t.Errorf("a panicking handler answered %d %s (X-Request-Id %q)", w.Code, w.Body.String(), id)
	}
	if !strings.Contains(logs.String(), `"msg":"panic in handler","panic_type":"string","at":"notifyql/server_test.TestHandlerPanicsAreInternalErrors.func1 (server_test.go:`) ||
		!strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Errorf("the panic's log line: %s", logs.String())
	}
	if strings.Contains(logs.String(), "900482") || strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the log holds the panic's value or a stack: %s", logs.String())
	}
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("an abort: recovered %v, want http.ErrAbortHandler to reach net/http", p)
			}
		}()
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/broken/abort", nil))
	}()
}
