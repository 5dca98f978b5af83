package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/server"
)

// downloadAPI is the API wired as serve wires it, downloads included, over a fresh
// database with the fixture, served over real HTTP.
type downloadAPI struct {
	*testAPI
	url   string
	links *server.LinkSigner
}

type downloadOptions struct {
	now       time.Time    // fixtureNow when zero
	batchSize int          // DownloadBatchSize when 0
	logs      io.Writer    // the test's output when nil
	logLevel  slog.Leveler // info when nil
	// api sets the rest of the API's options (limits, pool size, rate limits).
	api testAPIOptions
	// listener is where the API is served: a fresh loopback port when nil.
	listener net.Listener
}

func newDownloadAPI(t testing.TB, opts downloadOptions) *downloadAPI {
	t.Helper()
	if opts.now.IsZero() {
		opts.now = fixtureNow
	}
	apiOpts := opts.api
	apiOpts.now, apiOpts.logs, apiOpts.logLevel, apiOpts.downloadBatchSize = func() time.Time { return opts.now }, opts.logs, opts.logLevel, opts.batchSize
	api := newTestAPIWith(t, apiOpts)
	httpServer := httptest.NewUnstartedServer(api.handler)
	if opts.listener != nil {
		_ = httpServer.Listener.Close()
		httpServer.Listener = opts.listener
	}
	httpServer.Start()
	t.Cleanup(httpServer.Close)
	return &downloadAPI{testAPI: api, url: httpServer.URL, links: api.links}
}

type downloadResponse struct {
	status int
	header http.Header
	body   string
}

// errorCode is the extensions.code of an error response, "" when there is none.
func (r downloadResponse) errorCode() string {
	var body struct {
		Errors []gqlError `json:"errors"`
	}
	if json.Unmarshal([]byte(r.body), &body) != nil || len(body.Errors) != 1 {
		return ""
	}
	code, _ := body.Errors[0].Extensions["code"].(string)
	return code
}

func (r downloadResponse) errorMessage() string {
	var body struct {
		Errors []gqlError `json:"errors"`
	}
	if json.Unmarshal([]byte(r.body), &body) != nil || len(body.Errors) != 1 {
		return ""
	}
	return body.Errors[0].Message
}

// get fetches a path (with its query) over HTTP; a token of "" sends no Authorization.
func (a *downloadAPI) get(t *testing.T, tok, path string) downloadResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return downloadResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// csvPath is the download's path and query for service and the raw query.
func csvPath(service, query string) string {
	return "/services/" + service + "/download-notifications.csv?" + query
}

// parseCSV parses a download and checks that every line ends with CRLF.
// wantCSVBody fails unless a downloaded file is exactly want and parses back as CSV.
func wantCSVBody(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("file:\n%q\nwant:\n%q", got, want)
	}
	if _, err := csv.NewReader(strings.NewReader(got)).ReadAll(); err != nil {
		t.Errorf("the file does not parse back: %v", err)
	}
}

func parseCSV(t *testing.T, body string) [][]string {
	t.Helper()
	if !strings.HasSuffix(body, "\r\n") || strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		t.Errorf("not every line ends with CRLF: %q", body)
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, body)
	}
	if len(records) == 0 || !cmp.Equal(records[0], notifyql.NotificationCSVHeader) {
		t.Fatalf("header = %v", records)
	}
	return records[1:]
}

