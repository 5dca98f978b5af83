package main

import (
	"errors"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql/postgres"
)

// schemaDeps are the concrete adapters serve has built, for the resolvers. The schema
// command passes the zero value: building a schema must not touch them.
type schemaDeps struct {
	Pool   *pgxpool.Pool
	Access *postgres.AccessStore
	Redis  *goredis.Client
	London *time.Location
	Logger *slog.Logger
}

// errSchemaNotWired is returned until the wiring below is written.
var errSchemaNotWired = errors.New("the GraphQL schema is not wired into cmd/notifyql yet (see newSchema in wire.go)")

// newSchema builds the executable GraphQL schema over the stores, with the handler
// extensions it needs (such as the per-operation dataloaders).
//
// WIRING GAP (lead): fill in once graph/ is generated, along the lines of
//
//	stores := dataloaders.Stores{
//		Services:      postgres.NewServiceStore(deps.Pool),
//		Access:        deps.Access,
//		Catalogue:     postgres.NewCatalogueStore(deps.Pool),
//		Notifications: postgres.NewNotificationStore(deps.Pool, deps.London),
//	}
//	resolver := resolvers.New(stores, time.Now, deps.London)
//	loaders := dataloaders.Extension{Stores: stores, Now: time.Now}
//	return graph.NewExecutableSchema(resolver.Config()), []graphql.HandlerExtension{loaders}, nil
func newSchema(deps schemaDeps) (graphql.ExecutableSchema, []graphql.HandlerExtension, error) {
	_ = deps
	return nil, nil, errSchemaNotWired
}
