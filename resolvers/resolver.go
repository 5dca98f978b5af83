// Package resolvers translates GraphQL fields into calls on the stores and loaders: parse
// the arguments, check permission, load, convert. It holds no SQL and no HTTP.
package resolvers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/letterpreview"
)

// Deps are what the resolvers read from.
type Deps struct {
	// Stores back the per-operation loaders and the lookups.
	Stores dataloaders.Stores
	// Reporting reads the history pages and billing; Billing rebuilds today's billing.
	Reporting notifyql.ReportingStore
	Billing   notifyql.BillingRebuilder
	// Inbox reads the inbox and report requests.
	Inbox notifyql.InboxStore
	// Letters cancels letters.
	Letters notifyql.LetterCanceller
	// Conversations reads the texts exchanged with one number.
	Conversations notifyql.ConversationStore
	// Reports queues report requests and keeps their files.
	Reports notifyql.ReportStore
	// Live serves the subscriptions' snapshots.
	Live Live
	// Jobs reads the upcoming jobs, for Service.upcomingJobs: the store the upcomingJobs
	// subscription's snapshots read, so that the query and the stream agree.
	Jobs notifyql.UpcomingJobStore
	// Searches remembers search terms (nil: only searches by term work), and SearchSecret
	// keys their hashes.
	Searches     notifyql.SearchTermStore
	SearchSecret []byte
	// Exports estimates notifications CSVs, and Links signs the links to them (csvUrl is
	// null without it).
	Exports notifyql.ExportStore
	Links   notifyql.LinkSigner
	// Content loads what message content and letter previews are rebuilt from, and
	// Renderer renders letters (both nil: content and previews are unavailable).
	Content  notifyql.ContentStore
	Renderer *letterpreview.Renderer
	// LetterLinks signs a letter's preview links (15 minutes), UploadLinks a validated
	// upload's (5 minutes); Uploads keeps the uploads and Validations counts each user's
	// validations.
	LetterLinks notifyql.LinkSigner
	UploadLinks notifyql.LinkSigner
	Uploads     notifyql.LetterUploadStore
	Validations ValidationLimiter
	// Now is the clock and London the Europe/London zone.
	Now    func() time.Time
	London *time.Location
}

// Resolver is the root of the resolver tree.
type Resolver struct {
	stores        dataloaders.Stores
	reporting     notifyql.ReportingStore
	billing       notifyql.BillingRebuilder
	inbox         notifyql.InboxStore
	letters       notifyql.LetterCanceller
	conversations notifyql.ConversationStore
	reports       notifyql.ReportStore
	live          Live
	jobs          notifyql.UpcomingJobStore
	searches      notifyql.SearchTermStore
	// searchSecret keys the HMAC of remembered search terms.
	searchSecret []byte
	exports      notifyql.ExportStore
	links        notifyql.LinkSigner
	reloads      *reloads
	content      notifyql.ContentStore
	renderer     *letterpreview.Renderer
	letterLinks  notifyql.LinkSigner
	uploadLinks  notifyql.LinkSigner
	uploads      notifyql.LetterUploadStore
	validations  ValidationLimiter
	now          func() time.Time
	london       *time.Location

	retentionHints retentionHints
	// nodeReqs are the permissions node(id) checks, read from the schema.
	nodeReqs nodeRequirements

	holidaysMu sync.Mutex
	holidays   notifyql.Holidays
}

// New returns the root resolver. It fails only when the schema lacks a permission that
// node(id) reads from it.
func New(d Deps) (*Resolver, error) {
	reqs, err := readNodeRequirements(graph.NewExecutableSchema(graph.Config{}).Schema())
	if err != nil {
		return nil, fmt.Errorf("node permissions: %w", err)
	}
	return &Resolver{nodeReqs: reqs, stores: d.Stores, reporting: d.Reporting, billing: d.Billing, inbox: d.Inbox, letters: d.Letters, conversations: d.Conversations, reports: d.Reports, live: d.Live, jobs: d.Jobs,
		searches: d.Searches, searchSecret: d.SearchSecret, exports: d.Exports, links: d.Links, reloads: &reloads{}, now: d.Now, london: d.London,
		content: d.Content, renderer: d.Renderer, letterLinks: d.LetterLinks, uploadLinks: d.UploadLinks, uploads: d.Uploads, validations: d.Validations}, nil
}