func TestNotificationsCSV(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	manager := tokenFor(t, userManager)

	resp := api.get(t, manager, csvPath(serviceA, "message_type=email"))
	if resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	// Email retention is 7 days: from London midnight on 8 July. The times are London's
	// (BST); the template is the name at send time; the team key's row is in.
	want := "Recipient,Reference,Template,Type,Sent by,Sent by email,Job,Status,Time,API key name\r\n" +
		"bob@example.org,,Payment reminder,email,Manny Manager,manager@fixture.example,reminders.csv,Email address doesn’t exist,2026-07-15 10:30:00,\r\n" +
		"ann@example.org,INV-1,Payment reminder,email,,,,Delivered,2026-07-15 10:00:00,Live key\r\n" +
		"cat@example.org,,Payment reminder (renamed),email,,,,Delivered,2026-07-15 00:30:00,\r\n" +
		"dan@example.org,,Payment reminder (renamed),email,,,,Delivered,2026-07-14 23:30:00,\r\n"
	if diff := cmp.Diff(want, resp.body); diff != "" {
		t.Errorf("email CSV (-want +got):\n%s", diff)
	}
	for header, want := range map[string]string{
		"Content-Type":        "text/csv; charset=utf-8",
		"Content-Disposition": `inline; filename="2026-07-15 - email - Service A report.csv"; filename*=UTF-8''2026-07-15%20-%20email%20-%20Service%20A%20report.csv`,
		"Cache-Control":       "no-store",
	} {
		if got := resp.header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if strings.HasPrefix(resp.body, "\ufeff") {
		t.Error("the file starts with a BOM")
	}

	// Each filter: the status list's groups and single values, cancelled only on request, test
	// keys never, letters' first address line.
	for _, tc := range []struct {
		query string
		want  [][2]string // recipient, status label
	}{
		{"message_type=sms", [][2]string{{"07700900123", "Delivered"}}},
		{"message_type=sms&status=sending", nil},
		{"message_type=email&status=failed", [][2]string{{"bob@example.org", "Email address doesn’t exist"}}},
		{"message_type=email&status=permanent-failure,delivered", [][2]string{{"bob@example.org", "Email address doesn’t exist"},
			{"ann@example.org", "Delivered"}, {"cat@example.org", "Delivered"}, {"dan@example.org", "Delivered"}}},
		{"message_type=email&status=technical-failure", nil},
		{"message_type=letter", [][2]string{{"Ann Smith", "Accepted"}}},
		{"message_type=letter&status=cancelled", [][2]string{{"Bob Jones", "cancelled"}}},
		{"message_type=letter&status=", [][2]string{{"Ann Smith", "Accepted"}}},
	} {
		resp := api.get(t, manager, csvPath(serviceA, tc.query))
		if resp.status != http.StatusOK {
			t.Errorf("%s: status %d: %s", tc.query, resp.status, resp.body)
			continue
		}
		var got [][2]string
		for _, record := range parseCSV(t, resp.body) {
			got = append(got, [2]string{record[0], record[7]})
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
}

// TestNotificationsCSVBatchEdges streams a file read in small batches whose edges fall
// inside a run of rows sharing one created_at: it must parse back with every row once, in
// (created_at, id) DESC order.
func TestNotificationsCSVBatchEdges(t *testing.T) {
	for _, batchSize := range []int{1, 7, 10, 64} {
		t.Run(fmt.Sprint(batchSize), func(t *testing.T) {
			api := newDownloadAPI(t, downloadOptions{batchSize: batchSize})
			// 57 texts at one instant, 6 on either side of it, beside the fixture's one.
			mustExec(t, api.pool, `
				INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
				    "to", key_type, notification_status, created_at)
				SELECT ('c0000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
				       '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000002', 1, 'sms',
				       '07700' || lpad(i::text, 6, '0'), 'normal', 'delivered',
				       CASE WHEN i <= 57 THEN timestamp '2026-07-14 12:00:00'
				            WHEN i <= 63 THEN timestamp '2026-07-14 12:00:00' + i * interval '1 ms'
				            ELSE timestamp '2026-07-14 12:00:00' - i * interval '1 ms' END
				  FROM generate_series(1, 69) AS i`)
			var want []string
			rows, err := api.pool.Query(context.Background(), `
				SELECT "to" FROM notifications
				 WHERE service_id = $1 AND notification_type = 'sms' AND key_type <> 'test'
				 ORDER BY created_at DESC, id DESC`, serviceA)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var to string
				if err := rows.Scan(&to); err != nil {
					t.Fatal(err)
				}
				want = append(want, to)
			}
			if rows.Err() != nil || len(want) != 70 {
				t.Fatalf("expected 70 rows, got %d (%v)", len(want), rows.Err())
			}

			resp := api.get(t, tokenFor(t, userManager), csvPath(serviceA, "message_type=sms"))
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			var got []string
			for _, record := range parseCSV(t, resp.body) {
				got = append(got, record[0])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("recipients (-want +got):\n%s", diff)
			}
		})
	}
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("exec: %v", err)
	}
}

// TestNotificationsCSVFormulaCells: every cell that a spreadsheet would run as a formula is
// neutralised, a plain phone number is not, and quoting survives commas, quotes and CR.
func TestNotificationsCSVFormulaCells(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	cases := []struct{ to, reference, wantTo, wantReference string }{
		{`=HYPERLINK("http://x.example")`, "=1+2", `'=HYPERLINK("http://x.example")`, "'=1+2"},
		{"+447700900123", "+cmd|' /C calc'!A0", "+447700900123", "'+cmd|' /C calc'!A0"},
		{"07700 900123", "-A1+1", "07700 900123", "'-A1+1"},
		{"07700 900128", "-2+3", "07700 900128", "'-2+3"}, // a sum, not a phone number
		{"07700 900129", " =1+1", "07700 900129", "' =1+1"},
		{"07700 900130", "＝1+1", "07700 900130", "'＝1+1"},
		{"(0)7700-900123", "@SUM(A1:A9)", "(0)7700-900123", "'@SUM(A1:A9)"},
		{"\t07700900124", "\t=1", "07700900124", "'\t=1"},
		// The guard sees the CR; encoding/csv with UseCRLF then drops a lone CR as it writes.
		{"07700900125", "\r=1", "07700900125", "'=1"},
		{"07700900126", "ok,=3+4", "07700900126", "ok,=3+4"},
		{"07700900127", `say "hi", then`, "07700900127", `say "hi", then`},
	}
	for i, c := range cases {
		mustExec(t, api.pool, `
			INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
			    "to", client_reference, key_type, notification_status, created_at)
			VALUES ($1, $2, '7e000000-0000-0000-0000-000000000002', 1, 'sms', $3, $4, 'normal', 'delivered', $5)`,
			fmt.Sprintf("d0000000-0000-4000-8000-%012d", i), serviceA, c.to, c.reference,
			time.Date(2026, 7, 15, 11, 59, 0, 0, time.UTC).Add(-time.Duration(i)*time.Second))
	}
	resp := api.get(t, tokenFor(t, userViewer), csvPath(serviceA, "message_type=sms"))
	if resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	records := parseCSV(t, resp.body)
	if len(records) != len(cases)+1 {
		t.Fatalf("%d rows, want %d", len(records), len(cases)+1)
	}
	for i, c := range cases {
		if got := [2]string{records[i][0], records[i][1]}; got != [2]string{c.wantTo, c.wantReference} {
			t.Errorf("case %d: cells %q, want %q", i, got, [2]string{c.wantTo, c.wantReference})
		}
	}
	// The raw file: the prefix goes inside the quotes, which double embedded quotes.
	for _, raw := range []string{
		`"'=HYPERLINK(""http://x.example"")",'=1+2,`,
		`+447700900123,'+cmd|' /C calc'!A0,`,
		"07700900126,\"ok,=3+4\",",
		"07700900125,\"'=1\",",
		"07700900127,\"say \"\"hi\"\", then\",",
	} {
		if !strings.Contains(resp.body, raw) {
			t.Errorf("file lacks %q", raw)
		}
	}
}

func TestNotificationsCSVFilename(t *testing.T) {
	for _, tc := range []struct {
		name        string
		now         time.Time
		serviceName string
		want        string // Content-Disposition
		wantName    string // the name a client reads from it
	}{
		{"plain", fixtureNow, "Service B", `inline; filename="2026-07-15 - email - Service B report.csv"; filename*=UTF-8''2026-07-15%20-%20email%20-%20Service%20B%20report.csv`,
			"2026-07-15 - email - Service B report.csv"},
		{"accents, quotes and a backslash", fixtureNow, `Café "Quotes" \ Ltd`,
			`inline; filename="2026-07-15 - email - Caf_ \"Quotes\" \\ Ltd report.csv"; filename*=UTF-8''2026-07-15%20-%20email%20-%20Caf%C3%A9%20%22Quotes%22%20%5C%20Ltd%20report.csv`,
			`2026-07-15 - email - Café "Quotes" \ Ltd report.csv`},
		{"semicolon and percent", fixtureNow, "A; B 100%", `inline; filename="2026-07-15 - email - A; B 100% report.csv"; filename*=UTF-8''2026-07-15%20-%20email%20-%20A%3B%20B%20100%25%20report.csv`,
			"2026-07-15 - email - A; B 100% report.csv"},
		// 00:30 BST on 16 July: the London date, not the UTC one.
		{"London date", time.Date(2026, 7, 15, 23, 30, 0, 0, time.UTC), "Service B",
			`inline; filename="2026-07-16 - email - Service B report.csv"; filename*=UTF-8''2026-07-16%20-%20email%20-%20Service%20B%20report.csv`,
			"2026-07-16 - email - Service B report.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newDownloadAPI(t, downloadOptions{now: tc.now})
			mustExec(t, api.pool, `UPDATE services SET name = $1 WHERE id = $2`, tc.serviceName, serviceB)
			resp := api.get(t, tokenFor(t, userOther), csvPath(serviceB, "message_type=email"))
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			got := resp.header.Get("Content-Disposition")
			if got != tc.want {
				t.Errorf("Content-Disposition = %s\nwant %s", got, tc.want)
			}
			disposition, params, err := mime.ParseMediaType(got)
			if err != nil || disposition != "inline" || params["filename"] != tc.wantName {
				t.Errorf("parsed: %q %q %v, want inline %q", disposition, params["filename"], err, tc.wantName)
			}
		})
	}
}

