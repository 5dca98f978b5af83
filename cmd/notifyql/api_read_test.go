package main

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"notifyql/server"
)

func TestDashboardTotalsAndTemplateStatistics(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	const query = `query($id: ID!, $days: Int) { service(id: $id) {
		totals(days: $days) {
			email { requested delivered failed sending failurePercentage failedPercentage showWarning }
			sms { requested delivered failed sending failurePercentage failedPercentage showWarning }
			letter { requested delivered failed sending failurePercentage failedPercentage showWarning }
		}
		templateStatistics(days: $days) { templateId count template { name type isPrecompiledLetter } }
	} }`
	totals := func(requested, delivered, failed, sending int, pct float64, shown string, warn bool) map[string]any {
		return map[string]any{"requested": float64(requested), "delivered": float64(delivered), "failed": float64(failed),
			"sending": float64(sending), "failurePercentage": pct, "failedPercentage": shown, "showWarning": warn}
	}
	stat := func(id string, count int, name, typ string, precompiled bool) map[string]any {
		return map[string]any{"templateId": id, "count": float64(count),
			"template": map[string]any{"name": name, "type": typ, "isPrecompiledLetter": precompiled}}
	}
	tests := []struct {
		days       int
		wantTotals map[string]any
		wantStats  []any
	}{
		{
			// Today (London 15 July, from 23:00 UTC on the 14th) from live rows: emails A1
			// delivered, A2 permanent-failure, A7 delivered (team key, 00:30 BST); A8 at
			// 23:30 BST on the 14th is yesterday's and comes from facts (5 delivered).
			// SMS: A3 delivered; A4 is a test key. Facts on 10 July: 10 delivered, 2 failed,
			// 4 cancelled (left out). Letters: A5 created; A6 cancelled (left out). The
			// 100 failed emails of 7 July are outside 7 days.
			days: 7,
			wantTotals: map[string]any{
				"email":  totals(8, 7, 1, 0, 12.5, "12.5", true),
				"sms":    totals(13, 11, 2, 0, 15.4, "15.4", true),
				"letter": totals(1, 0, 0, 1, 0, "0.0", false),
			},
			wantStats: []any{
				stat("7e000000-0000-0000-0000-000000000002", 13, "Appointment text", "SMS", false),
				stat("7e000000-0000-0000-0000-000000000001", 8, "Payment reminder (renamed)", "EMAIL", false),
				stat("7e000000-0000-0000-0000-000000000003", 1, "Pre-compiled PDF", "LETTER", true),
			},
		},
		{
			days: 0,
			wantTotals: map[string]any{
				"email":  totals(3, 2, 1, 0, 33.3, "33.3", true),
				"sms":    totals(1, 1, 0, 0, 0, "0.0", false),
				"letter": totals(1, 0, 0, 1, 0, "0.0", false),
			},
			wantStats: []any{
				stat("7e000000-0000-0000-0000-000000000001", 3, "Payment reminder (renamed)", "EMAIL", false),
				stat("7e000000-0000-0000-0000-000000000002", 1, "Appointment text", "SMS", false),
				stat("7e000000-0000-0000-0000-000000000003", 1, "Pre-compiled PDF", "LETTER", true),
			},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("days=%d", tt.days), func(t *testing.T) {
			resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": serviceA, "days": tt.days})
			resp.requireNoErrors(t)
			if diff := cmp.Diff(tt.wantTotals, resp.at("service", "totals")); diff != "" {
				t.Errorf("totals (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStats, resp.at("service", "templateStatistics")); diff != "" {
				t.Errorf("template statistics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDashboardDaysOutOfRange(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	for _, days := range []int{-1, 8, 1000} {
		resp := api.post(t, tokenFor(t, userViewer), `query($id: ID!, $days: Int) { service(id: $id) { totals(days: $days) { email { requested } } } }`,
			map[string]any{"id": serviceA, "days": days})
		if got := resp.codeAt("service", "totals"); got != "BAD_USER_INPUT" {
			t.Errorf("days=%d: code %q, want BAD_USER_INPUT: %s", days, got, resp.body)
		}
		if len(resp.Errors) == 0 || resp.Errors[0].Message != "days must be between 0 and 7" {
			t.Errorf("days=%d: message: %s", days, resp.body)
		}
	}
}

func TestNotificationsList(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	const query = `query($id: ID!, $type: NotificationType, $statuses: [NotificationStatus!], $first: Int, $after: String) {
		service(id: $id) { notifications(type: $type, statuses: $statuses, first: $first, after: $after) {
			edges { cursor node { id } }
			pageInfo { hasNextPage endCursor }
			statusCounts { total sending delivered failed }
			dataAvailableDays
		} } }`
	ids := func(resp gqlResponse) []string {
		var out []string
		edges, _ := resp.at("service", "notifications", "edges").([]any)
		for i := range edges {
			out = append(out, resp.at("service", "notifications", "edges", i, "node", "id").(string))
		}
		return out
	}
	tests := []struct {
		name       string
		vars       map[string]any
		wantIDs    []string
		wantCounts map[string]any
		wantDays   float64
	}{
		{
			name:    "every type, default statuses, newest first; test key and cancelled left out",
			vars:    map[string]any{},
			wantIDs: []string{notificationA5, notificationA3, notificationA2, notificationA1, notificationA7, notificationA8},
			// Pills over 7 days, all types: the dashboard's rows summed.
			wantCounts: map[string]any{"total": float64(22), "sending": float64(1), "delivered": float64(18), "failed": float64(3)},
			wantDays:   7,
		},
		{
			name:       "emails that failed",
			vars:       map[string]any{"type": "EMAIL", "statuses": []string{"FAILED"}},
			wantIDs:    []string{notificationA2},
			wantCounts: map[string]any{"total": float64(8), "sending": float64(0), "delivered": float64(7), "failed": float64(1)},
			wantDays:   7,
		},
		{
			name:       "text messages over their 30-day retention",
			vars:       map[string]any{"type": "SMS"},
			wantIDs:    []string{notificationA3},
			wantCounts: map[string]any{"total": float64(13), "sending": float64(0), "delivered": float64(11), "failed": float64(2)},
			wantDays:   30,
		},
		{
			name:       "cancelled only when asked for",
			vars:       map[string]any{"type": "LETTER", "statuses": []string{"CANCELLED"}},
			wantIDs:    []string{"a0000000-0000-0000-0000-000000000006"},
			wantCounts: map[string]any{"total": float64(1), "sending": float64(1), "delivered": float64(0), "failed": float64(0)},
			wantDays:   7,
		},
		{
			name:       "a single status stands for itself",
			vars:       map[string]any{"statuses": []string{"PERMANENT_FAILURE", "PERMANENT_FAILURE"}},
			wantIDs:    []string{notificationA2},
			wantCounts: map[string]any{"total": float64(22), "sending": float64(1), "delivered": float64(18), "failed": float64(3)},
			wantDays:   7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.vars["id"] = serviceA
			resp := api.post(t, tokenFor(t, userMember), query, tt.vars)
			resp.requireNoErrors(t)
			if diff := cmp.Diff(tt.wantIDs, ids(resp)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCounts, resp.at("service", "notifications", "statusCounts")); diff != "" {
				t.Errorf("status counts (-want +got):\n%s", diff)
			}
			if got := resp.at("service", "notifications", "dataAvailableDays"); got != tt.wantDays {
				t.Errorf("dataAvailableDays = %v, want %v", got, tt.wantDays)
			}
		})
	}

	t.Run("pages follow the cursor and cover every row once", func(t *testing.T) {
		var all []string
		vars := map[string]any{"id": serviceA, "first": 4}
		for page := 0; page < 5; page++ {
			resp := api.post(t, tokenFor(t, userMember), query, vars)
			resp.requireNoErrors(t)
			all = append(all, ids(resp)...)
			if resp.at("service", "notifications", "pageInfo", "hasNextPage") != true {
				break
			}
			vars["after"] = resp.at("service", "notifications", "pageInfo", "endCursor")
		}
		want := []string{notificationA5, notificationA3, notificationA2, notificationA1, notificationA7, notificationA8}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("ids across pages (-want +got):\n%s", diff)
		}
	})

	// Cursors are encoded only for a selection that shows them, however it asks: by name,
	// by an alias or through a fragment on the edge.
	t.Run("every edge's cursor pages on from its row", func(t *testing.T) {
		const withCursors = `query($id: ID!, $after: String) {
			service(id: $id) { notifications(first: 3, after: $after) {
				edges { position: cursor ...edge }
			} } }
			fragment edge on NotificationEdge { cursor node { id } }`
		want := []string{notificationA5, notificationA3, notificationA2, notificationA1, notificationA7, notificationA8}
		resp := api.post(t, tokenFor(t, userMember), withCursors, map[string]any{"id": serviceA})
		resp.requireNoErrors(t)
		for i := range 3 {
			edge := func(name string) any { return resp.at("service", "notifications", "edges", i, name) }
			cursor, _ := edge("cursor").(string)
			if cursor == "" || edge("position") != cursor {
				t.Fatalf("edge %d: cursor %v, position %v", i, edge("cursor"), edge("position"))
			}
			next := api.post(t, tokenFor(t, userMember), withCursors, map[string]any{"id": serviceA, "after": cursor})
			next.requireNoErrors(t)
			var got []string
			edges, _ := next.at("service", "notifications", "edges").([]any)
			for j := range edges {
				got = append(got, next.at("service", "notifications", "edges", j, "node", "id").(string))
			}
			if diff := cmp.Diff(want[i+1:i+4], got); diff != "" {
				t.Errorf("after edge %d's cursor (-want +got):\n%s", i, diff)
			}
		}
	})
}

func TestNotificationDetail(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	const query = `query($id: ID!) { notification(id: $id) {
		id type to recipient clientReference status statusGroup statusLabel isFinal keyType isTestKey
		template { id name version type isPrecompiledLetter }
		job { originalFileName } createdBy { name } apiKey { name keyType }
		createdAt sentAt updatedAt billableUnits postage
		statusHistory { status }
		letter { pageCount sheetCount canBeCancelled printStatement estimatedDelivery estimatedDeliveryText statusNote }
	} }`
	tests := []struct {
		name string
		id   string
		want map[string]any
	}{
		{
			name: "an email from a job, with the template as it was sent",
			id:   notificationA2,
			want: map[string]any{
				"id": notificationA2, "type": "EMAIL", "to": "bob@example.org", "recipient": "bob@example.org",
				"clientReference": nil, "status": "PERMANENT_FAILURE", "statusGroup": "FAILED",
				"statusLabel": "Email address does not exist", "isFinal": true, "keyType": "NORMAL", "isTestKey": false,
				"template":  map[string]any{"id": "7e000000-0000-0000-0000-000000000001", "name": "Payment reminder", "version": float64(1), "type": "EMAIL", "isPrecompiledLetter": false},
				"job":       map[string]any{"originalFileName": "reminders.csv"},
				"createdBy": map[string]any{"name": "Manny Manager"}, "apiKey": nil,
				"createdAt": "2026-07-15T09:30:00Z", "sentAt": "2026-07-15T09:30:30Z", "updatedAt": "2026-07-15T09:31:00Z",
				"billableUnits": float64(0), "postage": nil,
				"statusHistory": []any{map[string]any{"status": "PERMANENT_FAILURE"}},
				"letter":        nil,
			},
		},
		{
			name: "a text message with its number formatted for people",
			id:   notificationA3,
			want: map[string]any{
				"id": notificationA3, "type": "SMS", "to": "07700900123", "recipient": "07700 900123",
				"clientReference": nil, "status": "DELIVERED", "statusGroup": "DELIVERED",
				"statusLabel": "Delivered", "isFinal": true, "keyType": "NORMAL", "isTestKey": false,
				"template":  map[string]any{"id": "7e000000-0000-0000-0000-000000000002", "name": "Appointment text", "version": float64(1), "type": "SMS", "isPrecompiledLetter": false},
				"job":       nil,
				"createdBy": map[string]any{"name": "Sam Sender"}, "apiKey": nil,
				"createdAt": "2026-07-15T10:00:00Z", "sentAt": "2026-07-15T10:00:30Z", "updatedAt": "2026-07-15T10:01:00Z",
				"billableUnits": float64(1), "postage": nil,
				"statusHistory": []any{map[string]any{"status": "DELIVERED"}},
				"letter":        nil,
			},
		},
		{
			// Created Wed 15 July 2026 at 12:00 BST: cancellable until 17:30; printed on
			// Thu 16 July; second class arrives at the latest 5 working days later.
			name: "an uploaded letter that can still be cancelled",
			id:   notificationA5,
			want: map[string]any{
				"id": notificationA5, "type": "LETTER", "to": "Ann Smith\n10 Downing Street\nLondon\nSW1A 2AA",
				"recipient": "Ann Smith, 10 Downing Street, London, SW1A 2AA", "clientReference": "letter.pdf",
				"status": "CREATED", "statusGroup": "SENDING", "statusLabel": "", "isFinal": false,
				"keyType": "NORMAL", "isTestKey": false,
				"template":  map[string]any{"id": "7e000000-0000-0000-0000-000000000003", "name": "Pre-compiled PDF", "version": float64(1), "type": "LETTER", "isPrecompiledLetter": true},
				"job":       nil,
				"createdBy": map[string]any{"name": "Sam Sender"}, "apiKey": nil,
				"createdAt": "2026-07-15T11:00:00Z", "sentAt": nil, "updatedAt": nil,
				"billableUnits": float64(2), "postage": "SECOND",
				"statusHistory": []any{map[string]any{"status": "CREATED"}, map[string]any{"status": "SENDING"}, map[string]any{"status": "CREATED"}},
				"letter": map[string]any{
					"pageCount": float64(3), "sheetCount": float64(2), "canBeCancelled": true,
					"printStatement":        "Printing starts today at 5:30pm",
					"estimatedDelivery":     "2026-07-23T15:00:00Z",
					"estimatedDeliveryText": "Estimated delivery by Thursday 23 July",
					"statusNote":            nil,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.post(t, tokenFor(t, userViewer), query, map[string]any{"id": tt.id})
			resp.requireNoErrors(t)
			if diff := cmp.Diff(tt.want, resp.at("notification")); diff != "" {
				t.Errorf("detail (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("the provider is for platform admins only", func(t *testing.T) {
		q := `query($id: ID!) { notification(id: $id) { id sentBy } }`
		resp := api.post(t, tokenFor(t, userAdmin), q, map[string]any{"id": notificationA1})
		resp.requireNoErrors(t)
		if got := resp.at("notification", "sentBy"); got != "ses" {
			t.Errorf("admin sees sentBy %v, want ses", got)
		}
		resp = api.post(t, tokenFor(t, userManager), q, map[string]any{"id": notificationA1})
		if got := resp.codeAt("notification", "sentBy"); got != "FORBIDDEN" {
			t.Errorf("manager: code %q, want FORBIDDEN", got)
		}
		if got := resp.at("notification", "id"); got != notificationA1 {
			t.Errorf("manager: the rest of the notification should still be there, got %v", got)
		}
	})
}

func TestServiceSummary(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	resp := api.post(t, tokenFor(t, userMember), `query($id: ID!) { service(id: $id) {
		id name active restricted features hasApiKeys myPermissions dataRetention { email sms letter } } }`,
		map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	want := map[string]any{
		"id": serviceA, "name": "Service A", "active": true, "restricted": false,
		"features":      []any{"email", "inbound_sms", "letter", "sms"},
		"hasApiKeys":    true,
		"myPermissions": []any{},
		"dataRetention": map[string]any{"email": float64(7), "sms": float64(30), "letter": float64(7)},
	}
	if diff := cmp.Diff(want, resp.at("service")); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}

	resp = api.post(t, tokenFor(t, userViewer), `query($id: ID!) { service(id: $id) { inboxSummary { count mostRecent } } }`, map[string]any{"id": serviceA})
	resp.requireNoErrors(t)
	wantInbox := map[string]any{"count": float64(2), "mostRecent": "2026-07-15T08:00:00Z"}
	if diff := cmp.Diff(wantInbox, resp.at("service", "inboxSummary")); diff != "" {
		t.Errorf("inbox summary (-want +got):\n%s", diff)
	}

	resp = api.post(t, tokenFor(t, userManager), `{ me { name platformAdmin memberships { service { name } permissions } } services { name } }`, nil)
	resp.requireNoErrors(t)
	wantMe := map[string]any{"name": "Manny Manager", "platformAdmin": false, "memberships": []any{
		map[string]any{"service": map[string]any{"name": "Service A"}, "permissions": []any{"MANAGE_SERVICE", "VIEW_ACTIVITY", "SEND_MESSAGES", "MANAGE_TEMPLATES", "MANAGE_API_KEYS"}},
		map[string]any{"service": map[string]any{"name": "Service C (inactive)"}, "permissions": []any{"MANAGE_SERVICE", "VIEW_ACTIVITY"}},
	}}
	if diff := cmp.Diff(wantMe, resp.at("me")); diff != "" {
		t.Errorf("me (-want +got):\n%s", diff)
	}
	wantServices := []any{map[string]any{"name": "Service A"}, map[string]any{"name": "Service C (inactive)"}}
	if diff := cmp.Diff(wantServices, resp.at("services")); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
}
