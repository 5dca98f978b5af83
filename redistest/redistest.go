// Package redistest starts private Redis deployments for tests from the machine's
// redis-server: a three-master Redis Cluster and a Sentinel-managed primary with a replica,
// each on free ports and stopped when the test ends.
package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startTimeout bounds each wait for a deployment to come up or settle after a failover.
const startTimeout = 20 * time.Second

// RequireRedisServer skips the test when redis-server or redis-cli is not on PATH, or
// redis-server predates sharded pub/sub (7.0), saying why. Under CI=true it fails the
// test instead, so that these tests cannot silently stop running there.
func RequireRedisServer(tb testing.TB) {
	tb.Helper()
	reason := ""
	for _, name := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(name); err != nil {
			reason = fmt.Sprintf("%s is not on PATH (%v)", name, err)
		}
	}
	if reason == "" {
		out, err := exec.Command("redis-server", "--version").Output()
		major := 0
		if _, version, ok := strings.Cut(string(out), " v="); ok {
			major, _ = strconv.Atoi(strings.SplitN(version, ".", 2)[0])
		}
		if err != nil || major < 7 {
			reason = fmt.Sprintf("redis-server is older than 7.0, which sharded pub/sub needs (%q, %v)", out, err)
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s and CI=true: the Redis Cluster and Sentinel tests must run in CI", reason)
	}
	tb.Skip(reason)
}

// Server is one redis-server process of a deployment.
type Server struct {
	Port    int
	command *exec.Cmd
	// output is the server's log, a file so that no goroutine copies it (goleak).
	output string
	mu     sync.Mutex
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Kill stops the server at once, as a crash would; it is harmless when already stopped.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.command == nil {
		return
	}
	_ = s.command.Process.Kill()
	_ = s.command.Wait()
	s.command = nil
}

// dataNode is the arguments of a redis-server that keeps its data in memory only, and
// syncs a replica at once (the default waits 5 s for more replicas to share the sync).
func dataNode(port int, args ...string) []string {
	return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
		"--repl-diskless-sync-delay", "0"}, args...)
}

// start runs redis-server with args and waits until it answers PING, signed in with
// password when it is not "".
func start(tb testing.TB, port int, password string, args ...string) *Server {
	tb.Helper()
	s := &Server{Port: port, output: filepath.Join(tb.TempDir(), "redis-server.log")}
	log, err := os.Create(s.output)
	if err != nil {
		tb.Fatalf("create the redis-server log: %v", err)
	}
	defer log.Close()
	s.command = exec.Command("redis-server", args...)
	s.command.Stdout, s.command.Stderr = log, log
	if err := s.command.Start(); err != nil {
		tb.Fatalf("start redis-server on port %d: %v", port, err)
	}
	tb.Cleanup(s.Kill)
	client := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: password, MaxRetries: -1})
	defer client.Close()
	waitUntil(tb, "redis-server on port "+strconv.Itoa(port)+" answers", func() (bool, string) {
		err := client.Ping(context.Background()).Err()
		output, _ := os.ReadFile(s.output)
		return err == nil, fmt.Sprintf("%v\n%s", err, output)
	})
	return s
}

// freePorts returns n ports that were free a moment ago.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, n)
	listeners := make([]net.Listener, n)
	for i := range n {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("find a free port: %v", err)
		}
		listeners[i] = listener
		ports[i] = listener.Addr().(*net.TCPAddr).Port
	}
	for _, listener := range listeners {
		_ = listener.Close()
	}
	return ports
}

