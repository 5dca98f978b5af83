package main

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP receiver in the test's process: it decodes each export
// (protobuf, gzipped or not) as a collector would and keeps the spans, for tests to read.
type otlpReceiver struct {
	url string

	mu      sync.Mutex
	spans   []receivedSpan
	exports int
	// headers are the last export's request headers.
	headers http.Header
}

// receivedSpan is one decoded span, its ids in hex and every attribute value as text.
type receivedSpan struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      string
	Attrs                     map[string]string
	Resource                  map[string]string
	Scope                     string
	Status                    string
	// Links are the linked spans, as traceID/spanID.
	Links []string
	// Events are the span's events, each its name and attributes as text.
	Events []string
}

// startOTLPReceiver serves the receiver until the test ends.
func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			t.Errorf("OTLP receiver: %s %s, want POST /v1/traces", req.Method, req.URL.Path)
			http.NotFound(w, req)
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			t.Errorf("OTLP receiver: Content-Type %q, want application/x-protobuf", ct)
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(req.Body)
			if err != nil {
				t.Errorf("OTLP receiver: %v", err)
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var export coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &export); err != nil {
			t.Errorf("OTLP receiver: the export does not decode: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&export, req.Header.Clone())
		answer, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *otlpReceiver) add(export *coltracepb.ExportTraceServiceRequest, headers http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exports++
	r.headers = headers
	for _, rs := range export.GetResourceSpans() {
		resource := attributesText(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span := receivedSpan{
					TraceID:  hex.EncodeToString(s.GetTraceId()),
					SpanID:   hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()),
					Name:     s.GetName(),
					Kind:     s.GetKind().String(),
					Attrs:    attributesText(s.GetAttributes()),
					Resource: resource,
					Scope:    ss.GetScope().GetName(),
					Status:   s.GetStatus().GetCode().String() + " " + s.GetStatus().GetMessage(),
				}
				for _, l := range s.GetLinks() {
					span.Links = append(span.Links, hex.EncodeToString(l.GetTraceId())+"/"+hex.EncodeToString(l.GetSpanId()))
					for k, v := range attributesText(l.GetAttributes()) {
						span.Events = append(span.Events, "link "+k+"="+v)
					}
				}
				for _, e := range s.GetEvents() {
					span.Events = append(span.Events, fmt.Sprintf("%s %v", e.GetName(), attributesText(e.GetAttributes())))
				}
				r.spans = append(r.spans, span)
			}
		}
	}
}

// received returns the spans received so far.
func (r *otlpReceiver) received() []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedSpan(nil), r.spans...)
}

// attributesText is attrs with every value written as text (arrays and maps too).
func attributesText(attrs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(attrs))
	for _, kv := range attrs {
		out[kv.GetKey()] = anyValueText(kv.GetValue())
	}
	return out
}

func anyValueText(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_BytesValue:
		return string(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		parts := make([]string, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, anyValueText(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *commonpb.AnyValue_KvlistValue:
		m := attributesText(x.KvlistValue.GetValues())
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+m[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return ""
}

// text is everything a span carries that a person could read: its name, status, scope,
// attributes, resource, links and events, one "where: value" string each.
func (s receivedSpan) text() []string {
	out := []string{"span name: " + s.Name, "span status: " + s.Status, "span scope: " + s.Scope}
	for k, v := range s.Attrs {
		out = append(out, "span "+s.Name+" attribute "+k+": "+v)
	}
	for k, v := range s.Resource {
		out = append(out, "resource attribute "+k+": "+v)
	}
	for _, e := range s.Events {
		out = append(out, "span "+s.Name+" event: "+e)
	}
	return out
}
