package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"notifyql"
	"notifyql/postgres"
	"notifyql/server"
)

const requestReportMutation = `mutation($service: ID!, $type: NotificationType!, $status: ReportStatusFilter!) {
	requestReport(serviceId: $service, notificationType: $type, status: $status) {
		created reportRequest { id status notificationType notificationStatus createdAt downloadUrl } } }`

func requestReport(t *testing.T, api *testAPI, user, service, typ, status string) gqlResponse {
	t.Helper()
	return api.post(t, tokenFor(t, user), requestReportMutation, map[string]any{"service": service, "type": typ, "status": status})
}

// buildReports runs one report worker over the API's database until the queue is empty.
func buildReports(t *testing.T, api *testAPI) {
	t.Helper()
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	worker := postgres.NewReportWorker(api.pool, postgres.NewExportStore(api.pool), london, nil,
		postgres.ReportWorkerOptions{Now: func() time.Time { return fixtureNow }})
	for {
		built, err := worker.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !built {
			return
		}
	}
}

// download GETs a path with a token ("" for none).
func (a *testAPI) download(t *testing.T, tok, path string) *httptest.ResponseRecorder {
	t.Helper()
	return a.serveAs(httptest.NewRequest(http.MethodGet, path, nil), tok)
}

func TestRequestReportQueuesAndDedupes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// The fixture's pending SMS request was made an hour ago: too long ago to come back.
	first := requestReport(t, api, userViewer, serviceA, "SMS", "ALL")
	first.requireNoErrors(t)
	got := first.at("requestReport").(map[string]any)
	request := got["reportRequest"].(map[string]any)
	id := request["id"].(string)
	if got["created"] != true || id == reportViewerPending {
		t.Fatalf("first request: %v", got)
	}
	want := map[string]any{"id": id, "status": "PENDING", "notificationType": "SMS", "notificationStatus": "ALL",
		"createdAt": "2026-07-15T12:00:00Z", "downloadUrl": nil}
	if diff := cmp.Diff(want, request); diff != "" {
		t.Errorf("new request (-want +got):\n%s", diff)
	}
	again := requestReport(t, api, userViewer, serviceA, "SMS", "ALL")
	again.requireNoErrors(t)
	if again.at("requestReport", "created") != false || again.at("requestReport", "reportRequest", "id") != id {
		t.Errorf("the same request again: %v, want %s handed back", again.at("requestReport"), id)
	}
	for _, other := range []struct{ user, typ, status string }{
		{userViewer, "SMS", "FAILED"},
		{userViewer, "EMAIL", "ALL"},
		{userManager, "SMS", "ALL"},
	} {
		resp := requestReport(t, api, other.user, serviceA, other.typ, other.status)
		resp.requireNoErrors(t)
		if resp.at("requestReport", "created") != true || resp.at("requestReport", "reportRequest", "id") == id {
			t.Errorf("%+v: %v, want a new request", other, resp.at("requestReport"))
		}
	}
}

