package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
)

// cacheCallTimeout bounds each cache call (search terms, persisted queries), retries
// included, so that a search by hash fails within it when Redis is unreachable rather than
// waiting on the client's own dial and retry delays.
const cacheCallTimeout = 2 * time.Second

// SearchCache is the search-term cache of DOMAIN.md §6.4: each term under
// service-{service_id}-notification-search-query-hash-{hash}, for 7 days. The key holds
// only the hash; the term is the value, and no error or log line of this type repeats it.
type SearchCache struct {
	client  goredis.UniversalClient
	timeout time.Duration
}

var _ notifyql.SearchTermStore = (*SearchCache)(nil)

// NewSearchCache returns a SearchCache on client.
func NewSearchCache(client goredis.UniversalClient) *SearchCache {
	return &SearchCache{client: client, timeout: cacheCallTimeout}
}

// searchKey scopes a hash by service, so that one service's hash finds nothing in another.
func searchKey(serviceID, hash string) string {
	return "service-" + serviceID + "-notification-search-query-hash-" + hash
}

// Remember stores term with SET … EX 604800, which also starts the 7 days afresh for a term
// stored before. It returns EUNAVAILABLE when Redis cannot be reached.
func (c *SearchCache) Remember(ctx context.Context, serviceID, hash, term string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.client.Set(ctx, searchKey(serviceID, hash), term, notifyql.SearchTermTTL).Err(); err != nil {
		return unavailable("remembering searches", err)
	}
	return nil
}

// Recall reads the term with GET, which leaves its TTL as it is. It returns ESEARCHEXPIRED
// when there is no such key and EUNAVAILABLE when Redis cannot be reached.
func (c *SearchCache) Recall(ctx context.Context, serviceID, hash string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	term, err := c.client.Get(ctx, searchKey(serviceID, hash)).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", notifyql.Errorf(notifyql.ESEARCHEXPIRED, "this search has expired: search again")
	case err != nil:
		return "", unavailable("searching by a remembered search", err)
	}
	return term, nil
}

// unavailable is a coded error for the caller that keeps the cause (a network error, which
// holds no term) for whoever unwraps it.
func unavailable(what string, cause error) error {
	return fmt.Errorf("%w: %w", notifyql.Errorf(notifyql.EUNAVAILABLE,
		"%s is unavailable right now: try again, or search by term", what), cause)
}
