package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The trace a caller started, as its traceparent header names it.
const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
)

// serve with an OTLP endpoint exports, over OTLP/HTTP, the spans of what it serves: a
// request in the caller's trace (traceparent in, traceresponse out), its GraphQL operation,
// dataloader batch, statements and Redis calls beneath it; the relay's steps and a
// subscription's pushes, each a trace of its own; and it flushes them at shutdown. No span
// carries the personal data, the variables or the statements' arguments the requests
// held, and every log line of a traced request names its trace.
func TestTracingEndToEnd(t *testing.T) {
	// The batch processor reads its delay from the process's environment only: short, so
	// that the subscription's span arrives before the server stops.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	receiver := startOTLPReceiver(t)
	api := startServe(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
		"OTEL_SERVICE_NAME":           "notifyql-under-test",
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-collector-key=not%20a%20secret",
		"NOTIFYQL_ENV":                envDevelopment,
	})
	ctx := context.Background()
	manager := tokenFor(t, userManager)
	send := func(method, target, traceparent string, body io.Reader) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, target, body)
		req.Header.Set("Authorization", "Bearer "+manager)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		answer, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s %s", method, target, res.Status, answer)
		}
		return res, answer
	}
	gql := func(traceparent, query string, variables map[string]any) *http.Response {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
		res, answer := send(http.MethodPost, api.url, traceparent, strings.NewReader(string(body)))
		if strings.Contains(string(answer), `"errors"`) {
			t.Fatalf("%s: %s", query, answer)
		}
		return res
	}

	// A query in the caller's trace: its response names the request's span.
	traced := gql("00-"+callerTraceID+"-"+callerSpanID+"-01",
		`query ServicePage($id: ID!) { me { memberships { service { name } } } service(id: $id) { name } }`,
		map[string]any{"id": serviceA})
	requestSpanID := traceResponseSpan(t, traced, callerTraceID)

	// Searches by personal data: the terms are variables, and the statements' arguments.
	for _, search := range []struct{ typ, term string }{{"SMS", canaryPhone}, {"EMAIL", canaryEmail}} {
		gql("", searchQuery, map[string]any{"id": serviceA, "type": search.typ, "search": map[string]any{"term": search.term}})
		gql("", rememberSearchMutation, map[string]any{"id": serviceA, "term": search.term})
	}
	// A download in a trace of its own (no traceparent): it logs a line as it ends.
	download, _ := send(http.MethodGet, strings.TrimSuffix(api.url, "/graphql")+csvPath(serviceA, "message_type=sms"), "", nil)
	downloadTrace := strings.Split(download.Header.Get("traceresponse"), "-")[1]

	// A subscription, pushed its first snapshot and then the one a write brings.
	wsURL := "ws" + strings.TrimPrefix(api.url, "http")
	conn := dialSignedIn(t, "graphql-transport-ws", wsURL, userManager)
	payload, _ := json.Marshal(map[string]any{
		"query":     `subscription Totals($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`,
		"variables": map[string]any{"id": serviceA}})
	if err := conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	requested := func() float64 {
		t.Helper()
		var msg wsMessage
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := conn.ReadJSON(&msg); err != nil || msg.Type != "next" {
			t.Fatalf("want the subscription's next message, got %+v, %v", msg, err)
		}
		var result struct {
			Data struct {
				DashboardTotals struct {
					Email struct{ Requested float64 }
				}
			}
		}
		_ = json.Unmarshal(msg.Payload, &result)
		return result.Data.DashboardTotals.Email.Requested
	}
	before := requested()
	if _, err := api.pool.Exec(ctx, insertFailedEmailSQL, serviceA, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	for requested() != before+1 {
	}
	if err := conn.WriteJSON(wsMessage{ID: "1", Type: "complete"}); err != nil {
		t.Fatal(err)
	}
	// The subscription's span ends with it: wait until it has been exported.
	for deadline := time.Now().Add(20 * time.Second); findSpan(receiver.received(), "subscription Totals") == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the subscription's span was not exported within 20 s of its end")
		}
	}
	api.stop() // flushes the spans not yet exported
	spans := receiver.received()
	byID := make(map[string]receivedSpan, len(spans))
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	descends := func(s receivedSpan, ancestor string) bool {
		for hops := 0; s.ParentID != "" && hops < 50; hops++ {
			if s.ParentID == ancestor {
				return true
			}
			s = byID[s.ParentID]
		}
		return false
	}
	anyBeneath := func(ancestor string, match func(receivedSpan) bool) bool {
		for _, s := range spans {
			if descends(s, ancestor) && match(s) {
				return true
			}
		}
		return false
	}
	isStatement := func(s receivedSpan) bool { return s.Attrs["db.system.name"] == "postgresql" }
	isRedisCall := func(s receivedSpan) bool { return s.Attrs["db.system.name"] == "redis" }

	// The request in the caller's trace, and what it ran beneath it.
	request, ok := byID[requestSpanID]
	switch {
	case !ok:
		t.Fatalf("no span %s, the one traceresponse named, among %d spans", requestSpanID, len(spans))
	case request.TraceID != callerTraceID || request.ParentID != callerSpanID:
		t.Errorf("the request's span is in trace %s under %s, want the caller's %s under %s", request.TraceID, request.ParentID, callerTraceID, callerSpanID)
	case request.Name != "POST /graphql" || request.Kind != "SPAN_KIND_SERVER" || request.Attrs["http.response.status_code"] != "200":
		t.Errorf("the request's span: %+v", request)
	}
	if request.Resource["service.name"] != "notifyql-under-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", request.Resource["service.name"])
	}
	operation := findSpan(spans, "query ServicePage")
	if operation == nil || operation.ParentID != requestSpanID ||
		operation.Attrs["graphql.operation.type"] != "query" || operation.Attrs["graphql.operation.name"] != "ServicePage" {
		t.Fatalf("the operation's span: %+v, want query ServicePage beneath the request's", operation)
	}
	if !anyBeneath(operation.SpanID, func(s receivedSpan) bool {
		return s.Name == "dataloader service" && s.Attrs["notifyql.dataloader.keys"] != "" && anyBeneath(s.SpanID, isStatement)
	}) {
		t.Error("no dataloader batch, with its statement, beneath the operation")
	}
	if !anyBeneath(operation.SpanID, func(s receivedSpan) bool { return isStatement(s) && s.Name == "SELECT services" }) {
		var names []string
		for _, s := range spans {
			if descends(s, operation.SpanID) {
				names = append(names, s.Name)
			}
		}
		t.Errorf(`no "SELECT services" statement beneath the operation, only %q`, names)
	}
	if !anyBeneath(requestSpanID, isRedisCall) {
		t.Error("no Redis call (the rate limit's) beneath the request")
	}
	if receiver.headers.Get("x-collector-key") != "not a secret" {
		t.Errorf("the exports carried x-collector-key %q, want OTEL_EXPORTER_OTLP_HEADERS' value", receiver.headers.Get("x-collector-key"))
	}

	// The relay's steps, and the subscription's pushes.
	var steps, pushes int
	subscription := findSpan(spans, "subscription Totals")
	for _, s := range spans {
		switch s.Name {
		case "live relay step":
			if s.ParentID == "" && anyBeneath(s.SpanID, isStatement) && anyBeneath(s.SpanID, isRedisCall) {
				steps++
			}
		case "subscription push":
			if s.ParentID == "" && len(s.Links) == 1 && s.Links[0] == subscription.TraceID+"/"+subscription.SpanID {
				pushes++
			}
		}
	}
	if steps == 0 {
		t.Error("no relay step with its statements and Redis calls beneath it")
	}
	if pushes < 2 {
		t.Errorf("%d pushes linked to the subscription's span, want its first snapshot's and the write's", pushes)
	}
	if subscription.ParentID == "" || byID[subscription.ParentID].Name != "GET /graphql" {
		t.Errorf("the subscription's span is not beneath its socket's upgrade request")
	}

	// Nothing a span carries holds personal data, variables or arguments.
	leaks := &leakCheck{}
	for _, s := range spans {
		for _, text := range s.text() {
			leaks.add(text, text)
			for _, forbidden := range []string{serviceA, userManager, "07700900"} {
				if strings.Contains(text, forbidden) {
					t.Errorf("a variable or statement argument in %s", text)
				}
			}
		}
	}
	leaks.verify(t)

	// Every log line of a traced request names its trace and span.
	lines, downloadLines := 0, 0
	for _, line := range strings.Split(api.stderr.String(), "\n") {
		var record map[string]any
		if json.Unmarshal([]byte(line), &record) != nil || record["request_id"] == nil {
			continue
		}
		lines++
		if record["trace_id"] == nil || record["span_id"] == nil {
			t.Errorf("a traced request's log line without its trace: %s", line)
		}
		if record["trace_id"] == downloadTrace && record["msg"] == "notifications CSV served" {
			downloadLines++
		}
	}
	if lines == 0 || downloadLines != 1 {
		t.Errorf("%d traced log lines, %d of the download's in its trace; want some, and one", lines, downloadLines)
	}
	t.Logf("%d spans received in %d exports", len(spans), receiver.exports)
}

