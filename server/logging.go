package server

import (
	"context"
	"log/slog"
)

// WithRequestIDs wraps a log handler so that every record logged with a request's context
// carries that request's id (request_id), the one its response's X-Request-Id header and
// any "internal error" answer show: a line a client reports can be found in the logs.
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
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
