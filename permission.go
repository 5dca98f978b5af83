package notifyql

import (
	"io"
	"strings"
)

// Permission is a UI permission, the unit the API authorizes with (DOMAIN.md §3.2). Each is
// held only when the user holds every database permission it maps to.
type Permission string

const (
	ManageService   Permission = "manage_service"
	ViewActivity    Permission = "view_activity"
	SendMessages    Permission = "send_messages"
	ManageTemplates Permission = "manage_templates"
	ManageAPIKeys   Permission = "manage_api_keys"
)

// UIPermissions lists every UI permission in display order.
var UIPermissions = []Permission{ManageService, ViewActivity, SendMessages, ManageTemplates, ManageAPIKeys}

// DBPermissionsFor returns the database permissions (the `permissions.permission` values) a
// UI permission requires, all of them; nil for an unknown permission.
func DBPermissionsFor(p Permission) []string {
	switch p {
	case ManageService:
		return []string{"manage_users", "manage_settings"}
	case ViewActivity:
		return []string{"view_activity"}
	case SendMessages:
		return []string{"send_texts", "send_emails", "send_letters"}
	case ManageTemplates:
		return []string{"manage_templates"}
	case ManageAPIKeys:
		return []string{"manage_api_keys"}
	}
	return nil
}

// UIPermissionsFrom maps the database permissions a user holds on one service to the UI
// permissions they hold, in display order.
func UIPermissionsFrom(dbPermissions []string) []Permission {
	held := make(map[string]bool, len(dbPermissions))
	for _, p := range dbPermissions {
		held[p] = true
	}
	out := []Permission{}
	for _, ui := range UIPermissions {
		all := true
		for _, need := range DBPermissionsFor(ui) {
			all = all && held[need]
		}
		if all {
			out = append(out, ui)
		}
	}
	return out
}

func (p Permission) IsValid() bool          { return contains(UIPermissions, p) }
func (p Permission) MarshalGQL(w io.Writer) { marshalEnum(w, string(p)) }
func (p *Permission) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, "Permission", UIPermissions, p)
}

// Principal is an authenticated user with what they may reach: their memberships (a key in
// Services) with the UI permissions held on each, and the organisations they belong to.
type Principal struct {
	User          User
	Services      map[string]ServiceAccess
	Organisations map[string]bool
}

// ServiceAccess is a user's membership of one service.
type ServiceAccess struct {
	Permissions []Permission
}

// ServiceFacts is what a permission check needs to know about a service.
type ServiceFacts struct {
	ID             string
	Active         bool
	OrganisationID *string
	// Features are the service's switched-on features; only read when a requirement names
	// one, so callers load them only then.
	Features []string
}

// Requirement is what a capability asks for (DOMAIN.md §16): any one of AnyOf (membership
// alone when empty), or, when OrganisationUsers is set, belonging to the service's
// organisation.
type Requirement struct {
	AnyOf             []Permission
	OrganisationUsers bool
	// Feature, when set, is a service feature the capability needs (the inbox needs
	// inbound_sms). It is a fact about the service, so it binds platform admins too.
	Feature string
}

// IsMember reports whether the user is a member of the service.
func (p *Principal) IsMember(serviceID string) bool {
	if p == nil {
		return false
	}
	_, ok := p.Services[serviceID]
	return ok
}

// HasPermission reports whether the user holds a UI permission on the service. Platform
// admins are not special here: Check is where they pass.
func (p *Principal) HasPermission(serviceID string, perm Permission) bool {
	if p == nil {
		return false
	}
	access, ok := p.Services[serviceID]
	return ok && contains(access.Permissions, perm)
}

// isOrganisationUser reports whether the user belongs to the service's organisation.
func (p *Principal) isOrganisationUser(s ServiceFacts) bool {
	return p != nil && s.OrganisationID != nil && p.Organisations[*s.OrganisationID]
}

// CanOpen reports whether the user has any relation to the service at all: platform admin,
// member, or user of its organisation. Someone who cannot open a service is told it does not
// exist, so that service ids cannot be probed.
func (p *Principal) CanOpen(s ServiceFacts) bool {
	if p == nil {
		return false
	}
	return p.User.PlatformAdmin || p.IsMember(s.ID) || p.isOrganisationUser(s)
}

// Check applies the six steps of DOMAIN.md §3.2 for a capability on service s. It returns nil
// when allowed, ENOTFOUND "service not found" when the user has no relation to the service,
// EUNAUTHENTICATED for a nil principal, and otherwise EFORBIDDEN naming what is missing.
func (p *Principal) Check(s ServiceFacts, req Requirement) error {
	if p == nil {
		return Errorf(EUNAUTHENTICATED, "you must sign in")
	}
	if !p.CanOpen(s) {
		return Errorf(ENOTFOUND, "service not found")
	}
	if req.Feature != "" && !contains(s.Features, req.Feature) {
		return Errorf(EFORBIDDEN, "this service does not have the %s feature switched on", req.Feature)
	}
	// 1. Platform admins pass, even for an inactive service.
	if p.User.PlatformAdmin {
		return nil
	}
	// 2. Nobody else may use an inactive service.
	if !s.Active {
		return Errorf(EFORBIDDEN, "this service is inactive")
	}
	// 3. No permission named: membership is enough.
	if len(req.AnyOf) == 0 && p.IsMember(s.ID) {
		return nil
	}
	// 4. Any one of the named permissions is enough.
	for _, perm := range req.AnyOf {
		if p.HasPermission(s.ID, perm) {
			return nil
		}
	}
	// 5. Users of the service's organisation, when the capability admits them.
	if req.OrganisationUsers && p.isOrganisationUser(s) {
		return nil
	}
	// 6. Denied.
	return Errorf(EFORBIDDEN, "%s", req.missing())
}

// missing says what a denied user lacks, in terms they can act on.
func (req Requirement) missing() string {
	var need string
	switch len(req.AnyOf) {
	case 0:
		need = "you need to be a member of this service"
	case 1:
		need = "you need the " + string(req.AnyOf[0]) + " permission for this service"
	default:
		names := make([]string, len(req.AnyOf))
		for i, perm := range req.AnyOf {
			names[i] = string(perm)
		}
		need = "you need the " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + " permission for this service"
	}
	if req.OrganisationUsers {
		need += ", or to be a user of its organisation"
	}
	return need
}
