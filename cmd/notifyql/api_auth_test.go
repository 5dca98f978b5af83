package main

import (
	"fmt"
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
	// The same notification fields reached through the list: a field's permission does not
	// depend on the path that reached it.
	listField("list: keyType", "first: 1", "keyType"),
	listField("list: isTestKey", "first: 1", "isTestKey"),
	listField("list: createdBy", "type: SMS, first: 1", "createdBy { name }"),
	listField("list: apiKey", "type: EMAIL, statuses: [DELIVERED], first: 1", "apiKey { name }"),
	listField("list: sentBy", "type: SMS, first: 1", "sentBy"),
	listField("list: billableUnits", "first: 1", "billableUnits"),
	listField("list: postage", "type: LETTER, first: 1", "postage"),
	listField("list: statusHistory", "first: 1", "statusHistory { status }"),
	listField("list: letter", "type: LETTER, first: 1", "letter { sheetCount }"),
	// What a row of the list shows stays open to every member.
	listField("list: to", "first: 1", "to"),
	listField("list: job", "type: EMAIL, statuses: [FAILED], first: 1", "job { originalFileName }"),
	listField("list: template", "first: 1", "template { name }"),
	{"reportRequest", `query($id: ID!) { reportRequest(id: $id) { id } }`, map[string]any{"id": reportViewerPending}, []any{"reportRequest"}},
	// node(id) and nodes(ids) answer each type as its own field does (see nodeOwnField).
	nodeField("node: service", serviceA),
	nodeField("node: notification", notificationA1),
	nodeField("node: notification of service B", notificationB1),
	nodeField("node: template", templateA1),
	nodeField("node: job", jobA1),
	nodeField("node: inbox message", inboundA1),
	nodeField("node: report request", reportViewerPending),
	nodeField("node: inactive service", serviceC),
	nodesField("nodes: service", serviceA),
	nodesField("nodes: notification", notificationA1),
	nodesField("nodes: notification of service B", notificationB1),
	nodesField("nodes: template", templateA1),
	nodesField("nodes: job", jobA1),
	nodesField("nodes: inbox message", inboundA1),
	nodesField("nodes: report request", reportViewerPending),
	nodesField("nodes: inactive service", serviceC),
}

// nodeField asks node(id) for the object with the UUID id.
func nodeField(name string, id string) matrixField {
	return matrixField{name, `query($id: ID!) { node(id: $id) { id } }`,
		map[string]any{"id": id}, []any{"node"}}
}

// nodesField asks nodes(ids) for the same object twice: its answer is the element at index
// 1. (TestNodesAnswerEachIDAtItsIndex mixes ids that name nothing with others.)
func nodesField(name string, id string) matrixField {
	return matrixField{name, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
		map[string]any{"ids": []string{id, id}}, []any{"nodes", 1}}
}

