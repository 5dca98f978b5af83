package resolvers

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/phone"
)

type connectionResolver struct{ *Resolver }

func (r connectionResolver) Edges(ctx context.Context, page *notifyql.NotificationPage) ([]*graph.NotificationEdge, error) {
	edgeFields := graphql.CollectFieldsCtx(ctx, nil)
	prefetchEdges(ctx, page.Notifications, nodeFields(graphql.GetOperationContext(ctx), edgeFields))
	// A cursor per row costs its encoding: only a selection that shows them gets them.
	withCursor := slices.ContainsFunc(edgeFields, func(f graphql.CollectedField) bool { return f.Name == "cursor" })
	edges := make([]*graph.NotificationEdge, len(page.Notifications))
	for i, n := range page.Notifications {
		edges[i] = &graph.NotificationEdge{Node: n}
		if withCursor {
			edges[i].Cursor = cursorOf(n)
		}
	}
	return edges, nil
}

func (r connectionResolver) PageInfo(ctx context.Context, page *notifyql.NotificationPage) (*graph.PageInfo, error) {
	info := &graph.PageInfo{HasNextPage: page.HasNextPage}
	// A search has no next page to ask for: its HasNextPage only says more matches exist.
	if n := len(page.Notifications); n > 0 && page.Filter.Search == nil {
		end := cursorOf(page.Notifications[n-1])
		info.EndCursor = &end
	}
	return info, nil
}

// StatusCounts are the pills over the type's retention (7 days with no type), whatever the
// status filter (DOMAIN.md §6.2).
func (r connectionResolver) StatusCounts(ctx context.Context, page *notifyql.NotificationPage) (*notifyql.StatusCounts, error) {
	window, err := dataloaders.For(ctx).StatusCounts().Load(ctx, r.statusCountsKey(page.Filter.ServiceID, page.DataAvailableDays))
	if err != nil {
		return nil, err
	}
	counts := notifyql.ComputeStatusCounts(window.ByStatus, page.Filter.Type)
	return &counts, nil
}

// prefetchEdges queues the page's edge keys on their loaders at once, for the edges the
// operation selects, and sends each loader's round: every key is queued, so nothing else
// can join it. A page that read its edges' rows with it (Service.notifications) primed the
// loaders, and its keys cost nothing; a page from elsewhere costs one query per edge,
// however busy the machine is.
func prefetchEdges(ctx context.Context, page []*notifyql.Notification, selected map[string]bool) {
	loaders := dataloaders.For(ctx)
	for _, n := range page {
		if selected["template"] {
			loaders.TemplateVersion().Want(ctx, notifyql.TemplateVersionKey{ID: n.TemplateID, Version: n.TemplateVersion})
		}
		if selected["job"] && n.JobID != nil {
			loaders.Job().Want(ctx, *n.JobID)
		}
		if selected["createdBy"] && n.CreatedByID != nil {
			loaders.User().Want(ctx, *n.CreatedByID)
		}
		if selected["apiKey"] && n.APIKeyID != nil {
			loaders.APIKey().Want(ctx, *n.APIKeyID)
		}
	}
	// Sent concurrently, each round being a statement of its own; a page whose rows came
	// with what they point at (Service.notifications primes the loaders) has none to send.
	var sends []func()
	for _, loader := range []struct {
		selected bool
		loader   interface {
			Pending() bool
			Dispatch()
		}
	}{
		{selected["template"], loaders.TemplateVersion()},
		{selected["job"], loaders.Job()},
		{selected["createdBy"], loaders.User()},
		{selected["apiKey"], loaders.APIKey()},
	} {
		if loader.selected && loader.loader.Pending() {
			sends = append(sends, loader.loader.Dispatch)
		}
	}
	if len(sends) == 1 {
		sends[0]()
		return
	}
	var wg sync.WaitGroup
	for _, send := range sends {
		wg.Go(send)
	}
	wg.Wait()
}

// nodeFields names the fields selected under node among an edge's fields.
func nodeFields(opCtx *graphql.OperationContext, edgeFields []graphql.CollectedField) map[string]bool {
	selected := map[string]bool{}
	for _, edgeField := range edgeFields {
		if edgeField.Name != "node" {
			continue
		}
		for _, nodeField := range graphql.CollectFields(opCtx, edgeField.Selections, nil) {
			selected[nodeField.Name] = true
		}
	}
	return selected
}

