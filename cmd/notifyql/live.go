package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/live"
	"notifyql/postgres"
	"notifyql/redis"
)

// liveUpdates is the running live path of one instance: the hub, the Redis bus that links
// instances, and the change listener that makes one instance the relay.
type liveUpdates struct {
	hub *live.Hub
	// queries counts the statements the live path has run on its own database
	// connections: snapshots, relay recomputes and the change listener's.
	queries *postgres.QueryCounter
	// pool is the live path's own database pool.
	pool *pgxpool.Pool
	stop func() error
}

// liveSpareConns is how many connections the live pool holds beyond the relay's workers.
const liveSpareConns = 2

// startLive starts the live path (docs/live.md). Stop it before Redis and
// the pool close. A namespace keeps its Redis channels apart from other deployments on the
// same Redis; "" is the default one.
//
// The live path runs its statements on a pool of its own, configured like the API's pool,
// whose tracer counts them: that count is the exact database cost of live updates
// (notifyql_live_db_queries_total, and the shutdown log line). Re-checks of a
// subscriber's access run through the API's stores, on the API's pool, and are not in it.
func startLive(ctx context.Context, e env, pool *pgxpool.Pool, rdb *redisBackend, london *time.Location, namespace string) (*liveUpdates, error) {
	opts := live.Options{Workers: live.DefaultWorkers, Tracing: e.tracing}
	queries := &postgres.QueryCounter{}
	// Config returns a copy: the API pool's own configuration is left alone. Its
	// statements' tracer, when it has one, traces the live path's statements too.
	cfg := pool.Config()
	cfg.ConnConfig.Tracer = postgres.Tracers(queries, cfg.ConnConfig.Tracer)
	// Small on purpose: a relay tick runs at most Workers queries at once, and the spare
	// connections serve the first snapshots of topics this instance holds none of yet
	// while a tick runs. A burst of new subscriptions then queues here for a connection
	// instead of taking the API pool's from queries and mutations, and however many
	// subscribers an instance has, the live path holds at most this many connections
	// (plus the change listener's, which it makes from the same configuration, outside
	// the pool, and which is counted too).
	cfg.MaxConns = int32(opts.Workers + liveSpareConns)
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	cfg.MinIdleConns = min(cfg.MinIdleConns, cfg.MaxConns)
	livePool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("configure the live updates' database pool: %w", err)
	}

	bus := redis.NewBus(rdb.Client, e.logger)
	if namespace != "" {
		bus.InNamespace(namespace)
	}
	if rdb.Sentinel {
		bus.UnderSentinel()
	}
	snapshots := &live.Snapshots{
		Notifications: postgres.NewNotificationStore(livePool, london),
		Jobs:          postgres.NewCatalogueStore(livePool),
		Inbox:         postgres.NewInboxStore(livePool),
		Services:      postgres.NewServiceStore(livePool),
		London:        london,
		Now:           time.Now,
	}
	hub := live.NewHub(bus, snapshots, e.logger, opts)
	listener := postgres.NewChangeListener(livePool, e.logger)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, run := range []func() error{
		func() error { return bus.Run(ctx, hub.Deliver, hub.BusGap) },
		func() error { return hub.Run(ctx) },
		func() error {
			return listener.Run(ctx, postgres.ChangeCallbacks{
				Elected:       hub.Elected,
				Changed:       hub.Changed,
				AccessChanged: hub.AccessChanged,
				Gap:           hub.ListenerGap,
				Deposed:       func() { hub.SetRelay(false) },
			})
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run()
		}()
	}
	return &liveUpdates{hub: hub, queries: queries, pool: livePool, stop: func() error {
		cancel()
		wg.Wait()
		livePool.Close()
		e.logger.Info("live updates stopped", "stats", hub.Stats(), "queries", queries.Queries())
		return errors.Join(errs...)
	}}, nil
}
