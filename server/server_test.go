package server_test

import (
	"io"
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
