package notifyql

import "fmt"

// Tables whose writes change who may see what; the access triggers report them.
const (
	TablePermissions        = "permissions"
	TableUserToService      = "user_to_service"
	TableUserToOrganisation = "user_to_organisation"
	TableUsers              = "users"
	TableServices           = "services"
	// TableServicePermissions holds the services' features, which some views need.
	TableServicePermissions = "service_permissions"
)

// AccessTopic is the bus topic access changes travel on between instances. It is not a
// Topic: every instance listens to it for as long as it runs.
const AccessTopic = "access"

// AccessChange is the hint one committed statement leaves when it changes access (DOMAIN.md
// §16: a subscription's permission is checked again on every event): the users whose own
// memberships, permissions, organisations, state or platform admin flag changed, and the
// services whose facts (active, organisation) changed. Like Change it carries ids only.
type AccessChange struct {
	UserIDs    []string `json:"u,omitempty"`
	ServiceIDs []string `json:"s,omitempty"`
	// All is set when the statement touched more than the lists hold, or when changes may
	// have been missed: then every subscription re-checks.
	All bool `json:"all,omitempty"`
}

// Affects reports whether the change can alter what userID may do on serviceID.
func (c AccessChange) Affects(userID, serviceID string) bool {
	return c.All || contains(c.UserIDs, userID) || contains(c.ServiceIDs, serviceID)
}

func (c AccessChange) String() string {
	return fmt.Sprintf("access change (%d users, %d services, all=%v)", len(c.UserIDs), len(c.ServiceIDs), c.All)
}
