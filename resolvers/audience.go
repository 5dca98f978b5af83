package resolvers

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"notifyql"
)

// audience is who may be sent a response rendered for another subscriber of the same
// snapshot, operation and variables. It is read from the operation's selection: what
// the response holds can depend on the caller only through the fields that look at the
// caller, and those are known (callerFields, and every field under @hasPermission).
type audience int

const (
	// everyone: no selected field looks at the caller; the response is a function of the
	// snapshot (and the database) alone, the same for everyone the subscription's own
	// check admitted.
	everyone audience = iota
	// sameAccess: a selected field is decided by the caller's access (@hasPermission,
	// Notification.sentBy, Service.myPermissions): callers whose access is identical
	// (accessKey) get identical responses.
	sameAccess
	// sameUser: a selected field depends on who the caller is (a link signed for them,
	// their own memberships): only the caller's own subscriptions share the response.
	sameUser
)

// callerFields are the fields whose resolvers read the signed-in principal, with what of
// it they read. A field not listed here and without @hasPermission must not read it: a
// test (TestEveryFieldThatReadsTheCallerIsListed) finds every resolver that does and
// fails on one missing here, since a missing one would let one caller's answer reach
// another.
var callerFields = map[string]audience{
	"Notification.sentBy":   sameAccess, // platform admins only
	"Service.myPermissions": sameAccess,
	"Service.downloads":     sameUser, // links signed for the caller
	"User.memberships":      sameUser, // the caller's own only
	"LetterDetail.preview":  sameUser, // links signed for the caller
}

// audienceOf returns the narrowest audience any field of the selection needs, following
// fragments. The selection is a validated operation's: each field knows its definition.
func audienceOf(set ast.SelectionSet) audience {
	a := everyone
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			if a == sameUser {
				return
			}
			switch sel := sel.(type) {
			case *ast.Field:
				a = max(a, fieldAudience(sel))
				walk(sel.SelectionSet)
			case *ast.InlineFragment:
				walk(sel.SelectionSet)
			case *ast.FragmentSpread:
				if sel.Definition != nil {
					walk(sel.Definition.SelectionSet)
				}
			}
		}
	}
	walk(set)
	return a
}

func fieldAudience(f *ast.Field) audience {
	if f.Definition == nil {
		// Not validated against the schema: nothing is known of it.
		return sameUser
	}
	a := everyone
	if f.Definition.Directives.ForName("hasPermission") != nil {
		a = sameAccess
	}
	if f.ObjectDefinition == nil {
		return sameUser
	}
	if f.ObjectDefinition.Kind == ast.Object {
		return max(a, callerFields[f.ObjectDefinition.Name+"."+f.Name])
	}
	// A field of an interface or union is resolved by each object type that implements
	// it: the narrowest audience of a same-named listed field stands for them all.
	for name, fa := range callerFields {
		if strings.HasSuffix(name, "."+f.Name) {
			a = max(a, fa)
		}
	}
	return a
}

// accessKey writes down everything of p that a permission check reads (Principal.Check,
// IsMember, HasPermission, and the sameAccess fields): two principals with equal keys
// get the same answer from every check on every service.
func accessKey(p *notifyql.Principal) string {
	if p == nil {
		return "anonymous"
	}
	var b strings.Builder
	b.WriteString("admin=")
	b.WriteString(strconv.FormatBool(p.User.PlatformAdmin))
	services := make([]string, 0, len(p.Services))
	for id := range p.Services {
		services = append(services, id)
	}
	slices.Sort(services)
	for _, id := range services {
		// Permissions keep their order: Service.myPermissions lists them as held.
		b.WriteString(";s=")
		b.WriteString(id)
		for _, perm := range p.Services[id].Permissions {
			b.WriteByte(',')
			b.WriteString(string(perm))
		}
	}
	organisations := make([]string, 0, len(p.Organisations))
	for id, member := range p.Organisations {
		if member {
			organisations = append(organisations, id)
		}
	}
	slices.Sort(organisations)
	for _, id := range organisations {
		b.WriteString(";o=")
		b.WriteString(id)
	}
	return b.String()
}

// audienceKey is the renderKey's audience for an operation of the caller in ctx.
func audienceKey(ctx context.Context, op *ast.OperationDefinition) string {
	if op == nil {
		return "user:" + callerID(ctx)
	}
	switch audienceOf(op.SelectionSet) {
	case everyone:
		return ""
	case sameAccess:
		return "access:" + accessKey(notifyql.PrincipalFromContext(ctx))
	default:
		return "user:" + callerID(ctx)
	}
}

func callerID(ctx context.Context) string {
	if p := notifyql.PrincipalFromContext(ctx); p != nil {
		return p.User.ID
	}
	return ""
}
