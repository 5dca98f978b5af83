package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
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

// serve runs on a Redis Cluster and on a Sentinel-managed primary as on one node: REDIS_URL
// (or, for Sentinel, the NOTIFYQL_REDIS_SENTINEL_* variables) names the topology, /readyz
// sees Redis answer, persisted queries, remembered searches and rate-limit allowances are
// kept in that Redis, and a subscription gets a plain SQL write through the live bus.
func TestServeRunsOnEveryRedisTopology(t *testing.T) {
	for _, topology := range []string{"cluster", "sentinel", "sentinel variables"} {
		t.Run(topology, func(t *testing.T) {
			var url string
			env := map[string]string{"NOTIFYQL_RATE_LIMIT_PER_IP": "60"}
			switch topology {
			case "cluster":
				url = redistest.StartCluster(t, false).URL()
				env["REDIS_URL"] = url
			case "sentinel":
				url = redistest.StartSentinel(t).URL()
				env["REDIS_URL"] = url
			case "sentinel variables":
				// Passwords on both, as a Secret would hold them, each in a variable.
				sentinel := redistest.StartSentinelWith(t, redistest.SentinelPasswords{Master: sentinelTestMasterPassword, Sentinel: sentinelTestPassword})
				url = sentinel.URL()
				env["REDIS_URL"] = "" // unset: startServe would name the machine's Redis
				env["NOTIFYQL_REDIS_SENTINEL_ADDRS"] = sentinel.Sentinel.Addr()
				env["NOTIFYQL_REDIS_SENTINEL_MASTER_NAME"] = sentinel.MasterName
				env["NOTIFYQL_REDIS_SENTINEL_MASTER_PASSWORD"] = sentinelTestMasterPassword
				env["NOTIFYQL_REDIS_SENTINEL_PASSWORD"] = sentinelTestPassword
			}
			topologyOptions, err := redisOptions(url)
			if err != nil {
				t.Fatal(err)
			}
			client := topologyOptions.newClient()
			t.Cleanup(func() { _ = client.Close() })
			api := startServe(t, env)
			base := strings.TrimSuffix(api.url, "/graphql")
			ctx := t.Context()

			if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /readyz: %v, %v", resp, err)
			} else {
				resp.Body.Close()
			}

			// A persisted query is kept in this Redis under its hash.
			query := newQueryMarker() + "{ me { id } }"
			stored := postServed(t, api.url, userManager, map[string]any{"query": query, "extensions": apqExtensions(query)})
			if !strings.Contains(stored, userManager) {
				t.Fatalf("a persisted query with its text: %s", stored)
			}
			if n, err := client.Exists(ctx, "apq-"+apqHash(query)).Result(); err != nil || n != 1 {
				t.Errorf("the persisted query's key: %d, %v; want it kept", n, err)
			}

			// A remembered search is kept there and finds, by its hash, a text sent now (the
			// fixture's are past the retention a real clock sees).
			var sent string
			if err := api.pool.QueryRow(ctx, `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
				VALUES ($1, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '07700900123', '447700900123', 'normal', 'delivered', now()) RETURNING id`, serviceA).Scan(&sent); err != nil {
				t.Fatal(err)
			}
			remembered := postServed(t, api.url, userMember, map[string]any{"query": rememberSearchMutation, "variables": map[string]any{"id": serviceA, "term": "07700 900123"}})
			hash := notifyql.SearchHash(testSearchKey(t), "07700 900123")
			if !strings.Contains(remembered, hash) {
				t.Fatalf("rememberSearch: %s", remembered)
			}
			found := postServed(t, api.url, userMember, map[string]any{"query": searchQuery, "variables": map[string]any{"id": serviceA, "type": "SMS", "search": map[string]any{"hash": hash}}})
			if !strings.Contains(found, sent) {
				t.Errorf("a search by the remembered hash: %s", found)
			}

			// 60 a minute per address, in bursts of 6: the allowance is counted in this Redis.
			limited := false
			for range 10 {
				if strings.Contains(postServed(t, api.url, userManager, map[string]any{"query": "{ me { id } }"}), "RATE_LIMITED") {
					limited = true
					break
				}
			}
			if !limited {
				t.Error("10 requests at once from one address were all answered; want the burst of 6 enforced")
			}
			var allowances []string
			if cluster, ok := client.(*goredis.ClusterClient); ok {
				err = cluster.ForEachMaster(ctx, func(ctx context.Context, master *goredis.Client) error {
					keys, err := master.Keys(ctx, "rate-limit-*").Result()
					allowances = append(allowances, keys...)
					return err
				})
			} else {
				allowances, err = client.Keys(ctx, "rate-limit-*").Result()
			}
			if err != nil || len(allowances) == 0 {
				t.Errorf("rate-limit keys in Redis: %v, %v; want the allowances counted there", allowances, err)
			}

			// A subscription sees a plain SQL write: the relay publishes through this Redis.
			stream := subscribeOverWebSocket(t, "ws"+strings.TrimPrefix(api.url, "http"), userViewer,
				`subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) { email { requested failed } } }`,
				map[string]any{"id": serviceA})
			seesWrites(t, stream, func(sql string, args ...any) {
				if _, err := api.pool.Exec(ctx, sql, args...); err != nil {
					t.Fatal(err)
				}
			})
			for _, password := range []string{sentinelTestMasterPassword, sentinelTestPassword} {
				if strings.Contains(api.stdout.String(), password) || strings.Contains(api.stderr.String(), password) {
					t.Errorf("serve's output shows a Redis password")
				}
			}
		})
	}
}

// The passwords of the Sentinel deployment TestServeRunsOnEveryRedisTopology names by
// variables; characters a URL escapes included.
const (
	sentinelTestMasterPassword = "m4ster pw/@:%"
	sentinelTestPassword       = "s3ntinel&pw=?"
)

// postServed posts a GraphQL request to serve at url as userID and returns the body.
func postServed(t *testing.T, url, userID string, body map[string]any) string {
	t.Helper()
	encoded, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(encoded))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, userID))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(answer)
}
