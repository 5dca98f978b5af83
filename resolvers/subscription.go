package resolvers

import (
	"context"
	"encoding/json"
	"strconv"

	"notifyql"
	"notifyql/dataloaders"
)

// Live hands out a topic's snapshots: the current one at once, then each change. The
// channel closes when ctx is done or the subscriber fell too far behind.
type Live interface {
	Subscribe(ctx context.Context, t notifyql.Topic) (<-chan []byte, error)
}

type subscriptionResolver struct{ *Resolver }

func (r subscriptionResolver) DashboardTotals(ctx context.Context, serviceID string, days *int) (<-chan *notifyql.Totals, error) {
	topic, err := r.dashboardTopic(ctx, notifyql.TopicTotals, serviceID, days)
	if err != nil {
		return nil, err
	}
	return subscribe[notifyql.Totals](ctx, r.live, topic)
}

func (r subscriptionResolver) TemplateStatistics(ctx context.Context, serviceID string, days *int) (<-chan []*notifyql.TemplateStatistic, error) {
	topic, err := r.dashboardTopic(ctx, notifyql.TopicTemplateStatistics, serviceID, days)
	if err != nil {
		return nil, err
	}
	stats, err := subscribe[[]notifyql.TemplateStatistic](ctx, r.live, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan []*notifyql.TemplateStatistic)
	go func() {
		defer close(out)
		for s := range stats {
			select {
			case out <- pointersTo(*s):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// dashboardTopic checks the caller may see the service's dashboard, as the matching query
// requires (view_activity), and names the topic of its window.
func (r subscriptionResolver) dashboardTopic(ctx context.Context, kind notifyql.TopicKind, serviceID string, days *int) (notifyql.Topic, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return notifyql.Topic{}, err
	}
	if err := notifyql.ValidateID("service", serviceID); err != nil {
		return notifyql.Topic{}, err
	}
	n := notifyql.MaxDashboardDays
	if days != nil {
		n = *days
	}
	if err := notifyql.ValidateDays(n); err != nil {
		return notifyql.Topic{}, err
	}
	svc, err := dataloaders.Load(ctx, dataloaders.For(ctx).Service, notifyql.NormaliseID(serviceID))
	if err != nil {
		return notifyql.Topic{}, err
	}
	if svc == nil {
		return notifyql.Topic{}, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	if err := p.Check(serviceFacts(svc), notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}}); err != nil {
		return notifyql.Topic{}, err
	}
	return notifyql.Topic{Kind: kind, ServiceID: svc.ID, Key: strconv.Itoa(n)}, nil
}

// subscribe decodes a topic's snapshots for gqlgen. A snapshot that does not decode ends
// the subscription: it would mean publisher and subscriber disagree on the encoding.
func subscribe[T any](ctx context.Context, live Live, topic notifyql.Topic) (<-chan *T, error) {
	snapshots, err := live.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *T)
	go func() {
		defer close(out)
		for encoded := range snapshots {
			var v T
			if err := json.Unmarshal(encoded, &v); err != nil {
				return
			}
			select {
			case out <- &v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
