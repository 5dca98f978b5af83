package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

const conversationQuery = `query($id: ID!, $n: ID, $in: ID) { service(id: $id) { conversation(notificationId: $n, inboundSmsId: $in) {
	phoneNumber messages { id direction phoneNumber content status statusLabel createdAt } } } }`

// Texts of a conversation with 07700 900123, beside ones that must stay out of it.
const (
	textThanks     = "c0000000-0000-0000-0000-000000000001"
	textOfServiceB = "c0000000-0000-0000-0000-0000000000b1"
)

// insertConversation adds, to the fixture's text A3 (to 07700900123, 10:00 today), texts
// received from that number written three ways, texts that must be left out, and 55 older
// sent texts, of which the conversation shows the newest 49 beside A3.
func insertConversation(t *testing.T, api *testAPI) {
	t.Helper()
	ctx := context.Background()
	// Service A keeps texts 30 days: from 23:00 UTC on 14 June.
	if _, err := api.pool.Exec(ctx, `INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at) VALUES
		($1, $2, '07700900500', '447700900123', 'Thanks', 'mmg', '2026-07-15 10:30'),
		(gen_random_uuid(), $2, '07700900500', '+44 7700 900123', 'Earlier reply', 'mmg', '2026-07-01 09:00'),
		(gen_random_uuid(), $2, '07700900500', '07700900123', 'Just inside the retention', 'mmg', '2026-06-14 23:00'),
		(gen_random_uuid(), $2, '07700900500', '447700900123', 'Just outside the retention', 'mmg', '2026-06-14 22:59:59'),
		(gen_random_uuid(), $2, '07700900500', '447700900124', 'Another number', 'mmg', '2026-07-15 10:31'),
		(gen_random_uuid(), $2, '07700900500', '3347700900123', 'Same last digits, another country', 'mmg', '2026-07-15 10:32'),
		($3, $4, '07700900501', '447700900123', 'To service B', 'mmg', '2026-07-15 10:33')`,
		textThanks, serviceA, textOfServiceB, serviceB); err != nil {
		t.Fatal(err)
	}
	if _, err := api.pool.Exec(ctx, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to,
		    key_type, notification_status, billable_units, created_at)
		SELECT gen_random_uuid(), $1::uuid, '7e000000-0000-0000-0000-000000000002'::uuid, 1, 'sms', '+447700900123', '447700900123',
		       'normal', 'delivered', 1, timestamp '2026-07-10 00:00' + i * interval '1 minute'
		  FROM generate_series(0, 54) AS i
		UNION ALL
		SELECT gen_random_uuid(), $1::uuid, '7e000000-0000-0000-0000-000000000002'::uuid, 1, 'sms', '07700900123', '447700900123',
		       'test', 'delivered', 1, timestamp '2026-07-15 11:00'`, serviceA); err != nil {
		t.Fatal(err)
	}
}

func TestConversationMergesSentAndReceivedTextsOldestFirst(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	insertConversation(t, api)
	tok := tokenFor(t, userViewer)
	byNotification := api.post(t, tok, conversationQuery, map[string]any{"id": serviceA, "n": notificationA3})
	byNotification.requireNoErrors(t)
	byText := api.post(t, tok, conversationQuery, map[string]any{"id": serviceA, "in": textThanks})
	byText.requireNoErrors(t)
	if byNotification.body != byText.body {
		t.Errorf("the same number's conversation differs by how it was opened:\n%s\n%s", byNotification.body, byText.body)
	}
	if got := byText.at("service", "conversation", "phoneNumber"); got != "07700 900123" {
		t.Errorf("phoneNumber %v", got)
	}
	messages := byText.at("service", "conversation", "messages").([]any)
	var lines []string
	outbound := 0
	for i, m := range messages {
		m := m.(map[string]any)
		if i > 0 && m["createdAt"].(string) < messages[i-1].(map[string]any)["createdAt"].(string) {
			t.Errorf("message %d is older than the one before it", i)
		}
		if m["phoneNumber"] != "07700 900123" {
			t.Errorf("message %d: phoneNumber %v", i, m["phoneNumber"])
		}
		switch m["direction"] {
		case "OUTBOUND":
			outbound++
			if m["content"] != nil || m["status"] != "DELIVERED" || m["statusLabel"] != "Delivered" {
				t.Errorf("sent text %v", m)
			}
			if outbound == 1 || m["id"] == notificationA3 {
				lines = append(lines, fmt.Sprintf("OUT %s", m["createdAt"]))
			}
		case "INBOUND":
			if m["status"] != nil || m["statusLabel"] != nil {
				t.Errorf("received text %v", m)
			}
			lines = append(lines, fmt.Sprintf("IN %s %s", m["createdAt"], m["content"]))
		}
	}
	// The newest 50 sent: A3 and the 49 newest of the 55 (from 00:06); the test key's is out.
	want := []string{
		"IN 2026-06-14T23:00:00Z Just inside the retention",
		"IN 2026-07-01T09:00:00Z Earlier reply",
		"OUT 2026-07-10T00:06:00Z",
		"OUT 2026-07-15T10:00:00Z",
		"IN 2026-07-15T10:30:00Z Thanks",
	}
	if outbound != 50 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("%d sent texts; thread:\n%s\nwant:\n%s", outbound, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestConversationRefusesBadArguments(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	insertConversation(t, api)
	tok := tokenFor(t, userViewer)
	tests := []struct {
		name           string
		vars           map[string]any
		wantCode, want string
	}{
		{"neither argument", map[string]any{}, "BAD_USER_INPUT", "give exactly one of notificationId and inboundSmsId"},
		{"both arguments", map[string]any{"n": notificationA3, "in": textThanks}, "BAD_USER_INPUT", "give exactly one of notificationId and inboundSmsId"},
		{"an email", map[string]any{"n": notificationA1}, "BAD_USER_INPUT", "a conversation is with a phone number: the notification is not a text message"},
		{"a letter", map[string]any{"n": notificationA5}, "BAD_USER_INPUT", "a conversation is with a phone number: the notification is not a text message"},
		{"another service's notification", map[string]any{"n": notificationB1}, "NOT_FOUND", "notification not found"},
		{"another service's inbound text", map[string]any{"in": textOfServiceB}, "NOT_FOUND", "inbound text not found"},
		{"an unknown notification", map[string]any{"n": "a0000000-0000-0000-0000-0000000000ff"}, "NOT_FOUND", "notification not found"},
		{"an unknown inbound text", map[string]any{"in": "c0000000-0000-0000-0000-0000000000ff"}, "NOT_FOUND", "inbound text not found"},
		{"a malformed notification id", map[string]any{"n": "42"}, "BAD_USER_INPUT", "invalid notification id"},
		{"a malformed inbound text id", map[string]any{"in": "'; DROP TABLE inbound_sms; --"}, "BAD_USER_INPUT", "invalid inbound text id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.vars["id"] = serviceA
			resp := api.post(t, tok, conversationQuery, tt.vars)
			if code := resp.codeAt("service", "conversation"); code != tt.wantCode || len(resp.Errors) != 1 || resp.Errors[0].Message != tt.want {
				t.Errorf("want %s %q: %s", tt.wantCode, tt.want, resp.body)
			}
			if strings.Contains(resp.body, "7700") || strings.Contains(resp.body, "DROP") {
				t.Errorf("the error repeats personal data or the input: %s", resp.body)
			}
		})
	}
	for _, q := range []string{
		`query($id: ID!) { service(id: $id) { conversation(notificationId: true) { phoneNumber } } }`,
		`query($id: ID!) { service(id: $id) { conversation(inboundSmsId: 1.5) { phoneNumber } } }`,
		`query($id: ID!) { service(id: $id) { conversation(number: "07700900123") { phoneNumber } } }`,
	} {
		if resp := api.post(t, tok, q, map[string]any{"id": serviceA}); resp.status != 200 || len(resp.Errors) == 0 || resp.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("%s: %s", q, resp.body)
		}
	}
}

// The conversation needs view_activity but not the inbound_sms feature (DOMAIN.md §16).
func TestConversationWithoutTheInboxFeature(t *testing.T) {
	t.Parallel()
	api := newTestAPIAt(t, server.Limits{}, fixtureNow.Add(time.Minute))
	insertConversation(t, api)
	resp := api.post(t, tokenFor(t, userOther), conversationQuery, map[string]any{"id": serviceB, "in": textOfServiceB})
	resp.requireNoErrors(t)
	if got := resp.at("service", "conversation", "messages", 0, "content"); got != "To service B" {
		t.Errorf("service B's conversation: %s", resp.body)
	}
}

// Issue 16's two numbers, end to end: a text sent to "0+44(0)7779123456" (stored as
// 447779123456) is in the conversation opened from it, beside the reply from 447779123456;
// and the Mauritius number +2304031001, whose stored digits are also a GB number, is shown
// as +230 403 1001 wherever it appears, its reply included.
func TestConversationReadsANumberAsEverywhereElse(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	const (
		sentUK        = "a0000000-0000-0000-0000-0000000000f1"
		sentMauritius = "a0000000-0000-0000-0000-0000000000f2"
	)
	if _, err := api.pool.Exec(context.Background(), `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to,
		    key_type, notification_status, billable_units, created_at) VALUES
		  ($1, $3, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '0+44(0)7779123456', '447779123456', 'normal', 'delivered', 1, '2026-07-15 09:00'),
		  ($2, $3, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '+2304031001', '2304031001', 'normal', 'sent', 1, '2026-07-15 09:05')`,
		sentUK, sentMauritius, serviceA); err != nil {
		t.Fatal(err)
	}
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at) VALUES
		($1, '07700900500', '447779123456', 'UK reply', 'mmg', '2026-07-15 09:30'),
		($1, '07700900500', '2304031001', 'Mauritius reply', 'mmg', '2026-07-15 09:35')`, serviceA); err != nil {
		t.Fatal(err)
	}
	tok := tokenFor(t, userViewer)
	for _, tt := range []struct {
		notification, shown string
		want                []string // direction|phoneNumber|content or status
	}{
		{sentUK, "07779 123456", []string{"OUTBOUND|07779 123456|delivered", "INBOUND|07779 123456|UK reply"}},
		{sentMauritius, "+230 403 1001", []string{"OUTBOUND|+230 403 1001|sent", "INBOUND|+230 403 1001|Mauritius reply"}},
	} {
		resp := api.post(t, tok, conversationQuery, map[string]any{"id": serviceA, "n": tt.notification})
		resp.requireNoErrors(t)
		if got := resp.at("service", "conversation", "phoneNumber"); got != tt.shown {
			t.Errorf("%s: phoneNumber %v, want %q", tt.notification, got, tt.shown)
		}
		var got []string
		for _, m := range resp.at("service", "conversation", "messages").([]any) {
			m := m.(map[string]any)
			last, _ := m["content"].(string)
			if m["direction"] == "OUTBOUND" {
				last = strings.ToLower(fmt.Sprint(m["status"]))
			}
			got = append(got, fmt.Sprintf("%s|%s|%s", m["direction"], m["phoneNumber"], last))
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: conversation\n%s\nwant\n%s", tt.notification, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
	// The notification's recipient and the inbox show the Mauritius number the same way.
	resp := api.post(t, tok, `query($id: ID!) { notification(id: $id) { recipient } }`, map[string]any{"id": sentMauritius})
	resp.requireNoErrors(t)
	if got := resp.at("notification", "recipient"); got != "+230 403 1001" {
		t.Errorf("recipient %v, want +230 403 1001", got)
	}
	// A search for the number as it was written finds the text sent to it.
	search := api.post(t, tok, `query($id: ID!, $term: String!) { service(id: $id) { notifications(type: SMS, search: {term: $term}) { edges { node { id } } } } }`,
		map[string]any{"id": serviceA, "term": "0+44(0)7779123456"})
	search.requireNoErrors(t)
	if got := search.at("service", "notifications", "edges", 0, "node", "id"); got != sentUK {
		t.Errorf("searching for 0+44(0)7779123456 found %v, want the text sent to it", search.at("service", "notifications", "edges"))
	}
}
