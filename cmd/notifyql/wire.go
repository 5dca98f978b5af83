package main

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/live"
	"notifyql/postgres"
	"notifyql/redis"
	"notifyql/resolvers"
	"notifyql/server"
)

// schemaDeps are the concrete adapters serve has built, for the resolvers. The schema
// command passes the zero value: building a schema must not touch them.
type schemaDeps struct {
	Pool   *pgxpool.Pool
	Access *postgres.AccessStore
	// Redis holds the remembered search terms; nil where only searches by term are made.
	Redis goredis.UniversalClient
	// SearchSecret keys the search terms' hashes.
	SearchSecret []byte
	London       *time.Location
	Logger       *slog.Logger
	// Now is the clock; nil means time.Now. Tests fix it.
	Now func() time.Time
	// Live serves subscriptions; nil where nothing subscribes (the schema command).
	Live resolvers.Live
	// Links signs download links; nil where nothing is served (the schema command).
	Links *server.LinkSigner
	// ReportsPerDay is how many report requests a user may make in 24 hours;
	// notifyql.DefaultReportsPerDay when 0.
	ReportsPerDay int
	// Letters are content, previews and letter uploads (newLetters); nil serves content
	// from Pool, without previews.
	Letters *letterWiring
	// RenderCounts, when set, counts the subscriptions' renderings and encodings.
	RenderCounts *resolvers.RenderCounts
	// Tracing, when set, traces the dataloaders' batches and the subscriptions' pushes.
	Tracing trace.TracerProvider
}

// newSchema builds the executable GraphQL schema over the stores, with the handler
// extensions it needs (the per-operation dataloaders, and the errors that end subscriptions).
func newSchema(deps schemaDeps) (graphql.ExecutableSchema, []graphql.HandlerExtension, error) {
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	notifications := postgres.NewNotificationStore(deps.Pool, deps.London)
	catalogue := postgres.NewCatalogueStore(deps.Pool)
	stores := dataloaders.Stores{
		Services:      postgres.NewServiceStore(deps.Pool),
		Access:        deps.Access,
		Catalogue:     catalogue,
		Notifications: notifications,
	}
	var searches notifyql.SearchTermStore
	if deps.Redis != nil {
		searches = redis.NewSearchCache(deps.Redis)
	}
	inbox := postgres.NewInboxStore(deps.Pool)
	reports := postgres.NewReportStore(deps.Pool)
	if deps.ReportsPerDay > 0 {
		reports = reports.WithReportsPerDay(deps.ReportsPerDay)
	}
	letters := deps.Letters
	if letters == nil {
		letters = &letterWiring{Content: postgres.NewContentStore(deps.Pool)}
	}
	resolver, err := resolvers.New(resolvers.Deps{
		Stores:        stores,
		Reporting:     postgres.NewReportingStore(deps.Pool, deps.London),
		Billing:       postgres.NewRollup(deps.Pool, deps.London, deps.Logger).WithClock(now),
		Inbox:         inbox,
		Letters:       notifications,
		Conversations: inbox,
		Reports:       reports,
		Live:          deps.Live,
		Jobs:          catalogue,
		Searches:      searches,
		SearchSecret:  deps.SearchSecret,
		Exports:       postgres.NewExportStore(deps.Pool),
		Links:         linkSigner(deps.Links),
		Content:       letters.Content,
		Renderer:      letters.Renderer,
		LetterLinks:   linkSigner(letters.LetterLinks),
		UploadLinks:   linkSigner(letters.UploadLinks),
		Uploads:       letters.Uploads,
		Validations:   letters.Validations,
		Now:           now,
		London:        deps.London,
	})
	if err != nil {
		return nil, nil, err
	}
	extensions := []graphql.HandlerExtension{&dataloaders.Extension{Stores: stores, Now: now, London: deps.London, Tracing: deps.Tracing}, resolvers.SubscriptionStreams{Senders: responseSender, Turns: resolvers.NewTurns(subscriptionTurns), Counts: deps.RenderCounts, Variables: resolvers.NewSharedVariables(), Tracing: deps.Tracing}}
	return graph.NewExecutableSchema(resolver.Config()), extensions, nil
}

// newInboxCSV builds the inbox download over the same stores and clock as the schema.
func newInboxCSV(deps schemaDeps) *server.InboxCSV {
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &server.InboxCSV{
		Services: postgres.NewServiceStore(deps.Pool),
		Texts:    postgres.NewInboxStore(deps.Pool),
		Now:      now,
		London:   deps.London,
	}
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

// readinessChecks are what serve's /readyz reports: the database and Redis answering, and
// which instance relays live updates (a standby instance is as ready as the relay).
func readinessChecks(pool *pgxpool.Pool, rdb goredis.UniversalClient, hub *live.Hub) []server.ReadinessCheck {
	return []server.ReadinessCheck{
		{Name: "postgres", Probe: func(ctx context.Context) (string, error) { return "ok", pool.Ping(ctx) }},
		{Name: "redis", Probe: func(ctx context.Context) (string, error) { return "ok", rdb.Ping(ctx).Err() }},
		{Name: "relay", Probe: func(context.Context) (string, error) {
			if hub.Stats().Relay {
				return "this instance", nil
			}
			return "another instance", nil
		}},
	}
}

// responseSender is the socket's sender of an operation's responses, as resolvers names
// it (a nil server.ResponseSender converts to a nil resolvers.ResponseSender).
func responseSender(ctx context.Context) resolvers.ResponseSender {
	return server.ResponseSenderFor(ctx)
}

// subscriptionTurns is how many subscriptions prepare a response at once: a few per CPU
// keep every CPU busy through a fan-out (resolvers.Turns).
var subscriptionTurns = 4 * runtime.GOMAXPROCS(0)
