package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"notifyql/postgres"
	"notifyql/server"
)

func TestLoadConfigTokenPolicy(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want server.TokenPolicy
	}{
		{"defaults", nil, server.TokenPolicy{MaxTTL: 24 * time.Hour}},
		{"everything set", map[string]string{"NOTIFYQL_TOKEN_MAX_TTL": "2h30m", "NOTIFYQL_TOKEN_AUDIENCE": "https://api.notifyql.example",
			"NOTIFYQL_TOKEN_ISSUER": "notifyql-sign-in"},
			server.TokenPolicy{MaxTTL: 150 * time.Minute, Audience: "https://api.notifyql.example", Issuer: "notifyql-sign-in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(envOf(tt.vars))
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, cfg.Tokens); diff != "" {
				t.Errorf("token policy (-want +got):\n%s", diff)
			}
			if logged := cfg.LogValue().String(); !strings.Contains(logged, "token_max_ttl="+tt.want.MaxTTL.String()) {
				t.Errorf("logged config %s lacks the token lifetime", logged)
			}
		})
	}
}

func TestLoadConfigRefusesBadTokenPolicy(t *testing.T) {
	const ttlRule = "NOTIFYQL_TOKEN_MAX_TTL must be a duration from 1m to 720h0m0s, such as 24h; got "
	tests := []struct {
		name, variable, value, wantErr string
	}{
		{"max ttl without a unit", "NOTIFYQL_TOKEN_MAX_TTL", "24", ttlRule + `"24"`},
		{"max ttl of zero", "NOTIFYQL_TOKEN_MAX_TTL", "0s", ttlRule + `"0s"`},
		{"negative max ttl", "NOTIFYQL_TOKEN_MAX_TTL", "-1h", ttlRule + `"-1h"`},
		{"max ttl under a minute", "NOTIFYQL_TOKEN_MAX_TTL", "30s", ttlRule + `"30s"`},
		{"max ttl of a year", "NOTIFYQL_TOKEN_MAX_TTL", "8760h", ttlRule + `"8760h"`},
		{"audience with spaces", "NOTIFYQL_TOKEN_AUDIENCE", " notifyql ",
			`NOTIFYQL_TOKEN_AUDIENCE must be a name such as https://api.example.gov.uk, without surrounding spaces or control characters; got " notifyql "`},
		{"issuer with a line break", "NOTIFYQL_TOKEN_ISSUER", "notifyql\nsign-in",
			`NOTIFYQL_TOKEN_ISSUER must be a name such as https://api.example.gov.uk, without surrounding spaces or control characters; got "notifyql\nsign-in"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(envOf(map[string]string{tt.variable: tt.value}))
			if err == nil {
				t.Fatalf("loadConfig accepted %s=%q", tt.variable, tt.value)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenCommandRefusesALongTTL: `notifyql token` will not mint what the API would refuse,
// and says so before it opens a database.
func TestTokenCommandRefusesALongTTL(t *testing.T) {
	urlMode := map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "NOTIFYQL_JWT_SECRET": testSecret}
	tests := []struct {
		name    string
		maxTTL  string
		ttl     string
		wantErr string
	}{
		{"over the default", "", "25h", "token: --ttl must be at most 24h0m0s (NOTIFYQL_TOKEN_MAX_TTL), got 25h0m0s: the API would refuse the token"},
		{"over the configured", "1h", "2h", "token: --ttl must be at most 1h0m0s (NOTIFYQL_TOKEN_MAX_TTL), got 2h0m0s: the API would refuse the token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"NOTIFYQL_TOKEN_MAX_TTL": tt.maxTTL}
			for k, v := range urlMode {
				vars[k] = v
			}
			_, _, err := runCommand(t, vars, "token", "--email", "a@b.example", "--ttl", tt.ttl)
			if err == nil {
				t.Fatal("token minted, want an error")
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var usage *usageError
			if !errors.As(err, &usage) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

// TestTokenCommandMintsForTheConfiguredPolicy: with an audience, an issuer and a shorter
// maximum configured, `notifyql token` mints a token that names them and lives at most the
// maximum (its default ttl shrinks to it), and the API under the same policy accepts it.
func TestTokenCommandMintsForTheConfiguredPolicy(t *testing.T) {
	databaseURL, pool := commandDatabase(t)
	ctx := context.Background()
	const userID = "7e57e000-0000-4000-8000-000000000003"
	if _, err := pool.Exec(ctx, `INSERT INTO users (id, name, email_address, state) VALUES ($1, 'Policy User', 'policy.user@notifyql.example', 'active')`, userID); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"DATABASE_URL": databaseURL, "NOTIFYQL_JWT_SECRET": testSecret,
		"NOTIFYQL_TOKEN_MAX_TTL": "2h", "NOTIFYQL_TOKEN_AUDIENCE": "notifyql-api", "NOTIFYQL_TOKEN_ISSUER": "notifyql-sign-in"}
	stdout, stderr, err := runCommand(t, vars, "token", "--email", "policy.user@notifyql.example")
	if err != nil {
		t.Fatalf("token: %v\nstderr: %s", err, stderr)
	}
	token := strings.TrimSpace(stdout)
	var claims jwt.RegisteredClaims
	if _, err := jwt.NewParser().ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil }); err != nil {
		t.Fatalf("parse the printed token: %v", err)
	}
	got := []any{[]string(claims.Audience), claims.Issuer, claims.ExpiresAt.Sub(claims.IssuedAt.Time)}
	if diff := cmp.Diff([]any{[]string{"notifyql-api"}, "notifyql-sign-in", 2 * time.Hour}, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	policy := server.TokenPolicy{MaxTTL: 2 * time.Hour, Audience: "notifyql-api", Issuer: "notifyql-sign-in"}
	auth := server.NewAuthenticator([]byte(testSecret), postgres.NewAccessStore(pool)).WithTokenPolicy(policy)
	if principal, err := auth.Authenticate(ctx, "Bearer "+token); err != nil || principal.User.ID != userID {
		t.Fatalf("Authenticate the printed token = %v, %v; want user %s", principal, err, userID)
	}
	// A token minted without the audience and issuer is refused by the same API.
	plain, err := server.MintToken([]byte(testSecret), userID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(ctx, "Bearer "+plain); err == nil {
		t.Error("a token without aud and iss was accepted where they are configured")
	}
}

// TestTokenRefusalsOverHTTP: each token the policy refuses answers UNAUTHENTICATED over
// POST /graphql, with a message saying why and never the token.
func TestTokenRefusalsOverHTTP(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	now := time.Now()
	sign := func(header map[string]any, claims jwt.RegisteredClaims) string {
		t.Helper()
		token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		for k, v := range header {
			token.Header[k] = v
		}
		signed, err := token.SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	claims := func(iat *jwt.NumericDate, exp time.Time) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Subject: userViewer, IssuedAt: iat, ExpiresAt: jwt.NewNumericDate(exp)}
	}
	tests := []struct {
		name, token, wantMessage string
	}{
		{"crit header", sign(map[string]any{"crit": []string{"exp"}}, claims(jwt.NewNumericDate(now), now.Add(time.Hour))),
			"invalid token: critical header extensions (crit) are not supported"},
		{"no iat", sign(nil, claims(nil, now.Add(time.Hour))), "invalid token: it has no issue time (iat)"},
		{"a week's lifetime", sign(nil, claims(jwt.NewNumericDate(now), now.Add(7*24*time.Hour))),
			"invalid token: its lifetime from iat to exp is 168h0m0s, longer than the maximum of 24h0m0s"},
		{"iat in the future", sign(nil, claims(jwt.NewNumericDate(now.Add(time.Hour)), now.Add(2*time.Hour))),
			"invalid token: it is issued in the future (iat)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.post(t, tt.token, `{ me { id } }`, nil)
			if code := resp.codeAt("me"); code != unauth {
				t.Fatalf("code %q, want UNAUTHENTICATED: %s", code, resp.body)
			}
			if resp.Errors[0].Message != tt.wantMessage {
				t.Errorf("message %q, want %q", resp.Errors[0].Message, tt.wantMessage)
			}
			if strings.Contains(resp.body, tt.token) || strings.Contains(resp.body, strings.Split(tt.token, ".")[2]) {
				t.Errorf("the response repeats the token: %s", resp.body)
			}
		})
	}
}
