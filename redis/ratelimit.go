package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RateLimiter admits requests at a steady rate with a burst on top, counted in Redis so
// that the limit holds across every instance. It is the generic cell rate algorithm: each
// key stores only the time at which its allowance is next fully theoretical ("TAT"), so one
// key per client and one round trip per request, with no counters to reset.
type RateLimiter struct {
	client goredis.UniversalClient
	// namespace keeps apart the allowances of deployments (or tests) that share a Redis.
	namespace string
	timeout   time.Duration
}

// rateLimitCallTimeout bounds each check, retries included. It is short because every
// request waits on it; a limiter that cannot answer in time lets the request through.
const rateLimitCallTimeout = 250 * time.Millisecond

// NewRateLimiter returns a RateLimiter on client whose keys are kept apart from other
// namespaces' (serve uses its database's name, as the live path's channels do).
func NewRateLimiter(client goredis.UniversalClient, namespace string) *RateLimiter {
	return &RateLimiter{client: client, namespace: namespace, timeout: rateLimitCallTimeout}
}

// gcra takes KEYS[1], the emission interval and the burst tolerance in microseconds, and
// answers {1, 0} when the request is admitted or {0, wait} with the microseconds until it
// would be. Redis's own clock is used, so instances with skewed clocks agree.
var gcra = goredis.NewScript(`
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - tolerance
if allowed_at > now then
  return {0, allowed_at - now}
end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000))
return {1, 0}
`)

// Allow reports whether one more request under key is admitted when key may make perMinute
// requests a minute with bursts of burst; when it is not, retryAfter is how long until it
// would be.
func (l *RateLimiter) Allow(ctx context.Context, key string, perMinute, burst int) (allowed bool, retryAfter time.Duration, err error) {
	if perMinute <= 0 || burst <= 0 {
		return false, 0, fmt.Errorf("rate limit %d a minute with bursts of %d: both must be positive", perMinute, burst)
	}
	interval := time.Minute / time.Duration(perMinute)
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	result, err := gcra.Run(ctx, l.client, []string{l.key(key)},
		interval.Microseconds(), (interval * time.Duration(burst)).Microseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("check rate limit: %w", err)
	}
	if len(result) != 2 {
		return false, 0, fmt.Errorf("check rate limit: the script answered %v", result)
	}
	return result[0] == 1, time.Duration(result[1]) * time.Microsecond, nil
}

// key is where key's allowance is kept.
func (l *RateLimiter) key(key string) string { return "rate-limit-" + l.namespace + "-" + key }
