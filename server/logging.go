package server

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// WithRequestIDs wraps a log handler so that every record logged with a request's context
// carries that request's id (request_id), the one its response's X-Request-Id header and
// any "internal error" answer show: a line a client reports can be found in the logs. A
// record logged within a traced span carries its trace_id and span_id too, so that a line
// leads to its trace and a trace to its lines.
func WithRequestIDs(h slog.Handler) slog.Handler {
	if _, wrapped := h.(requestIDHandler); wrapped {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
