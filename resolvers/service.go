package resolvers

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
)

type serviceResolver struct{ *Resolver }

func (r serviceResolver) Features(ctx context.Context, s *notifyql.Service) ([]string, error) {
	features, err := dataloaders.For(ctx).Features().Load(ctx, s.ID)
	if features == nil {
		features = []string{}
	}
	return features, err
}

func (r serviceResolver) MyPermissions(ctx context.Context, s *notifyql.Service) ([]notifyql.Permission, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	perms := []notifyql.Permission{}
	if access, ok := p.Services[s.ID]; ok {
		perms = append(perms, access.Permissions...)
	}
	return perms, nil
}

func (r serviceResolver) HasAPIKeys(ctx context.Context, s *notifyql.Service) (*bool, error) {
	has, err := dataloaders.For(ctx).HasAPIKeys().Load(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	return &has, nil
}

// SearchHint words the search box's placeholder (DOMAIN.md §6.3); any member may read it,
// as they may search.
func (r serviceResolver) SearchHint(ctx context.Context, s *notifyql.Service, typ *notifyql.NotificationType) (string, error) {
	has, err := dataloaders.For(ctx).HasAPIKeys().Load(ctx, s.ID)
	if err != nil {
		return "", err
	}
	return notifyql.SearchHint(typ, has), nil
}

// UpcomingJobs lists the jobs waiting for their scheduled time; @hasPermission has checked
// view_activity, as the upcomingJobs subscription does.
func (r serviceResolver) UpcomingJobs(ctx context.Context, s *notifyql.Service) ([]*notifyql.Job, error) {
	if r.jobs == nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "upcoming jobs are unavailable")
	}
	jobs, err := r.jobs.UpcomingJobs(ctx, s.ID, r.now())
	if jobs == nil {
		jobs = []*notifyql.Job{}
	}
	return jobs, err
}

