package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
	"notifyql/postgres"
	"notifyql/server"
)

// getCSV sends GET path with a bearer token ("" sends none).
func getCSV(t *testing.T, handler http.Handler, tok, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec
}

func inboxCSVPath(serviceID string) string { return "/services/" + serviceID + "/inbox.csv" }

func TestInboxCSV(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// Service A keeps texts 30 days: from London midnight on 15 June, 23:00 UTC on the 14th.
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at) VALUES
		($1, '07700900500', '447700900201', '-=+7 days', 'mmg', '2026-07-15 09:30:59'),
		($1, '07700900500', '+33612345678', 'ok,=3+4', 'mmg', '2026-07-01 12:00'),
		($1, '07700900500', '447700900202', '@SUM(A1) "quoted"', 'mmg', '2026-06-14 23:00'),
		($1, '07700900500', '447700900203', 'Just outside the retention', 'mmg', '2026-06-14 22:59:59'),
		($2, '07700900501', '447700900204', 'Service B', 'mmg', '2026-07-15 09:00')`, serviceA, serviceB); err != nil {
		t.Fatal(err)
	}
	rec := getCSV(t, api.handler, tokenFor(t, userViewer), http.MethodGet, inboxCSVPath(serviceA))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	for header, want := range map[string]string{
		"Content-Type":        "text/csv; charset=utf-8",
		"Content-Disposition": `attachment; filename="Received text messages 2026-07-15.csv"; filename*=UTF-8''Received%20text%20messages%202026-07-15.csv`,
		"Cache-Control":       "no-store",
	} {
		if got := rec.Header().Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	// Newest first; the fixture's three texts of service A are within 30 days too.
	want := "Phone number,Message,Received\r\n" +
		"07700 900201,7 days,2026-07-15 10:30\r\n" +
		"07700 900111,Yes please,2026-07-15 09:00\r\n" +
		"07700 900112,Stop,2026-07-08 00:00\r\n" +
		"07700 900113,Old,2026-07-07 23:59\r\n" +
		"+33 6 12 34 56 78,\"ok,=3+4\",2026-07-01 13:00\r\n" +
		"07700 900202,\"SUM(A1) \"\"quoted\"\"\",2026-06-15 00:00\r\n"
	wantCSVBody(t, rec.Body.String(), want)
}

// Texts sharing one created_at across batch edges are neither skipped nor repeated.
func TestInboxCSVStreamsInBatches(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	if _, err := api.pool.Exec(context.Background(), `
		INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at)
		SELECT $1, '07700900500', '4477009' || lpad(i::text, 5, '0'), 'Text ' || i, 'mmg',
		       timestamp '2026-07-14 10:00' + (i / 4) * interval '1 second'
		  FROM generate_series(1, 23) AS i`, serviceA); err != nil {
		t.Fatal(err)
	}
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	deps := schemaDeps{Pool: api.pool, London: london, Now: func() time.Time { return fixtureNow }}
	inbox := newInboxCSV(deps)
	for _, batch := range []int{1, 3, 4, 26, 27} {
		inbox.BatchSize = batch
		schema, _, err := newSchema(deps)
		if err != nil {
			t.Fatal(err)
		}
		handler := server.New(server.Config{InboxCSV: inbox}, schema, server.NewAuthenticator([]byte(testSecret), postgres.NewAccessStore(api.pool))).Handler()
		rec := getCSV(t, handler, tokenFor(t, userViewer), http.MethodGet, inboxCSVPath(serviceA))
		rows, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil || rec.Code != http.StatusOK {
			t.Fatalf("batch %d: %d %v", batch, rec.Code, err)
		}
		seen := map[string]bool{}
		for _, row := range rows[1:] {
			if seen[row[1]] {
				t.Errorf("batch %d: %q twice", batch, row[1])
			}
			seen[row[1]] = true
		}
		// 23 texts and the fixture's 3.
		if len(rows) != 1+26 || !seen["Text 1"] || !seen["Text 23"] {
			t.Errorf("batch %d: %d rows", batch, len(rows))
		}
	}
}

func TestInboxCSVRefusals(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	expired, err := server.MintToken([]byte(testSecret), userViewer, time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, method, path string
		status                    int
		code, message             string
	}{
		{"no token", "", "GET", inboxCSVPath(serviceA), 401, "UNAUTHENTICATED", "authentication required"},
		{"expired token", expired, "GET", inboxCSVPath(serviceA), 401, "UNAUTHENTICATED", "token expired"},
		{"garbage token", "not-a-jwt", "GET", inboxCSVPath(serviceA), 401, "UNAUTHENTICATED", "invalid token"},
		{"member without view_activity", tokenFor(t, userMember), "GET", inboxCSVPath(serviceA), 403, "FORBIDDEN", "view_activity"},
		{"sender", tokenFor(t, userSender), "GET", inboxCSVPath(serviceA), 403, "FORBIDDEN", "view_activity"},
		{"organisation user", tokenFor(t, userOrg), "GET", inboxCSVPath(serviceA), 403, "FORBIDDEN", "view_activity"},
		{"member of another service", tokenFor(t, userOther), "GET", inboxCSVPath(serviceA), 404, "NOT_FOUND", "service not found"},
		{"view_activity but no inbound_sms feature", tokenFor(t, userOther), "GET", inboxCSVPath(serviceB), 403, "FORBIDDEN", "inbound_sms"},
		{"platform admin on a service without the feature", tokenFor(t, userAdmin), "GET", inboxCSVPath(serviceB), 403, "FORBIDDEN", "inbound_sms"},
		{"inactive service", tokenFor(t, userManager), "GET", inboxCSVPath(serviceC), 403, "FORBIDDEN", ""},
		{"malformed service id", tokenFor(t, userViewer), "GET", inboxCSVPath("service-a"), 400, "BAD_USER_INPUT", "invalid service id"},
		{"SQL in the service id", tokenFor(t, userViewer), "GET", inboxCSVPath("1%27%20OR%20%271%27=%271"), 400, "BAD_USER_INPUT", "invalid service id"},
		{"unknown service", tokenFor(t, userViewer), "GET", inboxCSVPath("5d000000-0000-0000-0000-00000000000d"), 404, "NOT_FOUND", "service not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := getCSV(t, api.handler, tt.token, tt.method, tt.path)
			var body struct {
				Errors []gqlError `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.status || len(body.Errors) != 1 {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if body.Errors[0].Extensions["code"] != tt.code || !strings.Contains(body.Errors[0].Message, tt.message) {
				t.Errorf("want %s %q: %s", tt.code, tt.message, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "Yes please") || strings.Contains(rec.Header().Get("Content-Type"), "csv") {
				t.Errorf("a refusal served the file: %s", rec.Body)
			}
			if tt.status == 401 && rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	// Other methods are not served; the platform admin is allowed on a service with the feature.
	if rec := getCSV(t, api.handler, tokenFor(t, userViewer), http.MethodPost, inboxCSVPath(serviceA)); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	for _, user := range []string{userAdmin, userViewer, userManager} {
		if rec := getCSV(t, api.handler, tokenFor(t, user), http.MethodGet, inboxCSVPath(strings.ToUpper(serviceA))+"?ignored=1"); rec.Code != http.StatusOK || !bytes.HasPrefix(rec.Body.Bytes(), []byte("Phone number,Message,Received\r\n")) {
			t.Errorf("%s: %d %s", user, rec.Code, rec.Body)
		}
	}
}

// A failure after the file has started aborts the response instead of ending it as if the
// file were whole.
func TestInboxCSVAbortsWhenAReadFailsMidway(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	deps := schemaDeps{Pool: api.pool, London: london, Now: func() time.Time { return fixtureNow }}
	inbox := newInboxCSV(deps)
	inbox.BatchSize = 1
	inbox.Texts = failAfter{InboxExportStore: inbox.Texts, calls: new(int), ok: 1}
	schema, _, err := newSchema(deps)
	if err != nil {
		t.Fatal(err)
	}
	handler := server.New(server.Config{InboxCSV: inbox}, schema, server.NewAuthenticator([]byte(testSecret), postgres.NewAccessStore(api.pool))).Handler()
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	getCSV(t, handler, tokenFor(t, userViewer), http.MethodGet, inboxCSVPath(serviceA))
	t.Error("the response ended normally")
}

// failAfter fails every read after the first ok ones, as a database lost midway would.
type failAfter struct {
	notifyql.InboxExportStore
	calls *int
	ok    int
}

func (f failAfter) InboundTexts(ctx context.Context, serviceID string, since time.Time, after *notifyql.Cursor, limit int) ([]notifyql.InboxMessage, error) {
	*f.calls++
	if *f.calls > f.ok {
		return nil, fmt.Errorf("connection lost")
	}
	return f.InboxExportStore.InboundTexts(ctx, serviceID, since, after, limit)
}

func TestInboxCSVFilenameHeaderIsEncoded(t *testing.T) {
	t.Parallel()
	api := newTestAPIAt(t, server.Limits{}, time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC)) // 23:30 GMT, still 28 March
	rec := getCSV(t, api.handler, tokenFor(t, userViewer), http.MethodGet, inboxCSVPath(serviceA))
	if diff := cmp.Diff(`attachment; filename="Received text messages 2026-03-28.csv"; filename*=UTF-8''Received%20text%20messages%202026-03-28.csv`, rec.Header().Get("Content-Disposition")); diff != "" {
		t.Error(diff)
	}
	api = newTestAPIAt(t, server.Limits{}, time.Date(2026, 7, 14, 23, 30, 0, 0, time.UTC)) // 00:30 BST on 15 July
	rec = getCSV(t, api.handler, tokenFor(t, userViewer), http.MethodGet, inboxCSVPath(serviceA))
	if diff := cmp.Diff(`attachment; filename="Received text messages 2026-07-15.csv"; filename*=UTF-8''Received%20text%20messages%202026-07-15.csv`, rec.Header().Get("Content-Disposition")); diff != "" {
		t.Error(diff)
	}
}
