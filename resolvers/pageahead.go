package resolvers

import (
	"context"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph/scalars"
)

// readAhead reads, for a service field whose selection shows what the service's own rows
// say (its notifications, or the dashboard's totals and template statistics), the service
// with its facts and those rows in one round trip, which would otherwise wait for the
// service: the notifications page for its retention windows, and both for the service's
// permission check. It reads ahead only for a caller whose principal passes the fields'
// @hasPermission (a platform admin, or a member holding what it names), so that no
// statement is sent for rows that would be thrown away, nor its cost tell whether a
// service exists. A selection it cannot read plainly (a search, a field asked twice under
// two names or with two windows, arguments that do not check) leaves the fields to load as
// they always do, and so do its failures: the field itself then reports what went wrong.
func (r queryResolver) readAhead(ctx context.Context, p *notifyql.Principal, serviceID string) {
	if !p.User.PlatformAdmin && !p.IsMember(serviceID) {
		return
	}
	loaders := dataloaders.For(ctx)
	if loaders.Service().Has(serviceID) {
		return
	}
	fc := graphql.GetFieldContext(ctx)
	opCtx := graphql.GetOperationContext(ctx)
	var notifications, dashboard []graphql.CollectedField
	for _, f := range graphql.CollectFields(opCtx, fc.Field.Selections, []string{"Service"}) {
		switch f.Name {
		case "notifications":
			notifications = append(notifications, f)
		case "totals", "templateStatistics":
			dashboard = append(dashboard, f)
		}
	}
	for _, f := range append(notifications, dashboard...) {
		if !mayRead(p, serviceID, f.Definition) {
			return
		}
	}
	switch {
	case len(notifications) == 1:
		r.readPageAhead(ctx, loaders, append(fc.Path(), ast.PathName(notifications[0].Alias)), serviceID, notifications[0])
	case len(notifications) == 0 && len(dashboard) > 0:
		r.readDashboardAhead(ctx, loaders, serviceID, dashboard)
	}
}

// mayRead reports whether p passes a field's @hasPermission on the service as far as the
// principal alone can tell: a platform admin, or a member holding one of the permissions it
// names (any member when it names none). The service's own facts (whether it is active, its
// features) stay the directive's to check when the field runs.
func mayRead(p *notifyql.Principal, serviceID string, def *ast.FieldDefinition) bool {
	if p.User.PlatformAdmin {
		return true
	}
	if !p.IsMember(serviceID) {
		return false
	}
	req, ok, err := requirementOf(def)
	if err != nil {
		return false
	}
	if !ok || len(req.AnyOf) == 0 {
		return true
	}
	return slices.ContainsFunc(req.AnyOf, func(perm notifyql.Permission) bool { return p.HasPermission(serviceID, perm) })
}

// readDashboardAhead reads the dashboard's counts for the window the totals and template
// statistics fields share, with the service, and primes the loaders with both.
func (r queryResolver) readDashboardAhead(ctx context.Context, loaders *dataloaders.Loaders, serviceID string, fields []graphql.CollectedField) {
	opCtx := graphql.GetOperationContext(ctx)
	days := -1
	for _, f := range fields {
		n := notifyql.MaxDashboardDays
		if v := f.ArgumentMap(opCtx.Variables)["days"]; v != nil {
			var err error
			if n, err = scalars.UnmarshalInt(v); err != nil {
				return
			}
		}
		if notifyql.ValidateDays(n) != nil || (days >= 0 && n != days) {
			return
		}
		days = n
	}
	now := r.now()
	key := dataloaders.StatusCountsKey{ServiceID: serviceID, From: notifyql.WindowFirstDate(now, days, r.london)}
	counts, related, err := r.stores.Notifications.StatusCountsWithService(ctx, serviceID, key.From, now)
	if err != nil {
		return
	}
	loaders.Prime(related)
	if len(related.Services) == 0 {
		loaders.Service().PrimeNotFound(serviceID)
		return
	}
	loaders.StatusCounts().Prime(key, counts)
}

