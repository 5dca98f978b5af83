package resolvers

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
)

// nodeRequirements are, for the node types whose own field is a list on Service, that
// field's @hasPermission, read from the schema so that node(id) asks what the field asks
// and cannot drift from it. (Services, notifications and report requests go through their
// root fields' own checks.)
type nodeRequirements struct {
	// notification is Query.notification's.
	notification notifyql.Requirement
	// template is Service.templateStatistics': the field that shows templates.
	template notifyql.Requirement
	// job is Service.notifications': a job shows on the rows of its notifications.
	job notifyql.Requirement
	// inboxMessage is Service.inbox's.
	inboxMessage notifyql.Requirement
}

func readNodeRequirements(schema *ast.Schema) (nodeRequirements, error) {
	var reqs nodeRequirements
	for _, f := range []struct {
		typ, field string
		req        *notifyql.Requirement
	}{
		{"Query", "notification", &reqs.notification},
		{"Service", "templateStatistics", &reqs.template},
		{"Service", "notifications", &reqs.job},
		{"Service", "inbox", &reqs.inboxMessage},
	} {
		req, err := fieldRequirement(schema, f.typ, f.field)
		if err != nil {
			return nodeRequirements{}, err
		}
		*f.req = req
	}
	return reqs, nil
}

// fieldRequirement reads the @hasPermission of typ.field.
func fieldRequirement(schema *ast.Schema, typ, field string) (notifyql.Requirement, error) {
	var def *ast.FieldDefinition
	if t := schema.Types[typ]; t != nil {
		def = t.Fields.ForName(field)
	}
	if def == nil {
		return notifyql.Requirement{}, fmt.Errorf("%s.%s has no @hasPermission", typ, field)
	}
	req, ok, err := requirementOf(def)
	if err != nil {
		return notifyql.Requirement{}, fmt.Errorf("%s.%s: %w", typ, field, err)
	}
	if !ok {
		return notifyql.Requirement{}, fmt.Errorf("%s.%s has no @hasPermission", typ, field)
	}
	return req, nil
}

// requirementOf reads a field definition's @hasPermission; ok is false when it has none.
func requirementOf(def *ast.FieldDefinition) (req notifyql.Requirement, ok bool, err error) {
	d := def.Directives.ForName("hasPermission")
	if d == nil {
		return req, false, nil
	}
	if arg := d.Arguments.ForName("anyOf"); arg != nil && arg.Value != nil {
		req.AnyOf = []notifyql.Permission{}
		for _, v := range arg.Value.Children {
			var p notifyql.Permission
			if err := p.UnmarshalGQL(v.Value.Raw); err != nil {
				return notifyql.Requirement{}, false, err
			}
			req.AnyOf = append(req.AnyOf, p)
		}
	}
	if arg := d.Arguments.ForName("organisationUsers"); arg != nil && arg.Value != nil {
		req.OrganisationUsers = arg.Value.Raw == "true"
	}
	if arg := d.Arguments.ForName("feature"); arg != nil && arg.Value != nil {
		req.Feature = arg.Value.Raw
	}
	return req, true, nil
}

// nodeNotFound is every node(id) answer that must not tell its cases apart: a malformed
// id, an id that names nothing, and one of a service the caller has no relation to.
func nodeNotFound() error { return notifyql.Errorf(notifyql.ENOTFOUND, "node not found") }

// Node answers as nodes(ids) does for one id.
func (r queryResolver) Node(ctx context.Context, id string) (notifyql.Node, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	nodes, errs := r.loadNodes(ctx, p, []string{id})
	return nodes[0], errs[0]
}

// Nodes loads the rows the ids name, each type's in one round, checks each as its own
// field would, and reports each refusal as an error at its index.
func (r queryResolver) Nodes(ctx context.Context, ids []string) ([]notifyql.Node, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) > notifyql.MaxNodeIDs {
		return nil, notifyql.Errorf(notifyql.EINVALID, "nodes takes at most %d ids, not %d", notifyql.MaxNodeIDs, len(ids))
	}
	nodes, errs := r.loadNodes(ctx, p, ids)
	path := graphql.GetFieldContext(ctx).Path()
	for i, err := range errs {
		if err != nil {
			at := append(append(ast.Path{}, path...), ast.PathIndex(i))
			graphql.AddError(ctx, &gqlerror.Error{Err: err, Message: notifyql.ErrorMessage(err), Path: at})
		}
	}
	return nodes, nil
}

// loadNodes returns, for each id, its row or the error its own field would answer, with
// every not-found made one and the same.
func (r *Resolver) loadNodes(ctx context.Context, p *notifyql.Principal, ids []string) ([]notifyql.Node, []error) {
	keys := make([]string, len(ids))
	var uuids []string
	for i, id := range ids {
		if notifyql.IsUUID(id) {
			keys[i] = notifyql.NormaliseID(id)
			uuids = append(uuids, keys[i])
		}
	}
	found, err := r.fetchNodes(ctx, p, uuids)
	nodes := make([]notifyql.Node, len(ids))
	errs := make([]error, len(ids))
	for i, key := range keys {
		if err != nil {
			errs[i] = err
			continue
		}
		row, ok := found[key]
		if key == "" || !ok {
			errs[i] = nodeNotFound()
			continue
		}
		if err := r.checkNode(ctx, p, row); notifyql.ErrorCode(err) == notifyql.ENOTFOUND {
			errs[i] = nodeNotFound()
		} else if err != nil {
			errs[i] = err
		} else {
			nodes[i] = row
		}
	}
	return nodes, errs
}

