package server

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"notifyql"
)

// Signed links let a browser download a file with a plain link, without an Authorization
// header: the link names the user and an expiry, and an HMAC over the path, the query and
// both of those proves that the server made it. A link opens one file (the path and every
// query parameter are signed) for one user, and only briefly.

// DefaultLinkTTL is how long a signed link works: long enough to click, short enough that
// a link copied into a chat or a browser history is soon useless.
const DefaultLinkTTL = 5 * time.Minute

// Query parameters a signed link adds. None carries personal data: the user is named by id.
const (
	linkUserParam      = "user"
	linkExpiresParam   = "expires"
	linkSignatureParam = "signature"
)

// linkClockSkew absorbs small clock differences between the instance that signed a link and
// the one that checks it, as tokenLeeway does for tokens.
const linkClockSkew = 30 * time.Second

// LinkSigner signs and checks download links. Its key is derived from the JWT secret with a
// purpose label, so a link signature is never a valid token signature nor one for another
// purpose.
type LinkSigner struct {
	key     []byte
	purpose string
	ttl     time.Duration
	// now is the clock links are signed and checked with; tests move it.
	now func() time.Time
}

var _ notifyql.LinkSigner = (*LinkSigner)(nil)

// NewLinkSigner returns a signer whose key is derived (HKDF-SHA256) from secret for purpose;
// links last ttl (DefaultLinkTTL when 0).
func NewLinkSigner(secret []byte, purpose string, ttl time.Duration) (*LinkSigner, error) {
	if len(secret) == 0 {
		return nil, errors.New("link signer: empty secret")
	}
	if purpose == "" {
		return nil, errors.New("link signer: empty purpose")
	}
	if ttl < 0 {
		return nil, fmt.Errorf("link signer: ttl must not be negative, got %s", ttl)
	}
	if ttl == 0 {
		ttl = DefaultLinkTTL
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "notifyql signed link: "+purpose, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("link signer: derive key: %w", err)
	}
	return &LinkSigner{key: key, purpose: purpose, ttl: ttl, now: time.Now}, nil
}

// WithClock returns a copy of the signer that signs and checks links against now.
func (s *LinkSigner) WithClock(now func() time.Time) *LinkSigner {
	copied := *s
	copied.now = now
	return &copied
}

// SignLink returns target (a path with an optional query, such as
// "/services/{id}/download-notifications.csv?message_type=sms") with the user, the expiry
// and the signature added to its query. It fails for a target with a scheme, a host or a
// fragment, one that already holds a link parameter, or a user id that is not a UUID.
func (s *LinkSigner) SignLink(target string, userID string) (string, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Fragment != "" || u.Path == "" {
		return "", errors.New("sign link: the target must be a path with an optional query")
	}
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", errors.New("sign link: the user id is not a UUID")
	}
	query := u.Query()
	for _, p := range []string{linkUserParam, linkExpiresParam, linkSignatureParam} {
		if query.Has(p) {
			return "", fmt.Errorf("sign link: the target already has a %q parameter", p)
		}
	}
	query.Set(linkUserParam, id.String())
	query.Set(linkExpiresParam, strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10))
	query.Set(linkSignatureParam, s.signature(u.Path, query))
	u.RawQuery = query.Encode()
	return u.String(), nil
}

// IsSignedLink reports whether a request's URL carries a link signature, so that it must
// be checked as a link.
func IsSignedLink(u *url.URL) bool { return u.Query().Has(linkSignatureParam) }

// VerifyLink checks a signed link and returns the user it was made for. An expired link
// gives EUNAUTHENTICATED "this download link has expired"; any other fault (a parameter
// missing or repeated, a changed path, query, user or expiry, a bad signature) gives
// EUNAUTHENTICATED "invalid download link". The signature is compared in constant time.
func (s *LinkSigner) VerifyLink(u *url.URL) (string, error) {
	invalid := notifyql.Errorf(notifyql.EUNAUTHENTICATED, "invalid download link")
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", invalid
	}
	for _, p := range []string{linkUserParam, linkExpiresParam, linkSignatureParam} {
		if len(query[p]) != 1 {
			return "", invalid
		}
	}
	signature, err := base64.RawURLEncoding.Strict().DecodeString(query.Get(linkSignatureParam))
	if err != nil {
		return "", invalid
	}
	query.Del(linkSignatureParam)
	want, _ := base64.RawURLEncoding.DecodeString(s.signature(u.Path, query))
	if !hmac.Equal(signature, want) {
		return "", invalid
	}
	expires, err := strconv.ParseInt(query.Get(linkExpiresParam), 10, 64)
	if err != nil {
		return "", invalid
	}
	now := s.now()
	if now.After(time.Unix(expires, 0).Add(linkClockSkew)) {
		return "", notifyql.Errorf(notifyql.EUNAUTHENTICATED, "this download link has expired: ask for a new one")
	}
	// A signed expiry further away than this signer's TTL was not made by this signer's
	// configuration; refusing it bounds the life of every link to the TTL in force.
	if time.Unix(expires, 0).After(now.Add(s.ttl + linkClockSkew)) {
		return "", invalid
	}
	return query.Get(linkUserParam), nil
}

// signature is the base64url HMAC-SHA256 of the purpose, the path and the query without the
// signature, in url.Values' canonical form (keys sorted, values in order).
func (s *LinkSigner) signature(path string, query url.Values) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(s.purpose + "\n" + path + "\n" + query.Encode()))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
