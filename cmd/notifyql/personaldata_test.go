package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
)

// The personal data the test plants, one of each kind, written so that each is easy to
// find in any of its forms.
const (
	canaryPhone     = "07700 900482"
	canaryEmail     = "Canary.Person@Example.org"
	canaryAddress   = "Ms Canary Person\n42 Nightingale Lane\nLondon\nSW1A 2AA"
	canaryReference = "CANARY-REF-9"
	canaryText      = "my canary secret message"
	canarySender    = "447700900483"
	canaryLetterID  = "1e000000-0000-0000-0000-00000000c0de"
	canaryTextID    = "c0000000-0000-0000-0000-00000000c0de"
	canarySMSID     = "a0000000-0000-0000-0000-00000000c0de"
)

// canaryLetterPDF is a fake PDF (letters_fakes_test.go) with the canary address in its
// address window.
var canaryLetterPDF = []byte("%PDF-fake\npage 210 297 0\nword Canary 30 45 50 49\nword Person 52 45 70 49\n" +
	"word Nightingale 30 50 60 54\nword Lane 62 50 70 54\nword SW1A 30 55 40 59\nword 2AA 42 55 50 59\n")

// canaryForms are what must never appear, lower-cased: every written form of the planted
// data and of the search terms the test sends.
var canaryForms = []string{
	"07700 900482", "07700900482", "447700900482", "7700900482", "900482",
	"7700900483", "900483",
	"canary.person", "canary person", "nightingale", "sw1a 2aa", "sw1a2aa",
	"canary-ref-9", "canary secret", "secret message",
}

// leakCheck collects everything notifyql produces beside the data a client asked for: log
// lines, response headers, error messages, close reasons, metric labels and the URLs it
// hands out.
type leakCheck struct {
	produced []string
}

func (l *leakCheck) add(where, text string) { l.produced = append(l.produced, where+": "+text) }

// addResponse records a response's headers and, for a GraphQL body, its errors and the
// links in its data.
func (l *leakCheck) addResponse(where string, res *http.Response, body []byte) {
	for name, values := range res.Header {
		l.add(where+" header "+name, strings.Join(values, ", "))
	}
	var gql struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &gql) != nil {
		return
	}
	for _, e := range gql.Errors {
		l.add(where+" error", string(e))
	}
	// The links notifyql makes (csvUrl, downloadUrl) are URLs it produces.
	var data any
	_ = json.Unmarshal(gql.Data, &data)
	walkStrings(data, func(key, value string) {
		if strings.HasSuffix(key, "Url") {
			l.add(where+" "+key, value)
		}
	})
}

func walkStrings(v any, visit func(key, value string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok {
				visit(k, s)
			} else {
				walkStrings(child, visit)
			}
		}
	case []any:
		for _, child := range v {
			walkStrings(child, visit)
		}
	}
}

// verify fails for each produced text that holds planted data.
func (l *leakCheck) verify(t *testing.T) {
	t.Helper()
	for _, text := range l.produced {
		lower := strings.ToLower(text)
		for _, form := range canaryForms {
			if strings.Contains(lower, form) {
				t.Errorf("%q leaks in %s", form, text)
			}
		}
	}
}

