package server

import (
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// ConnectionLimits bound what a client's connections may hold of the server's file
// descriptors and time before (and between) its requests. Request limits (Limits) bound
// what a request may ask once it has arrived.
type ConnectionLimits struct {
	// IdleTimeout closes a keep-alive connection that has waited this long for its next
	// request; 0 takes the default.
	IdleTimeout time.Duration
	// BodyTimeout bounds how long a request may take to arrive, its headers and body,
	// counted from its first byte (the headers alone have 10 s); past it the request is
	// answered 408 BODY_TIMEOUT and its connection closed. net/http lifts the deadline once
	// the body has been read, and at once for a request without one, so an answer that
	// takes long to compute or to send (an operation, a download, a WebSocket) is not bound
	// by it. 0 takes the default.
	BodyTimeout time.Duration
	// MaxPerAddress bounds the connections open at once from one client address (an IPv6
	// address by its /64, which one host usually holds whole), counted at accept by the TCP
	// peer's address; past it a connection is answered 429 TOO_MANY_CONNECTIONS and closed.
	// 0: no bound.
	MaxPerAddress int
	// MaxPerProxy is MaxPerAddress for a trusted proxy (Config.TrustedProxies), each of whose
	// connections may carry a different client: its clients are told apart only once a
	// request's X-Forwarded-For is read, after accept. It is a separate, higher bound, for
	// a load balancer that opens a connection per WebSocket. 0: no bound.
	MaxPerProxy int
}

// DefaultConnectionLimits are serve's connection limits. An idle keep-alive outlives the
// 60 s that load balancers commonly keep an idle connection to a backend, so the balancer,
// not the server, closes it (a server closing first races the balancer's next request). A
// 64 KiB body arrives in well under 30 s even on a poor mobile link. 256 connections from
// one address leave room for an office behind one NAT address, each person's browser
// holding a few keep-alives and a WebSocket; a load balancer gets 20,000, twice the
// WebSockets one instance is benchmarked with (make bench-live).
func DefaultConnectionLimits() ConnectionLimits {
	return ConnectionLimits{IdleTimeout: 120 * time.Second, BodyTimeout: 30 * time.Second, MaxPerAddress: 256, MaxPerProxy: 20000}
}

// withDefaults fills each timeout left at zero with its default; the bounds are left as
// they are, zero there meaning no bound.
func (l ConnectionLimits) withDefaults() ConnectionLimits {
	d := DefaultConnectionLimits()
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.BodyTimeout == 0 {
		l.BodyTimeout = d.BodyTimeout
	}
	return l
}

// addressLimitedListener counts the open connections of each client address as it accepts
// them, and refuses those past the address's bound before net/http sees them: a refused
// connection costs no goroutine of net/http's and holds its descriptor for at most
// refusalLinger.
type addressLimitedListener struct {
	net.Listener
	limits  ConnectionLimits
	proxies TrustedProxies
	metrics *RequestMetrics

	mu   sync.Mutex
	open map[string]int // connections open now, by bucket
	// refusing holds a token per refusal still being answered; when it is full, a
	// connection past its bound is closed without an answer.
	refusing chan struct{}
}

// maxRefusing bounds the refusals answered at once: a flood of connections past their
// bound then costs at most this many goroutines and descriptors beyond the bounds.
const maxRefusing = 64

// refusalLinger is how long a refused connection is kept to deliver its answer: the
// client's request is read and dropped meanwhile, so that closing does not reset the
// connection before the client has read why.
const refusalLinger = time.Second

func newAddressLimitedListener(ln net.Listener, limits ConnectionLimits, proxies TrustedProxies, metrics *RequestMetrics) net.Listener {
	if limits.MaxPerAddress <= 0 && limits.MaxPerProxy <= 0 {
		return ln
	}
	return &addressLimitedListener{Listener: ln, limits: limits, proxies: proxies, metrics: metrics,
		open: make(map[string]int), refusing: make(chan struct{}, maxRefusing)}
}

// Accept returns the next connection within its address's bound, refusing the others.
func (l *addressLimitedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		bucket, bound := l.bucket(conn.RemoteAddr())
		if bound <= 0 {
			return conn, nil
		}
		l.mu.Lock()
		admitted := l.open[bucket] < bound
		if admitted {
			l.open[bucket]++
		}
		l.mu.Unlock()
		if admitted {
			return &countedConn{Conn: conn, release: func() { l.release(bucket) }}, nil
		}
		l.metrics.countError(tooManyConnections)
		l.refuse(conn)
	}
}

// bucket is what a connection is counted by, and that bucket's bound: a trusted proxy by
// its own address, any other client by clientNetwork, as the per-address rate limit counts.
func (l *addressLimitedListener) bucket(addr net.Addr) (string, int) {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		host = addr.String()
	}
	if peer, err := netip.ParseAddr(host); err == nil && l.proxies.trust(peer) {
		return "proxy " + peer.Unmap().String(), l.limits.MaxPerProxy
	}
	return clientNetwork(host), l.limits.MaxPerAddress
}

func (l *addressLimitedListener) release(bucket string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[bucket]--; l.open[bucket] <= 0 {
		delete(l.open, bucket)
	}
}

// refuse answers a connection past its bound with 429 and closes it, in the background
// so that accepting goes on; with maxRefusing answers under way it closes it at once.
func (l *addressLimitedListener) refuse(conn net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = conn.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(refusalLinger))
		if _, err := conn.Write(refusalResponse); err != nil {
			return
		}
		// The answer is followed by the end of the stream; what the client sends is read
		// until it closes too, or the linger ends.
		if closer, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = closer.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(conn, 64<<10))
	}()
}

// tooManyConnections is the code of a connection refused past its address's bound.
const tooManyConnections = "TOO_MANY_CONNECTIONS"

// refusalResponse is the whole HTTP answer to a connection past its address's bound, written
// before its request is read: the JSON error body every refusal has.
var refusalResponse = func() []byte {
	body, err := json.Marshal(map[string]any{"errors": []map[string]any{{
		"message":    "too many connections from your address: close some before opening more",
		"extensions": map[string]any{"code": tooManyConnections},
	}}})
	if err != nil {
		panic(err)
	}
	head := "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
}()

// countedConn is an admitted connection, counted against its bucket until it is closed,
// by net/http or, once hijacked, by the WebSocket that took it over.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite is the TCP connection's, which net/http uses to close a connection
// gracefully after refusing a request whose body it did not read.
func (c *countedConn) CloseWrite() error {
	if closer, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return closer.CloseWrite()
	}
	return nil
}
