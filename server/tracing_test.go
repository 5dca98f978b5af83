package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"notifyql/server"
)

// tracingTestPages are pages that answer, panic, or carry a client's path in their route.
func tracingTestPages() map[string]http.Handler {
	return map[string]http.Handler{
		"/ok": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			slog.New(server.WithRequestIDs(slog.Default().Handler())).InfoContext(r.Context(), "ok")
			_, _ = w.Write([]byte("ok"))
		}),
		"/broken": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("cannot format 07700 900482") }),
	}
}

// Without Config.Tracing nothing is traced: no traceresponse header, whatever traceparent
// the request brings, and no trace in the log.
func TestTracingOffTracesNothing(t *testing.T) {
	var logs strings.Builder
	srv := server.New(server.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Pages: tracingTestPages()},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	for _, path := range []string{"/ok", "/broken"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if got := w.Header().Get("traceresponse"); got != "" {
			t.Errorf("%s: traceresponse %q with tracing off", path, got)
		}
	}
	if strings.Contains(logs.String(), "trace_id") || strings.Contains(logs.String(), "4bf92f3577b34da6a3ce929d0e0e4736") {
		t.Errorf("a log line names a trace with tracing off: %s", logs.String())
	}
}

// With tracing, each request's span is named by its method and the route's pattern, never
// by the path or method a client sent; it records the status, marks a 5xx as failed, and
// the log lines written while it runs name it.
func TestRequestSpans(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer provider.Shutdown(context.Background())
	var logs strings.Builder
	srv := server.New(server.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Pages: tracingTestPages(), Tracing: provider},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	tests := []struct {
		method, target, traceparent string
		wantName, wantStatus        string
		wantFailed                  bool
	}{
		{http.MethodGet, "/ok", "", "GET /ok", "200", false},
		{http.MethodGet, "/ok/07700900482", "", "GET /ok/", "200", false},
		{http.MethodGet, "/broken", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "GET /broken", "500", true},
		{"CANARYPERSON", "/ok", "", "_OTHER", "405", false},
		{http.MethodGet, "/nowhere/07700900482", "", "GET", "404", false},
		{http.MethodGet, "/ok", "00-zz-not-a-traceparent", "GET /ok", "200", false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.traceparent != "" {
			req.Header.Set("traceparent", tt.traceparent)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		spans := recorder.Ended()
		span := spans[len(spans)-1]
		status := ""
		for _, kv := range span.Attributes() {
			if kv.Key == "http.response.status_code" {
				status = kv.Value.Emit()
			}
		}
		if span.Name() != tt.wantName || (tt.wantStatus != "" && status != tt.wantStatus) || (span.Status().Code.String() == "Error") != tt.wantFailed {
			t.Errorf("%s %s: span %q, status %q, %v; want %q, %q, failed %v", tt.method, tt.target, span.Name(), status, span.Status(), tt.wantName, tt.wantStatus, tt.wantFailed)
		}
		sc := span.SpanContext()
		if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; w.Header().Get("traceresponse") != want {
			t.Errorf("%s %s: traceresponse %q, want %q", tt.method, tt.target, w.Header().Get("traceresponse"), want)
		}
		if tt.traceparent != "" && strings.HasPrefix(tt.traceparent, "00-4bf9") != (sc.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736") {
			t.Errorf("%s %s: trace %s; a valid traceparent's trace is kept, an invalid one starts a new trace", tt.method, tt.target, sc.TraceID())
		}
		for _, kv := range span.Attributes() {
			if strings.Contains(kv.Value.Emit(), "900482") || strings.Contains(strings.ToLower(kv.Value.Emit()), "canary") {
				t.Errorf("%s %s: attribute %s = %q holds what the client sent", tt.method, tt.target, kv.Key, kv.Value.Emit())
			}
		}
	}
	if !strings.Contains(logs.String(), `"msg":"panic in handler"`) || !strings.Contains(logs.String(), `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"`) {
		t.Errorf("the panic's log line does not name its trace: %s", logs.String())
	}
}
