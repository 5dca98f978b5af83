package main

import (
	"log/slog"

	"notifyql"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/postgres"
	"notifyql/resolvers"
	"notifyql/server"
)

// schemaDeps are the concrete adapters serve has built, for the resolvers. The schema
// command passes the zero value: building a schema must not touch them.
type schemaDeps struct {
	Pool   *pgxpool.Pool
	Access *postgres.AccessStore
	Redis  *goredis.Client
	London *time.Location
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests fix it.
	Now func() time.Time
	// Live serves subscriptions; nil where nothing subscribes (the schema command).
	Live resolvers.Live
	// Links signs download links; nil where nothing is served (the schema command).
	Links *server.LinkSigner
}

// newSchema builds the executable GraphQL schema over the stores, with the handler
// extensions it needs (the per-operation dataloaders, and the errors that end subscriptions).
func newSchema(deps schemaDeps) (graphql.ExecutableSchema, []graphql.HandlerExtension, error) {
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	stores := dataloaders.Stores{
		Services:      postgres.NewServiceStore(deps.Pool),
		Access:        deps.Access,
		Catalogue:     postgres.NewCatalogueStore(deps.Pool),
		Notifications: postgres.NewNotificationStore(deps.Pool, deps.London),
	}
	resolver := resolvers.New(resolvers.Deps{
		Stores:    stores,
		Reporting: postgres.NewReportingStore(deps.Pool, deps.London),
		Billing:   postgres.NewRollup(deps.Pool, deps.London, deps.Logger).WithClock(now),
		Inbox:     postgres.NewInboxStore(deps.Pool),
		Reports:   postgres.NewReportStore(deps.Pool),
		Live:      deps.Live,
		Exports:   postgres.NewExportStore(deps.Pool),
		Links:     linkSigner(deps.Links),
		Now:       now,
		London:    deps.London,
	})
	extensions := []graphql.HandlerExtension{dataloaders.Extension{Stores: stores, Now: now, London: deps.London}, resolvers.SubscriptionStreams{}}
	return graph.NewExecutableSchema(resolver.Config()), extensions, nil
}

// linkSigner keeps a nil signer a nil interface, so that the resolvers see that there is none.
func linkSigner(s *server.LinkSigner) notifyql.LinkSigner {
	if s == nil {
		return nil
	}
	return s
}

// downloadLinkPurpose labels the key of the notifications CSV's signed links.
const downloadLinkPurpose = "download"

// newDownloads is the notifications CSV's edge over the stores.
func newDownloads(pool *pgxpool.Pool, links *server.LinkSigner, london *time.Location, now func() time.Time) *server.Downloads {
	return &server.Downloads{
		Exports:  postgres.NewExportStore(pool),
		Services: postgres.NewServiceStore(pool),
		Links:    links,
		Now:      now,
		London:   london,
	}
}

// newReportDownloads is the stored reports' edge over the stores. Report links share the
// notifications CSV's signer: a link is signed over its path, so it opens only its file.
func newReportDownloads(pool *pgxpool.Pool, links *server.LinkSigner) *server.Reports {
	return &server.Reports{Store: postgres.NewReportStore(pool), Services: postgres.NewServiceStore(pool), Links: links}
}
