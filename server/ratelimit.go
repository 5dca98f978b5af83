package server

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"notifyql"
)

// RateLimits bound how many HTTP operations a client may send a minute. Each allowance
// admits a burst of a tenth of it at once (at least one); 0 switches a limit off.
type RateLimits struct {
	// PerUser is each signed-in user's allowance, whichever address they send from.
	PerUser int
	// PerIP is each client address's allowance, signed in or not; IPv6 addresses count by
	// their /64, which one host usually holds whole. Behind a load balancer, the client's
	// address is read from X-Forwarded-For as Config.TrustedProxies allow.
	PerIP int
}

// DefaultRateLimits are the allowances used where configuration sets none: far above what
// a person at a dashboard sends, low enough to stop a script hammering the API.
func DefaultRateLimits() RateLimits { return RateLimits{PerUser: 600, PerIP: 1200} }

// RateLimiter counts requests against an allowance, shared by every instance.
type RateLimiter interface {
	Allow(ctx context.Context, key string, perMinute, burst int) (allowed bool, retryAfter time.Duration, err error)
}

// rateLimiting applies the allowances in front of the GraphQL handler and the downloads,
// which count against the same allowances.
type rateLimiting struct {
	limiter RateLimiter
	limits  RateLimits
	proxies TrustedProxies
	logger  *slog.Logger
	metrics *RequestMetrics
	// pausedUntil is when to ask the limiter again after it failed to answer (Unix
	// nanoseconds): while it cannot, requests would each wait for its timeout.
	pausedUntil atomic.Int64
}

// limiterPause is how long requests go unlimited after the limiter failed to answer, before
// it is asked again; the warning is logged once per pause.
const limiterPause = 10 * time.Second

// byIP limits each client address; it runs before authentication, so that guessing
// tokens costs an allowance too.
func (l *rateLimiting) byIP(next http.Handler) http.Handler {
	if l == nil || l.limits.PerIP <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.admit(w, r, "ip-"+clientNetwork(l.proxies.clientAddress(r)), l.limits.PerIP) {
			next.ServeHTTP(w, r)
		}
	})
}

// byUser limits each signed-in user; it runs after authentication, and lets requests
// without a user through (byIP has counted them).
func (l *rateLimiting) byUser(next http.Handler) http.Handler {
	if l == nil || l.limits.PerUser <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal := notifyql.PrincipalFromContext(r.Context())
		if principal == nil || l.admit(w, r, "user-"+principal.User.ID, l.limits.PerUser) {
			next.ServeHTTP(w, r)
		}
	})
}

// admit reports whether the request may go on under key's allowance of perMinute,
// answering 429 with Retry-After when it may not. A limiter that cannot answer admits:
// Redis being down must not stop the API, only the features that need it.
func (l *rateLimiting) admit(w http.ResponseWriter, r *http.Request, key string, perMinute int) bool {
	if time.Now().UnixNano() < l.pausedUntil.Load() {
		return true
	}
	allowed, retryAfter, err := l.limiter.Allow(r.Context(), key, perMinute, max(1, perMinute/10))
	if err != nil {
		paused := l.pausedUntil.Load()
		if l.pausedUntil.CompareAndSwap(paused, time.Now().Add(limiterPause).UnixNano()) {
			l.logger.WarnContext(r.Context(), "rate limits are not applied for a while: the limiter cannot answer",
				"pause", limiterPause, "error", err)
		}
		return true
	}
	if allowed {
		return true
	}
	seconds := max(int(math.Ceil(retryAfter.Seconds())), 1)
	l.metrics.countError("RATE_LIMITED")
	w.Header().Set("Retry-After", fmt.Sprint(seconds))
	writeGraphQLError(w, http.StatusTooManyRequests, "RATE_LIMITED",
		fmt.Sprintf("too many requests: try again in %d seconds", seconds))
	return false
}

// clientNetwork is what a client's allowance is counted by: its IPv4 address, or the /64
// of its IPv6 address.
func clientNetwork(host string) string {
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.To4() != nil:
		return ip.To4().String()
	default:
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
}