// Config returns gqlgen's configuration: the resolvers, the @hasPermission directive and
// the complexity of list fields.
func (r *Resolver) Config() graph.Config {
	cfg := graph.Config{Resolvers: r}
	cfg.Directives.HasPermission = r.hasPermission
	// A list multiplies the cost of what each row selects by the rows it may hold: a page
	// by the page size asked for (a size out of range, which the resolver refuses, counts
	// as the default).
	cfg.Complexity.Service.Notifications = func(child int, _ *notifyql.NotificationType, _ []notifyql.NotificationStatus, first *int, _ *string, _ *graph.NotificationSearch) int {
		n := notifyql.DefaultPageSize
		if first != nil && *first > 0 && *first <= notifyql.MaxPageSize {
			n = *first
		}
		return 1 + n*child
	}
	cfg.Complexity.Service.Inbox = func(child int, first *int, _ *string) int {
		n := notifyql.InboxPageSize
		if first != nil && *first > 0 && *first <= notifyql.InboxPageSize {
			n = *first
		}
		return 1 + n*child
	}
	cfg.Complexity.Subscription.Inbox = func(child int, _ string) int { return 1 + notifyql.InboxPageSize*child }
	// nodes(ids) holds a row per id, at most MaxNodeIDs (more is refused).
	cfg.Complexity.Query.Nodes = func(child int, ids []string) int { return 1 + min(len(ids), notifyql.MaxNodeIDs)*child }
	// The sent texts and, for a number that writes often, as many received.
	cfg.Complexity.Conversation.Messages = func(child int) int { return 1 + 2*notifyql.ConversationSentLimit*child }
	// Lists without a page size count as 20 rows: a service's templates, a user's services.
	cfg.Complexity.Service.TemplateStatistics = func(child int, _ *int) int { return 1 + 20*child }
	cfg.Complexity.Subscription.TemplateStatistics = func(child int, _ string, _ *int) int { return 1 + 20*child }
	cfg.Complexity.Service.UpcomingJobs = func(child int) int { return 1 + 20*child }
	cfg.Complexity.Query.Services = func(child int) int { return 1 + 20*child }
	cfg.Complexity.User.Memberships = func(child int) int { return 1 + 20*child }
	// Content and previews render on request: each weighs enough that a page of 50
	// notifications cannot select them (50 × 101 is past the default limit of 5,000),
	// while a notification's detail can.
	cfg.Complexity.Notification.Content = func(child int) int { return renderedFieldWeight + child }
	cfg.Complexity.Notification.ContentUnavailableReason = func(int) int { return renderedFieldWeight }
	cfg.Complexity.LetterDetail.Preview = func(child int) int { return renderedFieldWeight + child }
	cfg.Complexity.LetterDetail.ValidationErrors = func(child int) int { return renderedFieldWeight + child }
	return cfg
}

func (r *Resolver) Query() graph.QueryResolver               { return queryResolver{r} }
func (r *Resolver) Service() graph.ServiceResolver           { return serviceResolver{r} }
func (r *Resolver) User() graph.UserResolver                 { return userResolver{r} }
func (r *Resolver) Notification() graph.NotificationResolver { return notificationResolver{r} }
func (r *Resolver) TemplateStatistic() graph.TemplateStatisticResolver {
	return templateStatisticResolver{r}
}
func (r *Resolver) NotificationConnection() graph.NotificationConnectionResolver {
	return connectionResolver{r}
}
func (r *Resolver) Subscription() graph.SubscriptionResolver   { return subscriptionResolver{r} }
func (r *Resolver) Mutation() graph.MutationResolver           { return mutationResolver{r} }
func (r *Resolver) ReportRequest() graph.ReportRequestResolver { return reportRequestResolver{r} }
func (r *Resolver) AnnualUsage() graph.AnnualUsageResolver     { return annualUsageResolver{r} }
func (r *Resolver) MonthlyUsage() graph.MonthlyUsageResolver   { return monthlyUsageResolver{r} }
func (r *Resolver) LetterCharge() graph.LetterChargeResolver   { return letterChargeResolver{r} }
func (r *Resolver) LetterDetail() graph.LetterDetailResolver   { return letterDetailResolver{r} }
func (r *Resolver) LetterValidation() graph.LetterValidationResolver {
	return letterValidationResolver{r}
}
func (r *Resolver) LetterValidationError() graph.LetterValidationErrorResolver {
	return letterValidationErrorResolver{r}
}

// renderedFieldWeight is the complexity of each field rendered on request (RENDERING.md
// §7.1).
const renderedFieldWeight = 101