// TestNotificationsCSVLimit: the §7.2 estimate decides before any row is read; 250,000 is
// allowed, one more is refused with a pointer to report requests.
func TestNotificationsCSVLimit(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	manager := tokenFor(t, userManager)
	// SMS retention of service A is 30 days: facts from 15 June count, earlier ones do not.
	mustExec(t, api.pool, `
		INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider,
		    rate_multiplier, international, rate, postage, billable_units, notifications_sent)
		VALUES ('2026-06-15', '7e000000-0000-0000-0000-000000000002', $1, 'sms', 'mmg', 1, false, 0.0240, 'none', 1, 249000),
		       ('2026-07-15', '7e000000-0000-0000-0000-000000000002', $1, 'sms', 'mmg', 1, false, 0.0240, 'none', 1, 1000),
		       ('2026-06-14', '7e000000-0000-0000-0000-000000000002', $1, 'sms', 'mmg', 1, false, 0.0240, 'none', 1, 500000)`,
		serviceA)
	resp := api.get(t, manager, csvPath(serviceA, "message_type=sms"))
	if resp.status != http.StatusOK {
		t.Fatalf("estimate 250,000: status %d: %s", resp.status, resp.body)
	}

	mustExec(t, api.pool, `UPDATE ft_billing SET notifications_sent = 1001 WHERE service_id = $1 AND bst_date = '2026-07-15'`, serviceA)
	resp = api.get(t, manager, csvPath(serviceA, "message_type=sms"))
	if resp.status != http.StatusUnprocessableEntity || resp.errorCode() != "TOO_LARGE" {
		t.Fatalf("estimate 250,001: status %d: %s", resp.status, resp.body)
	}
	want := "this download would have about 250,001 rows, more than the 250,000 a direct download allows: request a report instead (the requestReport mutation), which allows up to 800,000"
	if got := resp.errorMessage(); got != want {
		t.Errorf("message = %q\nwant %q", got, want)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type of the refusal = %q", ct)
	}
	// The estimate is per type: email is still small.
	if resp := api.get(t, manager, csvPath(serviceA, "message_type=email")); resp.status != http.StatusOK {
		t.Errorf("email: status %d", resp.status)
	}
}

