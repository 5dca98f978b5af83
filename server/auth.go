package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"notifyql"
)

// tokenLeeway absorbs small clock differences between the machine that minted a token and
// the one that checks it.
const tokenLeeway = 30 * time.Second

// MintToken returns an HS256 JWT naming userID as its subject, issued at now and expiring
// ttl later. The server only checks the signature, subject and expiry, so anyone holding
// the secret can sign in as any user: the secret must be kept like a password.
func MintToken(secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
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
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return signed, nil
}

// Authenticator turns the Authorization header of a request into a principal: a bearer
// JWT signed with the shared secret whose subject is an active user.
type Authenticator struct {
	secret []byte
	access notifyql.AccessStore
	logger *slog.Logger
	// now is the clock tokens are checked against; tests move it.
	now func() time.Time
}

// NewAuthenticator returns an authenticator that checks tokens signed with secret and
// loads their users from access.
func NewAuthenticator(secret []byte, access notifyql.AccessStore) *Authenticator {
	return &Authenticator{
		secret: secret,
		access: access,
		logger: slog.New(slog.DiscardHandler),
		now:    time.Now,
	}
}

// WithLogger returns the authenticator logging refused credentials and store failures to
// logger. Tokens and user details are never logged.
func (a *Authenticator) WithLogger(logger *slog.Logger) *Authenticator {
	copied := *a
	copied.logger = logger
	return &copied
}

// Authenticate checks an Authorization header value ("Bearer <jwt>") and returns the
// principal it names. Refused credentials give EUNAUTHENTICATED errors whose messages never
// repeat the token; a failing store gives an internal error.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (*notifyql.Principal, error) {
	principal, _, err := a.AuthenticateWithExpiry(ctx, authorization)
	return principal, err
}

// AuthenticateWithExpiry is Authenticate that also returns when the token expires, for
// long-lived connections (WebSockets) that must end when their credentials do.
func (a *Authenticator) AuthenticateWithExpiry(ctx context.Context, authorization string) (*notifyql.Principal, time.Time, error) {
	token, ok := bearerToken(authorization)
	if !ok {
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "missing bearer token: send Authorization: Bearer <token>")
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(a.now),
	)
	var claims jwt.RegisteredClaims
	_, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return a.secret, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "token expired")
	case err != nil:
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token")
	}
	userID, err := uuid.Parse(claims.Subject)
	if err != nil {
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token")
	}
	principal, err := a.access.Principal(ctx, userID.String())
	switch {
	case notifyql.ErrorCode(err) == notifyql.ENOTFOUND:
		return nil, time.Time{}, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid token: the user does not exist or is not active")
	case err != nil:
		return nil, time.Time{}, fmt.Errorf("load principal for token subject %s: %w", userID, err)
	}
	// ExpiresAt is set: the parser requires exp.
	return principal, claims.ExpiresAt.Time, nil
}

// Reload loads the principal of a user who signed in earlier (on a socket) as it is now,
// for an operation that must be authorised as a fresh request would be. A user who no
// longer exists or is no longer active gives an EUNAUTHENTICATED error; a failing store
// gives an internal error.
func (a *Authenticator) Reload(ctx context.Context, userID string) (*notifyql.Principal, error) {
	principal, err := a.access.Principal(ctx, userID)
	switch {
	case notifyql.ErrorCode(err) == notifyql.ENOTFOUND:
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "%s", userGone)
	case err != nil:
		return nil, fmt.Errorf("reload principal of user %s: %w", userID, err)
	}
	return principal, nil
}

// userGone is why a signed-in user's credentials stopped counting.
const userGone = "the user does not exist or is not active"

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
	principal, err := a.access.Principal(ctx, userID)
	switch {
	case notifyql.ErrorCode(err) == notifyql.ENOTFOUND:
		return nil, notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid download link: the user does not exist or is not active")
	case err != nil:
		return nil, fmt.Errorf("load principal for download link user %s: %w", userID, err)
	}
	return principal, nil
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
