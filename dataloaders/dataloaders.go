// Package dataloaders batches the lookups that list fields make, one set of loaders per
// GraphQL operation, so that a page of rows costs a constant number of queries.
package dataloaders

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/trace"

	"notifyql"
)

// batchWait is how long a loader collects keys that resolvers ask for one at a time before
// it queries. gqlgen resolves the fields of a list's elements concurrently, so a short wait
// is enough to batch them. Callers that know every key at once (a page's edges, a root
// field's id) dispatch without it.
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

	// timedRounds counts the rounds that waited batchWait, over all the loaders.
	timedRounds atomic.Int64
	// tracer, when set, gives each loader's rounds a span.
	tracer trace.Tracer

	mu              sync.Mutex
	service         *Loader[string, *notifyql.Service]
	features        *Loader[string, []string]
	retention       *Loader[string, notifyql.Retention]
	hasAPIKeys      *Loader[string, bool]
	inboxSummary    *Loader[string, notifyql.InboxSummary]
	user            *Loader[string, *notifyql.User]
	template        *Loader[string, *notifyql.Template]
	templateVersion *Loader[notifyql.TemplateVersionKey, *notifyql.TemplateVersion]
	job             *Loader[string, *notifyql.Job]
	apiKey          *Loader[string, *notifyql.APIKey]
	statusHistory   *Loader[string, []notifyql.StatusChange]
	statusCounts    *Loader[StatusCountsKey, notifyql.WindowCounts]
	pagesAhead      map[string]*notifyql.NotificationPage
}

// KeepPage holds a page read ahead of the field that shows it, in the round trip that read
// the field's parent, until TakePage asks for it under the same key.
func (ls *Loaders) KeepPage(key string, page *notifyql.NotificationPage) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.pagesAhead == nil {
		ls.pagesAhead = make(map[string]*notifyql.NotificationPage, 1)
	}
	ls.pagesAhead[key] = page
}

// TakePage returns the page kept under key and forgets it, or nil when there is none.
func (ls *Loaders) TakePage(key string) *notifyql.NotificationPage {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	page := ls.pagesAhead[key]
	delete(ls.pagesAhead, key)
	return page
}

// New returns fresh loaders over the stores; now is the operation's clock and london the
// zone its London dates are in.
func New(s Stores, now time.Time, london *time.Location) *Loaders {
	return &Loaders{stores: s, now: now, inboxSince: notifyql.WindowStart(now, notifyql.DefaultRetentionDays, london)}
}

// TimedRounds returns how many of the operation's loader rounds waited batchWait for keys
// to join them; the rounds sent by Dispatch, and the keys primed, did not.
func (ls *Loaders) TimedRounds() int64 { return ls.timedRounds.Load() }

// loader returns *l, making it over fetch the first time.
func loader[K comparable, V any](ls *Loaders, l **Loader[K, V], name string, fetch func() func(context.Context, []K) (map[K]V, error)) *Loader[K, V] {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if *l == nil {
		*l = newLoader(fetch(), batchWait, &ls.timedRounds)
		if ls.tracer != nil {
			(*l).traced(ls.tracer, name)
		}
	}
	return *l
}

// The methods below return the operation's loader of each kind.

func (ls *Loaders) Service() *Loader[string, *notifyql.Service] {
	return loader(ls, &ls.service, "service", func() func(context.Context, []string) (map[string]*notifyql.Service, error) {
		// A service comes with its facts, which the operation's fields about it would
		// otherwise each read in a round of their own.
		return func(ctx context.Context, ids []string) (map[string]*notifyql.Service, error) {
			services, err := ls.stores.Services.ServicesWithFactsByIDs(ctx, ids, ls.now)
			if err != nil {
				return nil, err
			}
			found := make(map[string]*notifyql.Service, len(services))
			for _, s := range services {
				found[s.Service.ID] = s.Service
				ls.primeFacts(s)
			}
			return found, nil
		}
	})
}

func (ls *Loaders) Features() *Loader[string, []string] {
	return loader(ls, &ls.features, "features", func() func(context.Context, []string) (map[string][]string, error) {
		return orEmpty(ls.stores.Services.FeaturesByServiceIDs)
	})
}

