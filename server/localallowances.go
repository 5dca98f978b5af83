package server

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// localAllowanceKeys bounds the allowances one instance keeps while it applies them alone:
// a key past it (the least recently used) is forgotten, and starts again with a full burst.
const localAllowanceKeys = 65536

// localAllowances apply the rate limits on this instance alone, for the moments the shared
// limiter cannot answer: each key's allowance is a token bucket of the same rate and burst.
// With several instances a client may then get each one's allowance, which still bounds it.
type localAllowances struct {
	mu      sync.Mutex
	buckets *simplelru.LRU[string, *rate.Limiter]
}

// allow takes one request from key's bucket at now, reporting whether there was one, and
// when not, how long until there will be.
func (a *localAllowances) allow(key string, perMinute, burst int, now time.Time) (bool, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buckets == nil {
		// NewLRU fails only for a size below 1.
		a.buckets, _ = simplelru.NewLRU[string, *rate.Limiter](localAllowanceKeys, nil)
	}
	bucket, ok := a.buckets.Get(key)
	if !ok {
		bucket = rate.NewLimiter(rate.Limit(float64(perMinute)/60), burst)
		a.buckets.Add(key, bucket)
	}
	reservation := bucket.ReserveN(now, 1)
	if wait := reservation.DelayFrom(now); wait > 0 {
		reservation.CancelAt(now)
		return false, wait
	}
	return true, 0
}
