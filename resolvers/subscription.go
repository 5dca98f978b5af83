package resolvers

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

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
	svc, err := r.serviceByID(ctx, serviceID)
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
	n, err := r.stores.Notifications.Notification(ctx, notifyql.NormaliseID(id))
	if err != nil {
		return nil, err
	}
	svc, err := dataloaders.Load(ctx, dataloaders.For(ctx).Service(), n.ServiceID)
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
	svc, err := r.serviceByID(ctx, serviceID)
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
	svc, err := r.reloads.services.get(ctx, g.serviceID, since, func(ctx context.Context) (*notifyql.Service, error) {
		services, err := r.stores.Services.ServicesByIDs(ctx, []string{g.serviceID})
		if err != nil || len(services) == 0 {
			return nil, err
		}
		return services[0], nil
	})
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

// stream serves a topic's snapshots, decoded to S by the hub and converted for gqlgen, and
// re-checks the guard whenever an access change names the caller or the service. A
// refusal ends the subscription with that error (see SubscriptionErrors). No goroutine
// waits on behalf of an idle subscription: the hub fills the channel gqlgen reads, and a
// re-check runs only when an access change calls for one.
func stream[S, T any](ctx context.Context, r *Resolver, topic notifyql.Topic, g guard, convert func(S) T) (<-chan T, error) {
	c := &rechecker{r: r, ctx: ctx, g: g, ending: endingFrom(ctx), path: graphql.GetFieldContext(ctx).Path()}
	out := live.NewOutlet(convert)
	detach, err := r.live.Attach(ctx, topic, out, live.AccessInterest{UserID: g.userID, OnChange: c.trigger})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.detach = detach
	c.mu.Unlock()
	return out.C(), nil
}

// rechecker re-checks one subscription's guard, one check at a time: a change that
// arrives during a check earns one more check after it.
type rechecker struct {
	r      *Resolver
	ctx    context.Context
	g      guard
	ending *subscriptionEnding
	path   ast.Path

	mu      sync.Mutex
	detach  func() // ends the subscription; nil until Attach returns
	running bool
	again   bool
}

func (c *rechecker) trigger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		c.again = true
		return
	}
	c.running = true
	go c.run()
}

func (c *rechecker) run() {
	for {
		err := c.r.recheck(c.ctx, c.g, time.Now())
		switch code := notifyql.ErrorCode(err); {
		case err == nil:
		case code == notifyql.EFORBIDDEN:
			// The subscription ends: the hub closes its channel, and the response that
			// follows carries this error. running stays set, so no check starts again.
			c.ending.end(gqlerror.WrapPath(c.path, err))
			c.mu.Lock()
			detach := c.detach
			c.mu.Unlock()
			if detach != nil {
				detach()
			}
			return
		case c.ctx.Err() == nil:
			// Not a refusal: the check could not be made. Try again shortly rather
			// than end subscriptions over a blip, or keep serving without a check.
			time.AfterFunc(recheckRetry, c.trigger)
		}
		c.mu.Lock()
		if !c.again || c.ctx.Err() != nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.again = false
		c.mu.Unlock()
	}
}

// subscriptionEnding carries the error that ends a subscription from its resolver's
// goroutine to the response that reports it.
type subscriptionEnding struct {
	mu  sync.Mutex
	err error
}

type endingKey struct{}

// endingFrom returns the operation's ending, or a throwaway one outside SubscriptionErrors.
func endingFrom(ctx context.Context) *subscriptionEnding {
	if e, ok := ctx.Value(endingKey{}).(*subscriptionEnding); ok {
		return e
	}
	return &subscriptionEnding{}
}

func (e *subscriptionEnding) end(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.err = err
}

// take returns the ending error once.
func (e *subscriptionEnding) take() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.err
	e.err = nil
	return err
}

// SubscriptionErrors lets a subscription end with an error: gqlgen ends a stream when its
// channel closes, with no error of its own. When the stream ends because the resolver
// refused to go on, one last response carries that error (through the error presenter,
// so it has its extensions.code), and then the transport completes the operation.
type SubscriptionErrors struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = SubscriptionErrors{}

func (SubscriptionErrors) ExtensionName() string                   { return "SubscriptionErrors" }
func (SubscriptionErrors) Validate(graphql.ExecutableSchema) error { return nil }

func (SubscriptionErrors) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, endingKey{}, &subscriptionEnding{}))
}

func (SubscriptionErrors) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil {
		return resp
	}
	e, ok := ctx.Value(endingKey{}).(*subscriptionEnding)
	if !ok {
		return nil
	}
	err := e.take()
	if err == nil {
		return nil
	}
	graphql.AddError(ctx, err)
	return &graphql.Response{Errors: graphql.GetErrors(ctx)}
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
