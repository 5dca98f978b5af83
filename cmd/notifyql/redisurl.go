package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// redisTopology is the Redis deployment REDIS_URL names, with its client's options:
// exactly one of single (one node), sentinel (a primary that Sentinel manages) and cluster
// (a Redis Cluster) is set.
type redisTopology struct {
	single   *goredis.Options
	sentinel *goredis.FailoverOptions
	cluster  *goredis.ClusterOptions
}

// newClient returns the client for the topology. Every Redis adapter takes it as a
// go-redis UniversalClient; the live bus switches to sharded pub/sub on a cluster.
func (t redisTopology) newClient() goredis.UniversalClient {
	switch {
	case t.sentinel != nil:
		return goredis.NewFailoverClient(t.sentinel)
	case t.cluster != nil:
		return goredis.NewClusterClient(t.cluster)
	default:
		return goredis.NewClient(t.single)
	}
}

// The schemes REDIS_URL may start with, besides go-redis's own redis://, rediss:// and
// unix:// for one node. The s in rediss- asks for TLS, as in rediss://.
const (
	sentinelScheme    = "redis-sentinel"
	sentinelTLSScheme = "rediss-sentinel"
	clusterScheme     = "redis-cluster"
	clusterTLSScheme  = "rediss-cluster"
)

// Default ports of a host written without one.
const (
	defaultRedisPort    = "6379"
	defaultSentinelPort = "26379"
)

// redisIdleConnsPerCPU bounds the idle connections the Redis client keeps, per CPU (on a
// cluster, per node), unless the URL sets max_idle_conns. go-redis keeps every connection
// it ever opened, idle, for as long as the process lives: a burst (or an attack) that
// widened the pool would leave its sockets open for good. Past the bound, a connection
// coming back is closed; steady use, a handful of calls at a time per CPU, keeps its own.
const redisIdleConnsPerCPU = 2

// redisOptions reads REDIS_URL:
//
//	redis://[[user]:password@]host[:port][/db][?option=value…]   one node (also rediss://, unix://)
//	redis-sentinel://[[user]:password@]host[:port][,host[:port]…][/db]?master_name=NAME[&sentinel_password=…][&option=value…]
//	redis-cluster://[[user]:password@]host[:port][,host[:port]…][?option=value…]
//
// The hosts of a redis-sentinel:// URL are Sentinels (port 26379 unless given), which name
// the current primary; those of a redis-cluster:// URL are any of the cluster's nodes
// (port 6379 unless given), from which the client learns the rest. The user and password
// are the data nodes' in every form; Sentinels that require a password of their own take
// sentinel_username and sentinel_password. The options are go-redis's URL options (such
// as dial_timeout or max_idle_conns). notifyql's settings apply where the URL sets none.
// The errors never repeat a password.
func redisOptions(raw string) (redisTopology, error) {
	t, err := parseRedisURL(raw)
	if err != nil {
		return redisTopology{}, fmt.Errorf("REDIS_URL %s: %w", maskURL(raw), err)
	}
	switch {
	case t.sentinel != nil:
		o := t.sentinel
		tuneRedisClient(&o.ReadBufferSize, &o.WriteBufferSize, &o.PipelineReadBufferSize, &o.PipelineWriteBufferSize, &o.MaxIdleConns, &o.ContextTimeoutEnabled)
	case t.cluster != nil:
		o := t.cluster
		tuneRedisClient(&o.ReadBufferSize, &o.WriteBufferSize, &o.PipelineReadBufferSize, &o.PipelineWriteBufferSize, &o.MaxIdleConns, &o.ContextTimeoutEnabled)
	default:
		o := t.single
		tuneRedisClient(&o.ReadBufferSize, &o.WriteBufferSize, &o.PipelineReadBufferSize, &o.PipelineWriteBufferSize, &o.MaxIdleConns, &o.ContextTimeoutEnabled)
	}
	return t, nil
}

func parseRedisURL(raw string) (redisTopology, error) {
	if !strings.Contains(raw, "://") {
		// A bare address (localhost:6379) parses as a URL whose scheme is the host name.
		return redisTopology{}, fmt.Errorf("not a URL but a bare address: write redis://HOST:PORT/DB (such as %s), "+
			"rediss:// for TLS, %s://HOST:26379/DB?master_name=NAME for Sentinel, %s://HOST:PORT for Redis Cluster, "+
			"or unix:///path/to/socket", bareAddressExample(raw), sentinelScheme, clusterScheme)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // the url.Error repeats the URL, password and all
		}
		return redisTopology{}, fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
		single, err := goredis.ParseURL(raw)
		if err != nil {
			return redisTopology{}, withoutURL(err)
		}
		return redisTopology{single: single}, nil
	case sentinelScheme, sentinelTLSScheme:
		sentinel, err := parseSentinelURL(u)
		return redisTopology{sentinel: sentinel}, err
	case clusterScheme, clusterTLSScheme:
		cluster, err := parseClusterURL(u)
		return redisTopology{cluster: cluster}, err
	default:
		return redisTopology{}, fmt.Errorf("unknown scheme %q: use redis:// or rediss:// (one node), unix:// (a socket), %s:// (Sentinel) or %s:// (Redis Cluster)",
			u.Scheme, sentinelScheme, clusterScheme)
	}
}