// listField asks for one field of the first notification of service A's list, with args
// choosing a row that has it.
func listField(name, args, selection string) matrixField {
	field, _, _ := strings.Cut(selection, " ")
	return matrixField{name,
		`query($id: ID!) { service(id: $id) { id notifications(` + args + `) { edges { node { id ` + selection + ` } } } } }`,
		map[string]any{"id": serviceA}, []any{"service", "notifications", "edges", 0, "node", field}}
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
	"list: keyType":                                {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: isTestKey":                              {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: createdBy":                              {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: apiKey":                                 {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: sentBy":                                 {forbidden, forbidden, forbidden, allowed, notFound, forbidden},
	"list: billableUnits":                          {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: postage":                                {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: statusHistory":                          {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: letter":                                 {forbidden, allowed, allowed, allowed, notFound, forbidden},
	"list: to":                                     {allowed, allowed, allowed, allowed, notFound, forbidden},
	"list: job":                                    {allowed, allowed, allowed, allowed, notFound, forbidden},
	"list: template":                               {allowed, allowed, allowed, allowed, notFound, forbidden},
	"reportRequest":                                {forbidden, allowed, forbidden, forbidden, notFound, notFound},
	// node(id) and nodes(ids): each as its own field (the row named in the comment).
	"node: service":                    {allowed, allowed, allowed, allowed, notFound, allowed},        // as service
	"node: notification":               {forbidden, allowed, allowed, allowed, notFound, notFound},     // as notification
	"node: notification of service B":  {notFound, notFound, notFound, allowed, allowed, notFound},     // as notification of service B
	"node: template":                   {forbidden, allowed, allowed, allowed, notFound, forbidden},    // as service.templateStatistics
	"node: job":                        {allowed, allowed, allowed, allowed, notFound, forbidden},      // as list: job
	"node: inbox message":              {forbidden, allowed, allowed, allowed, notFound, forbidden},    // as service.inboxSummary
	"node: report request":             {forbidden, allowed, forbidden, forbidden, notFound, notFound}, // as reportRequest
	"node: inactive service":           {notFound, notFound, allowed, allowed, notFound, allowed},      // as inactive service
	"nodes: service":                   {allowed, allowed, allowed, allowed, notFound, allowed},        // as service
	"nodes: notification":              {forbidden, allowed, allowed, allowed, notFound, notFound},     // as notification
	"nodes: notification of service B": {notFound, notFound, notFound, allowed, allowed, notFound},     // as notification of service B
	"nodes: template":                  {forbidden, allowed, allowed, allowed, notFound, forbidden},    // as service.templateStatistics
	"nodes: job":                       {allowed, allowed, allowed, allowed, notFound, forbidden},      // as list: job
	"nodes: inbox message":             {forbidden, allowed, allowed, allowed, notFound, forbidden},    // as service.inboxSummary
	"nodes: report request":            {forbidden, allowed, forbidden, forbidden, notFound, notFound}, // as reportRequest
	"nodes: inactive service":          {notFound, notFound, allowed, allowed, notFound, allowed},      // as inactive service
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// notificationRowFields are what a row of the notifications list shows.
const notificationRowFields = `id serviceId type to recipient clientReference status statusGroup statusLabel isFinal template { name } job { originalFileName } createdAt sentAt updatedAt`

// notificationDetailFields are the detail that needs view_activity or send_messages, each
// as it is selected.
var notificationDetailFields = []string{"keyType", "isTestKey", "createdBy { name }", "apiKey { name }", "billableUnits", "postage",
	"statusHistory { status }", "letter { sheetCount }"}

// TestListShowsDetailOnlyWithPermission: through the list, a member without view_activity
// or send_messages gets every row with what the list shows, and FORBIDDEN and null on each
// detail field of each row alone; a viewer and a sender get the detail.
func TestListShowsDetailOnlyWithPermission(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	query := `query($id: ID!) { service(id: $id) { notifications(first: 50) { edges { node { ` +
		notificationRowFields + ` ` + strings.Join(notificationDetailFields, " ") + ` } } } } }`
	var detail []string // the fields' names
	for _, selection := range notificationDetailFields {
		field, _, _ := strings.Cut(selection, " ")
		detail = append(detail, field)
	}
	for _, tt := range []struct {
		user          string
		wantForbidden bool
	}{{userMember, true}, {userViewer, false}, {userSender, false}} {
		resp := api.post(t, tokenFor(t, tt.user), query, map[string]any{"id": serviceA})
		edges, _ := resp.at("service", "notifications", "edges").([]any)
		if len(edges) < 5 {
			t.Fatalf("%s: %d rows, want the fixture's page: %s", tt.user, len(edges), resp.body)
		}
		forbiddenAt := map[string]bool{}
		for _, e := range resp.Errors {
			if code, _ := e.Extensions["code"].(string); code != forbidden || len(e.Path) != 6 {
				t.Fatalf("%s: unexpected error %+v", tt.user, e)
			}
			forbiddenAt[fmt.Sprint(e.Path[3], e.Path[5])] = true
		}
		for i := range edges {
			if resp.at("service", "notifications", "edges", i, "node", "to") == nil || resp.at("service", "notifications", "edges", i, "node", "statusLabel") == nil {
				t.Errorf("%s: row %d lost what the list shows: %v", tt.user, i, edges[i])
			}
			for _, field := range detail {
				refused := forbiddenAt[fmt.Sprint(i, field)]
				if refused != tt.wantForbidden {
					t.Errorf("%s: row %d %s refused = %v, want %v", tt.user, i, field, refused, tt.wantForbidden)
				}
				if refused && resp.at("service", "notifications", "edges", i, "node", field) != nil {
					t.Errorf("%s: row %d %s refused but has a value", tt.user, i, field)
				}
			}
		}
		if tt.wantForbidden && len(resp.Errors) != len(edges)*len(detail) {
			t.Errorf("%s: %d errors, want one per detail field of each row (%d)", tt.user, len(resp.Errors), len(edges)*len(detail))
		}
	}
}

// TestNotificationOfAnotherServiceLooksLikeNone: notification(id) of a service the caller
// is not a member of answers exactly as an id that does not exist, after the same number
// of database statements, so that neither the answer nor its cost tells them apart.
func TestNotificationOfAnotherServiceLooksLikeNone(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	const query = `query($id: ID!) { notification(id: $id) { id to } }`
	const missing = "a0000000-0000-4000-8000-00000000dead"
	for _, tt := range []struct{ user, other string }{
		{userOther, notificationA1},  // a member of B asks for A's
		{userMember, notificationB1}, // a member of A asks for B's
		{userOrg, notificationA1},    // an organisation user, who can open A but is not in it
	} {
		ask := func(id string) (gqlResponse, int64) {
			tok := tokenFor(t, tt.user)
			before := api.statements.Queries()
			resp := api.post(t, tok, query, map[string]any{"id": id})
			return resp, api.statements.Queries() - before
		}
		// Once each first, so that neither side pays for a cold statement cache.
		ask(tt.other)
		ask(missing)
		existing, existingStatements := ask(tt.other)
		none, noneStatements := ask(missing)
		if existing.status != none.status || existing.body != none.body {
			t.Errorf("%s: another service's notification answers %d %s, a missing one %d %s", tt.user, existing.status, existing.body, none.status, none.body)
		}
		if existing.codeAt("notification") != notFound {
			t.Errorf("%s: %s, want NOT_FOUND", tt.user, existing.body)
		}
		if existingStatements != noneStatements {
			t.Errorf("%s: another service's notification took %d statements, a missing one %d", tt.user, existingStatements, noneStatements)
		}
	}
}
