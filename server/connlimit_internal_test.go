package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Connections are counted by the address that the per-address rate limit counts: an IPv4
// address, the /64 of an IPv6 address (one host usually holds it whole), and a trusted
// proxy by its own address, against its own bound.
func TestConnectionBuckets(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	l := &addressLimitedListener{limits: ConnectionLimits{MaxPerAddress: 3, MaxPerProxy: 9}, proxies: proxies}
	for _, tt := range []struct {
		remote, wantBucket string
		wantBound          int
	}{
		{"198.51.100.7:4000", "198.51.100.7", 3},
		{"[::ffff:198.51.100.7]:4000", "198.51.100.7", 3},
		{"[2001:db8:1:2::5]:443", "2001:db8:1:2::/64", 3},
		{"[2001:db8:1:2:ffff::9]:443", "2001:db8:1:2::/64", 3},
		{"[2001:db8:1:3::5]:443", "2001:db8:1:3::/64", 3},
		{"10.1.2.3:4000", "proxy 10.1.2.3", 9},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.remote)
		if err != nil {
			t.Fatal(err)
		}
		if bucket, bound := l.bucket(addr); bucket != tt.wantBucket || bound != tt.wantBound {
			t.Errorf("bucket(%s) = %q, %d; want %q, %d", tt.remote, bucket, bound, tt.wantBucket, tt.wantBound)
		}
	}
}

// Past its bound, a connection is answered 429 with the JSON error every refusal has, and
// closed; closing an admitted one makes room again.
func TestAddressLimitedListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newAddressLimitedListener(inner, ConnectionLimits{MaxPerAddress: 1}, nil, nil)
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- conn
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	first := dial()
	admitted := <-accepted

	second := dial()
	_ = second.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(second, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(second), nil)
	if err != nil {
		t.Fatalf("a connection past the bound: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if want := `{"errors":[{"extensions":{"code":"TOO_MANY_CONNECTIONS"},"message":"too many connections from your address: close some before opening more"}]}`; res.StatusCode != http.StatusTooManyRequests || string(body) != want || !res.Close {
		t.Fatalf("a connection past the bound: %d %s (close %v), want 429 %s", res.StatusCode, body, res.Close, want)
	}

	first.Close()
	admitted.Close()
	dial()
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("a connection after one closed was not admitted")
	}
}