func TestRequestReportRefusesBadInputAndOutsiders(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	for _, tt := range []struct {
		name                       string
		user, service, typ, status string
		want                       string
	}{
		{"no view_activity", userSender, serviceA, "SMS", "ALL", "FORBIDDEN"},
		{"member without permissions", userMember, serviceA, "SMS", "ALL", "FORBIDDEN"},
		{"another service's id", userViewer, serviceB, "SMS", "ALL", "NOT_FOUND"},
		{"not a member", userOther, serviceA, "EMAIL", "ALL", "NOT_FOUND"},
		{"a service id that is no id", userViewer, "not-a-service", "SMS", "ALL", "BAD_USER_INPUT"},
		{"a service that does not exist", userViewer, "5f000000-0000-0000-0000-00000000000f", "SMS", "ALL", "NOT_FOUND"},
		{"an inactive service", userManager, serviceC, "SMS", "ALL", "FORBIDDEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := requestReport(t, api, tt.user, tt.service, tt.typ, tt.status)
			if code := resp.codeAt("requestReport"); code != tt.want {
				t.Errorf("code %q, want %q (%s)", code, tt.want, resp.body)
			}
		})
	}
	// Values GraphQL itself refuses: an unknown status filter or type, a number for a type,
	// a list for the status.
	for _, variables := range []map[string]any{
		{"service": serviceA, "type": "SMS", "status": "CANCELLED"},
		{"service": serviceA, "type": "FAX", "status": "ALL"},
		{"service": serviceA, "type": 3, "status": "ALL"},
		{"service": serviceA, "type": "SMS", "status": []string{"SENDING", "FAILED"}},
		{"service": serviceA, "type": "SMS"},
	} {
		resp := api.post(t, tokenFor(t, userViewer), requestReportMutation, variables)
		if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" || resp.Data["requestReport"] != nil {
			t.Errorf("%v: %s, want GRAPHQL_VALIDATION_FAILED", variables, resp.body)
		}
	}
	resp := api.post(t, "", requestReportMutation, map[string]any{"service": serviceA, "type": "SMS", "status": "ALL"})
	if code := resp.codeAt("requestReport"); code != "UNAUTHENTICATED" {
		t.Errorf("signed out: %q, want UNAUTHENTICATED", code)
	}
	var n int
	if err := api.pool.QueryRow(t.Context(), `SELECT count(*) FROM report_requests`).Scan(&n); err != nil || n != 3 {
		t.Errorf("report requests after refusals: %d (%v), want the fixture's 3", n, err)
	}
}

func TestRequestReportOverTheLimit(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// Service A keeps texts for 30 days, so the estimate counts ft_billing from 15 June:
	// the fixture's rows (2 June and before) are outside, 800,000 on 1 July inside.
	if _, err := api.pool.Exec(t.Context(), `INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type,
		provider, rate_multiplier, international, rate, postage, billable_units, notifications_sent)
		VALUES ('2026-07-01', '7e000000-0000-0000-0000-000000000002', $1, 'sms', 'mmg', 1, false, 0.0240, 'none', 800000, 800000)`, serviceA); err != nil {
		t.Fatal(err)
	}
	var estimate int64
	if err := api.pool.QueryRow(t.Context(), `SELECT sum(notifications_sent) FROM ft_billing WHERE service_id = $1 AND notification_type = 'sms' AND bst_date >= '2026-06-15'`, serviceA).Scan(&estimate); err != nil || estimate != notifyql.ReportRequestLimit {
		t.Fatalf("estimate %d (%v), want exactly the limit", estimate, err)
	}
	requestReport(t, api, userViewer, serviceA, "SMS", "DELIVERED").requireNoErrors(t)

	if _, err := api.pool.Exec(t.Context(), `UPDATE ft_billing SET notifications_sent = notifications_sent + 1 WHERE service_id = $1 AND bst_date = '2026-07-01'`, serviceA); err != nil {
		t.Fatal(err)
	}
	resp := requestReport(t, api, userViewer, serviceA, "SMS", "FAILED")
	if code := resp.codeAt("requestReport"); code != "TOO_LARGE" || resp.Errors[0].Message != "this report would have about 800,001 rows, more than the 800,000 a report can have: contact support for it" {
		t.Errorf("one over the limit: %s", resp.body)
	}
	// Platform admins have no limit; other types have their own estimate.
	requestReport(t, api, userAdmin, serviceA, "SMS", "FAILED").requireNoErrors(t)
	requestReport(t, api, userViewer, serviceA, "LETTER", "FAILED").requireNoErrors(t)
}