// hasPermission enforces the @hasPermission directive: the one place where field-level
// permissions are checked. A field's permission belongs to the data it shows, not to the
// path that reached it (DOMAIN.md §16):
//   - on a Service field the service is the parent object;
//   - on a Notification field it is the notification's service, loaded through the
//     operation's loader, so that a notification reached through the list, the detail
//     query, a subscription or a mutation shows its detail to the same callers;
//   - on a root field that returns a service-scoped row (notification(id)) the row is
//     loaded first and its service checked.
//
// A caller who is neither a platform admin nor a member of a notification's service is
// told the notification does not exist.
func (r *Resolver) hasPermission(ctx context.Context, obj any, next graphql.Resolver, anyOf []notifyql.Permission, organisationUsers *bool, feature *string) (any, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	req := notifyql.Requirement{AnyOf: anyOf, OrganisationUsers: organisationUsers != nil && *organisationUsers}
	if feature != nil {
		req.Feature = *feature
	}
	switch parent := obj.(type) {
	case *notifyql.Service:
		if err := checkService(ctx, p, parent, req); err != nil {
			return nil, err
		}
		return next(ctx)
	case *notifyql.Notification:
		if err := checkNotification(ctx, p, parent, req); err != nil {
			return nil, err
		}
		return next(ctx)
	}
	res, err := next(ctx)
	if err != nil {
		return nil, err
	}
	n, ok := res.(*notifyql.Notification)
	if !ok || n == nil {
		return res, nil
	}
	if err := checkNotification(ctx, p, n, req); err != nil {
		return nil, err
	}
	return n, nil
}

// checkService checks req on svc for p, loading the service's features when req names one.
func checkService(ctx context.Context, p *notifyql.Principal, svc *notifyql.Service, req notifyql.Requirement) error {
	facts := serviceFacts(svc)
	if req.Feature != "" {
		features, err := dataloaders.For(ctx).Features().Load(ctx, svc.ID)
		if err != nil {
			return err
		}
		facts.Features = features
	}
	return p.Check(facts, req)
}

// checkNotification checks req on n's service for p: ENOTFOUND "notification not found"
// for a caller who is neither a platform admin nor a member of it.
func checkNotification(ctx context.Context, p *notifyql.Principal, n *notifyql.Notification, req notifyql.Requirement) error {
	svc, err := dataloaders.Load(ctx, dataloaders.For(ctx).Service(), n.ServiceID)
	if err != nil {
		return err
	}
	if svc == nil || !(p.User.PlatformAdmin || p.IsMember(svc.ID)) {
		return notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	return checkService(ctx, p, svc, req)
}

// serviceByID loads the service an argument names: EINVALID for an id that is not a UUID,
// ENOTFOUND when there is no such service. Whether the caller may see it is the caller's
// next check.
func (r *Resolver) serviceByID(ctx context.Context, id string) (*notifyql.Service, error) {
	if err := notifyql.ValidateID("service", id); err != nil {
		return nil, err
	}
	svc, err := dataloaders.Load(ctx, dataloaders.For(ctx).Service(), notifyql.NormaliseID(id))
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	return svc, nil
}

// serviceFor loads the service a mutation names and checks the signed-in caller against req
// on it: a caller who cannot open the service is told it does not exist (Principal.Check).
func (r *Resolver) serviceFor(ctx context.Context, serviceID string, req notifyql.Requirement) (*notifyql.Principal, *notifyql.Service, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc, err := r.serviceByID(ctx, serviceID)
	if err != nil {
		return nil, nil, err
	}
	if err := p.Check(serviceFacts(svc), req); err != nil {
		return nil, nil, err
	}
	return p, svc, nil
}

func serviceFacts(s *notifyql.Service) notifyql.ServiceFacts {
	return notifyql.ServiceFacts{ID: s.ID, Active: s.Active, OrganisationID: s.OrganisationID}
}

// bankHolidays loads the reference table once per process: it changes only with a migration.
func (r *Resolver) bankHolidays(ctx context.Context) (notifyql.Holidays, error) {
	r.holidaysMu.Lock()
	defer r.holidaysMu.Unlock()
	if r.holidays != nil {
		return r.holidays, nil
	}
	holidays, err := r.stores.Notifications.BankHolidays(ctx)
	if err != nil {
		return nil, err
	}
	r.holidays = holidays
	return holidays, nil
}

// pointersTo returns pointers to the elements of s, the shape gqlgen's lists take.
func pointersTo[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}