func (ls *Loaders) Retention() *Loader[string, notifyql.Retention] {
	return loader(ls, &ls.retention, "retention", func() func(context.Context, []string) (map[string]notifyql.Retention, error) {
		return orEmpty(ls.stores.Services.RetentionByServiceIDs)
	})
}

func (ls *Loaders) HasAPIKeys() *Loader[string, bool] {
	return loader(ls, &ls.hasAPIKeys, "hasAPIKeys", func() func(context.Context, []string) (map[string]bool, error) {
		return orEmpty(func(ctx context.Context, ids []string) (map[string]bool, error) {
			return ls.stores.Services.HasAPIKeysByServiceIDs(ctx, ids, ls.now)
		})
	})
}

func (ls *Loaders) InboxSummary() *Loader[string, notifyql.InboxSummary] {
	return loader(ls, &ls.inboxSummary, "inboxSummary", func() func(context.Context, []string) (map[string]notifyql.InboxSummary, error) {
		return orEmpty(func(ctx context.Context, ids []string) (map[string]notifyql.InboxSummary, error) {
			return ls.stores.Services.InboxSummariesByServiceIDs(ctx, ids, ls.inboxSince)
		})
	})
}

func (ls *Loaders) User() *Loader[string, *notifyql.User] {
	return loader(ls, &ls.user, "user", func() func(context.Context, []string) (map[string]*notifyql.User, error) {
		return byID(ls.stores.Access.UsersByIDs, func(v *notifyql.User) string { return v.ID })
	})
}

func (ls *Loaders) Template() *Loader[string, *notifyql.Template] {
	return loader(ls, &ls.template, "template", func() func(context.Context, []string) (map[string]*notifyql.Template, error) {
		return byID(ls.stores.Catalogue.TemplatesByIDs, func(v *notifyql.Template) string { return v.ID })
	})
}

func (ls *Loaders) TemplateVersion() *Loader[notifyql.TemplateVersionKey, *notifyql.TemplateVersion] {
	return loader(ls, &ls.templateVersion, "templateVersion", func() func(context.Context, []notifyql.TemplateVersionKey) (map[notifyql.TemplateVersionKey]*notifyql.TemplateVersion, error) {
		return byID(ls.stores.Catalogue.TemplateVersions, func(v *notifyql.TemplateVersion) notifyql.TemplateVersionKey {
			return notifyql.TemplateVersionKey{ID: v.ID, Version: v.Version}
		})
	})
}

func (ls *Loaders) Job() *Loader[string, *notifyql.Job] {
	return loader(ls, &ls.job, "job", func() func(context.Context, []string) (map[string]*notifyql.Job, error) {
		return byID(ls.stores.Catalogue.JobsByIDs, func(v *notifyql.Job) string { return v.ID })
	})
}

func (ls *Loaders) APIKey() *Loader[string, *notifyql.APIKey] {
	return loader(ls, &ls.apiKey, "apiKey", func() func(context.Context, []string) (map[string]*notifyql.APIKey, error) {
		return byID(ls.stores.Catalogue.APIKeysByIDs, func(v *notifyql.APIKey) string { return v.ID })
	})
}

func (ls *Loaders) StatusHistory() *Loader[string, []notifyql.StatusChange] {
	return loader(ls, &ls.statusHistory, "statusHistory", func() func(context.Context, []string) (map[string][]notifyql.StatusChange, error) {
		return orEmpty(ls.stores.Notifications.StatusHistory)
	})
}

// StatusCounts loads a window's dashboard rows. With the window's templates: the fields
// that show the rows (template statistics) also show their templates, and the statement
// that counts them reads those in the same round trip, priming the Template loader.
func (ls *Loaders) StatusCounts() *Loader[StatusCountsKey, notifyql.WindowCounts] {
	return loader(ls, &ls.statusCounts, "statusCounts", func() func(context.Context, []StatusCountsKey) (map[StatusCountsKey]notifyql.WindowCounts, error) {
		return func(ctx context.Context, keys []StatusCountsKey) (map[StatusCountsKey]notifyql.WindowCounts, error) {
			// Each window is its own query; the loader's job here is to share one result
			// between the fields of an operation that ask for the same window.
			found := make(map[StatusCountsKey]notifyql.WindowCounts, len(keys))
			for _, k := range keys {
				counts, templates, err := ls.stores.Notifications.StatusCountsWithTemplates(ctx, k.ServiceID, k.From, ls.now)
				if err != nil {
					return nil, err
				}
				found[k] = counts
				ls.Prime(&notifyql.Related{Templates: templates})
			}
			return found, nil
		}
	})
}

