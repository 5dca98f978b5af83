package redis

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
)

// mustMachineRedis returns a client on the machine's Redis, skipping when it is not running.
func mustMachineRedis(tb testing.TB) *goredis.Client {
	tb.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	tb.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(tb.Context()).Err(); err != nil {
		tb.Skipf("Redis is not running at %s (make test starts it): %v", machineRedisAddr, err)
	}
	return client
}

// randomServiceID returns a service id no other test uses, so tests sharing the machine's
// Redis never see each other's keys.
func randomServiceID(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func TestSearchCacheRemembersUnderTheKeyedHash(t *testing.T) {
	client := mustMachineRedis(t)
	cache := NewSearchCache(client)
	ctx := t.Context()
	serviceID, otherServiceID := randomServiceID(t), randomServiceID(t)
	const term = "07700 900123"
	hash := notifyql.SearchHash([]byte("0123456789abcdef0123456789abcdef"), term)
	key := "service-" + serviceID + "-notification-search-query-hash-" + hash
	t.Cleanup(func() { client.Del(ctx, key) })

	if err := cache.Remember(ctx, serviceID, hash, term); err != nil {
		t.Fatalf("Remember: %v", err)
	}
	// The key is DOMAIN.md §6.4's, holds the term, and lives 7 days.
	stored, err := client.Get(ctx, key).Result()
	if err != nil || stored != term {
		t.Fatalf("GET %s = %q, %v; want the term", key, stored, err)
	}
	if ttl := client.TTL(ctx, key).Val(); ttl <= 604800*time.Second-5*time.Second || ttl > 604800*time.Second {
		t.Errorf("TTL after Remember = %s, want 604800 s", ttl)
	}
	// No key anywhere holds the term.
	keys, err := client.Keys(ctx, "*"+serviceID+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "900123") {
			t.Errorf("key %q holds the term", k)
		}
	}

	got, err := cache.Recall(ctx, serviceID, hash)
	if err != nil || got != term {
		t.Errorf("Recall = %q, %v; want the term", got, err)
	}

	// Reading does not extend the TTL; storing again starts it afresh.
	if err := client.Expire(ctx, key, 100*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Recall(ctx, serviceID, hash); err != nil {
		t.Fatal(err)
	}
	if ttl := client.TTL(ctx, key).Val(); ttl > 100*time.Second {
		t.Errorf("TTL after Recall = %s, want at most the 100 s left: reading extended it", ttl)
	}
	if err := cache.Remember(ctx, serviceID, hash, term); err != nil {
		t.Fatal(err)
	}
	if ttl := client.TTL(ctx, key).Val(); ttl <= 604800*time.Second-5*time.Second {
		t.Errorf("TTL after a second Remember = %s, want 604800 s again", ttl)
	}

	// The hash is scoped by service, and an unknown or expired hash is SEARCH_EXPIRED.
	for name, lookup := range map[string]struct{ serviceID, hash string }{
		"another service": {otherServiceID, hash},
		"unknown hash":    {serviceID, notifyql.SearchHash([]byte("0123456789abcdef0123456789abcdef"), "never stored")},
	} {
		_, err := cache.Recall(ctx, lookup.serviceID, lookup.hash)
		if code := notifyql.ErrorCode(err); code != notifyql.ESEARCHEXPIRED {
			t.Errorf("%s: Recall error %v (code %q), want %q", name, err, code, notifyql.ESEARCHEXPIRED)
		}
		if msg := notifyql.ErrorMessage(err); !strings.Contains(msg, "expired") {
			t.Errorf("%s: message %q does not say the search has expired", name, msg)
		}
	}
	if err := client.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Recall(ctx, serviceID, hash); notifyql.ErrorCode(err) != notifyql.ESEARCHEXPIRED {
		t.Errorf("Recall after the key went: %v, want %q", err, notifyql.ESEARCHEXPIRED)
	}
}

func TestSearchCacheWithRedisDownIsUnavailable(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: unreachableRedisAddr(t)})
	t.Cleanup(func() { _ = client.Close() })
	cache := NewSearchCache(client)
	const term = "ann@example.org"
	hash := notifyql.SearchHash([]byte("0123456789abcdef0123456789abcdef"), term)

	errRemember := cache.Remember(t.Context(), randomServiceID(t), hash, term)
	_, errRecall := cache.Recall(t.Context(), randomServiceID(t), hash)
	for name, err := range map[string]error{"Remember": errRemember, "Recall": errRecall} {
		if code := notifyql.ErrorCode(err); code != notifyql.EUNAVAILABLE {
			t.Errorf("%s with Redis down: %v (code %q), want %q", name, err, code, notifyql.EUNAVAILABLE)
		}
		if err != nil && strings.Contains(err.Error(), term) {
			t.Errorf("%s's error repeats the term: %v", name, err)
		}
	}
}
