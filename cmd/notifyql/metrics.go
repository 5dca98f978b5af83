package main

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"notifyql/live"
	"notifyql/server"
)

// newMetrics returns the registry GET /metrics serves: the Go runtime's and the process's
// collectors, the GraphQL request metrics and, read at each scrape, the live path's figures,
// the open WebSocket count and the database pools' statistics.
func newMetrics(updates *liveUpdates, openWebSockets func() int, requests *server.RequestMetrics, pools map[string]*pgxpool.Pool) *prometheus.Registry {
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newLiveCollector(updates.hub.Stats, updates.queries.Queries, openWebSockets),
		requests,
		newPoolCollector(pools),
		renderFailures,
	)
	return registry
}

// poolCollector reads each database pool's statistics when scraped, labelled by the pool's
// role: "api" (queries, mutations, downloads) or "live" (the live path's own).
type poolCollector struct {
	pools                                    map[string]*pgxpool.Pool
	conns, maxConns, acquires, waits, waited *prometheus.Desc
	canceledAcquires                         *prometheus.Desc
}

func newPoolCollector(pools map[string]*pgxpool.Pool) *poolCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"pool"}, labels...), nil)
	}
	return &poolCollector{
		pools:            pools,
		conns:            desc("notifyql_db_pool_connections", "Connections in the pool, by state (acquired, idle, constructing).", "state"),
		maxConns:         desc("notifyql_db_pool_max_connections", "The most connections the pool may hold."),
		acquires:         desc("notifyql_db_pool_acquires_total", "Connections acquired from the pool."),
		waits:            desc("notifyql_db_pool_empty_acquires_total", "Acquires that had to wait because no connection was idle."),
		waited:           desc("notifyql_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections."),
		canceledAcquires: desc("notifyql_db_pool_canceled_acquires_total", "Acquires given up because their context ended."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.maxConns, c.acquires, c.waits, c.waited, c.canceledAcquires} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, pool := range c.pools {
		st := pool.Stat()
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(c.maxConns, prometheus.GaugeValue, float64(st.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(st.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, st.AcquireDuration().Seconds(), name)
		ch <- prometheus.MustNewConstMetric(c.canceledAcquires, prometheus.CounterValue, float64(st.CanceledAcquireCount()), name)
	}
}

// liveCollector reads the hub's counters, the live pool's statement count and the
// server's open WebSockets when scraped; it keeps nothing and runs nothing in between.
// No metric has labels: none is needed, and so none can carry personal data.
type liveCollector struct {
	stats          func() live.Stats
	queries        func() int64
	openWebSockets func() int
	metrics        []liveMetric
}

// liveMetric is one figure of liveCollector: its description, its type and how to read it.
type liveMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s live.Stats, queries int64, websockets int) float64
}

func newLiveMetric(name, help string, kind prometheus.ValueType, value func(s live.Stats, queries int64, websockets int) float64) liveMetric {
	return liveMetric{desc: prometheus.NewDesc(name, help, nil, nil), kind: kind, value: value}
}

func newLiveCollector(stats func() live.Stats, queries func() int64, openWebSockets func() int) *liveCollector {
	return &liveCollector{stats: stats, queries: queries, openWebSockets: openWebSockets, metrics: []liveMetric{
		newLiveMetric("notifyql_websocket_connections", "WebSocket connections open on this instance.",
			prometheus.GaugeValue, func(_ live.Stats, _ int64, ws int) float64 { return float64(ws) }),
		newLiveMetric("notifyql_live_subscriptions", "Live subscriptions held by this instance.",
			prometheus.GaugeValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Subscribers) }),
		newLiveMetric("notifyql_live_topics", "Distinct live topics this instance's subscriptions watch.",
			prometheus.GaugeValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Topics) }),
		newLiveMetric("notifyql_live_queue_drops_total", "Subscribers closed for leaving a snapshot untaken for too long.",
			prometheus.CounterValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Drops) }),
		newLiveMetric("notifyql_live_coalesced_total", "Snapshots replaced by a newer one before their subscriber took them.",
			prometheus.CounterValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Coalesced) }),
		newLiveMetric("notifyql_live_resyncs_total", "Gaps handled by recomputing the affected topics: relay elections, change listener gaps and Redis gaps.",
			prometheus.CounterValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Resyncs) }),
		newLiveMetric("notifyql_live_recomputed_total", "Snapshots this instance recomputed in relay ticks and resyncs.",
			prometheus.CounterValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Recomputed) }),
		newLiveMetric("notifyql_live_published_total", "Snapshots this instance published as the relay.",
			prometheus.CounterValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.Published) }),
		newLiveMetric("notifyql_live_access_changes_total", "Access change hints received, and gaps that made every subscription re-check its access.",
			prometheus.CounterValue, func(s live.Stats, _ int64, _ int) float64 { return float64(s.AccessChanges) }),
		newLiveMetric("notifyql_live_relay", "1 while this instance is the relay (holds the change listener's lock), else 0.",
			prometheus.GaugeValue, func(s live.Stats, _ int64, _ int) float64 {
				if s.Relay {
					return 1
				}
				return 0
			}),
		newLiveMetric("notifyql_live_relay_lag_p99_seconds", "99th percentile over recent relay ticks of the time from a tick's first change hint to the end of its publishing.",
			prometheus.GaugeValue, func(s live.Stats, _ int64, _ int) float64 { return s.RelayLagP99.Seconds() }),
		newLiveMetric("notifyql_live_db_queries_total", "Database statements the live path ran on its own connections: first snapshots, relay recomputes and the change listener's. Re-checks of subscribers' access run through the API's stores and are not counted.",
			prometheus.CounterValue, func(_ live.Stats, q int64, _ int) float64 { return float64(q) }),
	}}
}

// Describe sends every figure's description.
func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

// Collect reads the figures now.
func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	stats, queries, websockets := c.stats(), c.queries(), c.openWebSockets()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(stats, queries, websockets))
	}
}