// Every feature driven with known phone numbers, emails, postal addresses, message content
// and search terms, right and wrong, over HTTP and WebSockets: none of it appears in any log
// line (debug level), response header, error message, WebSocket close reason, metric or
// link that notifyql produces.
func TestPersonalDataNeverLeaves(t *testing.T) {
	// serve previews letters through the API tests' fake engines: what is checked here is
	// what the edge does with a letter's text, not how an engine reads it.
	realEngines := startLetterEngines
	startLetterEngines = func(context.Context, letterSettings, *slog.Logger) (*letterEngines, func(), error) {
		return fakeLetterEngines(), func() {}, nil
	}
	t.Cleanup(func() { startLetterEngines = realEngines })
	// It drives more requests at once than a person's burst allows: the allowances are
	// raised, not switched off, so that they are still counted.
	// Everything it does is traced, to a receiver that keeps every span.
	spans := startOTLPReceiver(t)
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development", "NOTIFYQL_RATE_LIMIT_PER_USER": "6000", "NOTIFYQL_RATE_LIMIT_PER_IP": "12000",
		"OTEL_EXPORTER_OTLP_ENDPOINT": spans.url})
	ctx := context.Background()
	recent := time.Now().UTC().Add(-time.Hour)
	for _, sql := range []string{
		`INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, client_reference, key_type, notification_status, created_at)
		 VALUES ('` + canarySMSID + `', $1, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '` + canaryPhone + `',
		    '447700900482', '` + canaryReference + `', 'normal', 'delivered', $2),
		    ('a0000000-0000-0000-0000-00000000c0e1', $1, '7e000000-0000-0000-0000-000000000001', 1, 'email', '` + canaryEmail + `',
		    'canary.person@example.org', NULL, 'normal', 'permanent-failure', $2)`,
		`INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, billable_units, postage, created_at)
		 VALUES ('` + canaryLetterID + `', $1, '7e000000-0000-0000-0000-000000000003', 1, 'letter', E'` +
			strings.ReplaceAll(canaryAddress, "\n", `\n`) + `', 'mscanaryperson42nightingalelanelondonsw1a2aa', 'normal', 'created', 1, 'second', $2)`,
		`INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at)
		 VALUES ('` + canaryTextID + `', $1, '07700900500', '` + canarySender + `', '` + canaryText + `', 'mmg', $2)`,
	} {
		if _, err := api.pool.Exec(ctx, sql, serviceA, recent); err != nil {
			t.Fatal(err)
		}
	}
	// The text's values and the letter's file, which content and previews are made from.
	if tag, err := api.pool.Exec(ctx, `UPDATE notifications SET personalisation = $2 WHERE id = $1`, canarySMSID,
		`{"name": "Canary Person", "code": "`+canaryReference+`"}`); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("personalisation: %v %v", tag, err)
	}
	if _, err := api.pool.Exec(ctx, `INSERT INTO letter_files (notification_id, pdf) VALUES ($1, $2)`, canaryLetterID, canaryLetterPDF); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(api.url, "/graphql")
	leaks := &leakCheck{}
	manager := tokenFor(t, userManager)

	do := func(where string, req *http.Request) []byte {
		t.Helper()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		leaks.addResponse(where, res, body)
		return body
	}
	postRaw := func(where, tok, contentType, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, api.url, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return do(where, req)
	}
	gql := func(where, tok, query string, variables map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
		var out map[string]any
		if err := json.Unmarshal(postRaw(where, tok, "application/json", string(body)), &out); err != nil {
			t.Fatalf("%s: the answer is not JSON: %v", where, err)
		}
		return out
	}
	get := func(where, tok, target string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return do(where, req)
	}
	stringAt := func(v any, path ...string) string {
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		s, _ := v.(string)
		return s
	}

	// Reading what holds personal data.
	list := gql("notifications", manager, `query($id: ID!) { service(id: $id) { notifications(first: 50) {
		edges { node { id to recipient clientReference } } } } }`, map[string]any{"id": serviceA})
	if !strings.Contains(fmt.Sprint(list), "Nightingale") {
		t.Fatalf("the planted notifications are not listed: %v", list)
	}
	for _, id := range []string{canarySMSID, canaryLetterID} {
		gql("notification detail", manager, `query($id: ID!) { notification(id: $id) { to recipient clientReference letter { canBeCancelled } } }`,
			map[string]any{"id": id})
	}
	for _, search := range []struct{ typ, term string }{
		{"SMS", canaryPhone}, {"SMS", "900482"}, {"EMAIL", canaryEmail}, {"LETTER", "Nightingale"}, {"SMS", canaryReference},
	} {
		gql("search by term", manager, searchQuery, map[string]any{"id": serviceA, "type": search.typ, "search": map[string]any{"term": search.term}})
		remembered := gql("remember a search", manager, rememberSearchMutation, map[string]any{"id": serviceA, "term": search.term})
		hash := stringAt(remembered, "data", "rememberSearch", "hash")
		gql("search by hash", manager, searchQuery, map[string]any{"id": serviceA, "type": search.typ, "search": map[string]any{"hash": hash}})
	}
	gql("inbox", manager, inboxQuery, map[string]any{"id": serviceA})
	gql("conversation", manager, conversationQuery, map[string]any{"id": serviceA, "in": canaryTextID})
	gql("conversation of a text", manager, conversationQuery, map[string]any{"id": serviceA, "n": canarySMSID})
	for _, typ := range []string{"SMS", "EMAIL", "LETTER"} {
		downloads := gql("downloads", manager, downloadsQuery, map[string]any{"id": serviceA, "type": typ})
		get("notifications CSV by link", "", base+stringAt(downloads, "data", "service", "downloads", "csvUrl"))
		get("notifications CSV", manager, base+csvPath(serviceA, "message_type="+strings.ToLower(typ)))
	}
	get("inbox CSV", manager, base+inboxCSVPath(serviceA))
	report := gql("request a report", manager, requestReportMutation, map[string]any{"service": serviceA, "type": "SMS", "status": "ALL"})
	reportID := stringAt(report, "data", "requestReport", "reportRequest", "id")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		read := gql("read a report request", manager, `query($id: ID!) { reportRequest(id: $id) { status downloadUrl } }`, map[string]any{"id": reportID})
		if link := stringAt(read, "data", "reportRequest", "downloadUrl"); stringAt(read, "data", "reportRequest", "status") == "STORED" && link != "" {
			if !strings.Contains(string(get("report CSV", "", base+link)), "07700") {
				t.Fatalf("the report holds no text messages")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report was not stored within 20 s: %v", read)
		}
	}
	// Content, a letter's preview and its files, and letter uploads, right and wrong.
	previewFiles := 0
	for _, id := range []string{canarySMSID, canaryLetterID, "a0000000-0000-0000-0000-00000000c0e1"} {
		read := gql("content", manager, `query($id: ID!) { notification(id: $id) { content { subject body html letterAddress }
			contentUnavailableReason letter { preview { pdfUrl pages { pngUrl } } validationErrors { code pages } } } }`, map[string]any{"id": id})
		walkStrings(read, func(key, value string) {
			if strings.HasSuffix(key, "Url") {
				get("a preview file by link", "", base+value)
				previewFiles++
			}
		})
	}
	if previewFiles != 2 {
		t.Fatalf("%d preview files fetched, want the canary letter's PDF and page", previewFiles)
	}
	get("a preview page past the last", manager, base+"/services/"+serviceA+"/notifications/"+canaryLetterID+"/letter/9.png")
	get("a preview by a tampered link", "", base+"/services/"+serviceA+"/notifications/"+canaryLetterID+"/letter.pdf?user="+url.QueryEscape(canaryEmail)+"&expires=1&signature=00")
	upload := func(where string, preflight bool, operations string) []byte {
		t.Helper()
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		_ = w.WriteField("operations", operations)
		_ = w.WriteField("map", `{"0": ["variables.f"]}`)
		part, _ := w.CreateFormFile("0", "Canary Person "+canaryPhone+".pdf")
		_, _ = part.Write(canaryLetterPDF)
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPost, api.url, &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+manager)
		if preflight {
			req.Header.Set("GraphQL-Require-Preflight", "1")
		}
		return do(where, req)
	}
	validated := upload("validate a letter", true, validateOperations(serviceA))
	var verdict map[string]any
	_ = json.Unmarshal(validated, &verdict)
	walkStrings(verdict, func(key, value string) {
		if strings.HasSuffix(key, "Url") {
			get("an upload's file by link", "", base+value)
		}
	})
	if !strings.Contains(string(validated), "pdfUrl") {
		t.Fatalf("the upload was not validated: %s", validated)
	}
	upload("an upload without a preflight", false, validateOperations(serviceA))
	upload("an upload with a phone number as a service", true, validateOperations(canaryPhone))
	gql("cancel a letter", manager, cancelLetterMutation, map[string]any{"service": serviceA, "id": canaryLetterID})
	gql("cancel it again", manager, cancelLetterMutation, map[string]any{"service": serviceA, "id": canaryLetterID})

	// Sending personal data where it does not belong.
	gql("a phone number as an id", manager, `query($id: ID!) { service(id: $id) { name } }`, map[string]any{"id": canaryPhone})
	gql("an email as a notification id", manager, `query($id: ID!) { notification(id: $id) { id } }`, map[string]any{"id": canaryEmail})
	gql("a phone number of the wrong type", manager, `query { service(id: "`+serviceA+`") { notifications(search: {term: 7700900482}) { edges { cursor } } } }`, nil)
	gql("an address as an enum", manager, `query { service(id: "`+serviceA+`") { notifications(type: NIGHTINGALE_LANE) { edges { cursor } } } }`, nil)
	gql("a phone number where a name goes", manager, `{ service(id: "`+serviceA+`") { name "`+canaryPhone+`" } }`, nil)
	gql("a variable of the wrong type", manager, searchQuery, map[string]any{"id": serviceA, "first": canaryEmail})
	gql("an oversized term", manager, searchQuery, map[string]any{"id": serviceA, "search": map[string]any{"term": strings.Repeat(canaryPhone+" ", 60)}})
	gql("a term and a hash", manager, searchQuery, map[string]any{"id": serviceA, "search": map[string]any{"term": canaryEmail, "hash": "00"}})
	gql("an email as a cursor", manager, `query($id: ID!, $after: String) { service(id: $id) { inbox(after: $after) { pageInfo { hasNextPage } } } }`,
		map[string]any{"id": serviceA, "after": canaryEmail})
	gql("a search with no token", "", rememberSearchMutation, map[string]any{"id": serviceA, "term": canaryEmail})
	gql("a search with a bad token", "not."+canaryEmail+".token", rememberSearchMutation, map[string]any{"id": serviceA, "term": canaryEmail})
	postRaw("a body that is not JSON", manager, "application/json", `{"query": "mutation { rememberSearch(serviceId: \"`+serviceA+`\", term: \"`+canaryEmail+`\") { hash } }"`)
	postRaw("a form body", manager, "application/x-www-form-urlencoded", "term="+url.QueryEscape(canaryEmail))
	get("a GET query", manager, api.url+"?query="+url.QueryEscape(`{ service(id: "`+canaryPhone+`") { name } }`))
	get("a phone number as a service in a CSV path", manager, base+csvPath(url.PathEscape(canaryPhone), "message_type=sms"))
	get("an email as a status", manager, base+csvPath(serviceA, "message_type=sms&status="+url.QueryEscape(canaryEmail)))
	get("an address as a message type", manager, base+csvPath(serviceA, "message_type="+url.QueryEscape("42 Nightingale Lane")))
	get("a tampered link", "", base+csvPath(serviceA, "message_type=sms&user="+url.QueryEscape(canaryEmail)+"&expires=1&signature=00"))
	get("an email as a report id", manager, base+"/report-requests/"+url.PathEscape(canaryEmail)+".csv")

	// Subscriptions: the detail of a planted text, and messages that break the protocol.
	wsURL := "ws" + strings.TrimPrefix(api.url, "http")
	notification := subscribeOverWebSocket(t, wsURL, userManager, `subscription($id: ID!) { notification(id: $id) { to recipient } }`,
		map[string]any{"id": canarySMSID})
	select {
	case first := <-notification:
		if !strings.Contains(fmt.Sprint(first), "900482") {
			t.Fatalf("the notification subscription sent %v", first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification snapshot")
	}
	for _, message := range []string{
		`{"type":"connection_init","payload":{"Authorization":"Bearer ` + canaryEmail + `"}}`,
		`{"type":"subscribe","id":"` + canaryPhone + `","payload":{"query":"subscription { notification(id: \"` + canaryEmail + `\") { to } }"}}`,
		`not json ` + canaryAddress,
		`{"type":"` + canaryEmail + `"}`,
	} {
		answer := websocketAnswer(t, wsURL, manager, message)
		if answer == "" {
			t.Errorf("no answer to %s", message)
		}
		leaks.add("websocket answer", answer)
	}

	// The metrics' labels.
	leaks.add("metrics", string(get("metrics", "", api.metricsURL)))

	api.stop()
	logs := api.stderr.String() + api.stdout.String()
	if !strings.Contains(logs, `"msg":"notifications CSV served"`) || !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Fatalf("the captured logs lack the debug lines of the features driven:\n%.2000s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		leaks.add("log", line)
	}
	// serve flushed its spans as it stopped.
	received := spans.received()
	if findSpan(received, "POST /graphql") == nil || findSpan(received, "GET /services/{id}/download-notifications.csv") == nil {
		t.Fatalf("the spans of the requests driven were not received (%d spans)", len(received))
	}
	for _, span := range received {
		for _, text := range span.text() {
			leaks.add("trace", text)
		}
	}
	leaks.verify(t)
	t.Logf("checked %d log lines, %d spans, headers, errors, close reasons, links and metrics", strings.Count(logs, "\n"), len(received))
}

// websocketAnswer opens a socket, signs in as manager unless message is itself a
// connection_init, sends message, and returns what the server answered of its own: the
// errors of the messages it sent and the close frame's code and reason. (A client's
// operation id comes back in every message about it, as the protocol says, and is not
// notifyql's to hide.) It reads until the socket closes or the operation ends.
func websocketAnswer(t *testing.T, wsURL, manager, message string) string {
	t.Helper()
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := dialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if !strings.Contains(message, "connection_init") {
		init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + manager}})
		if err := conn.WriteMessage(websocket.TextMessage, init); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(message)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var answer []string
	for {
		_, data, err := conn.ReadMessage()
		var closeErr *websocket.CloseError
		switch {
		case errors.As(err, &closeErr):
			return strings.Join(append(answer, fmt.Sprintf("close %d %s", closeErr.Code, closeErr.Text)), "; ")
		case err != nil:
			t.Fatalf("after %s: %v", message, err)
		}
		var msg struct {
			Type    string `json:"type"`
			Payload struct {
				Errors json.RawMessage `json:"errors"`
			} `json:"payload"`
		}
		_ = json.Unmarshal(data, &msg)
		if len(msg.Payload.Errors) > 0 {
			answer = append(answer, "errors "+string(msg.Payload.Errors))
		}
		if msg.Type == "complete" || msg.Type == "error" {
			return strings.Join(answer, "; ")
		}
	}
}