func TestNotificationsCSVAuth(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	emailCSV := csvPath(serviceA, "message_type=email")
	for _, tc := range []struct {
		name, tok, path string
		status          int
		code            string
	}{
		{"no token", "", emailCSV, 401, "UNAUTHENTICATED"},
		{"bad token", "not.a.jwt", emailCSV, 401, "UNAUTHENTICATED"},
		{"token signed with another secret", mustToken(t, "another secret, 32 bytes or more....", userManager, time.Hour), emailCSV, 401, "UNAUTHENTICATED"},
		{"expired token", mustToken(t, testSecret, userManager, -time.Hour), emailCSV, 401, "UNAUTHENTICATED"},
		{"send_messages only", tokenFor(t, userSender), emailCSV, 403, "FORBIDDEN"},
		{"member without permissions", tokenFor(t, userMember), emailCSV, 403, "FORBIDDEN"},
		{"organisation user", tokenFor(t, userOrg), emailCSV, 403, "FORBIDDEN"},
		{"another service's user", tokenFor(t, userOther), emailCSV, 404, "NOT_FOUND"},
		{"viewer of A asks for B", tokenFor(t, userViewer), csvPath(serviceB, "message_type=email"), 404, "NOT_FOUND"},
		{"service that does not exist", tokenFor(t, userViewer), csvPath("5d000000-0000-0000-0000-00000000000d", "message_type=email"), 404, "NOT_FOUND"},
		{"inactive service", tokenFor(t, userManager), csvPath(serviceC, "message_type=email"), 403, "FORBIDDEN"},
		{"viewer", tokenFor(t, userViewer), emailCSV, 200, ""},
		{"manager, upper-case id", tokenFor(t, userManager), csvPath(strings.ToUpper(serviceA), "message_type=email"), 200, ""},
		{"platform admin", tokenFor(t, userAdmin), emailCSV, 200, ""},
		{"platform admin, inactive service", tokenFor(t, userAdmin), csvPath(serviceC, "message_type=email"), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := api.get(t, tc.tok, tc.path)
			if resp.status != tc.status || resp.errorCode() != tc.code {
				t.Errorf("status %d %q, want %d %q: %s", resp.status, resp.errorCode(), tc.status, tc.code, resp.body)
			}
		})
	}
}

