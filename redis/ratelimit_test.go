package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// testRateLimitKey is a namespace no other test uses.
func testRateLimitNamespace(t *testing.T) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "test-" + hex.EncodeToString(b)
}

// A burst is admitted whole, the next request is refused with the wait until one interval
// has passed, and after that wait one more is admitted.
func TestRateLimiterAdmitsABurstThenTheRate(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	t.Cleanup(func() { client.Close() })
	limiter := NewRateLimiter(client, testRateLimitNamespace(t))
	key := "user-1"
	t.Cleanup(func() { client.Del(context.Background(), limiter.key(key)) })
	ctx := t.Context()
	// 600 a minute: one every 100 ms, in bursts of 3.
	for i := range 3 {
		allowed, _, err := limiter.Allow(ctx, key, 600, 3)
		if err != nil || !allowed {
			t.Fatalf("request %d of the burst: allowed %v, %v", i+1, allowed, err)
		}
	}
	allowed, retryAfter, err := limiter.Allow(ctx, key, 600, 3)
	if err != nil || allowed {
		t.Fatalf("the request after the burst: allowed %v, %v", allowed, err)
	}
	if retryAfter <= 0 || retryAfter > 100*time.Millisecond {
		t.Errorf("retry after %s, want within one interval (100ms)", retryAfter)
	}
	// The key expires once the allowance is whole again: nothing is kept longer.
	ttl := client.PTTL(ctx, limiter.key(key)).Val()
	if ttl <= 0 || ttl > 300*time.Millisecond {
		t.Errorf("the key lives %s, want at most the burst's 300ms", ttl)
	}
	time.Sleep(retryAfter + 5*time.Millisecond)
	if allowed, _, err := limiter.Allow(ctx, key, 600, 3); err != nil || !allowed {
		t.Errorf("after waiting as told: allowed %v, %v", allowed, err)
	}
	// Another key, and the same key in another namespace, have their own allowances.
	if allowed, _, err := limiter.Allow(ctx, "user-2", 600, 3); err != nil || !allowed {
		t.Errorf("another key: allowed %v, %v", allowed, err)
	}
	other := NewRateLimiter(client, testRateLimitNamespace(t))
	t.Cleanup(func() { client.Del(context.Background(), other.key(key), limiter.key("user-2")) })
	if allowed, _, err := other.Allow(ctx, key, 600, 3); err != nil || !allowed {
		t.Errorf("another namespace: allowed %v, %v", allowed, err)
	}
}

func TestRateLimiterRefusesNonsenseRates(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	t.Cleanup(func() { client.Close() })
	limiter := NewRateLimiter(client, "test")
	for _, rate := range [][2]int{{0, 1}, {1, 0}, {-5, 10}} {
		if _, _, err := limiter.Allow(t.Context(), "k", rate[0], rate[1]); err == nil {
			t.Errorf("%d a minute, bursts of %d: no error", rate[0], rate[1])
		}
	}
}

// Redis that cannot be reached is an error within the call's bound, not a long wait.
func TestRateLimiterWithRedisDown(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: unreachableRedisAddr(t)})
	t.Cleanup(func() { client.Close() })
	_, _, err := NewRateLimiter(client, "test").Allow(t.Context(), "k", 60, 1)
	if err == nil {
		t.Fatal("no error from a Redis that is down")
	}
}