// readPageAhead reads the notifications page field asks for, at path, with its service, and
// keeps it for the field (serviceResolver.Notifications). The pills' counts come too when
// asked for.
func (r queryResolver) readPageAhead(ctx context.Context, loaders *dataloaders.Loaders, path ast.Path, serviceID string, field graphql.CollectedField) {
	opCtx := graphql.GetOperationContext(ctx)
	filter, ok := pageArguments(field.ArgumentMap(opCtx.Variables))
	if !ok {
		return
	}
	now := r.now()
	include := selectionIncludes(opCtx, field.Selections)
	if include.statusCounts {
		// The counts' window is the type's retention, which the page is about to read:
		// guess it from the last page of the service, and let the field check the guess.
		days := notifyql.DefaultRetentionDays
		if filter.Type != nil {
			days = r.retentionHints.get(serviceID).Days(*filter.Type)
		}
		from := notifyql.WindowFirstDate(now, days, r.london)
		include.StatusCountsFrom, include.Now = &from, now
	}
	filter.ServiceID, filter.Include, filter.WindowsAt = serviceID, include.PageIncludes, now
	page, err := r.stores.Notifications.ListNotifications(ctx, filter)
	if err != nil {
		return
	}
	loaders.Prime(&page.Related)
	if len(page.Related.Services) == 0 {
		loaders.Service().PrimeNotFound(serviceID)
		return
	}
	r.retentionHints.put(serviceID, page.Related.Services[0].Retention)
	loaders.KeepPage(pageKey(path), page)
}

// retentionHints remembers, process-wide, the retention each service's page last read, so
// that a page read ahead can ask for the status counts of the window it will most likely
// need before it knows the service's retention. A wrong hint costs the counts a round trip
// of their own, never a wrong answer: the field checks the window against the retention
// the page brought back.
type retentionHints struct {
	mu       sync.Mutex
	services map[string]notifyql.Retention
}

// maxRetentionHints bounds the hints: past it they start again empty.
const maxRetentionHints = 10_000

func (h *retentionHints) get(serviceID string) notifyql.Retention {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.services[serviceID]
}

func (h *retentionHints) put(serviceID string, retention notifyql.Retention) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.services == nil || len(h.services) >= maxRetentionHints {
		h.services = make(map[string]notifyql.Retention)
	}
	h.services[serviceID] = retention
}

// len returns how many services have a hint.
func (h *retentionHints) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.services)
}

// pageKey names a notifications field by where it is in the response.
func pageKey(path ast.Path) string { return path.String() }

// pageArguments reads a notifications field's arguments, as the operation's variables give
// them, into a filter without its service or windows. ok is false for a search and for
// anything the field would refuse.
func pageArguments(args map[string]any) (f notifyql.NotificationFilter, ok bool) {
	if args["search"] != nil {
		return f, false
	}
	if v := args["type"]; v != nil {
		var typ notifyql.NotificationType
		if typ.UnmarshalGQL(v) != nil {
			return f, false
		}
		f.Type = &typ
	}
	var statuses []notifyql.NotificationStatus
	if v := args["statuses"]; v != nil {
		list, isList := v.([]any)
		if !isList {
			list = []any{v} // a single value stands for a list of one
		}
		for _, item := range list {
			var status notifyql.NotificationStatus
			if status.UnmarshalGQL(item) != nil {
				return f, false
			}
			statuses = append(statuses, status)
		}
	}
	f.Statuses = notifyql.ExpandStatusFilter(statuses)
	var first *int
	if v := args["first"]; v != nil {
		n, err := scalars.UnmarshalInt(v)
		if err != nil {
			return f, false
		}
		first = &n
	}
	size, err := notifyql.ValidatePageSize(first)
	if err != nil {
		return f, false
	}
	f.First = size
	if v := args["after"]; v != nil {
		after, isString := v.(string)
		if !isString {
			return f, false
		}
		cursor, err := notifyql.DecodeCursor(after)
		if err != nil {
			return f, false
		}
		f.After = &cursor
	}
	return f, true
}

// samePage reports whether a page read ahead answers filter: the same rows and the same
// rows beside them. The windows are the same by construction: the page read the
// retention that the field's windows were built from, at the same instant.
func samePage(ahead, filter notifyql.NotificationFilter) bool {
	return ahead.ServiceID == filter.ServiceID &&
		(ahead.Type == nil) == (filter.Type == nil) && (ahead.Type == nil || *ahead.Type == *filter.Type) &&
		slices.Equal(ahead.Statuses, filter.Statuses) &&
		ahead.First == filter.First &&
		(ahead.After == nil) == (filter.After == nil) && (ahead.After == nil || *ahead.After == *filter.After) &&
		ahead.Search == nil && filter.Search == nil &&
		ahead.Include.TemplateVersions == filter.Include.TemplateVersions && ahead.Include.Jobs == filter.Include.Jobs &&
		ahead.Include.CreatedBy == filter.Include.CreatedBy && ahead.Include.APIKeys == filter.Include.APIKeys
}

// sameCounts reports whether a page read ahead counted the statuses filter asks for.
func sameCounts(ahead, filter notifyql.PageIncludes) bool {
	return ahead.StatusCountsFrom != nil && filter.StatusCountsFrom != nil && *ahead.StatusCountsFrom == *filter.StatusCountsFrom
}