// bareAddressExample is the redis:// URL a bare host:port was probably meant as, or the
// default when the value is not one (it is not repeated, for it may be a password).
func bareAddressExample(raw string) string {
	host, port, err := net.SplitHostPort(raw)
	if err != nil || host == "" || strings.ContainsAny(host, "@/") {
		return "redis://localhost:6379/0"
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "redis://localhost:6379/0"
	}
	return "redis://" + net.JoinHostPort(host, port) + "/0"
}

func parseSentinelURL(u *url.URL) (*goredis.FailoverOptions, error) {
	q := u.Query()
	if q.Get("master_name") == "" {
		return nil, errors.New("a redis-sentinel:// URL needs ?master_name=, the name the Sentinels monitor the primary under")
	}
	sentinelUser, sentinelPassword := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	goRedisURL, err := hostListURL(u, q, defaultSentinelPort)
	if err != nil {
		return nil, err
	}
	o, err := goredis.ParseFailoverURL(goRedisURL)
	if err != nil {
		return nil, withoutURL(err)
	}
	o.Username, o.Password = userPassword(u)
	o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPassword
	return o, nil
}

func parseClusterURL(u *url.URL) (*goredis.ClusterOptions, error) {
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		return nil, fmt.Errorf("a Redis Cluster has database 0 only, not %q", db)
	}
	goRedisURL, err := hostListURL(u, u.Query(), defaultRedisPort)
	if err != nil {
		return nil, err
	}
	o, err := goredis.ParseClusterURL(goRedisURL)
	if err != nil {
		return nil, withoutURL(err)
	}
	o.Username, o.Password = userPassword(u)
	return o, nil
}

// hostListURL writes u, whose host is a comma-separated list, as the URL go-redis reads for
// Sentinel and Cluster: the first host as the host, the others as addr options. The user
// and password stay out of it (the callers set them), and so do the user's own password
// options, so that a password has one place only.
func hostListURL(u *url.URL, q url.Values, defaultPort string) (string, error) {
	for _, option := range []string{"password", "username", "addr"} {
		if q.Has(option) {
			return "", fmt.Errorf("option %s is not read here: write the user and password before the hosts (%s://user:password@host:port,…) and every host in the list", option, u.Scheme)
		}
	}
	addrs, err := hostList(u.Host, defaultPort)
	if err != nil {
		return "", err
	}
	for _, addr := range addrs[1:] {
		q.Add("addr", addr)
	}
	scheme := "redis"
	if strings.HasPrefix(u.Scheme, "rediss") {
		scheme = "rediss"
	}
	return (&url.URL{Scheme: scheme, Host: addrs[0], Path: u.Path, RawQuery: q.Encode()}).String(), nil
}

// hostList reads a comma-separated list of host[:port], giving defaultPort to a host
// written without one.
func hostList(list, defaultPort string) ([]string, error) {
	var addrs []string
	for host := range strings.SplitSeq(list, ",") {
		if host == "" {
			return nil, errors.New("the host list is empty or has an empty entry")
		}
		hostname, port, err := net.SplitHostPort(host)
		if err != nil { // no port
			hostname, port, err = net.SplitHostPort(host + ":" + defaultPort)
		}
		if err != nil || hostname == "" || port == "" || strings.Trim(port, "0123456789") != "" {
			return nil, fmt.Errorf("host %q is not host:port", host)
		}
		addrs = append(addrs, net.JoinHostPort(hostname, port))
	}
	return addrs, nil
}

// userPassword is the user and password before the hosts.
func userPassword(u *url.URL) (user, password string) {
	if u.User == nil {
		return "", ""
	}
	password, _ = u.User.Password()
	return u.User.Username(), password
}

// withoutURL keeps a go-redis parse error's message, minus the URL a url.Error carries.
func withoutURL(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// tuneRedisClient applies notifyql's settings, the same for every topology:
//
//   - go-redis's buffers fit what notifyql sends and reads: small commands, small replies,
//     and pipelines of snapshots (a relay tick's publishes). Its defaults (32 KiB each way
//     per connection, 128 KiB for pipeline reads) cost a pool that a burst of
//     subscriptions widens over a megabyte, paid by every instance; a larger command or
//     reply still passes, in more than one read or write.
//   - Each call's context deadline bounds its reads and writes too, not only its waits
//     between retries: a Redis that accepts connections but never answers (frozen) costs a
//     request the rate limiter's or a cache's own short bound, not the client's 3 s read
//     timeout on each of its retries.
//   - At most redisIdleConnsPerCPU idle connections per CPU unless the URL says otherwise.
func tuneRedisClient(readBuffer, writeBuffer, pipelineReadBuffer, pipelineWriteBuffer, maxIdleConns *int, contextTimeouts *bool) {
	*readBuffer = 4 << 10
	*writeBuffer = 4 << 10
	*pipelineReadBuffer = 4 << 10
	*pipelineWriteBuffer = 32 << 10
	*contextTimeouts = true
	if *maxIdleConns == 0 {
		*maxIdleConns = redisIdleConnsPerCPU * runtime.GOMAXPROCS(0)
	}
}