func mustToken(t *testing.T, secret, userID string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	if ttl < 0 {
		now, ttl = now.Add(2*ttl), -ttl
	}
	tok, err := server.MintToken([]byte(secret), userID, ttl, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const downloadsQuery = `query($id: ID!, $type: NotificationType!, $statuses: [NotificationStatus!]) {
  service(id: $id) { downloads(type: $type, statuses: $statuses) { count canDownload canRequestReport csvUrl } }
}`

// csvURLFor asks Service.downloads for the signed link, as a browser client would.
func (a *downloadAPI) csvURLFor(t *testing.T, userID, serviceID string, typ string, statuses []string) string {
	t.Helper()
	resp := a.post(t, tokenFor(t, userID), downloadsQuery, map[string]any{"id": serviceID, "type": typ, "statuses": statuses})
	link, ok := resp.at("service", "downloads", "csvUrl").(string)
	if !ok {
		t.Fatalf("no csvUrl: %s", resp.body)
	}
	return link
}

// TestNotificationsCSVSignedLink: the link from Service.downloads downloads without a
// header, for its user, path and query only, and only briefly.
func TestNotificationsCSVSignedLink(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	link := api.csvURLFor(t, userViewer, serviceA, "EMAIL", []string{"DELIVERED", "PERMANENT_FAILURE"})
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/services/"+serviceA+"/download-notifications.csv" || u.Query().Get("message_type") != "email" ||
		u.Query().Get("status") != "delivered,permanent-failure" || u.Query().Get("user") != userViewer {
		t.Fatalf("csvUrl = %s", link)
	}

	resp := api.get(t, "", link)
	if resp.status != http.StatusOK || len(parseCSV(t, resp.body)) != 4 {
		t.Fatalf("signed link: status %d: %s", resp.status, resp.body)
	}

	edit := func(change func(q url.Values)) string {
		copied := *u
		q := copied.Query()
		change(q)
		copied.RawQuery = q.Encode()
		return copied.String()
	}
	expired, err := api.links.WithClock(func() time.Time { return time.Now().Add(-6 * time.Minute) }).
		SignLink(notifyql.NotificationsCSVTarget(serviceA, notifyql.TypeEmail, nil), userViewer)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, wantMessage string }{
		{"expired", expired, "this download link has expired: ask for a new one"},
		{"tampered signature", edit(func(q url.Values) {
			sig := []byte(q.Get("signature"))
			sig[3] ^= 1
			q.Set("signature", string(sig))
		}), "invalid download link"},
		{"another service", strings.Replace(link, serviceA, serviceB, 1), "invalid download link"},
		{"another type", edit(func(q url.Values) { q.Set("message_type", "sms") }), "invalid download link"},
		{"another status", edit(func(q url.Values) { q.Set("status", "cancelled") }), "invalid download link"},
		{"status dropped", edit(func(q url.Values) { q.Del("status") }), "invalid download link"},
		{"another user", edit(func(q url.Values) { q.Set("user", userManager) }), "invalid download link"},
		{"longer life", edit(func(q url.Values) { q.Set("expires", fmt.Sprint(time.Now().Add(time.Hour).Unix())) }), "invalid download link"},
		{"no signature but a user", edit(func(q url.Values) { q.Del("signature") }), "missing bearer token: send Authorization: Bearer <token>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := api.get(t, "", tc.path)
			if resp.status != http.StatusUnauthorized || resp.errorCode() != "UNAUTHENTICATED" || resp.errorMessage() != tc.wantMessage {
				t.Errorf("status %d %q %q, want 401 UNAUTHENTICATED %q", resp.status, resp.errorCode(), resp.errorMessage(), tc.wantMessage)
			}
		})
	}

	t.Run("a link does not outlive the permission", func(t *testing.T) {
		mustExec(t, api.pool, `DELETE FROM permissions WHERE user_id = $1 AND service_id = $2`, userViewer, serviceA)
		if resp := api.get(t, "", link); resp.status != http.StatusForbidden || resp.errorCode() != "FORBIDDEN" {
			t.Errorf("status %d %q, want 403 FORBIDDEN", resp.status, resp.errorCode())
		}
	})
	t.Run("a link is checked as a link, whatever the header", func(t *testing.T) {
		resp := api.get(t, tokenFor(t, userManager), strings.Replace(link, serviceA, serviceB, 1))
		if resp.status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.status)
		}
	})
}

