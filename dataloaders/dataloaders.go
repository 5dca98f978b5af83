// Package dataloaders batches the lookups that list fields make, one set of loaders per
// GraphQL operation, so that a page of rows costs a constant number of queries.
package dataloaders

import (
	"context"
	"errors"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"notifyql"
)

// batchWait is how long a loader collects keys before it queries. gqlgen resolves the
// fields of a list's elements concurrently, so a short wait is enough to batch a page.
const batchWait = 500 * time.Microsecond

// Stores are what the loaders read from.
type Stores struct {
	Services      notifyql.ServiceStore
	Access        notifyql.AccessStore
	Catalogue     notifyql.CatalogueStore
	Notifications notifyql.NotificationStore
}

// StatusCountsKey names one window of dashboard counts.
type StatusCountsKey struct {
	ServiceID string
	From      notifyql.Date
}

// Loaders holds one operation's batch loaders. A WebSocket connection lives long, so
// loaders are made per operation: a per-connection cache would go stale.
type Loaders struct {
	Service         *dataloadgen.Loader[string, *notifyql.Service]
	Features        *dataloadgen.Loader[string, []string]
	Retention       *dataloadgen.Loader[string, notifyql.Retention]
	HasAPIKeys      *dataloadgen.Loader[string, bool]
	InboxSummary    *dataloadgen.Loader[string, notifyql.InboxSummary]
	User            *dataloadgen.Loader[string, *notifyql.User]
	Template        *dataloadgen.Loader[string, *notifyql.Template]
	TemplateVersion *dataloadgen.Loader[notifyql.TemplateVersionKey, *notifyql.TemplateVersion]
	Job             *dataloadgen.Loader[string, *notifyql.Job]
	APIKey          *dataloadgen.Loader[string, *notifyql.APIKey]
	StatusHistory   *dataloadgen.Loader[string, []notifyql.StatusChange]
	StatusCounts    *dataloadgen.Loader[StatusCountsKey, []notifyql.StatusCount]
}

// New returns fresh loaders over the stores; now is the operation's clock and london the
// zone its London dates are in.
func New(s Stores, now time.Time, london *time.Location) *Loaders {
	wait := dataloadgen.WithWait(batchWait)
	inboxSince := notifyql.WindowStart(now, notifyql.DefaultRetentionDays, london)
	return &Loaders{
		Service:   dataloadgen.NewMappedLoader(byID(s.Services.ServicesByIDs, func(v *notifyql.Service) string { return v.ID }), wait),
		Features:  dataloadgen.NewMappedLoader(orEmpty(s.Services.FeaturesByServiceIDs), wait),
		Retention: dataloadgen.NewMappedLoader(orEmpty(s.Services.RetentionByServiceIDs), wait),
		HasAPIKeys: dataloadgen.NewMappedLoader(orEmpty(func(ctx context.Context, ids []string) (map[string]bool, error) {
			return s.Services.HasAPIKeysByServiceIDs(ctx, ids, now)
		}), wait),
		InboxSummary: dataloadgen.NewMappedLoader(orEmpty(func(ctx context.Context, ids []string) (map[string]notifyql.InboxSummary, error) {
			return s.Services.InboxSummariesByServiceIDs(ctx, ids, inboxSince)
		}), wait),
		User:     dataloadgen.NewMappedLoader(byID(s.Access.UsersByIDs, func(v *notifyql.User) string { return v.ID }), wait),
		Template: dataloadgen.NewMappedLoader(byID(s.Catalogue.TemplatesByIDs, func(v *notifyql.Template) string { return v.ID }), wait),
		TemplateVersion: dataloadgen.NewMappedLoader(byID(s.Catalogue.TemplateVersions, func(v *notifyql.TemplateVersion) notifyql.TemplateVersionKey {
			return notifyql.TemplateVersionKey{ID: v.ID, Version: v.Version}
		}), wait),
		Job:           dataloadgen.NewMappedLoader(byID(s.Catalogue.JobsByIDs, func(v *notifyql.Job) string { return v.ID }), wait),
		APIKey:        dataloadgen.NewMappedLoader(byID(s.Catalogue.APIKeysByIDs, func(v *notifyql.APIKey) string { return v.ID }), wait),
		StatusHistory: dataloadgen.NewMappedLoader(orEmpty(s.Notifications.StatusHistory), wait),
		StatusCounts: dataloadgen.NewLoader(func(ctx context.Context, keys []StatusCountsKey) ([][]notifyql.StatusCount, []error) {
			// Each window is its own query; the loader's job here is to share one result
			// between the fields of an operation that ask for the same window.
			rows := make([][]notifyql.StatusCount, len(keys))
			errs := make([]error, len(keys))
			for i, k := range keys {
				rows[i], errs[i] = s.Notifications.StatusCounts(ctx, k.ServiceID, k.From, now)
			}
			return rows, errs
		}, wait),
	}
}

// byID adapts a store's batch method that returns found rows in any order.
func byID[K comparable, V any](fetch func(context.Context, []K) ([]V, error), key func(V) K) func(context.Context, []K) (map[K]V, error) {
	return func(ctx context.Context, keys []K) (map[K]V, error) {
		rows, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		found := make(map[K]V, len(rows))
		for _, row := range rows {
			found[key(row)] = row
		}
		return found, nil
	}
}

// orEmpty makes keys a store left out of its map load as the zero value, for facts that
// are simply absent (no features, no retention rows, no history).
func orEmpty[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error)) func(context.Context, []K) (map[K]V, error) {
	return func(ctx context.Context, keys []K) (map[K]V, error) {
		found, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		if found == nil {
			found = make(map[K]V, len(keys))
		}
		for _, k := range keys {
			if _, ok := found[k]; !ok {
				var zero V
				found[k] = zero
			}
		}
		return found, nil
	}
}

// Load returns the value for key, or the zero value with a nil error when the store has
// no such row: an edge to a row that has gone is shown as null, not as an error.
func Load[K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], key K) (V, error) {
	v, err := l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		var zero V
		return zero, nil
	}
	return v, err
}

// IsNotFound reports whether a loader found no row for its key.
func IsNotFound(err error) bool { return errors.Is(err, dataloadgen.ErrNotFound) }

type loadersKey struct{}

// For returns the operation's loaders.
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(loadersKey{}).(*Loaders)
	return l
}

// NewContext returns ctx carrying loaders, for code that runs outside a GraphQL operation.
func NewContext(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// Extension gives every GraphQL operation its own loaders.
type Extension struct {
	Stores Stores
	Now    func() time.Time
	London *time.Location
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = Extension{}

func (Extension) ExtensionName() string { return "Dataloaders" }

func (e Extension) Validate(graphql.ExecutableSchema) error {
	if e.Stores.Services == nil || e.Stores.Access == nil || e.Stores.Catalogue == nil || e.Stores.Notifications == nil || e.Now == nil || e.London == nil {
		return errors.New("dataloaders: every store, the clock and the London zone must be set")
	}
	return nil
}

func (e Extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(NewContext(ctx, New(e.Stores, e.Now(), e.London)))
}
