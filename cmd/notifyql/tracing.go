package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracingConfig is OpenTelemetry tracing as the standard OTEL_* variables configure it.
// Tracing is off unless an OTLP endpoint is set or OTEL_TRACES_EXPORTER is otlp, and
// OTEL_SDK_DISABLED switches it off whatever else is set. Spans go to an OTLP receiver
// over HTTP (http/protobuf), the only protocol notifyql speaks.
type tracingConfig struct {
	// Enabled says spans are made and exported.
	Enabled bool
	// Endpoint is the full URL spans are posted to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
	// it is, or OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces added, or the default
	// receiver's on this machine.
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS, then
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS): a collector's API key, say. Never logged.
	Headers map[string]string
	// ServiceName is the service.name of every span (OTEL_SERVICE_NAME).
	ServiceName string
	// Sampler is OTEL_TRACES_SAMPLER, and SamplerArg its ratio (OTEL_TRACES_SAMPLER_ARG)
	// where it takes one.
	Sampler    string
	SamplerArg float64
}

// defaultTracesEndpoint is where spans go when OTEL_TRACES_EXPORTER is otlp and no
// endpoint is set: an OpenTelemetry Collector on this machine, as the specification says.
const defaultTracesEndpoint = "http://localhost:4318/v1/traces"

// defaultServiceName is the service.name of notifyql's spans unless OTEL_SERVICE_NAME says.
const defaultServiceName = "notifyql"

// tracingShutdownTimeout bounds flushing the last spans at shutdown: a receiver that does
// not answer must not hold the process.
const tracingShutdownTimeout = 5 * time.Second

// samplers are the OTEL_TRACES_SAMPLER values notifyql takes, and whether each takes a
// ratio. parentbased_always_on is the default: a request whose traceparent says its
// caller sampled it is sampled, and every request without one.
var samplers = map[string]bool{
	"always_on": false, "always_off": false, "traceidratio": true,
	"parentbased_always_on": false, "parentbased_always_off": false, "parentbased_traceidratio": true,
}

// loadTracingConfig reads the OTEL_* variables. A value it cannot honour is an error
// naming the variable and what it takes; header values are never shown, as they may be
// credentials.
func loadTracingConfig(getenv func(string) string) (tracingConfig, error) {
	cfg := tracingConfig{ServiceName: defaultServiceName, Sampler: "parentbased_always_on", SamplerArg: 1}
	disabled := false
	if v := getenv("OTEL_SDK_DISABLED"); v != "" {
		switch strings.ToLower(v) {
		case "true":
			disabled = true
		case "false":
		default:
			return tracingConfig{}, fmt.Errorf("OTEL_SDK_DISABLED must be true or false, got %q", v)
		}
	}
	exporter := getenv("OTEL_TRACES_EXPORTER")
	switch exporter {
	case "", "otlp", "none":
	default:
		return tracingConfig{}, fmt.Errorf("OTEL_TRACES_EXPORTER must be otlp or none (spans go to an OTLP receiver over HTTP), got %q", exporter)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		switch v := getenv(name); v {
		case "", "http/protobuf":
		case "grpc", "http/json":
			return tracingConfig{}, fmt.Errorf("%s is %q, which notifyql does not speak: set http/protobuf (the OTLP receiver's port 4318) or leave it unset", name, v)
		default:
			return tracingConfig{}, fmt.Errorf("%s must be http/protobuf, got %q", name, v)
		}
	}
	base, traces := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	switch {
	case traces != "":
		if err := checkEndpoint(traces); err != nil {
			return tracingConfig{}, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT %w", err)
		}
		cfg.Endpoint = traces
	case base != "":
		if err := checkEndpoint(base); err != nil {
			return tracingConfig{}, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %w", err)
		}
		cfg.Endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
	case exporter == "otlp":
		cfg.Endpoint = defaultTracesEndpoint
	}
	if base != "" && traces != "" {
		// Both are checked: a mistake in the one not used is still a mistake.
		if err := checkEndpoint(base); err != nil {
			return tracingConfig{}, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %w", err)
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		headers, err := parseOTLPHeaders(v)
		if err != nil {
			return tracingConfig{}, fmt.Errorf("%s %w", name, err)
		}
		if cfg.Headers == nil {
			cfg.Headers = make(map[string]string)
		}
		for k, v := range headers {
			cfg.Headers[k] = v
		}
	}
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		if strings.TrimSpace(v) != v || len(v) > 255 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return tracingConfig{}, fmt.Errorf("OTEL_SERVICE_NAME must be a name of at most 255 characters, without surrounding spaces or control characters; got %q", v)
		}
		cfg.ServiceName = v
	}
	if v := getenv("OTEL_TRACES_SAMPLER"); v != "" {
		if _, ok := samplers[v]; !ok {
			return tracingConfig{}, fmt.Errorf("OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio; got %q", v)
		}
		cfg.Sampler = v
	}
	if v := getenv("OTEL_TRACES_SAMPLER_ARG"); v != "" {
		if !samplers[cfg.Sampler] {
			return tracingConfig{}, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG is set, but the sampler %s takes no ratio: set OTEL_TRACES_SAMPLER to traceidratio or parentbased_traceidratio, or unset it", cfg.Sampler)
		}
		ratio, err := strconv.ParseFloat(v, 64)
		if err != nil || !(ratio >= 0 && ratio <= 1) { // NaN too
			return tracingConfig{}, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, such as 0.25; got %q", v)
		}
		cfg.SamplerArg = ratio
	}
	cfg.Enabled = !disabled && exporter != "none" && cfg.Endpoint != ""
	return cfg, nil
}

