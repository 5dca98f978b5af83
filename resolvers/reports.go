package resolvers

import (
	"context"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
)

// RequestReport queues a notifications report, or hands back the same request when it is
// open or was stored for a request made in the last 15 minutes (DOMAIN.md §13); a new one
// is refused past the user's daily allowance (notifyql.ReportStore). It needs view_activity
// on the service, and the service's estimate for the type (§7.2) must be within
// ReportRequestLimit unless the caller is a platform admin.
func (r mutationResolver) RequestReport(ctx context.Context, serviceID string, t notifyql.NotificationType, status notifyql.ReportStatusFilter) (*graph.RequestedReport, error) {
	if _, err := notifyql.Authenticated(ctx); err != nil {
		return nil, err
	}
	in := notifyql.ReportRequestInput{Type: t, Status: status}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p, svc, err := r.serviceFor(ctx, serviceID, notifyql.ReportRequirement)
	if err != nil {
		return nil, err
	}
	in.UserID, in.ServiceID = p.User.ID, svc.ID
	if !p.User.PlatformAdmin {
		retention, err := dataloaders.For(ctx).Retention().Load(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		estimate, err := r.exports.ExportEstimate(ctx, svc.ID, t, notifyql.WindowFirstDate(r.now(), retention.Days(t), r.london))
		if err != nil {
			return nil, err
		}
		if err := notifyql.CheckReportSize(p, estimate); err != nil {
			return nil, err
		}
	}
	request, created, err := r.reports.RequestReport(ctx, in, r.now())
	if err != nil {
		return nil, err
	}
	return &graph.RequestedReport{ReportRequest: request, Created: created}, nil
}

type reportRequestResolver struct{ *Resolver }

// DownloadURL is the stored report's download link, signed for the requester so that a
// browser can follow it (the plain path when links are not signed). A request is only
// served to its requester, so the caller is the requester.
func (r reportRequestResolver) DownloadURL(ctx context.Context, req *notifyql.ReportRequest) (*string, error) {
	if req.Status != notifyql.ReportStored {
		return nil, nil
	}
	path := notifyql.ReportRequestPath(req.ID)
	if r.links == nil {
		return &path, nil
	}
	link, err := r.links.SignLink(path, req.UserID)
	if err != nil {
		return nil, err
	}
	return &link, nil
}