func TestNotificationsCSVBadInput(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	manager := tokenFor(t, userManager)
	statusList := "status must be a comma-separated list of: created,sending,pending,sent,delivered,failed,technical-failure,temporary-failure,permanent-failure,pending-virus-check,validation-failed,virus-scan-failed,returned-letter,cancelled"
	for _, tc := range []struct{ name, path, message string }{
		{"no message_type", csvPath(serviceA, ""), "message_type is required: email, sms or letter"},
		{"empty message_type", csvPath(serviceA, "message_type="), "message_type is required: email, sms or letter"},
		{"unknown message_type", csvPath(serviceA, "message_type=fax"), "message_type must be email, sms or letter"},
		{"message_type in capitals", csvPath(serviceA, "message_type=EMAIL"), "message_type must be email, sms or letter"},
		{"message_type twice", csvPath(serviceA, "message_type=email&message_type=sms"), "give message_type once"},
		{"unknown status", csvPath(serviceA, "message_type=email&status=bogus-secret-term"), statusList},
		{"status as the enum name", csvPath(serviceA, "message_type=email&status=PERMANENT_FAILURE"), statusList},
		{"empty status in a list", csvPath(serviceA, "message_type=email&status=delivered,,failed"), statusList},
		{"status twice", csvPath(serviceA, "message_type=email&status=delivered&status=failed"), "give status once"},
		{"malformed query", csvPath(serviceA, "message_type=email&%zz"), "the query string is malformed"},
		{"malformed service id", csvPath("not-a-uuid", "message_type=email"), "invalid service id"},
		{"service id too short", csvPath("5a000000-0000-0000-0000-00000000000", "message_type=email"), "invalid service id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := api.get(t, manager, tc.path)
			if resp.status != http.StatusBadRequest || resp.errorCode() != "BAD_USER_INPUT" || resp.errorMessage() != tc.message {
				t.Errorf("status %d %q %q, want 400 BAD_USER_INPUT %q", resp.status, resp.errorCode(), resp.errorMessage(), tc.message)
			}
		})
	}
	if resp := api.get(t, manager, "/services/"+serviceA+"/download-notifications.csv/extra?message_type=email"); resp.status != http.StatusNotFound {
		t.Errorf("a path below the file: status %d, want 404", resp.status)
	}
}