// checkEndpoint checks that endpoint is an http or https URL with a host. Its error reads
// after the variable's name, and shows no password the URL holds.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must be an http:// or https:// URL such as http://localhost:4318, with no query; got %q", maskURL(endpoint))
	}
	return nil
}

// parseOTLPHeaders reads headers written as the OTLP exporter's specification says:
// key=value pairs separated by commas, values URL-encoded. Its errors name the entry by
// its position and never show a value.
func parseOTLPHeaders(list string) (map[string]string, error) {
	headers := make(map[string]string)
	for i, entry := range strings.Split(list, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		key, value, ok := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) {
			return nil, fmt.Errorf("entry %d is not key=value with a header name as its key: write api-key=secret,tenant=notify", i+1)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil || strings.ContainsAny(decoded, "\r\n\x00") {
			return nil, fmt.Errorf("entry %d (%s) has a value that is not URL-encoded text", i+1, key)
		}
		headers[key] = decoded
	}
	return headers, nil
}

// sampler is the configured sampler.
func (c tracingConfig) sampler() sdktrace.Sampler {
	switch c.Sampler {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(c.SamplerArg)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SamplerArg))
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// LogValue shows the tracing configuration without its headers' values.
func (c tracingConfig) LogValue() slog.Value {
	if !c.Enabled {
		return slog.GroupValue(slog.Bool("enabled", false))
	}
	names := make([]string, 0, len(c.Headers))
	for name := range c.Headers {
		names = append(names, name)
	}
	return slog.GroupValue(
		slog.Bool("enabled", true),
		slog.String("endpoint", maskURL(c.Endpoint)),
		slog.Any("header_names", names),
		slog.String("service_name", c.ServiceName),
		slog.String("sampler", c.Sampler),
		slog.Float64("sampler_arg", c.SamplerArg),
	)
}

// startTracing returns the tracer provider that exports spans as cfg says, and the function
// that flushes the spans not yet sent and stops it; with tracing off, a nil provider (nothing traces, at no
// cost) and a shutdown that does nothing.
func startTracing(ctx context.Context, cfg tracingConfig, logger *slog.Logger) (trace.TracerProvider, func(context.Context), error) {
	if !cfg.Enabled {
		return nil, func(context.Context) {}, nil
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint), otlptracehttp.WithHeaders(cfg.Headers))
	if err != nil {
		return nil, nil, fmt.Errorf("start tracing: %w", err)
	}
	// The SDK reports failed exports through OpenTelemetry's one error handler, which
	// otherwise writes to the standard logger: route it into the JSON log. An export's
	// error names the receiver's answer, never a span's content.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: export spans", "error", err)
	}))
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithSampler(cfg.sampler()),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName))),
	)
	logger.Info("tracing: exporting spans", "endpoint", maskURL(cfg.Endpoint), "sampler", cfg.Sampler)
	return provider, func(ctx context.Context) {
		// A receiver that is down loses the last spans, and is no failure of serve's.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingShutdownTimeout)
		defer cancel()
		if err := provider.Shutdown(ctx); err != nil {
			logger.Warn("tracing: flush spans at shutdown", "error", err)
		}
	}, nil
}
