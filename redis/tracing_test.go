package redis

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Within a trace, each command and pipeline gets a span named by the command, never its
// keys or values; a missing key is no failure, a refused command is one (without its
// message); outside a trace nothing is traced.
func TestTraceCalls(t *testing.T) {
	ctx := context.Background()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer provider.Shutdown(ctx)
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = client.Close() })
	TraceCalls(client, provider)
	key := "notifyql-test:trace:07700900482"
	t.Cleanup(func() { client.Del(ctx, key) })

	if err := client.Set(ctx, key, "Canary.Person@Example.org", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans for a call outside any trace", n)
	}
	traced, parent := provider.Tracer("test").Start(ctx, "request")
	_ = client.Get(traced, key)
	_ = client.Get(traced, key+":missing")
	_, _ = client.Pipelined(traced, func(p goredis.Pipeliner) error {
		p.Publish(traced, key, "Canary.Person@Example.org")
		p.Publish(traced, key, "07700 900482")
		return nil
	})
	wrongType := client.LPush(traced, key, "x").Err() // the key holds a string
	parent.End()
	if wrongType == nil {
		t.Fatal("LPUSH on a string was accepted")
	}

	var got []string
	for _, s := range recorder.Ended() {
		if s.Name() == "request" {
			continue
		}
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %s is not beneath the caller's", s.Name())
		}
		name := s.Name()
		if s.Status().Code == codes.Error {
			name += " (failed: " + s.Status().Description + ")"
		}
		got = append(got, name)
		for _, kv := range s.Attributes() {
			if v := strings.ToLower(kv.Value.Emit()); strings.Contains(v, "900482") || strings.Contains(v, "canary") {
				t.Errorf("span %s attribute %s = %q holds a key or value", s.Name(), kv.Key, kv.Value.Emit())
			}
		}
	}
	want := []string{"GET", "GET", "PIPELINE PUBLISH", "LPUSH (failed: redis call failed)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if !errors.Is(client.Get(ctx, key+":missing").Err(), goredis.Nil) {
		t.Error("a missing key is not redis.Nil")
	}
}
