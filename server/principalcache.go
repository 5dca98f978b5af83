package server

import (
	"context"
	"sync"
	"time"

	"notifyql"
)

// Who is asking is loaded for every request. A busy user's requests would each pay that
// round trip, so the principal is kept in process for a short time; a revocation must
// still take effect on every path within the bound of the access hints (docs/security.md's
// table): the access changes the live path carries to every instance drop the principals
// they name at once, and an entry lives at most PrincipalCacheTTL, so that even a hint
// that never arrives (Redis away, a listener gap not yet noticed) cannot stretch the bound.

// PrincipalCacheTTL is how long a loaded principal answers for its user. It is below the
// 2 s within which a revocation takes effect without a hint.
const PrincipalCacheTTL = time.Second

// DefaultPrincipalCacheSize bounds the principals kept at once: past it, expired entries
// are swept and, if that is not enough, the cache starts again empty.
const DefaultPrincipalCacheSize = 10_000

// principalLoadTimeout bounds a shared load of a principal, which no single caller's
// cancellation ends.
const principalLoadTimeout = 10 * time.Second

// principalCache keeps recently loaded principals by user id. Loads of the same user at
// the same time share one statement. A principal it hands out is shared by every request
// of its user: callers read it and never change it.
type principalCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedPrincipal
	// generation counts the access changes forgotten so far. A load records it when it
	// starts and keeps its answer only if no change came meanwhile, since the change may
	// have been committed after the load read the database.
	generation uint64
	inflight   map[inflightKey]*principalLoad
}

type cachedPrincipal struct {
	principal *notifyql.Principal
	expires   time.Time
}

// inflightKey names a load by its user and the generation it started in: a request that
// starts after an access change never shares a load that started before it.
type inflightKey struct {
	user       string
	generation uint64
}

type principalLoad struct {
	done      chan struct{}
	principal *notifyql.Principal
	err       error
}

func newPrincipalCache(ttl time.Duration, size int, now func() time.Time) *principalCache {
	return &principalCache{ttl: ttl, max: size, now: now, entries: map[string]cachedPrincipal{}, inflight: map[inflightKey]*principalLoad{}}
}

// get returns user's principal from the cache, or loads it with load, sharing the load
// with concurrent callers of the same generation. Errors are not kept.
func (c *principalCache) get(ctx context.Context, user string, load func(context.Context) (*notifyql.Principal, error)) (*notifyql.Principal, error) {
	c.mu.Lock()
	if e, ok := c.entries[user]; ok {
		if c.now().Before(e.expires) {
			c.mu.Unlock()
			return e.principal, nil
		}
		delete(c.entries, user)
	}
	key := inflightKey{user: user, generation: c.generation}
	l, shared := c.inflight[key]
	if !shared {
		l = &principalLoad{done: make(chan struct{})}
		c.inflight[key] = l
		go c.load(ctx, key, l, load)
	}
	c.mu.Unlock()
	// Every caller, the one who started the load too, waits no longer than its own
	// deadline: a frozen database must not hold a request past its time.
	select {
	case <-l.done:
		return l.principal, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// load runs a shared load of key's principal and hands its answer to l's waiters. The
// load outlives a caller who hangs up, for the others waiting on it: it keeps the
// caller's values but not its cancellation, and has a deadline of its own.
func (c *principalCache) load(ctx context.Context, key inflightKey, l *principalLoad, load func(context.Context) (*notifyql.Principal, error)) {
	loadCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), principalLoadTimeout)
	l.principal, l.err = load(loadCtx)
	cancel()
	c.mu.Lock()
	delete(c.inflight, key)
	if l.err == nil && c.generation == key.generation {
		c.store(key.user, l.principal)
	}
	c.mu.Unlock()
	close(l.done)
}

// store keeps p for user. Called with c.mu held.
func (c *principalCache) store(user string, p *notifyql.Principal) {
	now := c.now()
	if len(c.entries) >= c.max {
		for id, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[user] = cachedPrincipal{principal: p, expires: now.Add(c.ttl)}
}

// forget drops the principals an access change names (every one when it says All), and
// makes loads under way keep nothing.
func (c *principalCache) forget(change notifyql.AccessChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	if change.All {
		clear(c.entries)
		return
	}
	for _, user := range change.UserIDs {
		delete(c.entries, user)
	}
}