// A request goes from the mutation through the worker to a download of the CSV.
func TestReportRequestIsBuiltAndDownloaded(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	resp := requestReport(t, api, userViewer, serviceA, "EMAIL", "ALL")
	resp.requireNoErrors(t)
	id := resp.at("requestReport", "reportRequest", "id").(string)
	path := "/report-requests/" + id + ".csv"
	tok := tokenFor(t, userViewer)
	if rec := api.download(t, tok, path); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "the report is not ready to download: it is pending") {
		t.Errorf("download while pending: %d %s", rec.Code, rec.Body.String())
	}

	buildReports(t, api)
	const query = `query($id: ID!) { reportRequest(id: $id) { status downloadUrl updatedAt } }`
	read := api.post(t, tok, query, map[string]any{"id": id})
	read.requireNoErrors(t)
	stored, _ := read.at("reportRequest").(map[string]any)
	// The link is signed for the requester (TestReportDownloadBySignedLink follows one).
	if link, _ := stored["downloadUrl"].(string); !strings.HasPrefix(link, path+"?") || !strings.Contains(link, "signature=") {
		t.Errorf("downloadUrl = %q, want %s signed", link, path)
	}
	delete(stored, "downloadUrl")
	if diff := cmp.Diff(map[string]any{"status": "STORED", "updatedAt": "2026-07-15T12:00:00Z"}, stored); diff != "" {
		t.Errorf("stored request (-want +got):\n%s", diff)
	}
	rec := api.download(t, tok, path)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		rec.Header().Get("Content-Disposition") != `attachment; filename="`+id+`.csv"; filename*=UTF-8''`+id+`.csv` {
		t.Fatalf("download: %d %v", rec.Code, rec.Header())
	}
	// Service A's emails in the 7-day window, newest first, London times, the template's
	// name at send time; the team key's row is in.
	want := "Recipient,Reference,Template,Type,Sent by,Sent by email,Job,Status,Time,API key name\r\n" +
		"bob@example.org,,Payment reminder,email,Manny Manager,manager@fixture.example,reminders.csv,Email address doesn’t exist,2026-07-15 10:30:00,\r\n" +
		"ann@example.org,INV-1,Payment reminder,email,,,,Delivered,2026-07-15 10:00:00,Live key\r\n" +
		"cat@example.org,,Payment reminder (renamed),email,,,,Delivered,2026-07-15 00:30:00,\r\n" +
		"dan@example.org,,Payment reminder (renamed),email,,,,Delivered,2026-07-14 23:30:00,\r\n"
	wantCSVBody(t, rec.Body.String(), want)
}

func TestReportDownloadAccess(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	resp := requestReport(t, api, userViewer, serviceA, "LETTER", "ALL")
	resp.requireNoErrors(t)
	id := resp.at("requestReport", "reportRequest", "id").(string)
	buildReports(t, api)
	pending := requestReport(t, api, userViewer, serviceA, "LETTER", "FAILED")
	pending.requireNoErrors(t)
	path := "/report-requests/" + id + ".csv"
	for _, tt := range []struct {
		name, user, path string
		status           int
		code             string
	}{
		{"the requester", userViewer, path, http.StatusOK, ""},
		{"the requester, id in capitals", userViewer, "/report-requests/" + strings.ToUpper(id) + ".csv", http.StatusOK, ""},
		{"another member with view_activity", userManager, path, http.StatusForbidden, "FORBIDDEN"},
		{"a platform admin who did not ask", userAdmin, path, http.StatusForbidden, "FORBIDDEN"},
		{"not a member", userOther, path, http.StatusNotFound, "NOT_FOUND"},
		{"signed out", "", path, http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"deleted", userViewer, "/report-requests/" + reportViewerDeleted + ".csv", http.StatusNotFound, "NOT_FOUND"},
		{"pending", userViewer, "/report-requests/" + pending.at("requestReport", "reportRequest", "id").(string) + ".csv", http.StatusConflict, "CONFLICT"},
		{"no such request", userViewer, "/report-requests/e0000000-0000-0000-0000-0000000000ff.csv", http.StatusNotFound, "NOT_FOUND"},
		{"not an id", userViewer, "/report-requests/nope.csv", http.StatusBadRequest, "BAD_USER_INPUT"},
		{"not a .csv", userViewer, "/report-requests/" + id, http.StatusNotFound, "NOT_FOUND"},
		{"another service's request", userViewer, "/report-requests/" + reportOfServiceB + ".csv", http.StatusNotFound, "NOT_FOUND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := ""
			if tt.user != "" {
				tok = tokenFor(t, tt.user)
			}
			rec := api.download(t, tok, tt.path)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status || (tt.code != "" && !strings.Contains(string(body), `"code":"`+tt.code+`"`)) {
				t.Errorf("%d %s, want %d %s", rec.Code, body, tt.status, tt.code)
			}
			if tt.code != "" && rec.Header().Get("Content-Disposition") != "" {
				t.Errorf("a refusal carries Content-Disposition %q", rec.Header().Get("Content-Disposition"))
			}
		})
	}
	rec := api.download(t, "not-a-token", path)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("a bad token: %d %s", rec.Code, rec.Body.String())
	}
}

