package redis

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestInProcessExpiresKeysInRealTime(t *testing.T) {
	defer goleak.VerifyNone(t)

	server, err := StartInProcess()
	if err != nil {
		t.Fatalf("StartInProcess: %v", err)
	}
	if !strings.HasPrefix(server.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %q, want it on 127.0.0.1", server.Addr())
	}
	options, err := goredis.ParseURL(server.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", server.URL(), err)
	}
	client := goredis.NewClient(options)
	ctx := t.Context()

	if err := client.Set(ctx, "greeting", "hello", time.Second).Err(); err != nil {
		t.Fatalf("SET greeting EX 1: %v", err)
	}
	if got, err := client.Exists(ctx, "greeting").Result(); err != nil || got != 1 {
		t.Fatalf("EXISTS greeting right after SET = %d, %v; want 1, nil", got, err)
	}
	time.Sleep(1500 * time.Millisecond)
	if got, err := client.Exists(ctx, "greeting").Result(); err != nil || got != 0 {
		t.Errorf("EXISTS greeting 1.5 s after SET EX 1 = %d, %v; want 0, nil", got, err)
	}

	if err := client.Close(); err != nil {
		t.Errorf("close client: %v", err)
	}
	server.Close()
	server.Close() // a second Close must be harmless
}
