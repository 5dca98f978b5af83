package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the addresses of the load balancers and proxies in front of the API,
// whose X-Forwarded-For the API believes. Without them every client behind a load balancer
// would look like the load balancer, and share one per-address allowance.
type TrustedProxies []netip.Prefix

func (t TrustedProxies) trust(addr netip.Addr) bool {
	for _, p := range t {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// clientAddress is the address a request came from: the connection's peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is not one. The list
// is read from the right, where the trusted proxies appended what they saw; what a client
// wrote itself is on the left and is not believed.
func (t TrustedProxies) clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !t.trust(peer) {
		return host
	}
	client := peer
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = hop
		if !t.trust(hop) {
			break
		}
	}
	return client.Unmap().String()
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR prefixes.
func ParseTrustedProxies(list string) (TrustedProxies, error) {
	var proxies TrustedProxies
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if prefix, err := netip.ParsePrefix(item); err == nil {
			proxies = append(proxies, prefix.Masked())
			continue
		}
		addr, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix such as 10.0.0.0/8", item)
		}
		proxies = append(proxies, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	}
	return proxies, nil
}

type clientNetworkKey struct{}

// withClientNetwork records in ctx the client network (clientNetwork) that a request or a
// WebSocket came from, which its per-address allowance is counted by: an operation that
// costs more than its request (registering a persisted query) is counted against it too.
func withClientNetwork(ctx context.Context, network string) context.Context {
	return context.WithValue(ctx, clientNetworkKey{}, network)
}

// clientNetworkFrom is the client network withClientNetwork recorded, or "".
func clientNetworkFrom(ctx context.Context) string {
	network, _ := ctx.Value(clientNetworkKey{}).(string)
	return network
}
