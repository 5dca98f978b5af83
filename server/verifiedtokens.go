package server

import (
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultVerifiedTokens is how many accepted tokens an authenticator remembers.
const DefaultVerifiedTokens = 10_000

// verifiedTokens remembers the tokens checkToken accepted, until they expire: a client
// sends the same bearer token with every request, and checking its signature and claims
// again each time was about 5% of a single notification's CPU. What made a token
// acceptable, its signature under the secret and its claims under the policy, cannot
// change while the token lives, since a token is immutable; only the clock moves, so each
// hit checks the expiry again as jwt does (exp plus the leeway). Refusals are never
// remembered. An authenticator with another secret or policy has a store of its own.
// At most max tokens are kept: past that, the expired go, then any, down to three
// quarters of max, so that a full store is swept once every quarter of max new tokens
// rather than at every one.
type verifiedTokens struct {
	mu     sync.Mutex
	tokens map[string]*jwt.RegisteredClaims
	max    int
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{tokens: make(map[string]*jwt.RegisteredClaims), max: max}
}

// get returns the claims of token when it was accepted and is still unexpired at now.
func (v *verifiedTokens) get(token string, now time.Time) (*jwt.RegisteredClaims, bool) {
	v.mu.Lock()
	claims, ok := v.tokens[token]
	v.mu.Unlock()
	if !ok || !now.Before(claims.ExpiresAt.Add(tokenLeeway)) {
		return nil, false
	}
	return claims, true
}

// put remembers that token was accepted with claims, which have an expiry.
func (v *verifiedTokens) put(token string, claims *jwt.RegisteredClaims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.tokens) >= v.max {
		for t, c := range v.tokens {
			if !now.Before(c.ExpiresAt.Add(tokenLeeway)) {
				delete(v.tokens, t)
			}
		}
	}
	if len(v.tokens) >= v.max {
		for t := range v.tokens {
			if len(v.tokens) <= v.max*3/4 {
				break
			}
			delete(v.tokens, t)
		}
	}
	// A copy: the header's string may share the memory of a whole request.
	v.tokens[strings.Clone(token)] = claims
}
