package redis

import (
	"context"
	"errors"
	"net"
	"strings"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TraceCalls gives every command and pipeline that client sends within a trace a span,
// named by the command ("GET", "PUBLISH"; "PIPELINE" with its size), as the child of the
// caller's span. Calls outside any trace (the bus's own upkeep) are not traced: each would
// start a trace of one span.
// Keys, arguments and replies are never recorded: keys hold search-term hashes and
// rate-limit subjects, values hold search terms. An error is recorded as failed, without
// its message, except that a missing key (redis.Nil) is no failure.
func TraceCalls(client goredis.UniversalClient, tp trace.TracerProvider) {
	client.AddHook(callTracer{tracer: tp.Tracer("notifyql/redis")})
}

type callTracer struct{ tracer trace.Tracer }

var _ goredis.Hook = callTracer{}

// Attributes, as OpenTelemetry's semantic conventions for databases name them.
const (
	attrDBSystem    = attribute.Key("db.system.name")
	attrDBOperation = attribute.Key("db.operation.name")
	attrDBBatchSize = attribute.Key("db.operation.batch.size")
)

// DialHook leaves dialling untraced: a connection is the pool's, not a caller's.
func (callTracer) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (t callTracer) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		name := commandName(cmd)
		if !trace.SpanContextFromContext(ctx).IsValid() || handshake[name] {
			return next(ctx, cmd)
		}
		ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrDBSystem.String("redis"), attrDBOperation.String(name)))
		err := next(ctx, cmd)
		recordError(span, err)
		span.End()
		return err
	}
}

func (t callTracer) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsValid() || all(cmds, func(cmd goredis.Cmder) bool { return handshake[commandName(cmd)] }) {
			return next(ctx, cmds)
		}
		// A pipeline's commands are usually of one kind (PUBLISH, for the relay's snapshots).
		operation := ""
		for _, cmd := range cmds {
			if name := commandName(cmd); operation == "" {
				operation = name
			} else if name != operation {
				operation = "PIPELINE"
				break
			}
		}
		name := "PIPELINE"
		if operation != "" && operation != "PIPELINE" {
			name += " " + operation
		}
		ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrDBSystem.String("redis"), attrDBOperation.String(name), attrDBBatchSize.Int(len(cmds))))
		err := next(ctx, cmds)
		recordError(span, err)
		span.End()
		return err
	}
}

// handshake are the commands go-redis sends itself as it opens a connection (whose CLIENT
// SETINFO a server may refuse, harmlessly): part of a connection, not of a caller's work.
var handshake = map[string]bool{"HELLO": true, "AUTH": true, "CLIENT": true, "SELECT": true, "READONLY": true}

func all(cmds []goredis.Cmder, is func(goredis.Cmder) bool) bool {
	for _, cmd := range cmds {
		if !is(cmd) {
			return false
		}
	}
	return true
}

// commandName is a command's name in capitals: its first word, never its arguments. A
// command's name is go-redis's own text, chosen by the code that calls it.
func commandName(cmd goredis.Cmder) string {
	return strings.ToUpper(cmd.Name())
}

func recordError(span trace.Span, err error) {
	if err == nil || errors.Is(err, goredis.Nil) {
		return
	}
	span.SetStatus(codes.Error, "redis call failed")
}
