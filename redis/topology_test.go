package redis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"notifyql"
	"notifyql/redistest"
)

// These tests run the Redis adapters on a private three-master Redis Cluster and on a
// Sentinel-managed primary (redistest), failovers included.

// goroutinesLeftByGoRedis are go-redis's own: its cluster client rereads the cluster's
// layout on a goroutine that outlives Close by its cooldown, and its Sentinel client
// listens for failovers on one that ends soon after.
var goroutinesLeftByGoRedis = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9.(*clusterStateHolder).LazyReload.func1"),
	goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9.(*sentinelFailover).listen"),
	goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"),
}

// verifyNoLeaksAtTheEnd checks for leaked goroutines once the test's clean-ups (which
// close its clients and stop its servers) have run: registered first, it runs last.
func verifyNoLeaksAtTheEnd(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goroutinesLeftByGoRedis...) })
}

func newClusterClient(tb testing.TB, cluster *redistest.Cluster) *goredis.ClusterClient {
	tb.Helper()
	addrs := make([]string, 0, len(cluster.Nodes))
	for _, node := range cluster.Nodes {
		addrs = append(addrs, node.Addr())
	}
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	tb.Cleanup(func() { _ = client.Close() })
	return client
}

func newSentinelClient(tb testing.TB, sentinel *redistest.Sentinel) *goredis.Client {
	tb.Helper()
	client := goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName:    sentinel.MasterName,
		SentinelAddrs: []string{sentinel.Sentinel.Addr()},
	})
	tb.Cleanup(func() { _ = client.Close() })
	return client
}

// topicsOnEveryShard returns n topics per master of the cluster, keyed by the master's
// address, and checks that the bus's channels spread them over all three.
func topicsOnEveryShard(tb testing.TB, bus *Bus, cluster *redistest.Cluster, n int) map[string][]string {
	tb.Helper()
	byMaster := make(map[string][]string)
	for i := 0; len(byMaster) < 3 || minLen(byMaster) < n; i++ {
		if i > 1000 {
			tb.Fatalf("1000 topics hashed onto %d masters only", len(byMaster))
		}
		topic := uniqueTopic(tb, fmt.Sprint(i))
		master, _ := cluster.MasterOf(tb, bus.channelName(topic))
		if len(byMaster[master.Addr()]) < n {
			byMaster[master.Addr()] = append(byMaster[master.Addr()], topic)
		}
	}
	return byMaster
}

func minLen(m map[string][]string) int {
	least := -1
	for _, v := range m {
		if least < 0 || len(v) < least {
			least = len(v)
		}
	}
	return least
}

