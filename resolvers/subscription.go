package resolvers

import (
	"context"
	"strconv"
	"sync"
	"time"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/live"
)

// Live hands out a topic's snapshots (live.Hub implements it).
type Live interface {
	// Attach puts the topic's current snapshot into out at once, then each change, and
	// calls access.OnChange whenever an access change may have altered what the user may
	// do on the service. out is closed when ctx is done, when the subscriber fell too far
	// behind, or when detach is called.
	Attach(ctx context.Context, t notifyql.Topic, out live.Outlet, access live.AccessInterest) (detach func(), err error)
}

// Re-checks that fail for a reason other than a refusal (the database is away) are tried
// again after recheckRetry; a reload takes at most reloadTimeout.
const (
	recheckRetry  = time.Second
	reloadTimeout = 5 * time.Second
)

type subscriptionResolver struct{ *Resolver }

func (r subscriptionResolver) DashboardTotals(ctx context.Context, serviceID string, days *int) (<-chan *notifyql.Totals, error) {
	topic, g, err := r.dashboardTopic(ctx, notifyql.TopicTotals, serviceID, days)
	if err != nil {
		return nil, err
	}
	return stream(ctx, r.Resolver, topic, g, func(v *notifyql.Totals) *notifyql.Totals { return v })
}

func (r subscriptionResolver) TemplateStatistics(ctx context.Context, serviceID string, days *int) (<-chan []*notifyql.TemplateStatistic, error) {
	topic, g, err := r.dashboardTopic(ctx, notifyql.TopicTemplateStatistics, serviceID, days)
	if err != nil {
		return nil, err
	}
	return stream(ctx, r.Resolver, topic, g, pointersTo[notifyql.TemplateStatistic])
}

func (r subscriptionResolver) UpcomingJobs(ctx context.Context, serviceID string) (<-chan []*notifyql.Job, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := r.subscribedService(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	g := guard{userID: p.User.ID, serviceID: svc.ID, req: notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}}}
	if err := g.check(p, svc, nil); err != nil {
		return nil, err
	}
	topic := notifyql.Topic{Kind: notifyql.TopicUpcomingJobs, ServiceID: svc.ID}
	return stream(ctx, r.Resolver, topic, g, pointersTo[notifyql.Job])
}

// Notification checks what Query.notification's @hasPermission checks: a caller who is
// neither a platform admin nor a member of the notification's service is told it does
// not exist, then view_activity or send_messages is needed.
func (r subscriptionResolver) Notification(ctx context.Context, id string) (<-chan *notifyql.Notification, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if err := notifyql.ValidateID("notification", id); err != nil {
		return nil, err
	}
	// Only its service is needed here: the stream reads what it pushes.
	n, err := r.openableNotification(ctx, p, notifyql.NormaliseID(id), notifyql.NotificationIncludes{})
	if err != nil {
		return nil, err
	}
	svc, err := r.subscribedService(ctx, n.ServiceID)
	if notifyql.ErrorCode(err) == notifyql.ENOTFOUND {
		svc, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	g := guard{
		userID:      p.User.ID,
		serviceID:   n.ServiceID,
		req:         notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity, notifyql.SendMessages}},
		membersOnly: true,
	}
	if err := g.check(p, svc, nil); notifyql.ErrorCode(err) == notifyql.ENOTFOUND {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	} else if err != nil {
		return nil, err
	}
	topic := notifyql.Topic{Kind: notifyql.TopicNotification, ServiceID: n.ServiceID, Key: n.ID}
	histories := dataloaders.For(ctx).StatusHistory()
	return stream(ctx, r.Resolver, topic, g, func(d *notifyql.NotificationDetail) *notifyql.Notification {
		// The operation's loaders live as long as the subscription: hand them each
		// snapshot's history so that statusHistory is neither stale nor a query per event.
		histories.Clear(d.Notification.ID)
		histories.Prime(d.Notification.ID, d.StatusHistory)
		return d.Notification
	})
}

// dashboardTopic checks the caller may see the service's dashboard, as the matching query
// requires (view_activity), and names the topic of its window.
func (r subscriptionResolver) dashboardTopic(ctx context.Context, kind notifyql.TopicKind, serviceID string, days *int) (notifyql.Topic, guard, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return notifyql.Topic{}, guard{}, err
	}
	n := notifyql.MaxDashboardDays
	if days != nil {
		n = *days
	}
	if err := notifyql.ValidateDays(n); err != nil {
		return notifyql.Topic{}, guard{}, err
	}
	svc, err := r.subscribedService(ctx, serviceID)
	if err != nil {
		return notifyql.Topic{}, guard{}, err
	}
	g := guard{userID: p.User.ID, serviceID: svc.ID, req: notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}}}
	if err := g.check(p, svc, nil); err != nil {
		return notifyql.Topic{}, guard{}, err
	}
	return notifyql.Topic{Kind: kind, ServiceID: svc.ID, Key: strconv.Itoa(n)}, g, nil
}

