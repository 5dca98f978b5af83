package resolvers

import (
	"context"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
)

// Downloads answers Service.downloads: the §7.2 estimate over the type's retention, what
// the caller may do with it, and a link signed for the caller when they may download.
func (r serviceResolver) Downloads(ctx context.Context, s *notifyql.Service, typ notifyql.NotificationType, statuses []notifyql.NotificationStatus) (*graph.Downloads, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	retention, err := dataloaders.For(ctx).Retention().Load(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	from := notifyql.WindowFirstDate(r.now(), retention.Days(typ), r.london)
	estimate, err := r.exports.ExportEstimate(ctx, s.ID, typ, from)
	if err != nil {
		return nil, err
	}
	permitted := p.Check(serviceFacts(s), notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}}) == nil
	out := &graph.Downloads{Count: int(estimate)}
	out.CanDownload, out.CanRequestReport = notifyql.DownloadOptions(estimate, permitted, p.User.PlatformAdmin)
	if out.CanDownload && r.links != nil {
		link, err := r.links.SignLink(notifyql.NotificationsCSVTarget(s.ID, typ, statuses), p.User.ID)
		if err != nil {
			return nil, err
		}
		out.CSVURL = &link
	}
	return out, nil
}
