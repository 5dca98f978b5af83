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
			if token, _ := bearerToken(tt.authorization); token != "" && strings.Contains(err.Error(), token) {
				t.Errorf("error %q repeats the token", err)
			}
		})
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