// fetchNodes looks every id up in every node type, since a UUID does not say its type:
// one round of each type's by-id load with all the ids, then one of the services, the ids
// themselves and those the rows found belong to, which their checks read. The statements
// are the same whatever the ids name, so that an id of a row the caller may not see costs
// what an id of no row costs. Each id answers with the first type, in
// notifyql.NodeTypes' order, that has a row of it.
func (r *Resolver) fetchNodes(ctx context.Context, p *notifyql.Principal, ids []string) (map[string]notifyql.Node, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	loaders := dataloaders.For(ctx)
	byType := map[notifyql.NodeType]map[string]notifyql.Node{}
	var serviceIDs []string
	add := func(t notifyql.NodeType, id, serviceID string, row notifyql.Node) {
		if byType[t] == nil {
			byType[t] = map[string]notifyql.Node{}
		}
		byType[t][id] = row
		serviceIDs = append(serviceIDs, serviceID)
	}
	// The ids may name any type, so no one selection says what a notification among them
	// shows: its service's facts and template version come, as a page's rows' do.
	include := notifyql.NotificationIncludes{RelatedIncludes: notifyql.RelatedIncludes{TemplateVersions: true}, ServiceFacts: true}
	notifications, related, err := r.stores.Notifications.NotificationsWithRelated(ctx, ids, notificationScope(p), include, r.now())
	if err != nil {
		return nil, err
	}
	loaders.Prime(related)
	for _, n := range notifications {
		add(notifyql.NodeNotification, n.ID, n.ServiceID, n)
	}
	requests, err := r.inbox.ReportRequestsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, rr := range requests {
		add(notifyql.NodeReportRequest, rr.ID, rr.ServiceID, rr)
	}
	texts, err := r.inbox.InboundTextsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, m := range texts {
		add(notifyql.NodeInboxMessage, m.ID, m.ServiceID, m)
	}
	templates := queueAll(ctx, loaders.Template(), ids)
	jobs := queueAll(ctx, loaders.Job(), ids)
	loaders.Template().Dispatch()
	loaders.Job().Dispatch()
	for id, thunk := range templates {
		if t, err := thunk(); err == nil {
			add(notifyql.NodeTemplate, id, t.ServiceID, t)
		} else if !dataloaders.IsNotFound(err) {
			return nil, err
		}
	}
	for id, thunk := range jobs {
		if j, err := thunk(); err == nil {
			add(notifyql.NodeJob, id, j.ServiceID, j)
		} else if !dataloaders.IsNotFound(err) {
			return nil, err
		}
	}
	// The services the ids may name, and those of the rows found, in one round.
	services := queueAll(ctx, loaders.Service(), append(serviceIDs, ids...))
	loaders.Service().Dispatch()
	for _, id := range ids {
		if s, err := services[id](); err == nil {
			add(notifyql.NodeService, id, id, s)
		} else if !dataloaders.IsNotFound(err) {
			return nil, err
		}
	}
	found := make(map[string]notifyql.Node, len(ids))
	for _, id := range ids {
		for _, t := range notifyql.NodeTypes {
			if row, ok := byType[t][id]; ok {
				found[id] = row
				break
			}
		}
	}
	return found, nil
}

// queueAll queues every key on l and returns their thunks, for one Dispatch.
func queueAll[V any](ctx context.Context, l *dataloaders.Loader[string, V], keys []string) map[string]func() (V, error) {
	thunks := make(map[string]func() (V, error), len(keys))
	for _, k := range keys {
		if _, ok := thunks[k]; !ok {
			thunks[k] = l.Queue(ctx, k)
		}
	}
	return thunks
}

// checkNode applies the check of row's own field.
func (r *Resolver) checkNode(ctx context.Context, p *notifyql.Principal, row notifyql.Node) error {
	switch row := row.(type) {
	case *notifyql.Service:
		return openService(p, row)
	case *notifyql.Notification:
		// The row was looked up among the services the caller may open, as
		// Query.notification's is; this is its @hasPermission.
		return checkNotification(ctx, p, row, r.nodeReqs.notification)
	case *notifyql.ReportRequest:
		return r.checkReportRequest(ctx, p, row)
	case *notifyql.Template:
		return r.checkServiceOf(ctx, p, row.ServiceID, r.nodeReqs.template)
	case *notifyql.Job:
		return r.checkServiceOf(ctx, p, row.ServiceID, r.nodeReqs.job)
	case *notifyql.InboxMessage:
		if err := r.checkServiceOf(ctx, p, row.ServiceID, r.nodeReqs.inboxMessage); err != nil {
			return err
		}
		// The inbox shows texts within the service's SMS retention only.
		retention, err := dataloaders.For(ctx).Retention().Load(ctx, row.ServiceID)
		if err != nil {
			return err
		}
		if row.CreatedAt.Before(retention.WindowStart(notifyql.TypeSMS, r.now(), r.london)) {
			return nodeNotFound()
		}
		return nil
	}
	return fmt.Errorf("no check for node %s", strings.TrimPrefix(fmt.Sprintf("%T", row), "*notifyql."))
}

// checkServiceOf checks req on the service serviceID, as @hasPermission checks a field of
// that service.
func (r *Resolver) checkServiceOf(ctx context.Context, p *notifyql.Principal, serviceID string, req notifyql.Requirement) error {
	svc, err := dataloaders.Load(ctx, dataloaders.For(ctx).Service(), serviceID)
	if err != nil {
		return err
	}
	if svc == nil {
		return nodeNotFound()
	}
	return checkService(ctx, p, svc, req)
}

var _ graph.QueryResolver = queryResolver{}