func TestServiceDownloads(t *testing.T) {
	api := newDownloadAPI(t, downloadOptions{})
	setEstimate := func(n int) {
		t.Helper()
		mustExec(t, api.pool, `DELETE FROM ft_billing WHERE service_id = $1 AND bst_date = '2026-07-01'`, serviceA)
		mustExec(t, api.pool, `
			INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider,
			    rate_multiplier, international, rate, postage, billable_units, notifications_sent)
			VALUES ('2026-07-01', '7e000000-0000-0000-0000-000000000002', $1, 'sms', 'mmg', 1, false, 0.0240, 'none', 1, $2)`,
			serviceA, n)
	}
	type downloads struct {
		count                         float64
		canDownload, canRequestReport bool
		hasURL                        bool
	}
	for _, tc := range []struct {
		estimate int
		user     string
		want     downloads
	}{
		{250_000, userViewer, downloads{250_000, true, true, true}},
		{250_000, userManager, downloads{250_000, true, true, true}},
		{250_000, userAdmin, downloads{250_000, true, true, true}},
		{250_000, userMember, downloads{250_000, false, false, false}},
		{250_000, userSender, downloads{250_000, false, false, false}},
		{250_001, userViewer, downloads{250_001, false, true, false}},
		{800_000, userViewer, downloads{800_000, false, true, false}},
		{800_001, userViewer, downloads{800_001, false, false, false}},
		{800_001, userAdmin, downloads{800_001, false, true, false}},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.estimate, tc.user), func(t *testing.T) {
			setEstimate(tc.estimate)
			resp := api.post(t, tokenFor(t, tc.user), downloadsQuery, map[string]any{"id": serviceA, "type": "SMS"})
			if len(resp.Errors) > 0 {
				t.Fatalf("errors: %s", resp.body)
			}
			d, _ := resp.at("service", "downloads").(map[string]any)
			got := downloads{count: d["count"].(float64), canDownload: d["canDownload"].(bool),
				canRequestReport: d["canRequestReport"].(bool), hasURL: d["csvUrl"] != nil}
			if got != tc.want {
				t.Errorf("downloads = %+v, want %+v", got, tc.want)
			}
		})
	}

	t.Run("who may ask", func(t *testing.T) {
		for _, tc := range []struct{ user, service, code string }{
			{"", serviceA, "UNAUTHENTICATED"},
			{userOther, serviceA, "NOT_FOUND"},
			{userOrg, serviceA, "FORBIDDEN"},
			{userManager, serviceC, "FORBIDDEN"},
		} {
			tok := ""
			if tc.user != "" {
				tok = tokenFor(t, tc.user)
			}
			resp := api.post(t, tok, downloadsQuery, map[string]any{"id": tc.service, "type": "SMS"})
			if resp.codeAt("service") != tc.code && resp.codeAt("service", "downloads") != tc.code {
				t.Errorf("%s on %s: %s, want %s", tc.user, tc.service, resp.body, tc.code)
			}
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		for _, vars := range []map[string]any{
			{"id": serviceA, "type": "FAX"},
			{"id": serviceA, "type": nil},
			{"id": serviceA, "type": "SMS", "statuses": []string{"BOGUS"}},
			{"id": serviceA, "type": "sms"},
		} {
			resp := api.post(t, tokenFor(t, userViewer), downloadsQuery, vars)
			if len(resp.Errors) == 0 || resp.at("service", "downloads") != nil {
				t.Errorf("%v: %s, want an error and no data", vars, resp.body)
			}
		}
	})
}

