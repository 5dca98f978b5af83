package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestAPQCache(t *testing.T) {
	ctx := context.Background()
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = client.Close() })
	cache := NewAPQCache(client)
	var b [16]byte
	_, _ = rand.Read(b[:])
	hash := hex.EncodeToString(b[:])
	t.Cleanup(func() { client.Del(ctx, apqKey(hash)) })

	if _, ok := cache.Get(ctx, hash); ok {
		t.Fatal("a hash never stored was found")
	}
	cache.Add(ctx, hash, "{ me { name } }")
	if got, ok := cache.Get(ctx, hash); !ok || got != "{ me { name } }" {
		t.Errorf("Get = %q, %v", got, ok)
	}
	if ttl := client.TTL(ctx, apqKey(hash)).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Errorf("TTL = %v, want about 24h", ttl)
	}

	// Redis unreachable: every lookup misses, within the bound, and storing does not fail.
	down := goredis.NewClient(&goredis.Options{Addr: unreachableRedisAddr(t), MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	unreachable := NewAPQCache(down)
	unreachable.Add(ctx, hash, "{ me { name } }")
	if _, ok := unreachable.Get(ctx, hash); ok {
		t.Error("an unreachable Redis found a query")
	}
}