// guard is what a subscription needs to keep being allowed (DOMAIN.md §16: the matching
// query's requirement, checked again whenever the caller's access or the service changes).
type guard struct {
	userID, serviceID string
	req               notifyql.Requirement
	// membersOnly tells callers who are neither platform admins nor members that the
	// thing does not exist, as notification(id) does.
	membersOnly bool
}

// check applies the requirement to a principal and the service (nil when it is gone),
// whose features are given when the requirement names one.
func (g guard) check(p *notifyql.Principal, svc *notifyql.Service, features []string) error {
	if svc == nil {
		return notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	if g.membersOnly && !(p.User.PlatformAdmin || p.IsMember(svc.ID)) {
		return notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	facts := serviceFacts(svc)
	facts.Features = features
	return p.Check(facts, g.req)
}

// recheck reloads the principal and the service, sharing loads started after since with
// the instance's other subscriptions, and applies the guard. A refusal of any kind (the
// user gone or deactivated, the service gone) comes back as EFORBIDDEN: the subscriber
// knew the thing existed, and now may not see it. Other errors come back as they are.
func (r *Resolver) recheck(ctx context.Context, g guard, since time.Time) error {
	p, err := r.reloads.principals.get(ctx, g.userID, since, func(ctx context.Context) (*notifyql.Principal, error) {
		return r.stores.Access.Principal(ctx, g.userID)
	})
	if notifyql.ErrorCode(err) == notifyql.ENOTFOUND {
		return notifyql.Errorf(notifyql.EFORBIDDEN, "your access to this service has ended")
	} else if err != nil {
		return err
	}
	svc, err := r.sharedService(ctx, g.serviceID, since)
	if err != nil {
		return err
	}
	var features []string
	if g.req.Feature != "" {
		byService, err := r.stores.Services.FeaturesByServiceIDs(ctx, []string{g.serviceID})
		if err != nil {
			return err
		}
		features = byService[g.serviceID]
	}
	switch err := g.check(p, svc, features); notifyql.ErrorCode(err) {
	case "":
		return nil
	case notifyql.EFORBIDDEN:
		return err
	case notifyql.ENOTFOUND, notifyql.EUNAUTHENTICATED:
		return notifyql.Errorf(notifyql.EFORBIDDEN, "your access to this service has ended")
	default:
		return err
	}
}

// subscribedService is serviceByID for a subscription's start, loaded by the store
// directly: the operation's loaders would be held, with what they loaded, for as long as
// the subscription runs.
func (r *Resolver) subscribedService(ctx context.Context, id string) (*notifyql.Service, error) {
	if err := notifyql.ValidateID("service", id); err != nil {
		return nil, err
	}
	services, err := r.stores.Services.ServicesByIDs(ctx, []string{notifyql.NormaliseID(id)})
	if err != nil {
		return nil, err
	}
	if len(services) == 0 {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	return services[0], nil
}

// sharedService loads a service for a re-check, nil when there is none, sharing any load
// of it started at or after since with the instance's other re-checks.
func (r *Resolver) sharedService(ctx context.Context, id string, since time.Time) (*notifyql.Service, error) {
	return r.reloads.services.get(ctx, id, since, func(ctx context.Context) (*notifyql.Service, error) {
		services, err := r.stores.Services.ServicesByIDs(ctx, []string{id})
		if err != nil || len(services) == 0 {
			return nil, err
		}
		return services[0], nil
	})
}

// reloads share the re-checks' loads between the subscriptions of one instance: an access
// change naming a user costs one principal query per instance, however many subscriptions
// that user holds here.
type reloads struct {
	principals freshLoads[*notifyql.Principal]
	services   freshLoads[*notifyql.Service]
}

// freshLoads runs one load per key at a time and lets callers that need a value loaded
// after a moment share any load started since.
type freshLoads[V any] struct {
	mu    sync.Mutex
	loads map[string]*freshLoad[V]
}

type freshLoad[V any] struct {
	started time.Time
	done    chan struct{}
	value   V
	err     error
}

// keepLoads is how long a finished load stays shareable before it is forgotten.
const keepLoads = time.Minute

// get returns the value of a load of key started at or after since, running fetch when
// there is none. fetch runs without the caller's cancellation, bounded by reloadTimeout,
// since other callers may be waiting for it.
func (f *freshLoads[V]) get(ctx context.Context, key string, since time.Time, fetch func(context.Context) (V, error)) (V, error) {
	f.mu.Lock()
	l := f.loads[key]
	if l == nil || l.started.Before(since) {
		now := time.Now()
		if f.loads == nil {
			f.loads = make(map[string]*freshLoad[V])
		}
		for k, old := range f.loads {
			if now.Sub(old.started) > keepLoads && isClosed(old.done) {
				delete(f.loads, k)
			}
		}
		l = &freshLoad[V]{started: now, done: make(chan struct{})}
		f.loads[key] = l
		f.mu.Unlock()
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
		l.value, l.err = fetch(fetchCtx)
		cancel()
		close(l.done)
	} else {
		f.mu.Unlock()
	}
	select {
	case <-l.done:
		return l.value, l.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