// The worker's status changes reach the requester's subscription, the download link with
// the stored status.
func TestReportRequestSubscriptionFollowsTheWorker(t *testing.T) {
	t.Parallel()
	api := startLiveAPI(t)
	stream := subscribeOverWebSocket(t, api.wsURL, userViewer, `subscription($id: ID!) { reportRequest(id: $id) { status downloadUrl } }`,
		map[string]any{"id": reportViewerPending})
	if got := next(t, stream, 10*time.Second)["reportRequest"]; got.(map[string]any)["status"] != "PENDING" {
		t.Fatalf("first snapshot %v", got)
	}
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	if built, err := postgres.NewReportWorker(api.pool, postgres.NewExportStore(api.pool), london, nil,
		postgres.ReportWorkerOptions{}).RunOnce(t.Context()); !built || err != nil {
		t.Fatalf("RunOnce = %v, %v", built, err)
	}
	want := map[string]any{"status": "STORED", "downloadUrl": "/report-requests/" + reportViewerPending + ".csv"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := next(t, stream, time.Until(deadline))["reportRequest"].(map[string]any)
		if got["status"] == "STORED" {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stored snapshot (-want +got):\n%s", diff)
			}
			return
		}
	}
}

// The downloadUrl is a link signed for the requester: a browser follows it without a
// header, and it opens that report only, for as long as the requester may see it.
func TestReportDownloadBySignedLink(t *testing.T) {
	t.Parallel()
	api := newDownloadAPI(t, downloadOptions{})
	resp := requestReport(t, api.testAPI, userViewer, serviceA, "EMAIL", "DELIVERED")
	resp.requireNoErrors(t)
	id := resp.at("requestReport", "reportRequest", "id").(string)
	buildReports(t, api.testAPI)
	read := api.post(t, tokenFor(t, userViewer), `query($id: ID!) { reportRequest(id: $id) { downloadUrl } }`, map[string]any{"id": id})
	read.requireNoErrors(t)
	link, _ := read.at("reportRequest", "downloadUrl").(string)
	u, err := url.Parse(link)
	if err != nil || u.Path != "/report-requests/"+id+".csv" || u.Query().Get("user") != userViewer || u.Query().Get("signature") == "" {
		t.Fatalf("downloadUrl = %q", link)
	}
	got := api.get(t, "", link)
	if got.status != http.StatusOK || len(parseCSV(t, got.body)) != 3 {
		t.Fatalf("signed link: %d %s", got.status, got.body)
	}
	for _, tc := range []struct{ name, path string }{
		{"another report", strings.Replace(link, id, reportViewerPending, 1)},
		{"another user", strings.Replace(link, "user="+userViewer, "user="+userManager, 1)},
		{"tampered signature", link[:len(link)-2] + "xx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := api.get(t, "", tc.path); got.status != http.StatusUnauthorized || got.errorCode() != "UNAUTHENTICATED" {
				t.Errorf("%d %s, want 401 UNAUTHENTICATED", got.status, got.body)
			}
		})
	}
	mustExec(t, api.pool, `DELETE FROM permissions WHERE user_id = $1 AND service_id = $2`, userViewer, serviceA)
	if got := api.get(t, "", link); got.status != http.StatusForbidden || got.errorCode() != "FORBIDDEN" {
		t.Errorf("after view_activity is taken away: %d %s, want 403", got.status, got.body)
	}
}

