package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"notifyql"
)

const (
	testUserID    = "6a0f3c52-8d0e-4a49-9a43-3b1d8c1d2f10"
	unknownUserID = "0b7d6a4e-54f7-4c61-9d0c-1f3f0f9e8a77"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// principalsByID is an AccessStore over a fixed set of principals: the authenticator only
// needs Principal, and the SQL behind it is tested in package postgres.
type principalsByID map[string]*notifyql.Principal

func (m principalsByID) Principal(_ context.Context, userID string) (*notifyql.Principal, error) {
	if p, ok := m[userID]; ok {
		return p, nil
	}
	return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
}

func (m principalsByID) UsersByIDs(context.Context, []string) ([]*notifyql.User, error) {
	return nil, nil
}

func (m principalsByID) UserByEmail(context.Context, string) (*notifyql.User, error) {
	return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
}

func newTestAuthenticator(now time.Time) *Authenticator {
	a := NewAuthenticator(testSecret, principalsByID{
		testUserID: {User: notifyql.User{ID: testUserID, Name: "Test User", State: "active"}},
	})
	a.now = func() time.Time { return now }
	return a
}

func mustMint(t *testing.T, secret []byte, userID string, ttl time.Duration, now time.Time) string {
	t.Helper()
	token, err := MintToken(secret, userID, ttl, now)
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	return token
}

// mustSign signs arbitrary claims, for tokens MintToken refuses to make.
func mustSign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return token
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2025, 5, 12, 9, 30, 0, 0, time.UTC)
	valid := mustMint(t, testSecret, testUserID, time.Hour, now)
	claims := func(sub string, exp time.Time) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Subject: sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		authorization string
		wantUserID    string
		wantCode      string
		wantMessage   string
	}{
		{name: "valid", authorization: "Bearer " + valid, wantUserID: testUserID},
		{name: "scheme is case-insensitive", authorization: "bearer " + valid, wantUserID: testUserID},
		{name: "within leeway after expiry",
			authorization: "Bearer " + mustMint(t, testSecret, testUserID, time.Hour, now.Add(-time.Hour-10*time.Second)),
			wantUserID:    testUserID},
		{name: "expired",
			authorization: "Bearer " + mustMint(t, testSecret, testUserID, time.Hour, now.Add(-2*time.Hour)),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "token expired"},
		{name: "bad signature",
			authorization: "Bearer " + mustMint(t, []byte("another secret that is long enough!!"), testUserID, time.Hour, now),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "tampered payload",
			authorization: "Bearer " + tamperPayload(t, valid, mustMint(t, testSecret, unknownUserID, time.Hour, now)),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "alg none",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(testUserID, now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "RS256",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodRS256, rsaKey, claims(testUserID, now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "HS512 with the right secret",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodHS512, testSecret, claims(testUserID, now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "missing exp",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{Subject: testUserID, IssuedAt: jwt.NewNumericDate(now)}),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "sub not a UUID",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodHS256, testSecret, claims("admin", now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "sub missing",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodHS256, testSecret, claims("", now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "garbage", authorization: "Bearer not.a.jwt",
			wantCode: notifyql.EUNAUTHENTICATED, wantMessage: "invalid token"},
		{name: "Basic", authorization: "Basic dXNlcjpwYXNz",
			wantCode: notifyql.EUNAUTHENTICATED, wantMessage: "missing bearer token: send Authorization: Bearer <token>"},
		{name: "Bearer without a token", authorization: "Bearer ",
			wantCode: notifyql.EUNAUTHENTICATED, wantMessage: "missing bearer token: send Authorization: Bearer <token>"},
		{name: "empty", authorization: "",
			wantCode: notifyql.EUNAUTHENTICATED, wantMessage: "missing bearer token: send Authorization: Bearer <token>"},
		{name: "unknown user",
			authorization: "Bearer " + mustMint(t, testSecret, unknownUserID, time.Hour, now),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: the user does not exist or is not active"},
		{name: "crit header",
			authorization: "Bearer " + mustSignWithHeader(t, "crit", []string{"exp"}, claims(testUserID, now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: critical header extensions (crit) are not supported"},
		{name: "empty crit header",
			authorization: "Bearer " + mustSignWithHeader(t, "crit", []string{}, claims(testUserID, now.Add(time.Hour))),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: critical header extensions (crit) are not supported"},
		{name: "missing iat",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{Subject: testUserID, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: it has no issue time (iat)"},
		{name: "iat in the future",
			authorization: "Bearer " + mustSign(t, jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{Subject: testUserID,
				IssuedAt: jwt.NewNumericDate(now.Add(time.Hour)), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Hour))}),
			wantCode: notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: it is issued in the future (iat)"},
		{name: "lifetime of the maximum",
			authorization: "Bearer " + mustMint(t, testSecret, testUserID, DefaultTokenMaxTTL, now.Add(-time.Hour)),
			wantUserID:    testUserID},
		{name: "lifetime over the maximum",
			authorization: "Bearer " + mustMint(t, testSecret, testUserID, DefaultTokenMaxTTL+time.Second, now.Add(-time.Hour)),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: its lifetime from iat to exp is 24h0m1s, longer than the maximum of 24h0m0s"},
		{name: "a year's lifetime",
			authorization: "Bearer " + mustMint(t, testSecret, testUserID, 365*24*time.Hour, now),
			wantCode:      notifyql.EUNAUTHENTICATED, wantMessage: "invalid token: its lifetime from iat to exp is 8760h0m0s, longer than the maximum of 24h0m0s"},
	}
	auth := newTestAuthenticator(now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			principal, err := auth.Authenticate(context.Background(), tt.authorization)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if principal.User.ID != tt.wantUserID {
					t.Errorf("user id = %q, want %q", principal.User.ID, tt.wantUserID)
				}
				return
			}
			if principal != nil {
				t.Errorf("principal = %+v, want nil", principal)
			}
			got := struct{ Code, Message string }{notifyql.ErrorCode(err), notifyql.ErrorMessage(err)}
			want := struct{ Code, Message string }{tt.wantCode, tt.wantMessage}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if token, _ := bearerToken(tt.authorization); token != "" && err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}
}

// mustSignWithHeader signs claims with the test secret and one more header parameter.
func mustSignWithHeader(t *testing.T, name string, value any, claims jwt.Claims) string {
	t.Helper()
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	token.Header[name] = value
	signed, err := token.SignedString(testSecret)
	if err != nil {
		t.Fatalf("sign token with header %s: %v", name, err)
	}
	return signed
}

// TestAuthenticateAudienceAndIssuer: with an audience and an issuer configured, a token
// must name both; without them, aud and iss are not read.
func TestAuthenticateAudienceAndIssuer(t *testing.T) {
	now := time.Date(2025, 5, 12, 9, 30, 0, 0, time.UTC)
	policy := TokenPolicy{MaxTTL: 2 * time.Hour, Audience: "https://api.notifyql.example", Issuer: "https://sign-in.notifyql.example"}
	configured := newTestAuthenticator(now).WithTokenPolicy(policy)
	mintWith := func(p TokenPolicy, ttl time.Duration) string {
		t.Helper()
		token, err := p.Mint(testSecret, testUserID, ttl, now)
		if err != nil {
			t.Fatalf("Mint: %v", err)
		}
		return token
	}
	withClaims := func(aud []string, iss string) string {
		return mustSign(t, jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{Subject: testUserID, Audience: aud, Issuer: iss,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	}
	tests := []struct {
		name        string
		auth        *Authenticator
		token       string
		wantMessage string // "" for accepted
	}{
		{"minted by the policy", configured, mintWith(policy, time.Hour), ""},
		{"one of several audiences", configured, withClaims([]string{"https://other.example", policy.Audience}, policy.Issuer), ""},
		{"no audience", configured, withClaims(nil, policy.Issuer), "invalid token: it is not meant for this API (aud)"},
		{"another audience", configured, withClaims([]string{"https://other.example"}, policy.Issuer), "invalid token: it is not meant for this API (aud)"},
		{"no issuer", configured, withClaims([]string{policy.Audience}, ""), "invalid token: it is not issued by the issuer this API trusts (iss)"},
		{"another issuer", configured, withClaims([]string{policy.Audience}, "https://evil.example"), "invalid token: it is not issued by the issuer this API trusts (iss)"},
		{"over the configured lifetime", configured, mintWith(TokenPolicy{Audience: policy.Audience, Issuer: policy.Issuer}, 3*time.Hour),
			"invalid token: its lifetime from iat to exp is 3h0m0s, longer than the maximum of 2h0m0s"},
		{"none configured: aud and iss not read", newTestAuthenticator(now), withClaims([]string{"https://other.example"}, "https://evil.example"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			principal, err := tt.auth.Authenticate(context.Background(), "Bearer "+tt.token)
			if tt.wantMessage == "" {
				if err != nil || principal.User.ID != testUserID {
					t.Fatalf("Authenticate = %v, %v; want user %s", principal, err, testUserID)
				}
				return
			}
			got := struct{ Code, Message string }{notifyql.ErrorCode(err), notifyql.ErrorMessage(err)}
			if diff := cmp.Diff(struct{ Code, Message string }{notifyql.EUNAUTHENTICATED, tt.wantMessage}, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}
}

func TestTokenPolicyMint(t *testing.T) {
	now := time.Date(2025, 5, 12, 9, 30, 0, 0, time.UTC)
	policy := TokenPolicy{MaxTTL: 12 * time.Hour, Audience: "notifyql-api", Issuer: "notifyql-token"}
	if token, err := policy.Mint(testSecret, testUserID, 13*time.Hour, now); err == nil {
		t.Errorf("Mint over MaxTTL = %q, want an error", token)
	}
	token, err := policy.Mint(testSecret, testUserID, 12*time.Hour, now)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	var claims jwt.RegisteredClaims
	if _, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).
		ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return testSecret, nil }); err != nil {
		t.Fatalf("parse minted token: %v", err)
	}
	got := []any{claims.Audience, claims.Issuer, claims.ExpiresAt.Sub(claims.IssuedAt.Time)}
	want := []any{jwt.ClaimStrings{"notifyql-api"}, "notifyql-token", 12 * time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

// tamperPayload returns signed with its payload swapped for other's, keeping the signature.
func tamperPayload(t *testing.T, signed, other string) string {
	t.Helper()
	parts, otherParts := strings.Split(signed, "."), strings.Split(other, ".")
	if len(parts) != 3 || len(otherParts) != 3 {
		t.Fatalf("not a compact JWS")
	}
	return parts[0] + "." + otherParts[1] + "." + parts[2]
}

func TestMintTokenClaims(t *testing.T) {
	now := time.Date(2025, 5, 12, 9, 30, 0, 0, time.UTC)
	token := mustMint(t, testSecret, strings.ToUpper(testUserID), 12*time.Hour, now)
	var claims jwt.RegisteredClaims
	_, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).
		ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return testSecret, nil })
	if err != nil {
		t.Fatalf("parse minted token: %v", err)
	}
	got := struct {
		Sub      string
		Iat, Exp time.Time
	}{claims.Subject, claims.IssuedAt.Time.UTC(), claims.ExpiresAt.Time.UTC()}
	want := struct {
		Sub      string
		Iat, Exp time.Time
	}{testUserID, now, now.Add(12 * time.Hour)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestMintTokenRefuses(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		secret []byte
		userID string
		ttl    time.Duration
	}{
		{"empty secret", nil, testUserID, time.Hour},
		{"user id not a UUID", testSecret, "admin@notifyql.example", time.Hour},
		{"zero ttl", testSecret, testUserID, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if token, err := MintToken(tt.secret, tt.userID, tt.ttl, now); err == nil {
				t.Errorf("MintToken = %q, want an error", token)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	now := time.Now()
	auth := newTestAuthenticator(now)
	type outcome struct {
		UserID string
		Code   string
	}
	var got outcome
	handler := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := notifyql.Authenticated(r.Context())
		got = outcome{Code: notifyql.ErrorCode(err)}
		if p != nil {
			got.UserID = p.User.ID
		}
	}))
	tests := []struct {
		name          string
		authorization string
		want          outcome
	}{
		{"anonymous", "", outcome{Code: notifyql.EUNAUTHENTICATED}},
		{"valid token", "Bearer " + mustMint(t, testSecret, testUserID, time.Hour, now), outcome{UserID: testUserID}},
		{"refused token", "Bearer garbage", outcome{Code: notifyql.EUNAUTHENTICATED}},
		{"unknown user", "Bearer " + mustMint(t, testSecret, unknownUserID, time.Hour, now), outcome{Code: notifyql.EUNAUTHENTICATED}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = outcome{}
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tt.authorization != "" {
				r.Header.Set("Authorization", tt.authorization)
			}
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Errorf("status = %d, want the request to go on", w.Code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}