// traceResponseSpan checks a response's traceresponse header: version 00, the trace
// wantTrace, sampled. It returns the span it names.
func traceResponseSpan(t *testing.T, res *http.Response, wantTrace string) string {
	t.Helper()
	parts := strings.Split(res.Header.Get("traceresponse"), "-")
	if len(parts) != 4 || parts[0] != "00" || parts[1] != wantTrace || len(parts[2]) != 16 || parts[3] != "01" {
		t.Fatalf("traceresponse %q, want 00-%s-<span>-01", res.Header.Get("traceresponse"), wantTrace)
	}
	return parts[2]
}

// findSpan returns the first span named name, or nil.
func findSpan(spans []receivedSpan, name string) *receivedSpan {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

// With no OTEL_* variable tracing is off; the variables switch it on as the OpenTelemetry
// specification says, and OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none switch it off.
func TestTracingConfiguration(t *testing.T) {
	tests := []struct {
		name         string
		vars         map[string]string
		wantEnabled  bool
		wantEndpoint string
		wantSampler  string
	}{
		{"nothing set", nil, false, "", "parentbased_always_on"},
		{"a base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, "http://collector:4318/v1/traces", "parentbased_always_on"},
		{"a base endpoint with a path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example/prefix/"}, true, "https://otel.example/prefix/v1/traces", "parentbased_always_on"},
		{"a traces endpoint, used as it is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, true, "http://b:4318/custom", "parentbased_always_on"},
		{"the otlp exporter alone", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, defaultTracesEndpoint, "parentbased_always_on"},
		{"the none exporter", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false, "http://collector:4318/v1/traces", "parentbased_always_on"},
		{"the SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false, "http://collector:4318/v1/traces", "parentbased_always_on"},
		{"the SDK not disabled", map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, "http://collector:4318/v1/traces", "parentbased_always_on"},
		{"the protocol named", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_TRACES_EXPORTER": "otlp"}, true, defaultTracesEndpoint, "parentbased_always_on"},
		{"a ratio sampler", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, true, defaultTracesEndpoint, "parentbased_traceidratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadTracingConfig(envOf(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Enabled != tt.wantEnabled || cfg.Endpoint != tt.wantEndpoint || cfg.Sampler != tt.wantSampler {
				t.Errorf("enabled %v, endpoint %q, sampler %q; want %v, %q, %q", cfg.Enabled, cfg.Endpoint, cfg.Sampler, tt.wantEnabled, tt.wantEndpoint, tt.wantSampler)
			}
			provider, stop, err := startTracing(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer stop(context.Background())
			if (provider != nil) != tt.wantEnabled {
				t.Errorf("a tracer provider: %v, want one only when enabled", provider != nil)
			}
		})
	}
	headers, err := loadTracingConfig(envOf(map[string]string{"OTEL_TRACES_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%2Cb , tenant=notify", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "tenant=traces"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"api-key": "a,b", "tenant": "traces"}, headers.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if logged := fmt.Sprint(slog.AnyValue(headers).Resolve()); strings.Contains(logged, "a,b") {
		t.Errorf("the configuration's log line shows a header's value: %s", logged)
	}
}

// Every value tracing cannot honour is refused at start-up, naming the variable; header
// values, which may be credentials, are never shown.
func TestTracingConfigurationRefusesBadValues(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"OTEL_SDK_DISABLED": "yes"}, "OTEL_SDK_DISABLED must be true or false"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER must be otlp or none"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp,console"}, "OTEL_TRACES_EXPORTER must be otlp or none"},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, `OTEL_EXPORTER_OTLP_PROTOCOL is "grpc", which notifyql does not speak: set http/protobuf`},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL is "http/json", which notifyql does not speak`},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318?x=1"}, "with no query"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:// or https:// URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": "b:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT must be"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:hunter2@collector:4318?q=1"}, "xxxxx"},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key"}, "OTEL_EXPORTER_OTLP_HEADERS entry 1 is not key=value"},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1,=hunter2"}, "OTEL_EXPORTER_OTLP_HEADERS entry 2 is not key=value"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "bad key=hunter2"}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS entry 1 is not key=value"},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=hunter2%zz"}, "OTEL_EXPORTER_OTLP_HEADERS entry 1 (api-key) has a value that is not URL-encoded text"},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=hunter2%0d%0aX: y"}, "has a value that is not URL-encoded text"},
		{map[string]string{"OTEL_SERVICE_NAME": " notifyql"}, "OTEL_SERVICE_NAME must be a name"},
		{map[string]string{"OTEL_SERVICE_NAME": "notify\nql"}, "OTEL_SERVICE_NAME must be a name"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER must be one of"},
		{map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0.5"}, "OTEL_TRACES_SAMPLER_ARG is set, but the sampler parentbased_always_on takes no ratio"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "NaN"}, "OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1"},
	}
	for _, tt := range tests {
		// Through run, as an operator meets it: serve refuses to start.
		var stderr strings.Builder
		err := run(context.Background(), []string{"notifyql", "serve"}, envOf(tt.vars), io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want an error with %q", tt.vars, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: the error shows a secret: %v", tt.vars, err)
		}
	}
}
