package notifyql

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUIPermissionsFrom(t *testing.T) {
	tests := []struct {
		name string
		db   []string
		want []Permission
	}{
		{"none", nil, []Permission{}},
		{"everything", []string{"manage_users", "manage_settings", "manage_templates", "send_texts", "send_emails", "send_letters", "manage_api_keys", "platform_admin", "view_activity"},
			[]Permission{ManageService, ViewActivity, SendMessages, ManageTemplates, ManageAPIKeys}},
		{"manage_service needs both", []string{"manage_users"}, []Permission{}},
		{"manage_service with both", []string{"manage_settings", "manage_users"}, []Permission{ManageService}},
		{"send_messages needs all three", []string{"send_texts", "send_emails"}, []Permission{}},
		{"send_messages with all three", []string{"send_letters", "send_texts", "send_emails"}, []Permission{SendMessages}},
		{"one-to-one permissions", []string{"view_activity", "manage_templates", "manage_api_keys"}, []Permission{ViewActivity, ManageTemplates, ManageAPIKeys}},
		{"duplicates and unknown values", []string{"view_activity", "view_activity", "", "nonsense"}, []Permission{ViewActivity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, UIPermissionsFrom(tt.db)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPermissionGQL(t *testing.T) {
	for _, p := range UIPermissions {
		var buf bytes.Buffer
		p.MarshalGQL(&buf)
		var back Permission
		if err := back.UnmarshalGQL(EnumName(string(p))); err != nil || back != p {
			t.Errorf("UnmarshalGQL(%s) = %q, %v", EnumName(string(p)), back, err)
		}
		if want := `"` + EnumName(string(p)) + `"`; buf.String() != want {
			t.Errorf("MarshalGQL(%s) = %s, want %s", p, buf.String(), want)
		}
		if !p.IsValid() {
			t.Errorf("%s is not valid", p)
		}
	}
	var p Permission
	for _, bad := range []any{"manage_service", "PLATFORM_ADMIN", 3, nil} {
		if err := p.UnmarshalGQL(bad); err == nil {
			t.Errorf("UnmarshalGQL(%v) succeeded", bad)
		}
	}
	if Permission("nope").IsValid() {
		t.Errorf("unknown permission is valid")
	}
}

func TestPrincipalCheck(t *testing.T) {
	org, otherOrg := "org-1", "org-2"
	active := ServiceFacts{ID: "svc", Active: true, OrganisationID: &org}
	inactive := ServiceFacts{ID: "svc", Active: false, OrganisationID: &org}
	noOrg := ServiceFacts{ID: "svc", Active: true}
	inOtherOrg := ServiceFacts{ID: "svc", Active: true, OrganisationID: &otherOrg}

	admin := &Principal{User: User{ID: "admin", PlatformAdmin: true}}
	viewer := &Principal{User: User{ID: "viewer"}, Services: map[string]ServiceAccess{"svc": {Permissions: []Permission{ViewActivity}}}}
	sender := &Principal{User: User{ID: "sender"}, Services: map[string]ServiceAccess{"svc": {Permissions: []Permission{SendMessages}}}}
	bareMember := &Principal{User: User{ID: "bare"}, Services: map[string]ServiceAccess{"svc": {}}}
	orgUser := &Principal{User: User{ID: "org"}, Organisations: map[string]bool{org: true}}
	stranger := &Principal{User: User{ID: "stranger"}, Services: map[string]ServiceAccess{"elsewhere": {Permissions: UIPermissions}}}

	member := Requirement{}
	viewActivity := Requirement{AnyOf: []Permission{ViewActivity}}
	viewOrSend := Requirement{AnyOf: []Permission{ViewActivity, SendMessages}}
	usage := Requirement{AnyOf: []Permission{ManageService}, OrganisationUsers: true}
	inbox := Requirement{AnyOf: []Permission{ViewActivity}, Feature: "inbound_sms"}
	withInbound := ServiceFacts{ID: "svc", Active: true, OrganisationID: &org, Features: []string{"sms", "inbound_sms"}}

	type result struct{ Code, Message string }
	allowed := result{}
	notFound := result{ENOTFOUND, "service not found"}
	tests := []struct {
		name    string
		who     *Principal
		service ServiceFacts
		req     Requirement
		want    result
	}{
		{"1. admin passes on an inactive service", admin, inactive, viewActivity, allowed},
		{"feature: present", viewer, withInbound, inbox, allowed},
		{"feature: missing binds a member with the permission", viewer, active, inbox, result{EFORBIDDEN, "this service does not have the inbound_sms feature switched on"}},
		{"feature: missing binds platform admins too", admin, active, inbox, result{EFORBIDDEN, "this service does not have the inbound_sms feature switched on"}},
		{"feature: present but the permission is lacking", sender, withInbound, inbox, result{EFORBIDDEN, "you need the view_activity permission for this service"}},
		{"feature: a stranger is told the service does not exist", stranger, active, inbox, notFound},
		{"1. admin needs no membership", admin, noOrg, usage, allowed},
		{"2. inactive service denies a member with the permission", viewer, inactive, viewActivity, result{EFORBIDDEN, "this service is inactive"}},
		{"2. inactive service denies an org user", orgUser, inactive, usage, result{EFORBIDDEN, "this service is inactive"}},
		{"3. membership alone", bareMember, active, member, allowed},
		{"3. org user is not a member", orgUser, active, member, result{EFORBIDDEN, "you need to be a member of this service"}},
		{"4. holds the permission", viewer, active, viewActivity, allowed},
		{"4. holds one of several", sender, active, viewOrSend, allowed},
		{"4. lacks the permission", sender, active, viewActivity, result{EFORBIDDEN, "you need the view_activity permission for this service"}},
		{"4. lacks all of several", bareMember, active, viewOrSend, result{EFORBIDDEN, "you need the view_activity or send_messages permission for this service"}},
		{"5. org user admitted", orgUser, active, usage, allowed},
		{"5. org user of another organisation", orgUser, inOtherOrg, usage, notFound},
		{"5. org user when the service has no organisation", orgUser, noOrg, usage, notFound},
		{"5. capability that does not admit org users", orgUser, active, viewActivity, result{EFORBIDDEN, "you need the view_activity permission for this service"}},
		{"6. member without manage_service, org users admitted", viewer, active, usage, result{EFORBIDDEN, "you need the manage_service permission for this service, or to be a user of its organisation"}},
		{"no relation: member of another service", stranger, active, member, notFound},
		{"no relation, inactive service: still not found", stranger, inactive, viewActivity, notFound},
		{"nil principal", nil, active, member, result{EUNAUTHENTICATED, "you must sign in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.who.Check(tt.service, tt.req)
			got := result{ErrorCode(err), ErrorMessage(err)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrincipalRelations(t *testing.T) {
	org := "org-1"
	svc := ServiceFacts{ID: "svc", Active: true, OrganisationID: &org}
	tests := []struct {
		name       string
		who        *Principal
		wantOpen   bool
		wantMember bool
	}{
		{"admin", &Principal{User: User{PlatformAdmin: true}}, true, false},
		{"member", &Principal{Services: map[string]ServiceAccess{"svc": {}}}, true, true},
		{"org user", &Principal{Organisations: map[string]bool{"org-1": true}}, true, false},
		{"org membership revoked", &Principal{Organisations: map[string]bool{"org-1": false}}, false, false},
		{"stranger", &Principal{}, false, false},
		{"nil", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.who.CanOpen(svc); got != tt.wantOpen {
				t.Errorf("CanOpen = %v, want %v", got, tt.wantOpen)
			}
			if got := tt.who.IsMember("svc"); got != tt.wantMember {
				t.Errorf("IsMember = %v, want %v", got, tt.wantMember)
			}
			if tt.who.HasPermission("svc", ViewActivity) {
				t.Errorf("HasPermission(view_activity) = true for a user without it")
			}
		})
	}
}
