package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"notifyql/server"
)

// rateLimitNamespace is a namespace of allowances that no other test shares.
func rateLimitNamespace(t *testing.T) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "test-" + hex.EncodeToString(b)
}

// postFrom sends a query as tok from the client address remoteAddr and returns the
// recorded answer.
func (a *testAPI) postFrom(t *testing.T, remoteAddr, tok string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
	req.RemoteAddr = remoteAddr
	req.Header.Set("Content-Type", "application/json")
	return a.serveAs(req, tok)
}

// wantRateLimited fails unless rec is a 429 with Retry-After and the RATE_LIMITED code.
func wantRateLimited(t *testing.T, what string, rec *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != retryAfter ||
		!strings.Contains(rec.Body.String(), `"code":"RATE_LIMITED"`) ||
		!strings.Contains(rec.Body.String(), "try again in "+retryAfter+" seconds") {
		t.Errorf("%s: %d (Retry-After %q) %s, want 429 RATE_LIMITED with Retry-After %s",
			what, rec.Code, rec.Header().Get("Retry-After"), rec.Body.String(), retryAfter)
	}
}

func wantAnswered(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "RATE_LIMITED") {
		t.Errorf("%s: %d %s, want it answered", what, rec.Code, rec.Body.String())
	}
}

// A user's allowance holds across instances: two APIs sharing Redis count one user's
// requests together, whichever address they come from; other users are not held back.
func TestRateLimitPerUserHoldsAcrossInstances(t *testing.T) {
	// 10 a minute in bursts of 1: the second request within 6 s is refused.
	opts := testAPIOptions{rateLimits: server.RateLimits{PerUser: 10}, rateLimitNamespace: rateLimitNamespace(t)}
	first, second := newTestAPIWith(t, opts), newTestAPIWith(t, opts)
	viewer := tokenFor(t, userViewer)
	wantAnswered(t, "the viewer's first request, on one instance", first.postFrom(t, "192.0.2.1:1000", viewer))
	wantRateLimited(t, "the viewer's second request, on the other instance from another address",
		second.postFrom(t, "192.0.2.2:1000", viewer), "6")
	wantAnswered(t, "another user's request", second.postFrom(t, "192.0.2.2:1000", tokenFor(t, userAdmin)))
	wantAnswered(t, "a request with no token (no user to count)", first.postFrom(t, "192.0.2.1:1000", ""))
}

// An address's allowance counts every request from it, signed in or not, before the token
// is even checked; IPv6 addresses count by their /64.
func TestRateLimitPerIP(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{rateLimits: server.RateLimits{PerIP: 20}, rateLimitNamespace: rateLimitNamespace(t)})
	// 20 a minute in bursts of 2.
	wantAnswered(t, "the first request", api.postFrom(t, "198.51.100.7:1000", tokenFor(t, userViewer)))
	wantAnswered(t, "the second, with no token", api.postFrom(t, "198.51.100.7:2000", ""))
	wantRateLimited(t, "the third, with a bad token", api.postFrom(t, "198.51.100.7:3000", "not-a-token"), "3")
	wantAnswered(t, "another address", api.postFrom(t, "198.51.100.8:1000", ""))

	wantAnswered(t, "an IPv6 address", api.postFrom(t, "[2001:db8:1:2::1]:1000", ""))
	wantAnswered(t, "another in its /64", api.postFrom(t, "[2001:db8:1:2:ffff::9]:1000", ""))
	wantRateLimited(t, "a third in that /64", api.postFrom(t, "[2001:db8:1:2::3]:1000", ""), "3")
	wantAnswered(t, "the next /64", api.postFrom(t, "[2001:db8:1:3::1]:1000", ""))
}

// With Redis down (nothing listens on a port that was just free), requests are neither
// refused wholesale nor let through unlimited: this instance applies each allowance on its
// own, and the shared limiter is not asked again for a while: one warning, not one per
// request.
func TestRateLimitWithRedisDown(t *testing.T) {
	var logs syncBuffer
	api := newTestAPIWith(t, testAPIOptions{rateLimits: server.RateLimits{PerUser: 1, PerIP: 1},
		rateLimitNamespace: rateLimitNamespace(t), redisAddr: freeAddr(t), logs: &logs})
	wantAnswered(t, "a request with Redis down", api.postFrom(t, "192.0.2.9:1000", tokenFor(t, userViewer)))
	for range 2 {
		wantRateLimited(t, "the next from the same address", api.postFrom(t, "192.0.2.9:1000", tokenFor(t, userViewer)), "60")
	}
	wantAnswered(t, "another address, with no token", api.postFrom(t, "192.0.2.10:1000", ""))
	if n := strings.Count(logs.String(), "rate limits are applied by this instance alone"); n != 1 {
		t.Errorf("the limiter's failure was logged %d times, want once:\n%s", n, logs.String())
	}
}