// Prime gives the operation's loaders the rows another statement read beside its own, so
// that the fields showing them find them without a round trip. Rows recorded as missing
// load as not found. A key the operation has already asked for keeps its round's value.
func (ls *Loaders) Prime(r *notifyql.Related) {
	if r == nil {
		return
	}
	for _, s := range r.Services {
		ls.Service().Prime(s.Service.ID, s.Service)
		ls.primeFacts(s)
	}
	for _, s := range r.ServiceRows {
		ls.Service().Prime(s.ID, s)
	}
	if r.Templates != nil {
		primeAll(ls.Template(), r.Templates)
	}
	if r.TemplateVersions != nil {
		primeAll(ls.TemplateVersion(), r.TemplateVersions)
	}
	if r.Jobs != nil {
		primeAll(ls.Job(), r.Jobs)
	}
	if r.Users != nil {
		primeAll(ls.User(), r.Users)
	}
	if r.APIKeys != nil {
		primeAll(ls.APIKey(), r.APIKeys)
	}
	for id, changes := range r.StatusHistory {
		ls.StatusHistory().Prime(id, changes)
	}
}

// primeFacts primes the loaders of the facts read with a service.
func (ls *Loaders) primeFacts(s *notifyql.ServiceWithFacts) {
	ls.Features().Prime(s.Service.ID, s.Features)
	ls.Retention().Prime(s.Service.ID, s.Retention)
	ls.HasAPIKeys().Prime(s.Service.ID, s.HasAPIKeys)
}

// primeAll primes l with rows, a nil row as not found.
func primeAll[K comparable, V any](l *Loader[K, *V], rows map[K]*V) {
	for k, v := range rows {
		if v == nil {
			l.PrimeNotFound(k)
		} else {
			l.Prime(k, v)
		}
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
func Load[K comparable, V any](ctx context.Context, l *Loader[K, V], key K) (V, error) {
	v, err := l.Load(ctx, key)
	if errors.Is(err, ErrNotFound) {
		var zero V
		return zero, nil
	}
	return v, err
}

// IsNotFound reports whether a loader found no row for its key.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

type loadersKey struct{}

// For returns the operation's loaders.
func For(ctx context.Context) *Loaders {
	switch l := ctx.Value(loadersKey{}).(type) {
	case *Loaders:
		return l
	case *laterLoaders:
		return l.get()
	}
	return nil
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
	// Tracing, when set, gives each batch a span ("dataloader service", with its number
	// of keys, never the keys); nil traces nothing, at no cost.
	Tracing trace.TracerProvider
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = (*Extension)(nil)

func (*Extension) ExtensionName() string { return "Dataloaders" }

func (e *Extension) Validate(graphql.ExecutableSchema) error {
	if e.Stores.Services == nil || e.Stores.Access == nil || e.Stores.Catalogue == nil || e.Stores.Notifications == nil || e.Now == nil || e.London == nil {
		return errors.New("dataloaders: every store, the clock and the London zone must be set")
	}
	return nil
}

func (e *Extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if oc := graphql.GetOperationContext(ctx); oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		// A subscription may be idle for hours, and most of its snapshots' responses are
		// rendered by another subscriber of the same document: it makes its loaders
		// when it first renders, not before.
		return next(context.WithValue(ctx, loadersKey{}, &laterLoaders{ext: e}))
	}
	return next(NewContext(ctx, e.newLoaders()))
}

func (e *Extension) newLoaders() *Loaders {
	loaders := New(e.Stores, e.Now(), e.London)
	if e.Tracing != nil {
		loaders.tracer = e.Tracing.Tracer("notifyql/dataloaders")
	}
	return loaders
}

// laterLoaders are an operation's loaders, made when first asked for.
type laterLoaders struct {
	ext     *Extension
	once    sync.Once
	loaders *Loaders
}

func (l *laterLoaders) get() *Loaders {
	l.once.Do(func() { l.loaders = l.ext.newLoaders() })
	return l.loaders
}
