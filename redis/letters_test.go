package redis

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
)

func randomHex(t *testing.T) string {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestLetterUploads(t *testing.T) {
	ctx := context.Background()
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = client.Close() })
	store := NewLetterUploads(client)
	id := randomHex(t)
	t.Cleanup(func() { client.Del(ctx, letterUploadKey(id)) })

	if _, err := store.LetterUpload(ctx, id); notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		t.Fatalf("an upload never kept: err %v, want NOT_FOUND", err)
	}
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0, 0xff, 'x'}, 1000)...)
	want := notifyql.LetterUpload{UserID: "u1", ServiceID: "s1", PageCount: 3, OverlayPages: []int{2, 3}, PDF: pdf}
	if err := store.PutLetterUpload(ctx, id, want, notifyql.LetterUploadTTL); err != nil {
		t.Fatal(err)
	}
	got, err := store.LetterUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "u1" || got.ServiceID != "s1" || got.PageCount != 3 || fmt.Sprint(got.OverlayPages) != "[2 3]" || !bytes.Equal(got.PDF, pdf) {
		t.Errorf("LetterUpload = %+v", got)
	}
	if ttl := client.TTL(ctx, letterUploadKey(id)).Val(); ttl <= 290*time.Second || ttl > 300*time.Second {
		t.Errorf("TTL = %v, want 300s", ttl)
	}

	downClient := goredis.NewClient(&goredis.Options{Addr: unreachableRedisAddr(t), MaxRetries: -1})
	t.Cleanup(func() { _ = downClient.Close() })
	down := NewLetterUploads(downClient)
	if err := down.PutLetterUpload(ctx, id, want, time.Minute); notifyql.ErrorCode(err) != notifyql.EUNAVAILABLE {
		t.Errorf("Put on an unreachable Redis: %v, want UNAVAILABLE", err)
	}
	if _, err := down.LetterUpload(ctx, id); notifyql.ErrorCode(err) != notifyql.EUNAVAILABLE {
		t.Errorf("Get on an unreachable Redis: %v, want UNAVAILABLE", err)
	}
}

// TestLetterRenderCacheBudget: entries are kept while the current and the previous window
// with them stay within the budget, one larger than a sixteenth of it never, and room comes
// back two windows later, when everything counted has expired.
func TestLetterRenderCacheBudget(t *testing.T) {
	ctx := context.Background()
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = client.Close() })
	namespace := "test-" + randomHex(t)
	cache := NewLetterRenderCache(client, namespace, 1600, time.Minute)
	clock := time.Unix(1_700_000_000, 0).Truncate(time.Minute)
	cache.now = func() time.Time { return clock }
	t.Cleanup(func() {
		keys, _ := client.Keys(ctx, "*"+namespace+"*").Result()
		if len(keys) > 0 {
			client.Del(ctx, keys...)
		}
	})

	value := bytes.Repeat([]byte("p"), 100)
	cache.Put(ctx, "too-big", bytes.Repeat([]byte("p"), 101))
	if _, ok := cache.Get(ctx, "too-big"); ok {
		t.Error("an entry over a sixteenth of the budget was kept")
	}
	for i := range 16 {
		cache.Put(ctx, fmt.Sprint("k", i), value)
	}
	for i := range 16 {
		if got, ok := cache.Get(ctx, fmt.Sprint("k", i)); !ok || !bytes.Equal(got, value) {
			t.Fatalf("entry %d within the budget was not kept", i)
		}
	}
	if ttl := client.TTL(ctx, namespace+":k0").Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("entry TTL = %v, want a minute", ttl)
	}
	cache.Put(ctx, "over", value)
	if _, ok := cache.Get(ctx, "over"); ok {
		t.Error("an entry past the budget was kept")
	}
	clock = clock.Add(time.Minute)
	cache.Put(ctx, "next-window", value)
	if _, ok := cache.Get(ctx, "next-window"); ok {
		t.Error("an entry was kept while the previous window's entries may still live")
	}
	clock = clock.Add(time.Minute)
	cache.Put(ctx, "later", value)
	if _, ok := cache.Get(ctx, "later"); !ok {
		t.Error("no room two windows later, when every counted entry has expired")
	}

	// Redis unreachable: a miss, and nothing kept, without an error.
	downClient := goredis.NewClient(&goredis.Options{Addr: unreachableRedisAddr(t), MaxRetries: -1})
	t.Cleanup(func() { _ = downClient.Close() })
	down := NewLetterRenderCache(downClient, namespace, 1600, time.Minute)
	down.Put(ctx, "k", value)
	if _, ok := down.Get(ctx, "k"); ok {
		t.Error("an unreachable Redis found an entry")
	}
}
