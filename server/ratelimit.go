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

	"github.com/vektah/gqlparser/v2/gqlerror"

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
	// local applies the allowances on this instance alone meanwhile.
	local localAllowances
}

// limiterPause is how long the allowances are applied by each instance alone after the
// shared limiter failed to answer, before it is asked again; the warning is logged once
// per pause.
const limiterPause = 10 * time.Second

// byIP limits each client address; it runs before authentication, so that guessing
// tokens costs an allowance too.
func (l *rateLimiting) byIP(next http.Handler) http.Handler {
	if l == nil || l.limits.PerIP <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		network := clientNetwork(l.proxies.clientAddress(r))
		if l.admit(w, r, addressKey(network), l.limits.PerIP) {
			// What the request goes on to do may cost the address more (registering a
			// persisted query), so the operation knows whom to count it against.
			next.ServeHTTP(w, r.WithContext(withClientNetwork(r.Context(), network)))
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
		if principal == nil || l.admit(w, r, userKey(principal.User.ID), l.limits.PerUser) {
			next.ServeHTTP(w, r)
		}
	})
}

// userKey is the key of a user's allowance, whether they ask over HTTP or on a socket.
func userKey(userID string) string { return "user-" + userID }

// addressKey is the key of a client network's allowance (clientNetwork), whether its
// requests, downloads or persisted-query registrations spend it.
func addressKey(network string) string { return "ip-" + network }

// admit reports whether the request may go on under key's allowance of perMinute,
// answering 429 with Retry-After when it may not.
func (l *rateLimiting) admit(w http.ResponseWriter, r *http.Request, key string, perMinute int) bool {
	allowed, retryAfter := l.allow(r.Context(), key, perMinute)
	if allowed {
		return true
	}
	refusal, seconds := rateLimited(retryAfter)
	l.metrics.countError(GraphQLCode(refusal.Code))
	w.Header().Set("Retry-After", fmt.Sprint(seconds))
	writeGraphQLError(w, http.StatusTooManyRequests, GraphQLCode(refusal.Code), refusal.Message)
	return false
}

// allowUser counts one operation of a signed-in user on a socket against the same
// allowance as their HTTP requests, returning the ERATELIMITED refusal once it is used up
// (counted in metrics where it is presented).
func (l *rateLimiting) allowUser(ctx context.Context, userID string) *notifyql.Error {
	if l == nil || l.limits.PerUser <= 0 {
		return nil
	}
	if allowed, retryAfter := l.allow(ctx, userKey(userID), l.limits.PerUser); !allowed {
		refusal, _ := rateLimited(retryAfter)
		return refusal
	}
	return nil
}

// rateLimited is the refusal of a request past its allowance, saying when to try again,
// and that wait in whole seconds.
func rateLimited(retryAfter time.Duration) (*notifyql.Error, int) {
	seconds := retryAfterSeconds(retryAfter)
	return notifyql.Errorf(notifyql.ERATELIMITED, "too many requests: try again in %d seconds", seconds), seconds
}

// allow counts one more use of key's allowance of perMinute and reports whether it is
// admitted, and when it is not, how long until it would be. When the shared limiter cannot
// answer (Redis down, or too slow for its bound: a flood of requests makes it so), this
// instance applies the allowance on its own for limiterPause: Redis being down must not
// stop the API, and an attacker who overloads it must not be let through unlimited.
func (l *rateLimiting) allow(ctx context.Context, key string, perMinute int) (bool, time.Duration) {
	burst := max(1, perMinute/10)
	now := time.Now()
	if now.UnixNano() < l.pausedUntil.Load() {
		return l.local.allow(key, perMinute, burst, now)
	}
	allowed, retryAfter, err := l.limiter.Allow(ctx, key, perMinute, burst)
	if err != nil {
		// Only the request that starts a pause says so: those failing beside it find it
		// started.
		paused := l.pausedUntil.Load()
		if paused < now.UnixNano() && l.pausedUntil.CompareAndSwap(paused, now.Add(limiterPause).UnixNano()) {
			l.logger.WarnContext(ctx, "rate limits are applied by this instance alone for a while: the shared limiter cannot answer",
				"pause", limiterPause, "error", err)
		}
		return l.local.allow(key, perMinute, burst, now)
	}
	return allowed, retryAfter
}

// allowFromAddress counts one more use of the allowance of the client address that
// byIP (or the WebSocket the operation came over) put in ctx, as allow does. With no
// per-address limit, or no address known, it admits.
func (l *rateLimiting) allowFromAddress(ctx context.Context) (bool, time.Duration) {
	network := clientNetworkFrom(ctx)
	if l == nil || l.limits.PerIP <= 0 || network == "" {
		return true, 0
	}
	return l.allow(ctx, addressKey(network), l.limits.PerIP)
}

// retryAfterExtension is the error extension in which an operation refused past an
// allowance says how many seconds to wait; over HTTP, Retry-After says it too.
const retryAfterExtension = "retryAfter"

// allowanceRefusalStatus is the HTTP status of an operation refused before it ran for errs:
// 429, with Retry-After set in header, when an allowance is used up (RATE_LIMITED), as byIP
// and byUser answer; otherwise status, the transport's own.
func allowanceRefusalStatus(header http.Header, errs gqlerror.List, status int) int {
	for _, err := range errs {
		if err.Extensions["code"] != GraphQLCode(notifyql.ERATELIMITED) {
			continue
		}
		if seconds, ok := err.Extensions[retryAfterExtension].(int); ok {
			header.Set("Retry-After", fmt.Sprint(seconds))
		}
		return http.StatusTooManyRequests
	}
	return status
}

// retryAfterSeconds is a wait in whole seconds, rounded up, at least one.
func retryAfterSeconds(wait time.Duration) int { return max(int(math.Ceil(wait.Seconds())), 1) }

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
