package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// APQCache keeps the query texts of automatic persisted queries, under their SHA-256 hash,
// so that every instance knows a query any instance was sent once. It is gqlgen's
// graphql.Cache[string]. A Redis error is a miss: the client then sends the whole query
// again, which still works.
type APQCache struct {
	client  goredis.UniversalClient
	ttl     time.Duration
	timeout time.Duration
}

// apqTTL is how long a persisted query is kept after it was last stored; a client that
// finds it gone sends it again.
const apqTTL = 24 * time.Hour

// NewAPQCache returns an APQCache on client.
func NewAPQCache(client goredis.UniversalClient) *APQCache {
	return &APQCache{client: client, ttl: apqTTL, timeout: apqCallTimeout}
}

// apqCallTimeout bounds each call, retries included. Every request that carries a
// persisted query's hash waits on it, and a miss costs only the client's sending the query
// again, so a Redis that does not answer soon counts as a miss (a healthy one answers in
// well under a millisecond).
const apqCallTimeout = 250 * time.Millisecond

// apqKey is where a query's text is kept: the key holds only its hash.
func apqKey(hash string) string { return "apq-" + hash }

// Get returns the query stored under hash.
func (c *APQCache) Get(ctx context.Context, hash string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	query, err := c.client.Get(ctx, apqKey(hash)).Result()
	return query, err == nil
}

// Add stores query under hash for apqTTL.
func (c *APQCache) Add(ctx context.Context, hash, query string) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_ = c.client.Set(ctx, apqKey(hash), query, c.ttl).Err() // a failed store is a later miss
}
