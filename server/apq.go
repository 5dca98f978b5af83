package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"notifyql"
)

// Automatic persisted queries (Apollo's protocol, which graphql-http clients speak too): a
// client sends a query's SHA-256 hash alone; when the server does not know it, it answers
// PersistedQueryNotFound and the client sends the text with its hash, which the server
// keeps for the next time.
//
// gqlgen's extension speaks the protocol here, so that its answers are exactly the ones
// clients rely on, but on its own it stores every text it is sent before the text is even
// parsed: anyone, without a token, could fill the cache with texts that never ran (560
// requests answered 422 kept 35 MiB in Redis for 24 hours). So it is given a cache it can
// only look texts up in, and a text is registered (stored under its hash) by
// persistedQueryRegistration, which runs after every check of the operation: only a text
// that parsed, validated and passed every limit is stored, never one longer than the body
// limit (a WebSocket message may be longer), and each registration is counted against the
// client address's allowance, as a request is.

// persistedQueries returns the two halves of automatic persisted queries over cache, with
// the trusted documents' checks (trusteddocuments.go): lookup must be used before anything
// reads an operation's text (DocumentLimits), and registration after every check of an
// operation. A text longer than maxBytes is run but not stored. Under enforce nothing is
// registered and the cache is not read: only the trusted documents run. cache may be nil
// (no persisted queries but the trusted documents); registration is then nil.
func persistedQueries(cache graphql.Cache[string], trusted TrustedDocuments, development bool, maxBytes int, rates *rateLimiting, metrics *RequestMetrics) (lookup, registration graphql.HandlerExtension) {
	if trusted.Mode == TrustedDocumentsEnforce {
		cache = nil
	}
	lookup = persistedQueryLookup{apq: extension.AutomaticPersistedQuery{Cache: knownTexts{trusted: trusted, cache: cache}},
		trusted: trusted, development: development, metrics: metrics}
	if cache != nil {
		registration = persistedQueryRegistration{cache: cache, maxBytes: maxBytes, rates: rates, trusted: trusted}
	}
	return lookup, registration
}

// lookupOnly is the cache gqlgen's extension is given: it finds the texts stored under a
// hash, and stores nothing.
type lookupOnly struct{ graphql.Cache[string] }

// Get does not ask the cache about a hash that is not a SHA-256 hash in hex: nothing is
// ever stored under one, and a client could otherwise make each request look up a key as
// long as its body.
func (c lookupOnly) Get(ctx context.Context, hash string) (string, bool) {
	if len(hash) != sha256.Size*2 || !isLowerHex(hash) {
		return "", false
	}
	return c.Cache.Get(ctx, hash)
}

// Add does nothing: persistedQueryRegistration stores a text once the operation has passed
// every check.
func (lookupOnly) Add(context.Context, string, string) {}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// persistedQueryRegistration stores the text of an operation sent with its hash, once the
// operation has parsed and validated and every extension used before it (the limits) has
// accepted it: it must be used after them.
type persistedQueryRegistration struct {
	cache    graphql.Cache[string]
	maxBytes int
	// rates counts registrations against the client address's allowance; nil counts none.
	rates *rateLimiting
	// trusted are found by hash without being stored.
	trusted TrustedDocuments
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = persistedQueryRegistration{}

func (persistedQueryRegistration) ExtensionName() string { return "PersistedQueryRegistration" }

func (r persistedQueryRegistration) Validate(graphql.ExecutableSchema) error {
	if r.cache == nil || r.maxBytes < 1 {
		return errors.New("persisted query registration needs a cache and a size limit")
	}
	return nil
}

// MutateOperationContext stores the operation's text under its hash when the client sent
// both (gqlgen's extension has checked that they match), the text is within maxBytes, and
// nothing is stored there yet nor listed in the trusted documents; a registration past the
// client address's allowance is refused with RATE_LIMITED and stores nothing.
func (r persistedQueryRegistration) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	sent := extension.GetApqStats(ctx)
	if sent == nil || !sent.SentQuery || len(opCtx.RawQuery) > r.maxBytes || r.trusted.lists(sent.Hash) {
		return nil
	}
	// What is stored must be the text that was checked, under its own hash, whatever an
	// extension between the two halves did to the request.
	if sum := sha256.Sum256([]byte(opCtx.RawQuery)); hex.EncodeToString(sum[:]) != sent.Hash {
		return nil
	}
	if _, stored := r.cache.Get(ctx, sent.Hash); stored {
		return nil
	}
	if allowed, wait := r.rates.allowFromAddress(ctx); !allowed {
		seconds := retryAfterSeconds(wait)
		err := gqlerror.Errorf("too many new persisted queries from this address: try again in %d seconds", seconds)
		err.Extensions = map[string]any{"code": GraphQLCode(notifyql.ERATELIMITED), retryAfterExtension: seconds}
		return err
	}
	r.cache.Add(ctx, sent.Hash, opCtx.RawQuery)
	return nil
}