// TestNotificationsCSVLogsNoPersonalData downloads every type, by header and by link, and
// fails a few, with the server logging at debug level: no log line may hold a phone number
// or an email address.
// TestNotificationsCSVLogsNoPersonalData covers the inbox download as well: both files are
// full of personal data, and neither may leak it into the logs.
func TestNotificationsCSVLogsNoPersonalData(t *testing.T) {
	logs := &syncBuffer{}
	api := newDownloadAPI(t, downloadOptions{logs: logs, logLevel: slog.LevelDebug, batchSize: 2})
	manager := tokenFor(t, userManager)
	for _, typ := range []string{"email", "sms", "letter"} {
		resp := api.get(t, manager, csvPath(serviceA, "message_type="+typ))
		if resp.status != http.StatusOK {
			t.Fatalf("%s: status %d", typ, resp.status)
		}
	}
	if resp := api.get(t, "", api.csvURLFor(t, userViewer, serviceA, "SMS", nil)); resp.status != http.StatusOK {
		t.Fatalf("signed link: status %d", resp.status)
	}
	// The inbox download holds the senders' numbers and what they wrote.
	if resp := api.get(t, manager, inboxCSVPath(serviceA)); resp.status != http.StatusOK || !strings.Contains(resp.body, "07700") {
		t.Fatalf("inbox CSV: status %d, body %.200s", resp.status, resp.body)
	}
	api.get(t, "bad", inboxCSVPath(serviceA))
	api.get(t, "bad", csvPath(serviceA, "message_type=sms"))
	api.get(t, manager, csvPath(serviceA, "message_type=sms&status=07700900123"))
	api.get(t, manager, csvPath(serviceA, "message_type=ann@example.org"))

	output := logs.String()
	if !strings.Contains(output, "notifications CSV served") {
		t.Fatalf("the downloads logged nothing: %s", output)
	}
	email := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+`)
	// UK mobile numbers in any of their written forms (the fixture's are 07700 900xxx).
	phone := regexp.MustCompile(`(?:\+44|\b44|\b0)\s?7\d{3}\s?\d{6}\b`)
	for _, line := range strings.Split(output, "\n") {
		if m := email.FindString(line); m != "" {
			t.Errorf("log line holds an email address %q: %s", m, line)
		}
		if m := phone.FindString(line); m != "" {
			t.Errorf("log line holds a phone number %q: %s", m, line)
		}
		for _, pii := range []string{"Ann Smith", "Downing", "7700900123", "7700900124"} {
			if strings.Contains(line, pii) {
				t.Errorf("log line holds %q: %s", pii, line)
			}
		}
	}
}
