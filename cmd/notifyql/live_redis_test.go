package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"notifyql/redistest"
)

// Live subscribers converge on the database truth across a failover of the Redis that
// carries their topic: on a Redis Cluster the master holding the topic's shard hands over to
// its replica, under Sentinel the primary does. Two instances share the database and
// Redis; the subscriber is on the one that is not the relay, so every snapshot it gets
// came through the bus, or from its hub's resync after the bus reported the gap. Rows
// written just before and just after the failover reach it.
func TestLiveSubscribersConvergeAcrossARedisFailover(t *testing.T) {
	for _, topology := range []string{"cluster", "sentinel"} {
		t.Run(topology, func(t *testing.T) {
			var url string
			var failover func(api *liveAPI)
			switch topology {
			case "cluster":
				cluster := redistest.StartCluster(t, true)
				url = cluster.URL()
				failover = func(api *liveAPI) {
					master, _ := cluster.MasterOf(t, dashboardChannel(t, api))
					cluster.Failover(t, cluster.ReplicaOf(t, master))
				}
			case "sentinel":
				sentinel := redistest.StartSentinel(t)
				url = sentinel.URL()
				failover = func(*liveAPI) { sentinel.Failover(t) }
			}
			relay := startLiveAPIWith(t, liveAPIOptions{redisURL: url})
			waitUntilRelay(t, relay)
			api := startLiveAPIWith(t, liveAPIOptions{redisURL: url, database: relay.pool})
			stream := subscribeOverWebSocket(t, api.wsURL, userViewer,
				`subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested } } }`,
				map[string]any{"id": serviceA})
			requested := next(t, stream, 10*time.Second)["dashboardTotals"].(map[string]any)["email"].(map[string]any)["requested"].(float64)
			resyncsBefore := api.updates.hub.Stats().Resyncs

			api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
			failover(api)
			api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())

			want := requested + 2 // the database's truth: two more emails
			deadline := time.Now().Add(15 * time.Second)
			for {
				got := next(t, stream, time.Until(deadline))["dashboardTotals"].(map[string]any)["email"].(map[string]any)["requested"].(float64)
				if got == want {
					break
				}
				if got > want {
					t.Fatalf("the subscriber sees %v emails; the database holds %v", got, want)
				}
			}
			if api.updates.hub.Stats().Relay {
				t.Fatal("the subscriber's instance became the relay: its snapshots need not have crossed the bus")
			}
			// The subscriber may have had the truth through the bus before the bus noticed
			// the failover; the gap must be noticed all the same.
			for api.updates.hub.Stats().Resyncs <= resyncsBefore {
				if time.Now().After(deadline) {
					t.Fatal("the subscriber's hub did not resync after the failover; want the bus's gap to make it")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// dashboardChannel is the cluster channel of the one dashboard topic the test's instance
// watches, read from the bus's registry.
func dashboardChannel(t *testing.T, api *liveAPI) string {
	t.Helper()
	prefix := "notifyql:" + api.pool.Config().ConnConfig.Database + ":live:"
	topics, err := api.redis.ZRange(context.Background(), prefix+"watched", 0, -1).Result()
	if err != nil {
		t.Fatalf("read the watched topics: %v", err)
	}
	for _, topic := range topics {
		if strings.HasPrefix(topic, "totals:") {
			return prefix + "{" + topic + "}"
		}
	}
	t.Fatalf("no dashboard totals topic among the watched %v", topics)
	return ""
}

// waitUntilRelay waits until api's instance holds the relay's lock.
func waitUntilRelay(t *testing.T, api *liveAPI) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !api.updates.hub.Stats().Relay {
		if time.Now().After(deadline) {
			t.Fatal("the first instance did not become the relay")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