// waitUntil polls done until it reports true, failing the test after startTimeout with
// the last state done described.
func waitUntil(tb testing.TB, what string, done func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		ok, state := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s; last state: %s", startTimeout, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Cluster is a Redis Cluster of three masters, each with one replica when asked for.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts a Redis Cluster of three masters (and a replica for each when
// replicas is set, which failovers need) and waits until every node reports it healthy.
func StartCluster(tb testing.TB, replicas bool) *Cluster {
	tb.Helper()
	RequireRedisServer(tb)
	n := 3
	if replicas {
		n = 6
	}
	ports := freePorts(tb, 2*n) // a client port and a cluster bus port each
	c := &Cluster{}
	for i := range n {
		port, busPort := ports[2*i], ports[2*i+1]
		// A folder each: the node's cluster configuration, and the dump.rdb a replica's
		// full sync writes.
		dir := tb.TempDir()
		c.Nodes = append(c.Nodes, start(tb, port, "", dataNode(port,
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(busPort),
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
			"--cluster-node-timeout", "2000",
			"--dir", dir)...))
	}
	args := []string{"--cluster", "create"}
	for _, node := range c.Nodes {
		args = append(args, node.Addr())
	}
	replicasPerMaster := "0"
	if replicas {
		replicasPerMaster = "1"
	}
	args = append(args, "--cluster-replicas", replicasPerMaster, "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c.waitHealthy(tb)
	return c
}

// URL is the cluster's REDIS_URL.
func (c *Cluster) URL() string {
	addrs := make([]string, 0, 3)
	for _, node := range c.Nodes[:3] {
		addrs = append(addrs, node.Addr())
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// waitHealthy waits until every node reports cluster_state:ok, knows every other node,
// and every replica has caught up with its master.
func (c *Cluster) waitHealthy(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	for _, node := range c.Nodes {
		client := goredis.NewClient(&goredis.Options{Addr: node.Addr(), MaxRetries: -1})
		waitUntil(tb, "cluster node "+node.Addr()+" to be ready", func() (bool, string) {
			info, err := client.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") ||
				!strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))) {
				return false, fmt.Sprintf("%v %s", err, info)
			}
			// Every node knows every other's role (a failover needs the masters' votes).
			nodes, err := client.ClusterNodes(ctx).Result()
			if err != nil || strings.Count(nodes, "master") != min(3, len(c.Nodes)) || strings.Count(nodes, "slave") != len(c.Nodes)-3 {
				return false, fmt.Sprintf("%v %s", err, nodes)
			}
			replication, err := client.Info(ctx, "replication").Result()
			if err != nil || (strings.Contains(replication, "role:slave") && !strings.Contains(replication, "master_link_status:up")) {
				return false, fmt.Sprintf("%v %s", err, replication)
			}
			return true, ""
		})
		_ = client.Close()
	}
}

// MasterOf returns the node that is master of key's slot now, and its replica (nil without
// replicas).
func (c *Cluster) MasterOf(tb testing.TB, key string) (master, replica *Server) {
	tb.Helper()
	ctx := context.Background()
	// Asked of the first node that answers: one may have crashed.
	var client *goredis.Client
	for _, node := range c.Nodes {
		client = goredis.NewClient(&goredis.Options{Addr: node.Addr(), MaxRetries: -1})
		if client.Ping(ctx).Err() == nil {
			break
		}
		_ = client.Close()
	}
	defer client.Close()
	slot, err := client.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		tb.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	slots, err := client.ClusterSlots(ctx).Result()
	if err != nil {
		tb.Fatalf("CLUSTER SLOTS: %v", err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			master = c.node(tb, s.Nodes[0].Addr)
			if len(s.Nodes) > 1 {
				replica = c.node(tb, s.Nodes[1].Addr)
			}
			return master, replica
		}
	}
	tb.Fatalf("no node serves slot %d of %s: %v", slot, key, slots)
	return nil, nil
}

// ReplicaOf returns master's replica, waiting until the cluster lists it.
func (c *Cluster) ReplicaOf(tb testing.TB, master *Server) *Server {
	tb.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: master.Addr()})
	defer client.Close()
	var replica *Server
	waitUntil(tb, "a replica of "+master.Addr(), func() (bool, string) {
		role, err := client.Do(context.Background(), "ROLE").Slice()
		if err != nil || len(role) < 3 {
			return false, fmt.Sprintf("%v %v", role, err)
		}
		replicas, _ := role[2].([]any)
		for _, r := range replicas {
			fields, _ := r.([]any)
			if len(fields) >= 2 {
				replica = c.node(tb, net.JoinHostPort(fmt.Sprint(fields[0]), fmt.Sprint(fields[1])))
				return true, ""
			}
		}
		return false, fmt.Sprint(role)
	})
	return replica
}

func (c *Cluster) node(tb testing.TB, addr string) *Server {
	for _, node := range c.Nodes {
		if node.Addr() == addr {
			return node
		}
	}
	tb.Fatalf("%s is not a node of the cluster", addr)
	return nil
}