// waitForShardSubscribers waits until want connections are subscribed to topic's sharded
// channel, on any node of its shard: the master, or a replica, to which Redis sends the
// shard's messages too (a bus whose reconnect was routed by a layout a moment stale may
// land there, and receives all the same).
func waitForShardSubscribers(tb testing.TB, bus *Bus, cluster *redistest.Cluster, topic string, want int64) {
	tb.Helper()
	channel := bus.channelName(topic)
	deadline := time.Now().Add(waitFor)
	for {
		var total int64
		var errs []error
		for _, node := range cluster.Nodes {
			client := goredis.NewClient(&goredis.Options{Addr: node.Addr()})
			counts, err := client.PubSubShardNumSub(context.Background(), channel).Result()
			_ = client.Close()
			total += counts[channel]
			if err != nil {
				errs = append(errs, err)
			}
		}
		// A crashed node does not answer; the others are counted.
		if len(errs) < len(cluster.Nodes) && total == want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("PUBSUB SHARDNUMSUB %s over the cluster = %d, %v after %s; want %d", channel, total, errs, waitFor, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receiveAll waits for want's snapshots, in any order, and fails on anything else.
func (r *runningBus) receiveAll(tb testing.TB, want map[string]string) {
	tb.Helper()
	got := make(map[string]string)
	for range want {
		select {
		case m := <-r.messages:
			got[m.topic] = m.payload
		case <-time.After(waitFor):
			tb.Fatalf("received %d of %d snapshots within %s", len(got), len(want), waitFor)
		}
	}
	if !maps.Equal(got, want) {
		tb.Errorf("received %v; want %v", got, want)
	}
}

// expectGap waits for onGap.
func (r *runningBus) expectGap(tb testing.TB, after string) {
	tb.Helper()
	select {
	case <-r.gaps:
	case <-time.After(waitFor):
		tb.Fatalf("onGap not called within %s of %s", waitFor, after)
	}
}

// On a cluster the bus subscribes with SSUBSCRIBE on the master owning each topic's slot,
// one connection per master, and publishes with SPUBLISH, nothing broadcast to every node.
func TestBusOnAClusterUsesShardedPubSubOnEveryMaster(t *testing.T) {
	verifyNoLeaksAtTheEnd(t)
	cluster := redistest.StartCluster(t, false)
	client := newClusterClient(t, cluster)
	ctx := context.Background()
	bus := NewBus(client, quietLogger())

	byMaster := topicsOnEveryShard(t, bus, cluster, 2)
	masters := slices.Sorted(maps.Keys(byMaster))
	// Subscribed before Run: the topics of two masters. While running: the third's, which
	// needs a connection the session did not open with.
	var before []string
	for _, addr := range masters[:2] {
		before = append(before, byMaster[addr]...)
	}
	running := MustRunBusSubscribed(t, bus, before...)
	defer running.stop()
	if err := bus.Subscribe(ctx, byMaster[masters[2]]...); err != nil {
		t.Fatalf("Subscribe while running: %v", err)
	}
	want := make(map[string]string)
	snapshots := make(map[string][]byte)
	for _, topics := range byMaster {
		for _, topic := range topics {
			waitForShardSubscribers(t, bus, cluster, topic, 1)
			want[topic] = "snapshot of " + topic
			snapshots[topic] = []byte(want[topic])
		}
	}
	bus.mu.Lock()
	links := len(bus.session.links)
	bus.mu.Unlock()
	if links != 3 {
		t.Errorf("the bus holds %d connections for topics on 3 masters; want one each", links)
	}

	if failed, err := bus.PublishMany(ctx, snapshots); err != nil || failed != nil {
		t.Fatalf("PublishMany = %v, %v; want no failures", failed, err)
	}
	running.receiveAll(t, want)

	// Sharded only: no node holds a plain channel of ours.
	for _, node := range cluster.Nodes {
		nodeClient := goredis.NewClient(&goredis.Options{Addr: node.Addr()})
		plain, err := nodeClient.PubSubChannels(ctx, liveChannelPrefix+"*").Result()
		sharded, shardErr := nodeClient.PubSubShardChannels(ctx, liveChannelPrefix+"*").Result()
		_ = nodeClient.Close()
		if err != nil || len(plain) != 0 {
			t.Errorf("node %s: plain channels %v, %v; want none", node.Addr(), plain, err)
		}
		if shardErr != nil || len(sharded) != 2 {
			t.Errorf("node %s: sharded channels %v, %v; want its 2 topics'", node.Addr(), sharded, shardErr)
		}
	}

	// Once Unsubscribe returns, nothing more comes for the topic; the others still arrive.
	gone, kept := byMaster[masters[0]][0], byMaster[masters[0]][1]
	if err := bus.Unsubscribe(ctx, gone); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	waitForShardSubscribers(t, bus, cluster, gone, 0)
	if err := bus.Publish(ctx, gone, []byte("unwanted")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := bus.Publish(ctx, kept, []byte("still wanted")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	running.expectMessage(t, busMessage{kept, "still wanted"})

	running.stop()
	if len(running.gaps) != 0 {
		t.Errorf("onGap called %d times on a cluster that never failed; want 0", len(running.gaps))
	}
}

// A failover moves a subscribed topic's shard to another node, planned (CLUSTER FAILOVER:
// the old master hands over and stays as a replica) or after its master crashed: the bus
// notices, subscribes again on the new master, reports the gap (the hub then resyncs),
// and receives again, on every shard.
func TestBusOnAClusterRecoversFromAFailoverOfATopicsShard(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "planned", true: "crash"}[crash], func(t *testing.T) {
			verifyNoLeaksAtTheEnd(t)
			cluster := redistest.StartCluster(t, true)
			client := newClusterClient(t, cluster)
			ctx := context.Background()
			bus := NewBus(client, quietLogger())

			byMaster := topicsOnEveryShard(t, bus, cluster, 1)
			var topics []string
			for _, t := range byMaster {
				topics = append(topics, t...)
			}
			running := MustRunBusSubscribed(t, bus, topics...)
			defer running.stop()
			for _, topic := range topics {
				waitForShardSubscribers(t, bus, cluster, topic, 1)
			}
			failing := topics[0]
			if err := bus.Publish(ctx, failing, []byte("before")); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			running.expectMessage(t, busMessage{failing, "before"})

			oldMaster, _ := cluster.MasterOf(t, bus.channelName(failing))
			replica := cluster.ReplicaOf(t, oldMaster)
			if crash {
				cluster.Crash(t, oldMaster, replica)
			} else {
				cluster.Failover(t, replica)
			}
			if now, _ := cluster.MasterOf(t, bus.channelName(failing)); now != replica {
				t.Fatalf("after the failover %s is master of the topic's slot; want %s", now.Addr(), replica.Addr())
			}
			running.expectGap(t, "the failover of "+oldMaster.Addr())
			for _, topic := range topics {
				waitForShardSubscribers(t, bus, cluster, topic, 1)
			}
			want := make(map[string]string)
			snapshots := make(map[string][]byte)
			for _, topic := range topics {
				want[topic] = "after " + topic
				snapshots[topic] = []byte(want[topic])
			}
			if failed, err := bus.PublishMany(ctx, snapshots); err != nil || failed != nil {
				t.Fatalf("PublishMany after the failover = %v, %v", failed, err)
			}
			running.receiveAll(t, want)
		})
	}
}

// With Sentinel the bus follows the primary: after a failover, planned (SENTINEL FAILOVER,
// which leaves the old primary up) or after the primary crashed, it subscribes on the new
// one, reports the gap, and receives again.
func TestBusWithSentinelRecoversFromAFailover(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "planned", true: "crash"}[crash], func(t *testing.T) {
			verifyNoLeaksAtTheEnd(t)
			sentinel := redistest.StartSentinel(t)
			client := newSentinelClient(t, sentinel)
			ctx := context.Background()

			topic := uniqueTopic(t, "topic")
			running := MustRunBusSubscribed(t, NewBus(client, quietLogger()).UnderSentinel(), topic)
			defer running.stop()
			oldMaster := goredis.NewClient(&goredis.Options{Addr: sentinel.Master.Addr()})
			defer oldMaster.Close()
			waitForSubscribers(t, oldMaster, topic, 1)
			if err := running.Publish(ctx, topic, []byte("before")); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			running.expectMessage(t, busMessage{topic, "before"})

			if crash {
				sentinel.Crash(t)
			} else {
				sentinel.Failover(t)
			}
			running.expectGap(t, "the failover")
			newMaster := goredis.NewClient(&goredis.Options{Addr: sentinel.Master.Addr()})
			defer newMaster.Close()
			waitForSubscribers(t, newMaster, topic, 1)
			deadline := time.Now().Add(waitFor)
			for {
				// The client may still write to the old primary, now a read-only replica,
				// until Sentinel's announcement reaches it.
				err := running.Publish(ctx, topic, []byte("after"))
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Publish after the failover: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			running.expectMessage(t, busMessage{topic, "after"})
		})
	}
}

