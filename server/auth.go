package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"notifyql"
)

// tokenLeeway absorbs small clock differences between the machine that minted a token and
// the one that checks it.
const tokenLeeway = 30 * time.Second

// DefaultTokenMaxTTL is the longest lifetime, from iat to exp, that a token may have unless
// configuration says otherwise: a day, so that a token copied from a log or a browser stops
// working by the next one.
const DefaultTokenMaxTTL = 24 * time.Hour

// TokenPolicy is what a token must say besides its signature and subject: a lifetime from
// its issue (iat, required) to its expiry (exp, required) of at most MaxTTL, and, when they
// are set, Audience among its aud and Issuer as its iss. The same policy mints the tokens
// of `notifyql token`.
type TokenPolicy struct {
	// MaxTTL bounds exp - iat; 0 means DefaultTokenMaxTTL.
	MaxTTL time.Duration
	// Audience and Issuer, when set, must be the token's aud (one of them) and iss.
	Audience string
	Issuer   string
}

// DefaultTokenPolicy is the policy used when configuration sets none.
func DefaultTokenPolicy() TokenPolicy { return TokenPolicy{MaxTTL: DefaultTokenMaxTTL} }

func (p TokenPolicy) withDefaults() TokenPolicy {
	if p.MaxTTL <= 0 {
		p.MaxTTL = DefaultTokenMaxTTL
	}
	return p
}

// Mint returns an HS256 JWT naming userID as its subject, issued at now and expiring ttl
// later, with the policy's audience and issuer; a ttl over the policy's MaxTTL is refused,
// as the server would refuse the token. Anyone holding the secret can sign in as any user:
// the secret must be kept like a password.
func (p TokenPolicy) Mint(secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	if p.MaxTTL > 0 && ttl > p.MaxTTL {
		return "", fmt.Errorf("mint token: ttl %s is longer than the maximum of %s", ttl, p.MaxTTL)
	}
	return mint(secret, userID, ttl, now, p.Audience, p.Issuer)
}

// MintToken returns an HS256 JWT naming userID as its subject, issued at now and expiring
// ttl later, with no audience or issuer: what the default policy accepts when its ttl is
// at most DefaultTokenMaxTTL. Tests and benchmarks sign in with it.
func MintToken(secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	return mint(secret, userID, ttl, now, "", "")
}

func mint(secret []byte, userID string, ttl time.Duration, now time.Time, audience, issuer string) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("mint token: empty signing secret")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("mint token: ttl must be positive, got %s", ttl)
	}
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", errors.New("mint token: user id is not a UUID")
	}
	claims := jwt.RegisteredClaims{
		Subject:   id.String(),
		Issuer:    issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if audience != "" {
		claims.Audience = jwt.ClaimStrings{audience}
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return signed, nil
}

// Authenticator turns the Authorization header of a request into a principal: a bearer
// JWT signed with the shared secret, within the token policy, whose subject is an active
// user.
type Authenticator struct {
	secret []byte
	access notifyql.AccessStore
	policy TokenPolicy
	logger *slog.Logger
	// principals, when set, keeps recently loaded principals (WithPrincipalCache).
	principals *principalCache
	// verified remembers the tokens accepted under secret and policy.
	verified *verifiedTokens
	// now is the clock tokens are checked against; tests move it.
	now func() time.Time
}

// NewAuthenticator returns an authenticator that checks tokens signed with secret, under
// the default token policy, and loads their users from access.
func NewAuthenticator(secret []byte, access notifyql.AccessStore) *Authenticator {
	return &Authenticator{
		secret:   secret,
		access:   access,
		policy:   DefaultTokenPolicy(),
		verified: newVerifiedTokens(DefaultVerifiedTokens),
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
	}
}

// WithLogger returns the authenticator logging refused credentials and store failures to
// logger. Tokens and user details are never logged.
func (a *Authenticator) WithLogger(logger *slog.Logger) *Authenticator {
	copied := *a
	copied.logger = logger
	return &copied
}

// WithPrincipalCache returns the authenticator keeping each user's principal for
// PrincipalCacheTTL, at most DefaultPrincipalCacheSize of them, for HTTP requests. The
// server drops the principals an access change names (Server.AccessChanged), so it is for
// an authenticator whose server hears the live path's access changes.
func (a *Authenticator) WithPrincipalCache() *Authenticator {
	copied := *a
	copied.principals = newPrincipalCache(PrincipalCacheTTL, DefaultPrincipalCacheSize, time.Now)
	return &copied
}

// WithTokenPolicy returns the authenticator checking tokens against policy (its zero
// MaxTTL meaning the default).
func (a *Authenticator) WithTokenPolicy(policy TokenPolicy) *Authenticator {
	copied := *a
	copied.policy = policy.withDefaults()
	// What the old policy accepted, this one may refuse.
	copied.verified = newVerifiedTokens(DefaultVerifiedTokens)
	return &copied
}

// Authenticate checks an Authorization header value ("Bearer <jwt>") and returns the
// principal it names, from the principal cache when there is one: what a request over
// HTTP does. Refused credentials give EUNAUTHENTICATED errors whose messages never repeat
// the token; a failing store gives an internal error.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (*notifyql.Principal, error) {
	principal, _, err := a.authenticate(ctx, authorization, a.principal)
	return principal, err
}

