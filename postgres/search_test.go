package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/phone"
)

// fxSearchable is a notification with the columns a search looks at.
type fxSearchable struct {
	N          int // the id is fxNotificationID(N)
	ServiceID  string
	Type       notifyql.NotificationType
	To         string
	Normalised string
	Reference  string // NULL when empty
	Key        notifyql.KeyType
	Status     notifyql.NotificationStatus
	CreatedAt  string
}

func insertSearchable(tb testing.TB, pool *pgxpool.Pool, rows ...fxSearchable) {
	tb.Helper()
	templates := map[notifyql.NotificationType]string{
		notifyql.TypeEmail: fxEmailTemplateID, notifyql.TypeSMS: fxSMSTemplateID, notifyql.TypeLetter: fxLetterTemplateID,
	}
	versions := map[notifyql.NotificationType]int{notifyql.TypeEmail: 2, notifyql.TypeSMS: 1, notifyql.TypeLetter: 1}
	batch := &pgx.Batch{}
	for _, r := range rows {
		if r.ServiceID == "" {
			r.ServiceID = fxAlphaID
		}
		if r.Key == "" {
			r.Key = notifyql.KeyNormal
		}
		if r.Status == "" {
			r.Status = notifyql.StatusDelivered
		}
		if r.CreatedAt == "" {
			r.CreatedAt = fmt.Sprintf("2025-07-21T08:%02d:00Z", r.N%60)
		}
		var reference *string
		if r.Reference != "" {
			reference = &r.Reference
		}
		batch.Queue(`
			INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
			    "to", normalised_to, client_reference, key_type, notification_status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			fxNotificationID(r.N), r.ServiceID, templates[r.Type], versions[r.Type], string(r.Type),
			r.To, r.Normalised, reference, string(r.Key), string(r.Status), fxTime(tb, r.CreatedAt))
	}
	if err := pool.SendBatch(context.Background(), batch).Close(); err != nil {
		tb.Fatalf("insert notifications: %v", err)
	}
}

// searchFilter is the filter the resolver builds for a search of term over typ.
func searchFilter(typ *notifyql.NotificationType, term string, matchReference bool, statuses ...notifyql.NotificationStatus) notifyql.NotificationFilter {
	return notifyql.NotificationFilter{
		ServiceID: fxAlphaID,
		Type:      typ,
		Statuses:  notifyql.ExpandStatusFilter(statuses),
		First:     notifyql.SearchResultLimit,
		Search: &notifyql.Search{
			Normalised:     notifyql.NormaliseSearchTerm(typ, term, phone.NationalSignificantNumber),
			Raw:            term,
			MatchReference: matchReference,
		},
	}
}

func TestSearchNotificationsMatchesAsDomainSays(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	sms, email, letter := notifyql.TypeSMS, notifyql.TypeEmail, notifyql.TypeLetter
	insertSearchable(t, pool,
		fxSearchable{N: 1, Type: sms, To: "07700 900123", Normalised: "447700900123"},
		fxSearchable{N: 2, Type: sms, To: "+447911123456", Normalised: "447911123456", Reference: "INV-50%_off"},
		fxSearchable{N: 3, Type: email, To: "Ann.Smith@Example.org", Normalised: "ann.smith@example.org", Reference: `Order/2025\A`},
		fxSearchable{N: 4, Type: email, To: "bob_jones@example.org", Normalised: "bob_jones@example.org"},
		fxSearchable{N: 5, Type: email, To: "bobxjones@example.org", Normalised: "bobxjones@example.org"},
		fxSearchable{N: 6, Type: letter, To: "10 Downing Street\nLondon\nSW1A 2AA", Normalised: "10downingstreetlondonsw1a2aa", Reference: "Letter-File.pdf"},
		// The test key and another service are never found.
		fxSearchable{N: 7, Type: sms, To: "07700 900123", Normalised: "447700900123", Key: notifyql.KeyTest},
		fxSearchable{N: 8, ServiceID: fxBetaID, Type: sms, To: "07700 900123", Normalised: "447700900123"},
		// Escaping: % _ \ / match only themselves.
		fxSearchable{N: 9, Type: email, To: "50%off@example.org", Normalised: "50%off@example.org"},
		fxSearchable{N: 10, Type: email, To: "50xoff@example.org", Normalised: "50xoff@example.org"},
		fxSearchable{N: 11, Type: email, To: `back\slash@example.org`, Normalised: `back\slash@example.org`},
		fxSearchable{N: 12, Type: email, To: "backslash@example.org", Normalised: "backslash@example.org"},
		fxSearchable{N: 13, Type: letter, To: "Flat 1/2\nHigh Street", Normalised: "flat1/2highstreet"},
		fxSearchable{N: 14, Type: letter, To: "Flat 12\nHigh Street", Normalised: "flat12highstreet"},
		// Cancelled is left out unless asked for; no date bound applies to a search.
		fxSearchable{N: 15, Type: letter, To: "1 Cancelled Road", Normalised: "1cancelledroad", Status: notifyql.StatusCancelled},
		fxSearchable{N: 16, Type: sms, To: "07700 900456", Normalised: "447700900456", CreatedAt: "2024-01-01T00:00:00Z"},
		// A long number's leading digits are shared; the whole number must still match.
		fxSearchable{N: 17, Type: sms, To: "07800 900123", Normalised: "447800900123"},
	)
	ids := func(ns ...int) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, fxNotificationID(n))
		}
		return out
	}
	tests := []struct {
		name   string
		filter notifyql.NotificationFilter
		want   []string // newest first
	}{
		{"sms: a whole number as typed", searchFilter(&sms, "07700 900123", false), ids(1)},
		{"sms: the number in international form", searchFilter(&sms, "+44 7700 900123", false), ids(1)},
		{"sms: a valid number finds its stored E.164 form", searchFilter(&sms, "07911 123456", false), ids(2)},
		{"sms: a partial number", searchFilter(&sms, "900 12", false), ids(17, 1)},
		{"sms: a partial number with a trunk 0", searchFilter(&sms, "(0)7911", false), ids(2)},
		{"sms: a fragment in two numbers", searchFilter(&sms, "123", false), ids(17, 2, 1)},
		{"sms: an old row still in the table", searchFilter(&sms, "900456", false), ids(16)},
		{"sms: the reference is not searched without API keys", searchFilter(&sms, "INV-50", false), ids()},
		{"sms: the reference, case-insensitive, with its % and _ escaped", searchFilter(&sms, "inv-50%_OFF", true), ids(2)},
		{"sms: a reference wildcard matches only itself", searchFilter(&sms, "inv-50_%off", true), ids()},
		{"email: case does not matter", searchFilter(&email, "ANN.SMITH@EXAMPLE.ORG", false), ids(3)},
		{"email: a valid address is trimmed", searchFilter(&email, "  Ann.Smith@Example.org ", false), ids(3)},
		{"email: a fragment", searchFilter(&email, "Smith@", false), ids(3)},
		{"email: _ matches only _", searchFilter(&email, "bob_jones", false), ids(4)},
		{"email: % matches only %", searchFilter(&email, "50%off", false), ids(9)},
		{`email: \ matches only \`, searchFilter(&email, `back\slash`, false), ids(11)},
		{`email: a reference with / and \`, searchFilter(&email, `order/2025\a`, true), ids(3)},
		{"letter: an address with spaces", searchFilter(&letter, "10 Downing Street", false), ids(6)},
		{"letter: a postcode across a line break", searchFilter(&letter, "sw1a 2AA", false), ids(6)},
		{"letter: / matches only /", searchFilter(&letter, "Flat 1/2", false), ids(13)},
		{"letter: the file name", searchFilter(&letter, "letter-file", true), ids(6)},
		{"letter: cancelled only when asked for", searchFilter(&letter, "cancelled", false), ids()},
		{"letter: cancelled asked for", searchFilter(&letter, "cancelled", false, notifyql.StatusCancelled), ids(15)},
		{"no type: every type, as letters normalise", searchFilter(nil, "Downing St", false), ids(6)},
		{"no type: email addresses too", searchFilter(nil, "bob_jones@", false), ids(4)},
		{"status filter: failed finds nothing delivered", searchFilter(&sms, "07700 900123", false, notifyql.StatusFailed), ids()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := store.ListNotifications(t.Context(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, n := range page.Notifications {
				got = append(got, n.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
			if page.HasNextPage {
				t.Errorf("HasNextPage with %d matches", len(got))
			}
		})
	}
}

func TestSearchNotificationsReturnsTheFirst50(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	sms := notifyql.TypeSMS
	start := fxTime(t, "2025-07-20T00:00:00Z")
	var rows []fxSearchable
	for i := range 51 {
		rows = append(rows, fxSearchable{N: 100 + i, Type: sms, To: "x", Normalised: fmt.Sprintf("4477009%05d", i),
			CreatedAt: start.Add(time.Duration(i/2) * time.Minute).Format(time.RFC3339)})
	}
	insertSearchable(t, pool, rows...)

	page, err := store.ListNotifications(t.Context(), searchFilter(&sms, "7700 9", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Notifications) != 50 || !page.HasNextPage {
		t.Fatalf("%d matches, HasNextPage %t; want the first 50 and HasNextPage", len(page.Notifications), page.HasNextPage)
	}
	// Newest first, ties on created_at broken by id descending: the oldest (N 100) is the
	// one left out.
	for i, n := range page.Notifications {
		if want := fxNotificationID(150 - i); n.ID != want {
			t.Fatalf("match %d is %s, want %s", i, n.ID, want)
		}
	}

	fxExec(t, pool, `DELETE FROM notifications WHERE id = $1`, fxNotificationID(150))
	page, err = store.ListNotifications(t.Context(), searchFilter(&sms, "7700 9", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Notifications) != 50 || page.HasNextPage {
		t.Errorf("exactly 50 matches: got %d, HasNextPage %t; want 50 and false", len(page.Notifications), page.HasNextPage)
	}

	filter := searchFilter(&sms, "7700 9", false)
	filter.After = &notifyql.Cursor{CreatedAt: start, ID: fxNotificationID(120)}
	if _, err := store.ListNotifications(t.Context(), filter); notifyql.ErrorCode(err) != notifyql.EINVALID {
		t.Errorf("a search with a cursor: %v, want EINVALID", err)
	}
}

func TestSearchIndexPart(t *testing.T) {
	tests := []struct{ normalised, want string }{
		{"ann.smith@example.org", "ann.smith@"},
		{"ann@", "ann@"},
		{"a@example.org", "a@example.org"},
		{"@example.org", "@example.org"},
		{"447700900123", "900123"},
		{"7700900", "700900"},
		{"900123", "900123"},
		{"10downingstreet", "10downingstreet"},
		{"", ""},
	}
	for _, tt := range tests {
		got := searchIndexPart(tt.normalised)
		if got != tt.want {
			t.Errorf("searchIndexPart(%q) = %q, want %q", tt.normalised, got, tt.want)
		}
		if !strings.Contains(tt.normalised, got) {
			t.Errorf("searchIndexPart(%q) = %q is not part of the term", tt.normalised, got)
		}
	}
}

// TestSearchUsesTheTrigramIndexes plans each kind of search over a service with 150,000
// notifications of realistic variety among others, analysed, and fails on any sequential
// scan of notifications: the GIN trigram indexes on normalised_to and client_reference
// must find the rows. The planner is left its defaults.
func TestSearchUsesTheTrigramIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 200,000 notifications")
	}
	pool := newFixturePool(t)
	ctx := t.Context()
	// The triggers keep counters and history that a plan does not need; loading without
	// them takes seconds rather than a minute.
	fxExec(t, pool, `ALTER TABLE notifications DISABLE TRIGGER USER`)
	fxExec(t, pool, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
		    "to", normalised_to, client_reference, key_type, notification_status, created_at)
		SELECT gen_random_uuid(),
		       CASE WHEN i % 4 = 0 THEN $2::uuid ELSE $1::uuid END,
		       CASE i % 3 WHEN 0 THEN $3::uuid WHEN 1 THEN $4::uuid ELSE $5::uuid END,
		       CASE i % 3 WHEN 0 THEN 2 ELSE 1 END,
		       CASE i % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'sms' ELSE 'letter' END,
		       'someone',
		       CASE i % 3
		         WHEN 0 THEN (ARRAY['ann','bob','chloe','dev','efua','finn'])[1 + i % 6] || '.' ||
		                     (ARRAY['smith','jones','patel','brown','evans'])[1 + (i / 6) % 5] || (i % 997) ||
		                     '@example.' || (ARRAY['org','com','net'])[1 + i % 3]
		         WHEN 1 THEN '447' || lpad(((i * 7919) % 1000000000)::text, 9, '0')
		         ELSE (i % 200) || (ARRAY['highstreet','stationroad','churchlane'])[1 + i % 3] ||
		              (ARRAY['leeds','york','bristol'])[1 + (i / 3) % 3] || 'ls' || (i % 30) || (i % 10) || 'ab'
		       END,
		       CASE WHEN i % 2 = 0 THEN 'REF-' || lpad((i % 900000)::text, 6, '0') END,
		       CASE WHEN i % 50 = 0 THEN 'test' ELSE 'normal' END,
		       (ARRAY['delivered','sending','permanent-failure','created'])[1 + i % 4],
		       timestamp '2025-07-21 10:00' - make_interval(secs => i * 3)
		  FROM generate_series(1, 200000) AS i`,
		fxAlphaID, fxBetaID, fxEmailTemplateID, fxSMSTemplateID, fxLetterTemplateID)
	fxExec(t, pool, `ALTER TABLE notifications ENABLE TRIGGER USER`)
	fxExec(t, pool, `VACUUM ANALYZE notifications`)

	sms, email, letter := notifyql.TypeSMS, notifyql.TypeEmail, notifyql.TypeLetter
	tests := []struct {
		name   string
		filter notifyql.NotificationFilter
	}{
		{"sms: whole number", searchFilter(&sms, "07700 900123", true)},
		{"sms: partial number", searchFilter(&sms, "900 12", true)},
		{"email: address", searchFilter(&email, "Chloe.Patel12@example.org", true)},
		{"email: fragment", searchFilter(&email, "patel12@", false)},
		{"letter: address", searchFilter(&letter, "12 Station Road", true)},
		{"letter: postcode", searchFilter(&letter, "LS27 ab", false)},
		{"no type: recipient", searchFilter(nil, "chloe.patel12", true)},
		{"no type: reference only", searchFilter(nil, "REF-12345", true)},
		{"sms: failed only", searchFilter(&sms, "900 12", true, notifyql.StatusFailed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args, err := listNotificationsQuery(tt.filter, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			// As searchNotifications runs it: an unnamed statement, planned for its values.
			var plan []byte
			err = pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, append([]any{pgx.QueryExecModeExec}, args...)...).Scan(&plan)
			if err != nil {
				t.Fatal(err)
			}
			nodes := planNodes(t, plan)
			usesTrigrams := false
			for _, n := range nodes {
				if n.Type == "Seq Scan" && n.Relation == "notifications" {
					t.Errorf("sequential scan of notifications:\n%s", plan)
				}
				if strings.HasSuffix(n.Index, "_trgm_idx") {
					usesTrigrams = true
				}
			}
			if !usesTrigrams {
				t.Errorf("no trigram index in the plan:\n%s", plan)
			}
		})
	}
}

type planNode struct {
	Type, Relation, Index string
}

// planNodes flattens an EXPLAIN (FORMAT JSON) plan.
func planNodes(tb testing.TB, plan []byte) []planNode {
	tb.Helper()
	type node struct {
		Type     string `json:"Node Type"`
		Relation string `json:"Relation Name"`
		Index    string `json:"Index Name"`
		Plans    []node `json:"Plans"`
	}
	var root []struct {
		Plan node `json:"Plan"`
	}
	if err := json.Unmarshal(plan, &root); err != nil || len(root) != 1 {
		tb.Fatalf("parse plan: %v\n%s", err, plan)
	}
	var out []planNode
	var walk func(n node)
	walk = func(n node) {
		out = append(out, planNode{n.Type, n.Relation, n.Index})
		for _, child := range n.Plans {
			walk(child)
		}
	}
	walk(root[0].Plan)
	return out
}