// The rate limiter, the search cache, the persisted-query cache, letter uploads, the
// letter render cache (a script on two keys) and the watched-topic registry work on a
// cluster and on a Sentinel-managed primary as on one node.
func TestRedisAdaptersWorkOnEveryTopology(t *testing.T) {
	verifyNoLeaksAtTheEnd(t)
	for name, start := range map[string]func(t *testing.T) goredis.UniversalClient{
		"cluster": func(t *testing.T) goredis.UniversalClient {
			return newClusterClient(t, redistest.StartCluster(t, false))
		},
		"sentinel": func(t *testing.T) goredis.UniversalClient { return newSentinelClient(t, redistest.StartSentinel(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			client := start(t)
			ctx := t.Context()

			limiter := NewRateLimiter(client, testRateLimitNamespace(t))
			for i := range 3 {
				if allowed, _, err := limiter.Allow(ctx, "user-1", 60, 3); err != nil || !allowed {
					t.Fatalf("rate limit: request %d of the burst: %v, %v", i+1, allowed, err)
				}
			}
			if allowed, retryAfter, err := limiter.Allow(ctx, "user-1", 60, 3); err != nil || allowed || retryAfter <= 0 {
				t.Errorf("rate limit: past the burst: allowed %v, retry after %s, %v", allowed, retryAfter, err)
			}

			searches := NewSearchCache(client)
			serviceID := randomServiceID(t)
			if err := searches.Remember(ctx, serviceID, "hash", "a term"); err != nil {
				t.Fatalf("Remember: %v", err)
			}
			if term, err := searches.Recall(ctx, serviceID, "hash"); err != nil || term != "a term" {
				t.Errorf("Recall = %q, %v", term, err)
			}
			if _, err := searches.Recall(ctx, randomServiceID(t), "hash"); notifyql.ErrorCode(err) != notifyql.ESEARCHEXPIRED {
				t.Errorf("Recall in another service: %v; want ESEARCHEXPIRED", err)
			}

			apq := NewAPQCache(client)
			apq.Add(ctx, "sha", "{ me { name } }")
			if query, ok := apq.Get(ctx, "sha"); !ok || query != "{ me { name } }" {
				t.Errorf("APQ Get = %q, %v", query, ok)
			}

			uploads := NewLetterUploads(client)
			upload := notifyql.LetterUpload{PDF: []byte("%PDF-1.7")}
			if err := uploads.PutLetterUpload(ctx, "upload-1", upload, time.Minute); err != nil {
				t.Fatalf("PutLetterUpload: %v", err)
			}
			if got, err := uploads.LetterUpload(ctx, "upload-1"); err != nil || string(got.PDF) != "%PDF-1.7" {
				t.Errorf("LetterUpload = %v, %v", got, err)
			}

			renders := NewLetterRenderCache(client, "test", 16<<10, time.Minute)
			renders.Put(ctx, "page-1", []byte("rendered"))
			if got, ok := renders.Get(ctx, "page-1"); !ok || string(got) != "rendered" {
				t.Errorf("render cache Get = %q, %v", got, ok)
			}

			bus := NewBus(client, quietLogger())
			if err := bus.Watch(ctx, []string{"b", "a"}, time.Minute); err != nil {
				t.Fatalf("Watch: %v", err)
			}
			if watched, err := bus.Watched(ctx); err != nil || !slices.Equal(watched, []string{"a", "b"}) {
				t.Errorf("Watched = %v, %v", watched, err)
			}
		})
	}
}

// The channel of a topic is hashed on the topic alone on a cluster, and read back.
func TestBusChannelNamesOnACluster(t *testing.T) {
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{unreachableRedisAddr(t)}})
	defer client.Close()
	bus := NewBus(client, quietLogger()).InNamespace("ns")
	channel := bus.channelName("dashboard:svc:7d")
	if channel != "notifyql:ns:live:{dashboard:svc:7d}" {
		t.Errorf("channel %q", channel)
	}
	if topic, ok := bus.topicOf(channel); !ok || topic != "dashboard:svc:7d" {
		t.Errorf("topicOf(%q) = %q, %v", channel, topic, ok)
	}
	if _, ok := bus.topicOf("notifyql:ns:live:dashboard"); ok || strings.Contains(channel, "}:") {
		t.Error("a channel without the hash tag was read as a topic")
	}
}