// Failover makes replica the master of its shard with CLUSTER FAILOVER (the planned kind:
// the old master hands over and becomes its replica) and waits until every node agrees.
func (c *Cluster) Failover(tb testing.TB, replica *Server) {
	tb.Helper()
	ctx := context.Background()
	client := goredis.NewClient(&goredis.Options{Addr: replica.Addr()})
	defer client.Close()
	// A manual failover the masters do not vote for within 5 s is dropped silently by
	// Redis: ask again until it happens.
	var asked time.Time
	waitUntil(tb, replica.Addr()+" to become a master", func() (bool, string) {
		role, err := client.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "master" {
			return true, ""
		}
		if time.Since(asked) > 6*time.Second {
			asked = time.Now()
			if err := client.ClusterFailover(ctx).Err(); err != nil {
				tb.Fatalf("CLUSTER FAILOVER on %s: %v", replica.Addr(), err)
			}
		}
		return false, fmt.Sprintf("%v %v", role, err)
	})
	c.waitHealthy(tb)
	c.awaitEverySees(tb, replica, nil)
}

// awaitEverySees waits until every node but skipped lists master as a master.
func (c *Cluster) awaitEverySees(tb testing.TB, master, skipped *Server) {
	tb.Helper()
	ctx := context.Background()
	for _, node := range c.Nodes {
		if node == skipped {
			continue
		}
		nodeClient := goredis.NewClient(&goredis.Options{Addr: node.Addr()})
		waitUntil(tb, node.Addr()+" to see "+master.Addr()+" as a master", func() (bool, string) {
			nodes, err := nodeClient.ClusterNodes(ctx).Result()
			for _, line := range strings.Split(nodes, "\n") {
				if strings.Contains(line, master.Addr()+"@") && strings.Contains(line, "master") {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%v %s", err, nodes)
		})
		_ = nodeClient.Close()
	}
}

// Crash kills master, as a machine failure would, and waits until replica, its replica,
// has taken its slots over (after the cluster's 2 s node timeout) and the cluster is
// whole again without it.
func (c *Cluster) Crash(tb testing.TB, master, replica *Server) {
	tb.Helper()
	ctx := context.Background()
	master.Kill()
	client := goredis.NewClient(&goredis.Options{Addr: replica.Addr()})
	defer client.Close()
	waitUntil(tb, replica.Addr()+" to take over from the crashed "+master.Addr(), func() (bool, string) {
		role, err := client.Do(ctx, "ROLE").Slice()
		info, infoErr := client.ClusterInfo(ctx).Result()
		return err == nil && len(role) > 0 && role[0] == "master" && infoErr == nil && strings.Contains(info, "cluster_state:ok"),
			fmt.Sprintf("%v %v %s %v", role, err, info, infoErr)
	})
	c.awaitEverySees(tb, replica, master)
}

// Sentinel is a primary, its replica and one Sentinel watching them.
type Sentinel struct {
	MasterName string
	Master     *Server
	Replica    *Server
	Sentinel   *Server
	Passwords  SentinelPasswords
}

// SentinelPasswords are the passwords a Sentinel deployment asks for, "" for none: the
// data nodes' (the primary's and its replica's) and the Sentinel's own.
type SentinelPasswords struct {
	Master, Sentinel string
}

// StartSentinel starts a primary, a replica of it and a Sentinel that monitors them, and
// waits until the Sentinel knows the replica (a failover needs one).
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	return StartSentinelWith(tb, SentinelPasswords{})
}

// StartSentinelWith is StartSentinel with passwords: the data nodes require
// passwords.Master (the replica and the Sentinel sign in to them with it) and the Sentinel
// requires passwords.Sentinel.
func StartSentinelWith(tb testing.TB, passwords SentinelPasswords) *Sentinel {
	tb.Helper()
	RequireRedisServer(tb)
	dir := tb.TempDir()
	ports := freePorts(tb, 3)
	s := &Sentinel{MasterName: "notifyql-test", Passwords: passwords}
	var auth []string
	if passwords.Master != "" {
		auth = []string{"--requirepass", passwords.Master, "--masterauth", passwords.Master}
	}
	// Each in a folder of its own: a replica's full sync writes dump.rdb there.
	s.Master = start(tb, ports[0], passwords.Master, dataNode(ports[0], append([]string{"--dir", tb.TempDir()}, auth...)...)...)
	s.Replica = start(tb, ports[1], passwords.Master, dataNode(ports[1], append([]string{"--dir", tb.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(ports[0])}, auth...)...)...)
	// Sentinel rewrites its configuration file, so it must be a file of its own.
	conf := filepath.Join(dir, "sentinel.conf")
	settings := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n", ports[2], dir) + fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n"+
		"sentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 5000\n", s.MasterName, ports[0])
	if passwords.Master != "" {
		settings += fmt.Sprintf("sentinel auth-pass %s %q\n", s.MasterName, passwords.Master) // quoted: a password may hold spaces
	}
	if passwords.Sentinel != "" {
		settings += fmt.Sprintf("requirepass %q\n", passwords.Sentinel)
	}
	if err := os.WriteFile(conf, []byte(settings), 0o600); err != nil {
		tb.Fatalf("write the sentinel configuration: %v", err)
	}
	// Sentinel takes its configuration file as the first argument.
	s.Sentinel = start(tb, ports[2], passwords.Sentinel, conf, "--sentinel")
	s.waitReplicaKnown(tb, s.Replica)
	return s
}