func (r serviceResolver) InboxSummary(ctx context.Context, s *notifyql.Service) (*notifyql.InboxSummary, error) {
	summary, err := dataloaders.For(ctx).InboxSummary().Load(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	return &summary, nil
}

func (r serviceResolver) DataRetention(ctx context.Context, s *notifyql.Service) (*graph.DataRetention, error) {
	retention, err := dataloaders.For(ctx).Retention().Load(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	return &graph.DataRetention{
		Email:  retention.Days(notifyql.TypeEmail),
		Sms:    retention.Days(notifyql.TypeSMS),
		Letter: retention.Days(notifyql.TypeLetter),
	}, nil
}

func (r serviceResolver) Totals(ctx context.Context, s *notifyql.Service, days *int) (*notifyql.Totals, error) {
	window, err := r.dashboardCounts(ctx, s, days)
	if err != nil {
		return nil, err
	}
	totals := notifyql.ComputeTotals(window.ByStatus)
	return &totals, nil
}

func (r serviceResolver) TemplateStatistics(ctx context.Context, s *notifyql.Service, days *int) ([]*notifyql.TemplateStatistic, error) {
	window, err := r.dashboardCounts(ctx, s, days)
	if err != nil {
		return nil, err
	}
	// The statement that summed them read their templates too, for the template fields.
	return pointersTo(window.ByTemplate), nil
}

// dashboardCounts loads the §5.1 window's sums once per operation for each window, shared
// by totals and template statistics.
func (r serviceResolver) dashboardCounts(ctx context.Context, s *notifyql.Service, days *int) (notifyql.WindowCounts, error) {
	n := 7
	if days != nil {
		n = *days
	}
	if err := notifyql.ValidateDays(n); err != nil {
		return notifyql.WindowCounts{}, err
	}
	return dataloaders.For(ctx).StatusCounts().Load(ctx, r.statusCountsKey(s.ID, n))
}

func (r serviceResolver) Notifications(ctx context.Context, s *notifyql.Service, typ *notifyql.NotificationType, statuses []notifyql.NotificationStatus, first *int, after *string, searchArg *graph.NotificationSearch) (*notifyql.NotificationPage, error) {
	size, err := notifyql.ValidatePageSize(first)
	if err != nil {
		return nil, err
	}
	search, err := r.searchOf(ctx, s, typ, searchArg)
	if err != nil {
		return nil, err
	}
	if search != nil {
		if after != nil {
			return nil, notifyql.Errorf(notifyql.EINVALID, "a search shows its first %d matches only: it cannot be paged", notifyql.SearchResultLimit)
		}
		size = min(size, notifyql.SearchResultLimit)
	}
	var cursor *notifyql.Cursor
	if after != nil {
		c, err := notifyql.DecodeCursor(*after)
		if err != nil {
			return nil, err
		}
		cursor = &c
	}
	loaders := dataloaders.For(ctx)
	ahead := loaders.TakePage(pageKey(graphql.GetFieldContext(ctx).Path()))
	retention, err := loaders.Retention().Load(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	now := r.now()
	if ahead != nil {
		now = ahead.Filter.WindowsAt // the instant its windows were read at
	}
	days := notifyql.DefaultRetentionDays
	if typ != nil {
		days = retention.Days(*typ)
	}
	include := pageIncludes(ctx)
	counts := dataloaders.StatusCountsKey{ServiceID: s.ID, From: notifyql.WindowFirstDate(now, days, r.london)}
	if include.statusCounts {
		// The pills' counts travel with the page, not after it.
		include.StatusCountsFrom, include.Now = &counts.From, now
	}
	filter := notifyql.NotificationFilter{
		ServiceID: s.ID,
		Type:      typ,
		Statuses:  notifyql.ExpandStatusFilter(statuses),
		Since:     map[notifyql.NotificationType]time.Time{},
		First:     size,
		After:     cursor,
		Search:    search,
		Include:   include.PageIncludes,
	}
	for _, t := range notifyql.NotificationTypes {
		if typ == nil || *typ == t {
			filter.Since[t] = retention.WindowStart(t, now, r.london)
		}
	}
	page := ahead
	if ahead != nil && samePage(ahead.Filter, filter) {
		if !sameCounts(ahead.Filter.Include, filter.Include) {
			// Counts of another window (a retention changed since its hint), or none: the
			// statusCounts field reads its own.
			page.StatusCounts = nil
		}
		page.Filter = filter
	} else if page, err = r.stores.Notifications.ListNotifications(ctx, filter); err != nil {
		return nil, err
	}
	page.DataAvailableDays = days
	loaders.Prime(&page.Related)
	if page.StatusCounts != nil {
		loaders.StatusCounts().PrimeLater(counts, page.StatusCounts)
	}
	return page, nil
}

// pageSelection is what a notifications field's selection asks of its page.
type pageSelection struct {
	notifyql.PageIncludes
	statusCounts bool
}

// pageIncludes reads, from the notifications field's selection, which rows its nodes point
// at and whether the status counts are shown, so that the page's round trip reads them.
func pageIncludes(ctx context.Context) pageSelection {
	return selectionIncludes(graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections)
}

// selectionIncludes is pageIncludes for a notifications field's selections.
func selectionIncludes(opCtx *graphql.OperationContext, selections ast.SelectionSet) pageSelection {
	var include pageSelection
	for _, f := range graphql.CollectFields(opCtx, selections, nil) {
		switch f.Name {
		case "statusCounts":
			include.statusCounts = true
		case "edges":
			node := nodeFields(opCtx, graphql.CollectFields(opCtx, f.Selections, nil))
			include.TemplateVersions = include.TemplateVersions || node["template"]
			include.Jobs = include.Jobs || node["job"]
			include.CreatedBy = include.CreatedBy || node["createdBy"]
			include.APIKeys = include.APIKeys || node["apiKey"]
		}
	}
	return include
}

// statusCountsKey names the dashboard rows of the last `days` London days plus today.
func (r *Resolver) statusCountsKey(serviceID string, days int) dataloaders.StatusCountsKey {
	return dataloaders.StatusCountsKey{ServiceID: serviceID, From: notifyql.WindowFirstDate(r.now(), days, r.london)}
}

func sortMemberships(ms []*graph.Membership) {
	slices.SortFunc(ms, func(a, b *graph.Membership) int { return strings.Compare(a.Service.Name, b.Service.Name) })
}
