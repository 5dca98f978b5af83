package server

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"notifyql"
)

const (
	linkTestUser  = "a0000000-0000-4000-8000-000000000002"
	linkTestOther = "a0000000-0000-4000-8000-000000000003"
	linkTestPath  = "/services/5e000000-0000-4000-8000-000000000001/download-notifications.csv"
)

func newTestLinkSigner(t *testing.T, secret, purpose string, ttl time.Duration, now time.Time) *LinkSigner {
	t.Helper()
	s, err := NewLinkSigner([]byte(secret), purpose, ttl)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	return s
}

func mustSignLink(t *testing.T, s *LinkSigner, target, user string) *url.URL {
	t.Helper()
	link, err := s.SignLink(target, user)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withQuery returns a copy of u whose query is changed by edit.
func withQuery(u *url.URL, edit func(url.Values)) *url.URL {
	copied := *u
	q := copied.Query()
	edit(q)
	copied.RawQuery = q.Encode()
	return &copied
}

func TestSignedLink(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	now := time.Date(2025, 7, 21, 10, 0, 0, 0, time.UTC)
	signer := newTestLinkSigner(t, secret, "download", 0, now)
	link := mustSignLink(t, signer, linkTestPath+"?message_type=sms&status=delivered", linkTestUser)

	if link.Path != linkTestPath || link.Query().Get("message_type") != "sms" || link.Query().Get("status") != "delivered" {
		t.Fatalf("signed link %s lost its target", link)
	}
	// The link holds the target's parameters and the three of its own, nothing else.
	for key := range link.Query() {
		switch key {
		case "message_type", "status", linkUserParam, linkExpiresParam, linkSignatureParam:
		default:
			t.Errorf("signed link has an unexpected parameter %q", key)
		}
	}
	if got, want := link.Query().Get(linkExpiresParam), "1753092300"; got != want {
		t.Errorf("expires = %s, want %s (5 minutes after now)", got, want)
	}

	user, err := signer.VerifyLink(link)
	if err != nil || user != linkTestUser {
		t.Fatalf("VerifyLink = %q, %v; want %q", user, err, linkTestUser)
	}
	if !IsSignedLink(link) {
		t.Error("IsSignedLink(signed link) = false")
	}
	if IsSignedLink(&url.URL{Path: linkTestPath, RawQuery: "message_type=sms"}) {
		t.Error("IsSignedLink(plain link) = true")
	}

	t.Run("within the TTL and the clock skew", func(t *testing.T) {
		later := newTestLinkSigner(t, secret, "download", 0, now.Add(DefaultLinkTTL+linkClockSkew))
		if _, err := later.VerifyLink(link); err != nil {
			t.Errorf("at expiry plus the skew: %v", err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		later := newTestLinkSigner(t, secret, "download", 0, now.Add(DefaultLinkTTL+linkClockSkew+time.Second))
		_, err := later.VerifyLink(link)
		if notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED || !strings.Contains(notifyql.ErrorMessage(err), "expired") {
			t.Errorf("expired link: %v, want EUNAUTHENTICATED saying it expired", err)
		}
	})

	invalid := map[string]*url.URL{
		"another service":   {Path: strings.Replace(link.Path, "000000000001", "000000000002", 1), RawQuery: link.RawQuery},
		"another file":      {Path: "/services/5e000000-0000-4000-8000-000000000001/inbox.csv", RawQuery: link.RawQuery},
		"another type":      withQuery(link, func(q url.Values) { q.Set("message_type", "email") }),
		"another status":    withQuery(link, func(q url.Values) { q.Set("status", "failed") }),
		"status removed":    withQuery(link, func(q url.Values) { q.Del("status") }),
		"parameter added":   withQuery(link, func(q url.Values) { q.Set("extra", "1") }),
		"another user":      withQuery(link, func(q url.Values) { q.Set(linkUserParam, linkTestOther) }),
		"later expiry":      withQuery(link, func(q url.Values) { q.Set(linkExpiresParam, "1753095600") }),
		"user repeated":     withQuery(link, func(q url.Values) { q.Add(linkUserParam, linkTestUser) }),
		"no user":           withQuery(link, func(q url.Values) { q.Del(linkUserParam) }),
		"no expiry":         withQuery(link, func(q url.Values) { q.Del(linkExpiresParam) }),
		"signature changed": withQuery(link, func(q url.Values) { q.Set(linkSignatureParam, flipFirst(q.Get(linkSignatureParam))) }),
		"signature cut":     withQuery(link, func(q url.Values) { q.Set(linkSignatureParam, q.Get(linkSignatureParam)[:20]) }),
		"signature garbage": withQuery(link, func(q url.Values) { q.Set(linkSignatureParam, "%%%not base64") }),
		"signature empty":   withQuery(link, func(q url.Values) { q.Set(linkSignatureParam, "") }),
		"no signature":      withQuery(link, func(q url.Values) { q.Del(linkSignatureParam) }),
		"bad query":         {Path: link.Path, RawQuery: link.RawQuery + "&%zz"},
	}
	for name, u := range invalid {
		t.Run(name, func(t *testing.T) {
			_, err := signer.VerifyLink(u)
			if notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED || notifyql.ErrorMessage(err) != "invalid download link" {
				t.Errorf("VerifyLink(%s) = %v, want EUNAUTHENTICATED invalid download link", name, err)
			}
		})
	}

	t.Run("other keys", func(t *testing.T) {
		for name, other := range map[string]*LinkSigner{
			"another purpose": newTestLinkSigner(t, secret, "report", 0, now),
			"another secret":  newTestLinkSigner(t, secret+"x", "download", 0, now),
		} {
			if _, err := other.VerifyLink(link); notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED {
				t.Errorf("%s: VerifyLink = %v, want EUNAUTHENTICATED", name, err)
			}
		}
	})

	t.Run("expiry beyond the TTL", func(t *testing.T) {
		long := newTestLinkSigner(t, secret, "download", time.Hour, now)
		if _, err := signer.VerifyLink(mustSignLink(t, long, linkTestPath, linkTestUser)); notifyql.ErrorCode(err) != notifyql.EUNAUTHENTICATED {
			t.Errorf("a link valid for an hour passed a 5-minute signer: %v", err)
		}
	})

	t.Run("bad targets", func(t *testing.T) {
		for _, tc := range []struct{ target, user string }{
			{"https://evil.example/x.csv", linkTestUser},
			{"//evil.example/x.csv", linkTestUser},
			{linkTestPath + "#frag", linkTestUser},
			{"", linkTestUser},
			{linkTestPath + "?user=" + linkTestOther, linkTestUser},
			{linkTestPath + "?signature=x", linkTestUser},
			{linkTestPath, "not-a-uuid"},
		} {
			if link, err := signer.SignLink(tc.target, tc.user); err == nil {
				t.Errorf("SignLink(%q, %q) = %q, want an error", tc.target, tc.user, link)
			}
		}
	})

	t.Run("constructor", func(t *testing.T) {
		if _, err := NewLinkSigner(nil, "download", 0); err == nil {
			t.Error("empty secret accepted")
		}
		if _, err := NewLinkSigner([]byte(secret), "", 0); err == nil {
			t.Error("empty purpose accepted")
		}
		if _, err := NewLinkSigner([]byte(secret), "download", -time.Second); err == nil {
			t.Error("negative TTL accepted")
		}
	})
}

// flipFirst changes the first character of a base64url string to another valid one.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
