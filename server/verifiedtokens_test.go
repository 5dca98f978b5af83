package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"notifyql"
)

// TestVerifiedTokensExpireAndStayBounded: a token the authenticator accepted once is
// accepted again from its store, but only while it is unexpired by the clock of each
// request; a refused token is never stored; a new policy starts from nothing; and the
// store never holds more than its bound, dropping expired tokens first.
func TestVerifiedTokensExpireAndStayBounded(t *testing.T) {
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	now := start
	a := newTestAuthenticator(start)
	a.now = func() time.Time { return now }
	token := mustMint(t, testSecret, testUserID, 10*time.Minute, start)
	authenticate := func(a *Authenticator, token string) error {
		_, err := a.Authenticate(context.Background(), "Bearer "+token)
		return err
	}

	if err := authenticate(a, token); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, ok := a.verified.get(token, now); !ok {
		t.Fatal("an accepted token was not remembered")
	}
	now = start.Add(10*time.Minute + tokenLeeway - time.Second)
	if err := authenticate(a, token); err != nil {
		t.Fatalf("within the leeway after exp: %v", err)
	}
	now = start.Add(10*time.Minute + tokenLeeway)
	if err := authenticate(a, token); notifyql.ErrorMessage(err) != "token expired" {
		t.Fatalf("a remembered token past exp and the leeway: %v, want token expired", err)
	}

	now = start
	forged := mustMint(t, []byte("another secret that is long enough!!"), testUserID, time.Hour, start)
	if err := authenticate(a, forged); notifyql.ErrorMessage(err) != "invalid token" {
		t.Fatalf("forged token: %v", err)
	}
	if _, ok := a.verified.get(forged, now); ok {
		t.Fatal("a refused token was remembered")
	}

	// A policy with a shorter lifetime refuses what the default accepted.
	strict := a.WithTokenPolicy(TokenPolicy{MaxTTL: 5 * time.Minute})
	if err := authenticate(strict, token); err == nil {
		t.Fatal("a token accepted under the old policy was accepted under a stricter one")
	}

	// The bound: expired tokens go first, then any.
	small := newVerifiedTokens(3)
	for i := range 3 {
		small.put(fmt.Sprintf("old-%d", i), mustClaims(t, a, start, time.Minute), start)
	}
	later := start.Add(time.Hour)
	for i := range 5 {
		small.put(fmt.Sprintf("new-%d", i), mustClaims(t, a, later, time.Hour), later)
		if n := len(small.tokens); n > 3 {
			t.Fatalf("%d tokens held, bound 3", n)
		}
	}
	// Full of unexpired tokens, one more sweeps it down to three quarters, not to one less.
	full := newVerifiedTokens(8)
	for i := range 9 {
		full.put(fmt.Sprintf("valid-%d", i), mustClaims(t, a, later, time.Hour), later)
	}
	if n := len(full.tokens); n != 7 {
		t.Errorf("a full store of 8 holds %d tokens after one more, want 6 kept and the new one", n)
	}
	if _, ok := small.get("new-4", later); !ok {
		t.Error("the newest token was not kept")
	}
	for i := range 3 {
		if _, ok := small.tokens[fmt.Sprintf("old-%d", i)]; ok {
			t.Errorf("expired token old-%d still held past the bound", i)
		}
	}
}

// mustClaims mints and checks a token issued at issued, living ttl, for its claims.
func mustClaims(t *testing.T, a *Authenticator, issued time.Time, ttl time.Duration) *jwt.RegisteredClaims {
	t.Helper()
	checker := *a
	checker.now = func() time.Time { return issued }
	claims, err := checker.verifyToken(mustMint(t, testSecret, testUserID, ttl, issued))
	if err != nil {
		t.Fatal(err)
	}
	return claims
}