// AuthenticateWithExpiry is Authenticate that also returns when the token expires, for
// long-lived connections (WebSockets) that must end when their credentials do. It loads
// the principal as it is now, never from the cache: a socket lives long, and its user's
// access is then checked by its operations and by the access changes, as it was at its
// start.
func (a *Authenticator) AuthenticateWithExpiry(ctx context.Context, authorization string) (*notifyql.Principal, time.Time, error) {
	return a.authenticate(ctx, authorization, a.freshPrincipal)
}

// authenticate checks the token in authorization and loads its user's principal with
// load.
func (a *Authenticator) authenticate(ctx context.Context, authorization string, load func(ctx context.Context, userID, refusedAs string) (*notifyql.Principal, error)) (*notifyql.Principal, time.Time, error) {
	token, ok := bearerToken(authorization)
	if !ok {
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "missing bearer token: send Authorization: Bearer <token>")
	}
	claims, err := a.checkToken(token)
	if err != nil {
		return nil, time.Time{}, err
	}
	userID, err := uuid.Parse(claims.Subject)
	if err != nil {
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token")
	}
	principal, err := load(ctx, userID.String(), "invalid token: ")
	if err != nil {
		return nil, time.Time{}, err
	}
	// ExpiresAt is set: checkToken requires exp.
	return principal, claims.ExpiresAt.Time, nil
}

// Reload loads the principal of a user who signed in earlier (on a socket) as it is now,
// never from the cache, for an operation that must be authorised as a fresh request would
// be. A user who no longer exists or is no longer active gives an EUNAUTHENTICATED error;
// a failing store gives an internal error.
func (a *Authenticator) Reload(ctx context.Context, userID string) (*notifyql.Principal, error) {
	return a.freshPrincipal(ctx, userID, "")
}

// forget drops the cached principals an access change names.
func (a *Authenticator) forget(change notifyql.AccessChange) {
	if a.principals != nil {
		a.principals.forget(change)
	}
}

// principal loads the active user userID and what they may reach, from the cache when
// there is one. A user who does not exist or is not active is EUNAUTHENTICATED, its
// message the credentials' own refusal (refusedAs) followed by why; a failing store is
// internal.
func (a *Authenticator) principal(ctx context.Context, userID, refusedAs string) (*notifyql.Principal, error) {
	if a.principals == nil {
		return a.freshPrincipal(ctx, userID, refusedAs)
	}
	principal, err := a.principals.get(ctx, userID, func(ctx context.Context) (*notifyql.Principal, error) {
		return a.access.Principal(ctx, userID)
	})
	return refusedOrLoaded(principal, err, userID, refusedAs)
}

// freshPrincipal is principal read from the store, never from the cache.
func (a *Authenticator) freshPrincipal(ctx context.Context, userID, refusedAs string) (*notifyql.Principal, error) {
	principal, err := a.access.Principal(ctx, userID)
	return refusedOrLoaded(principal, err, userID, refusedAs)
}