func cursorOf(n *notifyql.Notification) string {
	return notifyql.Cursor{CreatedAt: n.CreatedAt, ID: n.ID}.Encode()
}

type notificationResolver struct{ *Resolver }

// Recipient formats the recipient for people: phone numbers in their human form, letter
// address lines joined with ", ", email addresses as stored.
func (r notificationResolver) Recipient(ctx context.Context, n *notifyql.Notification) (string, error) {
	switch n.Type {
	case notifyql.TypeSMS:
		return phone.Format(n.To), nil
	case notifyql.TypeLetter:
		return strings.Join(strings.Split(n.To, "\n"), ", "), nil
	default:
		return n.To, nil
	}
}

func (r notificationResolver) Template(ctx context.Context, n *notifyql.Notification) (*notifyql.TemplateVersion, error) {
	key := notifyql.TemplateVersionKey{ID: n.TemplateID, Version: n.TemplateVersion}
	return dataloaders.Load(ctx, dataloaders.For(ctx).TemplateVersion(), key)
}

func (r notificationResolver) Job(ctx context.Context, n *notifyql.Notification) (*notifyql.Job, error) {
	if n.JobID == nil {
		return nil, nil
	}
	return dataloaders.Load(ctx, dataloaders.For(ctx).Job(), *n.JobID)
}

func (r notificationResolver) CreatedBy(ctx context.Context, n *notifyql.Notification) (*notifyql.User, error) {
	if n.CreatedByID == nil {
		return nil, nil
	}
	return dataloaders.Load(ctx, dataloaders.For(ctx).User(), *n.CreatedByID)
}

func (r notificationResolver) APIKey(ctx context.Context, n *notifyql.Notification) (*notifyql.APIKey, error) {
	if n.APIKeyID == nil {
		return nil, nil
	}
	return dataloaders.Load(ctx, dataloaders.For(ctx).APIKey(), *n.APIKeyID)
}

// SentBy names the provider, which only platform admins see (DOMAIN.md §12.1).
func (r notificationResolver) SentBy(ctx context.Context, n *notifyql.Notification) (*string, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if !p.User.PlatformAdmin {
		return nil, notifyql.Errorf(notifyql.EFORBIDDEN, "only platform admins can see the provider")
	}
	return n.SentBy, nil
}

func (r notificationResolver) StatusHistory(ctx context.Context, n *notifyql.Notification) ([]*notifyql.StatusChange, error) {
	changes, err := dataloaders.For(ctx).StatusHistory().Load(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	return pointersTo(changes), nil
}

// Letter gathers what a letter's page shows (DOMAIN.md §12.1–12.3).
func (r notificationResolver) Letter(ctx context.Context, n *notifyql.Notification) (*graph.LetterDetail, error) {
	if n.Type != notifyql.TypeLetter {
		return nil, nil
	}
	now := r.now()
	detail := &graph.LetterDetail{
		PageCount:      n.LetterPageCount,
		SheetCount:     n.BillableUnits,
		CanBeCancelled: notifyql.LetterCancellable(n.Status, n.CreatedAt, now, r.london),
		Notification:   n,
	}
	if note := notifyql.LetterStatusNote(n, r.london); note != "" {
		detail.StatusNote = &note
		return detail, nil
	}
	statement := notifyql.PrintStatement(n.CreatedAt, now, detail.CanBeCancelled, r.london)
	detail.PrintStatement = &statement
	if n.Postage != nil {
		holidays, err := r.bankHolidays(ctx)
		if err != nil {
			return nil, err
		}
		_, latest := notifyql.EstimatedDelivery(n.CreatedAt, *n.Postage, holidays, r.london)
		text := notifyql.EstimatedDeliveryText(latest, r.london)
		detail.EstimatedDelivery = &latest
		detail.EstimatedDeliveryText = &text
	}
	return detail, nil
}

type templateStatisticResolver struct{ *Resolver }

func (r templateStatisticResolver) Template(ctx context.Context, s *notifyql.TemplateStatistic) (*notifyql.Template, error) {
	return dataloaders.Load(ctx, dataloaders.For(ctx).Template(), s.TemplateID)
}
