package main

import (
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

// outcome is what a caller gets for one field.
const (
	allowed   = "allowed"
	forbidden = "FORBIDDEN"
	notFound  = "NOT_FOUND"
	unauth    = "UNAUTHENTICATED"
)

// matrixField is one field of the read API, asked for on its own.
type matrixField struct {
	name  string
	query string
	vars  map[string]any
	path  []any // where the field's value or error is
}

var matrixFields = []matrixField{
	{"me", `{ me { id } }`, nil, []any{"me"}},
	{"services", `{ services { id } }`, nil, []any{"services"}},
	{"service", `query($id: ID!) { service(id: $id) { id name } }`, map[string]any{"id": serviceA}, []any{"service"}},
	{"service.myPermissions", `query($id: ID!) { service(id: $id) { myPermissions } }`, map[string]any{"id": serviceA}, []any{"service", "myPermissions"}},
	{"service.active", `query($id: ID!) { service(id: $id) { id active } }`, map[string]any{"id": serviceA}, []any{"service", "active"}},
	{"service.restricted", `query($id: ID!) { service(id: $id) { id restricted } }`, map[string]any{"id": serviceA}, []any{"service", "restricted"}},
	{"service.features", `query($id: ID!) { service(id: $id) { id features } }`, map[string]any{"id": serviceA}, []any{"service", "features"}},
	{"service.hasApiKeys", `query($id: ID!) { service(id: $id) { id hasApiKeys } }`, map[string]any{"id": serviceA}, []any{"service", "hasApiKeys"}},
	{"service.dataRetention", `query($id: ID!) { service(id: $id) { id dataRetention { sms } } }`, map[string]any{"id": serviceA}, []any{"service", "dataRetention"}},
	{"service.totals", `query($id: ID!) { service(id: $id) { id totals { sms { requested } } } }`, map[string]any{"id": serviceA}, []any{"service", "totals"}},
	{"service.templateStatistics", `query($id: ID!) { service(id: $id) { id templateStatistics { count } } }`, map[string]any{"id": serviceA}, []any{"service", "templateStatistics"}},
	{"service.inboxSummary", `query($id: ID!) { service(id: $id) { id inboxSummary { count } } }`, map[string]any{"id": serviceA}, []any{"service", "inboxSummary"}},
	{"inboxSummary without the inbound_sms feature", `query($id: ID!) { service(id: $id) { id inboxSummary { count } } }`, map[string]any{"id": serviceB}, []any{"service", "inboxSummary"}},
	{"service.notifications", `query($id: ID!) { service(id: $id) { id notifications { edges { node { id } } } } }`, map[string]any{"id": serviceA}, []any{"service", "notifications"}},
	{"service.financialYears", `query($id: ID!) { service(id: $id) { id financialYears { year } } }`, map[string]any{"id": serviceA}, []any{"service", "financialYears"}},
	{"service.monthlyStatistics", `query($id: ID!) { service(id: $id) { id monthlyStatistics { month { key } } } }`, map[string]any{"id": serviceA}, []any{"service", "monthlyStatistics"}},
	{"service.templateUsage", `query($id: ID!) { service(id: $id) { id templateUsage { month { key } } } }`, map[string]any{"id": serviceA}, []any{"service", "templateUsage"}},
	{"service.usage", `query($id: ID!) { service(id: $id) { id usage { annual { smsSent } } } }`, map[string]any{"id": serviceA}, []any{"service", "usage"}},
	{"service.usageThisYear", `query($id: ID!) { service(id: $id) { id usageThisYear { smsSent } } }`, map[string]any{"id": serviceA}, []any{"service", "usageThisYear"}},
	{"service.freeSmsAllowance", `query($id: ID!) { service(id: $id) { id freeSmsAllowance { allowance } } }`, map[string]any{"id": serviceA}, []any{"service", "freeSmsAllowance"}},
	{"setFreeSmsAllowance", `mutation($id: ID!) { setFreeSmsAllowance(serviceId: $id, allowance: 20000) { allowance } }`, map[string]any{"id": serviceA}, []any{"setFreeSmsAllowance"}},
	{"notification", `query($id: ID!) { notification(id: $id) { id } }`, map[string]any{"id": notificationA1}, []any{"notification"}},
	{"notification of service B", `query($id: ID!) { notification(id: $id) { id } }`, map[string]any{"id": notificationB1}, []any{"notification"}},
	{"notification.sentBy", `query($id: ID!) { notification(id: $id) { id sentBy } }`, map[string]any{"id": notificationA1}, []any{"notification", "sentBy"}},
	{"inactive service", `query($id: ID!) { service(id: $id) { id } }`, map[string]any{"id": serviceC}, []any{"service"}},
	{"inactive service.totals", `query($id: ID!) { service(id: $id) { id totals { sms { requested } } } }`, map[string]any{"id": serviceC}, []any{"service", "totals"}},
}

// matrixCallers are the callers of the authorization matrix.
var matrixCallers = []string{"no token", "expired token", "bad signature", "member without view_activity",
	"member with view_activity", "manage_service", "platform admin", "member of another service", "organisation member"}

// wantOutcome is the matrix: for each field, the outcome for each caller in matrixCallers'
// order. The first three callers are never signed in.
var wantOutcome = map[string][6]string{
	//                            member     viewer     manager    admin      other      org user
	"me":                         {allowed, allowed, allowed, allowed, allowed, allowed},
	"services":                   {allowed, allowed, allowed, allowed, allowed, allowed},
	"service":                    {allowed, allowed, allowed, allowed, notFound, allowed},
	"service.myPermissions":      {allowed, allowed, allowed, allowed, notFound, allowed},
	"service.active":             {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.restricted":         {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.features":           {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.hasApiKeys":         {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.dataRetention":      {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.totals":             {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"service.templateStatistics": {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"service.notifications":      {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.inboxSummary":       {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"inboxSummary without the inbound_sms feature": {notFound, notFound, notFound, forbidden, forbidden, notFound},
	"service.financialYears":                       {allowed, allowed, allowed, allowed, notFound, forbidden},
	"service.monthlyStatistics":                    {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"service.templateUsage":                        {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"service.usage":                                {forbidden, forbidden, allowed, allowed, notFound, allowed},
	"service.usageThisYear":                        {forbidden, forbidden, allowed, allowed, notFound, forbidden},
	"service.freeSmsAllowance":                     {forbidden, forbidden, allowed, allowed, notFound, allowed},
	"setFreeSmsAllowance":                          {forbidden, forbidden, forbidden, allowed, notFound, forbidden},
	"notification":                                 {forbidden, allowed, allowed, allowed, notFound, notFound},
	"notification of service B":                    {notFound, notFound, notFound, allowed, allowed, notFound},
	"notification.sentBy":                          {forbidden, forbidden, forbidden, allowed, notFound, notFound},
	"inactive service":                             {notFound, notFound, allowed, allowed, notFound, allowed},
	"inactive service.totals":                      {notFound, notFound, forbidden, allowed, notFound, forbidden},
}

func TestAuthorizationMatrix(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	expired, err := server.MintToken([]byte(testSecret), userViewer, time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	badSignature, err := server.MintToken([]byte(strings.Repeat("x", 32)), userViewer, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := []string{"", expired, badSignature,
		tokenFor(t, userMember), tokenFor(t, userViewer), tokenFor(t, userManager),
		tokenFor(t, userAdmin), tokenFor(t, userOther), tokenFor(t, userOrg)}

	for _, field := range matrixFields {
		want, ok := wantOutcome[field.name]
		if !ok {
			t.Fatalf("no expected outcomes for %s", field.name)
		}
		for i, caller := range matrixCallers {
			expect := unauth
			if i >= 3 {
				expect = want[i-3]
			}
			resp := api.post(t, tokens[i], field.query, field.vars)
			if got := outcomeOf(resp, field.path); got != expect {
				t.Errorf("%s as %s: got %s, want %s\n%s", field.name, caller, got, expect, resp.body)
			}
		}
	}
}

// outcomeOf reads the outcome of the field at path: the code of an error on the field, or
// on its parent when the parent itself was refused, or allowed when the field has a value.
func outcomeOf(resp gqlResponse, path []any) string {
	for n := len(path); n > 0; n-- {
		if code := resp.codeAt(path[:n]...); code != "" {
			return code
		}
	}
	if resp.status == 200 && len(resp.Errors) == 0 && resp.at(path...) != nil {
		return allowed
	}
	if len(resp.Errors) > 0 {
		code, _ := resp.Errors[0].Extensions["code"].(string)
		return "unexpected error " + code + ": " + resp.Errors[0].Message
	}
	return "null without an error"
}

func TestRefusedFieldIsNullAlone(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	resp := api.post(t, tokenFor(t, userMember), `query($id: ID!) { service(id: $id) { name totals { sms { requested } } } }`, map[string]any{"id": serviceA})
	if got := resp.codeAt("service", "totals"); got != forbidden {
		t.Fatalf("totals: code %q, want FORBIDDEN: %s", got, resp.body)
	}
	if got := resp.at("service", "name"); got != "Service A" {
		t.Errorf("name beside the refused field = %v, want Service A", got)
	}
	if !strings.Contains(resp.Errors[0].Message, "view_activity") {
		t.Errorf("the message should say what is missing: %q", resp.Errors[0].Message)
	}
}

func TestUnauthenticatedMessages(t *testing.T) {
	api := newTestAPI(t, server.DefaultLimits())
	expired, _ := server.MintToken([]byte(testSecret), userViewer, time.Minute, time.Now().Add(-time.Hour))
	tests := []struct{ name, token, want string }{
		{"no token", "", "authentication required"},
		{"expired", expired, "token expired"},
		{"garbage", "not-a-jwt", "invalid token"},
	}
	for _, tt := range tests {
		resp := api.post(t, tt.token, `{ me { id } }`, nil)
		if resp.codeAt("me") != unauth || !strings.Contains(resp.Errors[0].Message, tt.want) {
			t.Errorf("%s: %s", tt.name, resp.body)
		}
		if strings.Contains(resp.body, tt.token) && tt.token != "" {
			t.Errorf("%s: the response echoes the token", tt.name)
		}
	}
}