// refusedOrLoaded is the authenticator's answer for a user given the store's.
func refusedOrLoaded(principal *notifyql.Principal, err error, userID, refusedAs string) (*notifyql.Principal, error) {
	switch {
	case notifyql.ErrorCode(err) == notifyql.ENOTFOUND:
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "%s%s", refusedAs, userGone)
	case err != nil:
		return nil, fmt.Errorf("load principal of user %s: %w", userID, err)
	}
	return principal, nil
}

// userGone is why a signed-in user's credentials stopped counting.
const userGone = "the user does not exist or is not active"

// checkToken verifies a JWT's signature and claims against the policy and returns its
// claims. Each refusal is EUNAUTHENTICATED with a message that says what is wrong and
// never repeats the token. A token with a crit header is refused whatever it names: the
// header lists extensions a recipient must understand or refuse (RFC 7515 §4.1.11), and
// this server understands none. Its lifetime is measured from iat, which must therefore be
// there and not in the future, so that a token cannot outlive MaxTTL by claiming a later
// issue.
func (a *Authenticator) checkToken(token string) (*jwt.RegisteredClaims, error) {
	now := a.now()
	if claims, ok := a.verified.get(token, now); ok {
		return claims, nil
	}
	claims, err := a.verifyToken(token)
	if err != nil {
		return nil, err
	}
	a.verified.put(token, claims, now)
	return claims, nil
}

// verifyToken is checkToken without the store of accepted tokens.
func (a *Authenticator) verifyToken(token string) (*jwt.RegisteredClaims, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(a.now),
	)
	var claims jwt.RegisteredClaims
	parsed, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return a.secret, nil })
	switch {
	// The signature is checked before the claims: a forged token is only ever "invalid".
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token")
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "token expired")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: it is issued in the future (iat)")
	case err != nil:
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token")
	}
	if _, critical := parsed.Header["crit"]; critical {
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: critical header extensions (crit) are not supported")
	}
	// A missing aud or iss is refused like a wrong one.
	if a.policy.Audience != "" && !slices.Contains(claims.Audience, a.policy.Audience) {
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: it is not meant for this API (aud)")
	}
	if a.policy.Issuer != "" && claims.Issuer != a.policy.Issuer {
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: it is not issued by the issuer this API trusts (iss)")
	}
	if claims.IssuedAt == nil {
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: it has no issue time (iat)")
	}
	if lifetime := claims.ExpiresAt.Sub(claims.IssuedAt.Time); lifetime > a.policy.MaxTTL {
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: its lifetime from iat to exp is %s, longer than the maximum of %s", lifetime, a.policy.MaxTTL)
	}
	return &claims, nil
}

// AuthenticateDownload authenticates a file download: a request whose URL carries a link
// signature is checked as a signed link (links) and nothing else, any other by its
// Authorization header. Refusals are EUNAUTHENTICATED; a failing store is internal.
func (a *Authenticator) AuthenticateDownload(ctx context.Context, r *http.Request, links *LinkSigner) (*notifyql.Principal, error) {
	if !IsSignedLink(r.URL) {
		return a.Authenticate(ctx, r.Header.Get("Authorization"))
	}
	if links == nil {
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid download link")
	}
	userID, err := links.VerifyLink(r.URL)
	if err != nil {
		return nil, err
	}
	return a.principal(ctx, userID, "invalid download link: ")
}

// bearerToken returns the token of a "Bearer <token>" header value; the scheme is matched
// case-insensitively (RFC 9110 §11.1).
func bearerToken(authorization string) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(authorization), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Middleware authenticates requests that send an Authorization header. A request without
// one goes on anonymous; one whose credentials are refused also goes on, carrying the
// reason, so that each field needing a principal answers UNAUTHENTICATED with it while
// public fields still work.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authorization := r.Header.Get("Authorization")
		if authorization == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		principal, err := a.Authenticate(ctx, authorization)
		if err != nil {
			if notifyql.ErrorCode(err) == notifyql.EUNAUTHENTICATED {
				a.logger.DebugContext(ctx, "credentials refused", "reason", notifyql.ErrorMessage(err))
			} else {
				a.logger.ErrorContext(ctx, "authenticate request", "error", err)
			}
			next.ServeHTTP(w, r.WithContext(notifyql.NewContextWithAuthError(ctx, err)))
			return
		}
		next.ServeHTTP(w, r.WithContext(notifyql.NewContextWithPrincipal(ctx, principal)))
	})
}
