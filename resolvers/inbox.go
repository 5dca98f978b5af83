package resolvers

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/phone"
)

func (r *Resolver) InboxMessage() graph.InboxMessageResolver { return inboxMessageResolver{r} }
func (r *Resolver) InboxConnection() graph.InboxConnectionResolver {
	return inboxConnectionResolver{r}
}

// Inbox lists a page of the inbox; @hasPermission has checked view_activity and the
// inbound_sms feature.
func (r serviceResolver) Inbox(ctx context.Context, s *notifyql.Service, first *int, after *string) (*notifyql.InboxPage, error) {
	size := notifyql.InboxPageSize
	if first != nil {
		if *first < 1 || *first > notifyql.InboxPageSize {
			return nil, notifyql.Errorf(notifyql.EINVALID, "first must be between 1 and %d", notifyql.InboxPageSize)
		}
		size = *first
	}
	offset := 0
	if after != nil {
		var err error
		if offset, err = decodeInboxCursor(*after); err != nil {
			return nil, err
		}
	}
	return notifyql.ReadInbox(ctx, r.inbox, r.stores.Services, s.ID, size, offset, r.now(), r.london)
}

// The inbox pages by offset (DOMAIN.md §11: the latest text per sender has no stable
// keyset), so its cursor is the offset of the next page, opaque to clients.
const inboxCursorPrefix = "inbox:"

func encodeInboxCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(inboxCursorPrefix + strconv.Itoa(offset)))
}

func decodeInboxCursor(cursor string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if digits, ok := strings.CutPrefix(string(raw), inboxCursorPrefix); ok {
			if offset, err := strconv.Atoi(digits); err == nil && offset >= 0 && strconv.Itoa(offset) == digits {
				return offset, nil
			}
		}
	}
	return 0, notifyql.Errorf(notifyql.EINVALID, "after is not a cursor this inbox gave out")
}

type inboxConnectionResolver struct{ *Resolver }

// Edges gives each text the cursor of the position after it, so that any edge's cursor
// continues the list from there.
func (r inboxConnectionResolver) Edges(_ context.Context, p *notifyql.InboxPage) ([]*graph.InboxEdge, error) {
	edges := make([]*graph.InboxEdge, len(p.Messages))
	for i, m := range p.Messages {
		edges[i] = &graph.InboxEdge{Cursor: encodeInboxCursor(p.Offset + i + 1), Node: m}
	}
	return edges, nil
}

// PageInfo's endCursor is the last edge's cursor, as the notifications connection's is;
// null on an empty page.
func (r inboxConnectionResolver) PageInfo(_ context.Context, p *notifyql.InboxPage) (*graph.PageInfo, error) {
	info := &graph.PageInfo{HasNextPage: p.HasNext}
	if n := len(p.Messages); n > 0 {
		end := encodeInboxCursor(p.Offset + n)
		info.EndCursor = &end
	}
	return info, nil
}

// EndCursor is the deprecated field's meaning, kept for the clients that read it: the
// cursor after the page, null on the last page (where pageInfo.endCursor is the last
// edge's cursor).
func (r inboxConnectionResolver) EndCursor(_ context.Context, p *notifyql.InboxPage) (*string, error) {
	if !p.HasNext {
		return nil, nil
	}
	cursor := encodeInboxCursor(p.Offset + len(p.Messages))
	return &cursor, nil
}

type inboxMessageResolver struct{ *Resolver }

func (r inboxMessageResolver) PhoneNumber(_ context.Context, m *notifyql.InboxMessage) (string, error) {
	return phone.Format(phone.InboundNumber(m.UserNumber)), nil
}

func (r inboxMessageResolver) ReceivedAgo(_ context.Context, m *notifyql.InboxMessage) (string, error) {
	return notifyql.RelativeTime(m.CreatedAt, r.now()), nil
}

// ReportRequest serves a report request to its requester only (DOMAIN.md §13, §16).
func (r queryResolver) ReportRequest(ctx context.Context, id string) (*notifyql.ReportRequest, error) {
	request, _, err := r.reportRequestFor(ctx, id)
	return request, err
}

// reportRequestFor loads a report request and checks the caller may see it: a caller who
// is neither a platform admin nor a member of its service, or asks for a deleted one, is
// told it does not exist; anyone but the requester is refused; and the requester still
// needs view_activity. The guard keeps that permission for the subscription's re-checks;
// who asked for a request never changes.
func (r *Resolver) reportRequestFor(ctx context.Context, id string) (*notifyql.ReportRequest, guard, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, guard{}, err
	}
	if err := notifyql.ValidateID("report request", id); err != nil {
		return nil, guard{}, err
	}
	request, err := r.inbox.ReportRequest(ctx, notifyql.NormaliseID(id))
	if err != nil {
		return nil, guard{}, err
	}
	if err := r.checkReportRequest(ctx, p, request); err != nil {
		return nil, guard{}, err
	}
	g := guard{userID: p.User.ID, serviceID: request.ServiceID, req: notifyql.ReportRequirement, membersOnly: true}
	return request, g, nil
}

// checkReportRequest is reportRequest(id)'s check (notifyql.CheckReportAccess), with the
// request's service loaded through the operation's loader.
func (r *Resolver) checkReportRequest(ctx context.Context, p *notifyql.Principal, request *notifyql.ReportRequest) error {
	var facts *notifyql.ServiceFacts
	if request.Status != notifyql.ReportDeleted {
		svc, err := dataloaders.Load(ctx, dataloaders.For(ctx).Service(), request.ServiceID)
		if err != nil {
			return err
		}
		if svc != nil {
			f := serviceFacts(svc)
			facts = &f
		}
	}
	return notifyql.CheckReportAccess(p, request, facts)
}

// Inbox checks what Service.inbox's @hasPermission checks (view_activity and the
// inbound_sms feature) and streams the first page with its summary; access changes,
// switching the feature off included, re-check both.
func (r subscriptionResolver) Inbox(ctx context.Context, serviceID string) (<-chan *notifyql.InboxPage, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := r.subscribedService(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	g := guard{userID: p.User.ID, serviceID: svc.ID, req: notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}, Feature: "inbound_sms"}}
	var features []string
	if p.CanOpen(serviceFacts(svc)) {
		if features, err = dataloaders.For(ctx).Features().Load(ctx, svc.ID); err != nil {
			return nil, err
		}
	}
	if err := g.check(p, svc, features); err != nil {
		return nil, err
	}
	topic := notifyql.Topic{Kind: notifyql.TopicInbox, ServiceID: svc.ID}
	return stream(ctx, r.Resolver, topic, g, func(page *notifyql.InboxPage) *notifyql.InboxPage { return page })
}

// ReportRequest streams a report request to its requester as it is processed.
func (r subscriptionResolver) ReportRequest(ctx context.Context, id string) (<-chan *notifyql.ReportRequest, error) {
	request, g, err := r.reportRequestFor(ctx, id)
	if err != nil {
		return nil, err
	}
	topic := notifyql.Topic{Kind: notifyql.TopicReportRequest, ServiceID: request.ServiceID, Key: request.ID}
	return stream(ctx, r.Resolver, topic, g, func(v *notifyql.ReportRequest) *notifyql.ReportRequest { return v })
}