// Crash kills the primary, as a machine failure would, and waits until the Sentinel,
// having found it down (after 1 s), names the replica master; Master and Replica swap.
func (s *Sentinel) Crash(tb testing.TB) {
	tb.Helper()
	s.Master.Kill()
	s.awaitMaster(tb, s.Replica)
	s.Master, s.Replica = s.Replica, s.Master
}

// awaitMaster waits until the Sentinel names server master.
func (s *Sentinel) awaitMaster(tb testing.TB, server *Server) {
	tb.Helper()
	ctx := context.Background()
	client := s.sentinelClient()
	defer client.Close()
	waitUntil(tb, "the sentinel to name "+server.Addr()+" master", func() (bool, string) {
		addr, err := client.GetMasterAddrByName(ctx, s.MasterName).Result()
		return err == nil && len(addr) == 2 && net.JoinHostPort(addr[0], addr[1]) == server.Addr(), fmt.Sprintf("%v %v", addr, err)
	})
}

// URL is the deployment's REDIS_URL, its passwords in it.
func (s *Sentinel) URL() string {
	u := url.URL{Scheme: "redis-sentinel", Host: s.Sentinel.Addr(), Path: "/0"}
	q := url.Values{"master_name": {s.MasterName}}
	if s.Passwords.Master != "" {
		u.User = url.UserPassword("", s.Passwords.Master)
	}
	if s.Passwords.Sentinel != "" {
		q.Set("sentinel_password", s.Passwords.Sentinel)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// sentinelClient is a client of the Sentinel itself.
func (s *Sentinel) sentinelClient() *goredis.SentinelClient {
	return goredis.NewSentinelClient(&goredis.Options{Addr: s.Sentinel.Addr(), Password: s.Passwords.Sentinel})
}

// waitReplicaKnown waits until the Sentinel lists replica as a healthy replica.
func (s *Sentinel) waitReplicaKnown(tb testing.TB, replica *Server) {
	tb.Helper()
	ctx := context.Background()
	client := s.sentinelClient()
	defer client.Close()
	waitUntil(tb, "the sentinel to know "+replica.Addr(), func() (bool, string) {
		replicas, err := client.Replicas(ctx, s.MasterName).Result()
		for _, r := range replicas {
			if r["name"] == replica.Addr() && r["flags"] == "slave" && r["master-link-status"] == "ok" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%v %v", replicas, err)
	})
}

// Failover has the Sentinel promote the replica (SENTINEL FAILOVER) and waits until it
// names the replica as master; Master and Replica swap. (The Sentinel turns the old
// primary into a replica some seconds later, once it reports itself again.)
func (s *Sentinel) Failover(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	client := s.sentinelClient()
	defer client.Close()
	if err := client.Failover(ctx, s.MasterName).Err(); err != nil {
		tb.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	s.awaitMaster(tb, s.Replica)
	s.Master, s.Replica = s.Replica, s.Master
}
