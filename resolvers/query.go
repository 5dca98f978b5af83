package resolvers

import (
	"context"
	"maps"
	"slices"

	"github.com/99designs/gqlgen/graphql"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
)

type queryResolver struct{ *Resolver }

func (r queryResolver) Me(ctx context.Context) (*notifyql.User, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	return &p.User, nil
}

func (r queryResolver) Services(ctx context.Context) ([]*notifyql.Service, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	services, err := r.stores.Services.ServicesForUser(ctx, p)
	if err != nil {
		return nil, err
	}
	loaders := dataloaders.For(ctx)
	for _, s := range services {
		loaders.Service().Prime(s.ID, s)
	}
	return services, nil
}

// Service answers NOT_FOUND both for ids that do not exist and for services the caller has
// no relation to, so that ids cannot be probed.
func (r queryResolver) Service(ctx context.Context, id string) (*notifyql.Service, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if notifyql.ValidateID("service", id) == nil {
		r.readAhead(ctx, p, notifyql.NormaliseID(id))
	}
	svc, err := r.serviceByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := openService(p, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// openService is Query.service's check: ENOTFOUND for a service the caller has no relation
// to.
func openService(p *notifyql.Principal, svc *notifyql.Service) error {
	if !p.CanOpen(serviceFacts(svc)) {
		return notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	return nil
}

// Notification loads the row among those the caller may open; @hasPermission then checks
// the permission on its service.
func (r queryResolver) Notification(ctx context.Context, id string) (*notifyql.Notification, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if err := notifyql.ValidateID("notification", id); err != nil {
		return nil, err
	}
	return r.openableNotification(ctx, p, notifyql.NormaliseID(id), selectedIncludes(ctx))
}

// selectedIncludes is what the statement finding the field's notification reads beside
// it for the fields the operation selects on it. Reading less than a field needs costs
// that field a round trip, never a wrong answer: its loader reads what was not primed.
func selectedIncludes(ctx context.Context) notifyql.NotificationIncludes {
	var include notifyql.NotificationIncludes
	fc := graphql.GetFieldContext(ctx)
	for _, f := range graphql.CollectFields(graphql.GetOperationContext(ctx), fc.Field.Selections, nil) {
		switch f.Name {
		case "template":
			include.TemplateVersions = true
		case "job":
			include.Jobs = true
		case "createdBy":
			include.CreatedBy = true
		case "apiKey":
			include.APIKeys = true
		case "statusHistory":
			include.StatusHistory = true
		case "content", "contentUnavailableReason":
			// Content's availability needs the service's retention and, for a letter,
			// the template version it was sent from.
			include.ServiceFacts = true
			include.TemplateVersions = true
		}
	}
	return include
}

// openableNotification loads a notification the caller may open: any for a platform
// admin, otherwise one of a service they are a member of (DOMAIN.md §16). The lookup itself
// is restricted to those services, so that another service's notification and an id that
// does not exist are told apart neither by the answer (NOT_FOUND) nor by its cost (one
// statement each). The notification's service comes in the same statement, for the
// permission check, with what include names, for the fields that show it.
func (r *Resolver) openableNotification(ctx context.Context, p *notifyql.Principal, id string, include notifyql.NotificationIncludes) (*notifyql.Notification, error) {
	n, related, err := r.stores.Notifications.NotificationWithRelated(ctx, id, notificationScope(p), include, r.now())
	if err != nil {
		return nil, err
	}
	dataloaders.For(ctx).Prime(related)
	return n, nil
}

// notificationScope is where p may open notifications: any service for a platform admin,
// otherwise the services they are a member of.
func notificationScope(p *notifyql.Principal) notifyql.NotificationScope {
	scope := notifyql.NotificationScope{AnyService: p.User.PlatformAdmin}
	if !scope.AnyService {
		scope.ServiceIDs = slices.Collect(maps.Keys(p.Services))
	}
	return scope
}

type userResolver struct{ *Resolver }

// Memberships are the signed-in user's own; another user's are not served.
func (r userResolver) Memberships(ctx context.Context, u *notifyql.User) ([]*graph.Membership, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if p.User.ID != u.ID {
		return nil, notifyql.Errorf(notifyql.EFORBIDDEN, "you can only see your own memberships")
	}
	loaders := dataloaders.For(ctx)
	thunks := make(map[string]func() (*notifyql.Service, error), len(p.Services))
	for id := range p.Services {
		thunks[id] = loaders.Service().Queue(ctx, id)
	}
	// Every key is queued: nothing else can join the round.
	loaders.Service().Dispatch()
	memberships := make([]*graph.Membership, 0, len(p.Services))
	for id, access := range p.Services {
		svc, err := thunks[id]()
		if dataloaders.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		memberships = append(memberships, &graph.Membership{Service: svc, Permissions: access.Permissions})
	}
	sortMemberships(memberships)
	return memberships, nil
}
