package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql/live"
	"notifyql/postgres"
	"notifyql/redis"
)

// liveUpdates is the running live path of one instance: the hub, the Redis bus that links
// instances, and the change listener that makes one instance the relay.
type liveUpdates struct {
	hub  *live.Hub
	stop func() error
}

// startLive starts the live path (ARCHITECTURE.md, "Live path"). Stop it before Redis and
// the pool close. A namespace keeps its Redis channels apart from other deployments on the
// same Redis; "" is the default one.
func startLive(ctx context.Context, e env, pool *pgxpool.Pool, client *goredis.Client, london *time.Location, namespace string) *liveUpdates {
	bus := redis.NewBus(client, e.logger)
	if namespace != "" {
		bus.InNamespace(namespace)
	}
	snapshots := &live.Snapshots{
		Notifications: postgres.NewNotificationStore(pool, london),
		Jobs:          postgres.NewCatalogueStore(pool),
		Inbox:         postgres.NewInboxStore(pool),
		Services:      postgres.NewServiceStore(pool),
		London:        london,
		Now:           time.Now,
	}
	hub := live.NewHub(bus, snapshots, e.logger, live.Options{})
	listener := postgres.NewChangeListener(pool, e.logger)

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
	return &liveUpdates{hub: hub, stop: func() error {
		cancel()
		wg.Wait()
		e.logger.Info("live updates stopped", "stats", hub.Stats())
		return errors.Join(errs...)
	}}
}
