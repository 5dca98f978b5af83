package server

import (
	"net/http/httptest"
	"testing"
)

func TestClientAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7 ,2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, remote string
		forwarded    []string
		want         string
	}{
		{"a client with no proxy", "198.51.100.1:4000", nil, "198.51.100.1"},
		{"an untrusted peer's X-Forwarded-For is not believed", "198.51.100.1:4000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"behind one trusted proxy", "10.1.2.3:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"behind two, the second listed", "10.1.2.3:4000", []string{"203.0.113.9, 192.0.2.7"}, "203.0.113.9"},
		{"over two headers", "10.1.2.3:4000", []string{"203.0.113.9", "10.9.9.9"}, "203.0.113.9"},
		{"what the client wrote on the left is not believed", "10.1.2.3:4000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"a garbled entry stops the walk at the last good hop", "10.1.2.3:4000", []string{"not-an-ip, 10.4.4.4"}, "10.4.4.4"},
		{"a trusted proxy with no header is the client", "10.1.2.3:4000", nil, "10.1.2.3"},
		{"IPv6 behind a trusted IPv6 proxy", "[2001:db8:ffff::1]:443", []string{"2001:db8:1:2::5"}, "2001:db8:1:2::5"},
		{"an IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", []string{"203.0.113.9"}, "203.0.113.9"},
	} {
		req := httptest.NewRequest("POST", "/graphql", nil)
		req.RemoteAddr = tt.remote
		for _, v := range tt.forwarded {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := proxies.clientAddress(req); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	req := httptest.NewRequest("POST", "/graphql", nil)
	req.RemoteAddr = "10.1.2.3:4000"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := TrustedProxies(nil).clientAddress(req); got != "10.1.2.3" {
		t.Errorf("with no trusted proxies: %q, want the peer", got)
	}
}

func TestParseTrustedProxiesRefusesWhatIsNotAnAddress(t *testing.T) {
	for _, list := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1:80", "10.0.0/8"} {
		if _, err := ParseTrustedProxies(list); err == nil {
			t.Errorf("%q: no error", list)
		}
	}
	if proxies, err := ParseTrustedProxies(" , "); err != nil || len(proxies) != 0 {
		t.Errorf("an empty list: %v, %v", proxies, err)
	}
}