// Issue 15, item 9: requestReport had no quota (108 calls in 20 s made 104 stored reports).
// A user's 21st request in 24 hours is refused with RATE_LIMITED, saying when the next is
// possible, and makes nothing; a request handed back is still answered.
func TestRequestReportDailyAllowance(t *testing.T) {
	t.Parallel()
	now := fixtureNow
	api := newTestAPIWithClock(t, server.Limits{}, func() time.Time { return now })
	var kinds []struct{ typ, status string }
	for _, typ := range []string{"EMAIL", "SMS", "LETTER"} {
		for _, status := range []string{"ALL", "SENDING", "DELIVERED", "FAILED"} {
			kinds = append(kinds, struct{ typ, status string }{typ, status})
		}
	}
	made := 0
	for round := 0; made < notifyql.DefaultReportsPerDay; round++ {
		// Past the open requests' 30 minutes, the same parameters make new requests.
		now = fixtureNow.Add(time.Duration(round) * 31 * time.Minute)
		for _, k := range kinds[:min(len(kinds), notifyql.DefaultReportsPerDay-made)] {
			resp := requestReport(t, api, userManager, serviceA, k.typ, k.status)
			resp.requireNoErrors(t)
			if resp.at("requestReport", "created") != true {
				t.Fatalf("request %d: %s", made+1, resp.body)
			}
			made++
		}
	}
	// 20 made, the last 8 at 12:31.
	handedBack := requestReport(t, api, userManager, serviceA, "EMAIL", "ALL")
	handedBack.requireNoErrors(t)
	if handedBack.at("requestReport", "created") != false {
		t.Errorf("an open request asked for again at the allowance: %s", handedBack.body)
	}
	refused := requestReport(t, api, userManager, serviceA, "LETTER", "FAILED")
	want := "you have asked for 20 reports in the last 24 hours, the most allowed: you can ask for another in 23 hours 29 minutes, at 2026-07-16 12:00 UTC"
	if refused.codeAt("requestReport") != "RATE_LIMITED" || len(refused.Errors) != 1 || refused.Errors[0].Message != want {
		t.Errorf("the 21st request in 24 hours: %s, want RATE_LIMITED %q", refused.body, want)
	}
	var n int
	if err := api.pool.QueryRow(t.Context(), `SELECT count(*) FROM report_requests WHERE user_id = $1`, userManager).Scan(&n); err != nil || n != notifyql.DefaultReportsPerDay {
		t.Errorf("the user's report requests: %d (%v), want %d", n, err, notifyql.DefaultReportsPerDay)
	}
	// Another user is not held back.
	requestReport(t, api, userViewer, serviceA, "LETTER", "FAILED").requireNoErrors(t)
	// A day after the first 12, 12 more are possible.
	now = fixtureNow.Add(24 * time.Hour)
	if resp := requestReport(t, api, userManager, serviceA, "LETTER", "FAILED"); resp.at("requestReport", "created") != true {
		t.Errorf("24 hours after the first requests: %s", resp.body)
	}
}

// Issue 15, item 9: asking again for a report that was just stored hands the stored one
// back, with its download link, for 15 minutes after it was requested; after that, or with
// other parameters, a new one is queued.
func TestRequestReportHandsBackAStoredReport(t *testing.T) {
	t.Parallel()
	now := fixtureNow
	api := newTestAPIWithClock(t, server.Limits{}, func() time.Time { return now })
	first := requestReport(t, api, userManager, serviceA, "SMS", "DELIVERED")
	first.requireNoErrors(t)
	id := first.at("requestReport", "reportRequest", "id")
	buildReports(t, api)

	now = fixtureNow.Add(15 * time.Minute)
	again := requestReport(t, api, userManager, serviceA, "SMS", "DELIVERED")
	again.requireNoErrors(t)
	if again.at("requestReport", "created") != false || again.at("requestReport", "reportRequest", "id") != id ||
		again.at("requestReport", "reportRequest", "status") != "STORED" || again.at("requestReport", "reportRequest", "downloadUrl") == nil {
		t.Errorf("the same request 15 minutes later: %s, want the stored %s with its link", again.body, id)
	}
	other := requestReport(t, api, userManager, serviceA, "SMS", "FAILED")
	if other.at("requestReport", "created") != true {
		t.Errorf("another status filter: %s, want a new request", other.body)
	}
	now = fixtureNow.Add(15*time.Minute + time.Second)
	later := requestReport(t, api, userManager, serviceA, "SMS", "DELIVERED")
	if later.at("requestReport", "created") != true || later.at("requestReport", "reportRequest", "id") == id {
		t.Errorf("the same request 15 minutes and 1 s later: %s, want a new request", later.body)
	}
}