// panicOnServiceName makes resolving Service.name panic with personal data in the value.
type panicOnServiceName struct{}

func (panicOnServiceName) ExtensionName() string                   { return "panicOnServiceName" }
func (panicOnServiceName) Validate(graphql.ExecutableSchema) error { return nil }
func (panicOnServiceName) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if fc := graphql.GetFieldContext(ctx); fc.Object == "Service" && fc.Field.Name == "name" {
		panic(fmt.Errorf("cannot format %s for %s", canaryPhone, canaryEmail))
	}
	return next(ctx)
}

// A resolver's panic is answered as "internal error" with the request id, the other fields
// are still answered, and the log names the panic's type and line but neither its value nor
// a stack trace.
func TestPanicsAreInternalErrors(t *testing.T) {
	var logs syncBuffer
	api := newTestAPIWith(t, testAPIOptions{logs: &logs, extensions: []graphql.HandlerExtension{panicOnServiceName{}}})
	resp := api.post(t, tokenFor(t, userViewer), `query($id: ID!) { service(id: $id) { id name } me { id } }`, map[string]any{"id": serviceA})
	if len(resp.Errors) != 1 || !strings.HasPrefix(resp.Errors[0].Message, "internal error") || resp.codeAt("service", "name") != "INTERNAL" {
		t.Fatalf("errors %+v, want one internal error at service.name", resp.Errors)
	}
	if resp.at("me", "id") != userViewer {
		t.Errorf("the other fields were not answered: %v", resp.Data)
	}
	output := logs.String()
	var panicLine string
	for _, line := range strings.Split(output, "\n") {
		if strings.Contains(line, `"msg":"panic in resolver"`) {
			panicLine = line
		}
	}
	if !strings.Contains(panicLine, `"panic_type":"*errors.errorString"`) {
		t.Errorf("the panic's log line does not name its type: %q", panicLine)
	}
	if !strings.Contains(panicLine, "panicOnServiceName.InterceptField (personaldata_test.go:") {
		t.Errorf("the panic's log line does not say where it happened: %q", panicLine)
	}
	if !strings.Contains(panicLine, `"request_id":"`) {
		t.Errorf("the panic's log line has no request id: %q", panicLine)
	}
	for _, leak := range []string{"900482", "canary", "goroutine ", ".go:", "0xc0"} {
		if leak == ".go:" {
			// The panic site's own file and line are the one place a file name may appear.
			if strings.Count(output, ".go:") > 1 {
				t.Errorf("the logs hold a stack trace:\n%s", output)
			}
			continue
		}
		if strings.Contains(strings.ToLower(output), leak) {
			t.Errorf("the logs hold %q:\n%s", leak, output)
		}
	}
}
