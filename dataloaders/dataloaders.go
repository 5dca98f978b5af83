// Package dataloaders batches the lookups that list fields make, one set of loaders per
// GraphQL operation, so that a page of rows costs a constant number of queries.
package dataloaders

import (
	"context"
	"errors"
	"sync"
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
// loaders are made per operation: a per-connection cache would go stale. Each loader is
// made when the operation first asks for it: an operation uses a few of them, and a
// subscription holds its Loaders for as long as it runs.
type Loaders struct {
	stores     Stores
	now        time.Time
	inboxSince time.Time

	mu              sync.Mutex
	service         *dataloadgen.Loader[string, *notifyql.Service]
	features        *dataloadgen.Loader[string, []string]
	retention       *dataloadgen.Loader[string, notifyql.Retention]
	hasAPIKeys      *dataloadgen.Loader[string, bool]
	inboxSummary    *dataloadgen.Loader[string, notifyql.InboxSummary]
	user            *dataloadgen.Loader[string, *notifyql.User]
	template        *dataloadgen.Loader[string, *notifyql.Template]
	templateVersion *dataloadgen.Loader[notifyql.TemplateVersionKey, *notifyql.TemplateVersion]
	job             *dataloadgen.Loader[string, *notifyql.Job]
	apiKey          *dataloadgen.Loader[string, *notifyql.APIKey]
	statusHistory   *dataloadgen.Loader[string, []notifyql.StatusChange]
	statusCounts    *dataloadgen.Loader[StatusCountsKey, []notifyql.StatusCount]
}

// New returns fresh loaders over the stores; now is the operation's clock and london the
// zone its London dates are in.
func New(s Stores, now time.Time, london *time.Location) *Loaders {
	return &Loaders{stores: s, now: now, inboxSince: notifyql.WindowStart(now, notifyql.DefaultRetentionDays, london)}
}

var wait = dataloadgen.WithWait(batchWait)

// loader returns *l, making it with newLoader the first time.
func loader[K comparable, V any](ls *Loaders, l **dataloadgen.Loader[K, V], newLoader func() *dataloadgen.Loader[K, V]) *dataloadgen.Loader[K, V] {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if *l == nil {
		*l = newLoader()
	}
	return *l
}

// The methods below return the operation's loader of each kind.

func (ls *Loaders) Service() *dataloadgen.Loader[string, *notifyql.Service] {
	return loader(ls, &ls.service, func() *dataloadgen.Loader[string, *notifyql.Service] {
		return dataloadgen.NewMappedLoader(byID(ls.stores.Services.ServicesByIDs, func(v *notifyql.Service) string { return v.ID }), wait)
	})
}

func (ls *Loaders) Features() *dataloadgen.Loader[string, []string] {
	return loader(ls, &ls.features, func() *dataloadgen.Loader[string, []string] {
		return dataloadgen.NewMappedLoader(orEmpty(ls.stores.Services.FeaturesByServiceIDs), wait)
	})
}

func (ls *Loaders) Retention() *dataloadgen.Loader[string, notifyql.Retention] {
	return loader(ls, &ls.retention, func() *dataloadgen.Loader[string, notifyql.Retention] {
		return dataloadgen.NewMappedLoader(orEmpty(ls.stores.Services.RetentionByServiceIDs), wait)
	})
}

func (ls *Loaders) HasAPIKeys() *dataloadgen.Loader[string, bool] {
	return loader(ls, &ls.hasAPIKeys, func() *dataloadgen.Loader[string, bool] {
		return dataloadgen.NewMappedLoader(orEmpty(func(ctx context.Context, ids []string) (map[string]bool, error) {
			return ls.stores.Services.HasAPIKeysByServiceIDs(ctx, ids, ls.now)
		}), wait)
	})
}

func (ls *Loaders) InboxSummary() *dataloadgen.Loader[string, notifyql.InboxSummary] {
	return loader(ls, &ls.inboxSummary, func() *dataloadgen.Loader[string, notifyql.InboxSummary] {
		return dataloadgen.NewMappedLoader(orEmpty(func(ctx context.Context, ids []string) (map[string]notifyql.InboxSummary, error) {
			return ls.stores.Services.InboxSummariesByServiceIDs(ctx, ids, ls.inboxSince)
		}), wait)
	})
}

func (ls *Loaders) User() *dataloadgen.Loader[string, *notifyql.User] {
	return loader(ls, &ls.user, func() *dataloadgen.Loader[string, *notifyql.User] {
		return dataloadgen.NewMappedLoader(byID(ls.stores.Access.UsersByIDs, func(v *notifyql.User) string { return v.ID }), wait)
	})
}

func (ls *Loaders) Template() *dataloadgen.Loader[string, *notifyql.Template] {
	return loader(ls, &ls.template, func() *dataloadgen.Loader[string, *notifyql.Template] {
		return dataloadgen.NewMappedLoader(byID(ls.stores.Catalogue.TemplatesByIDs, func(v *notifyql.Template) string { return v.ID }), wait)
	})
}

func (ls *Loaders) TemplateVersion() *dataloadgen.Loader[notifyql.TemplateVersionKey, *notifyql.TemplateVersion] {
	return loader(ls, &ls.templateVersion, func() *dataloadgen.Loader[notifyql.TemplateVersionKey, *notifyql.TemplateVersion] {
		return dataloadgen.NewMappedLoader(byID(ls.stores.Catalogue.TemplateVersions, func(v *notifyql.TemplateVersion) notifyql.TemplateVersionKey {
			return notifyql.TemplateVersionKey{ID: v.ID, Version: v.Version}
		}), wait)
	})
}

func (ls *Loaders) Job() *dataloadgen.Loader[string, *notifyql.Job] {
	return loader(ls, &ls.job, func() *dataloadgen.Loader[string, *notifyql.Job] {
		return dataloadgen.NewMappedLoader(byID(ls.stores.Catalogue.JobsByIDs, func(v *notifyql.Job) string { return v.ID }), wait)
	})
}

func (ls *Loaders) APIKey() *dataloadgen.Loader[string, *notifyql.APIKey] {
	return loader(ls, &ls.apiKey, func() *dataloadgen.Loader[string, *notifyql.APIKey] {
		return dataloadgen.NewMappedLoader(byID(ls.stores.Catalogue.APIKeysByIDs, func(v *notifyql.APIKey) string { return v.ID }), wait)
	})
}

func (ls *Loaders) StatusHistory() *dataloadgen.Loader[string, []notifyql.StatusChange] {
	return loader(ls, &ls.statusHistory, func() *dataloadgen.Loader[string, []notifyql.StatusChange] {
		return dataloadgen.NewMappedLoader(orEmpty(ls.stores.Notifications.StatusHistory), wait)
	})
}

func (ls *Loaders) StatusCounts() *dataloadgen.Loader[StatusCountsKey, []notifyql.StatusCount] {
	return loader(ls, &ls.statusCounts, func() *dataloadgen.Loader[StatusCountsKey, []notifyql.StatusCount] {
		return dataloadgen.NewLoader(func(ctx context.Context, keys []StatusCountsKey) ([][]notifyql.StatusCount, []error) {
			// Each window is its own query; the loader's job here is to share one result
			// between the fields of an operation that ask for the same window.
			rows := make([][]notifyql.StatusCount, len(keys))
			errs := make([]error, len(keys))
			for i, k := range keys {
				rows[i], errs[i] = ls.stores.Notifications.StatusCounts(ctx, k.ServiceID, k.From, ls.now)
			}
			return rows, errs
		}, wait)
	})
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
