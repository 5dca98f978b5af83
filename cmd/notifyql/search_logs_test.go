package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"notifyql"
)

// TestSearchLogsNoPersonalData runs serve as production runs it (DATABASE_URL, REDIS_URL,
// both secrets), with debug logging on (development), and makes searches through its HTTP listener:
// remembering a term, searching by hash and by term, and the error paths (an expired hash,
// an oversized term, a literal of the wrong type, a body that is not JSON, no token, and an
// internal error). No line the server logs may hold a search term, a phone number or an
// email address.
func TestSearchLogsNoPersonalData(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	ctx, pool, url, stderr, stop := context.Background(), api.pool, api.url, api.stderr, api.stop
	// Rows from the last hour, so that serve's retention chore leaves them in place.
	if _, err := pool.Exec(ctx, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, client_reference, key_type, notification_status, created_at)
		VALUES ('a0000000-0000-0000-0000-0000000000f1', $1, '7e000000-0000-0000-0000-000000000002', 1, 'sms',
		        '07700 900777', '447700900777', 'CASE-PRIYA', 'normal', 'delivered', now() at time zone 'utc' - interval '1 hour'),
		       ('a0000000-0000-0000-0000-0000000000f2', $1, '7e000000-0000-0000-0000-000000000001', 1, 'email',
		        'Priya.Patel@Example.org', 'priya.patel@example.org', NULL, 'normal', 'delivered', now() at time zone 'utc' - interval '1 hour')`,
		serviceA); err != nil {
		t.Fatal(err)
	}

	post := func(tok, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
		return out
	}
	gql := func(tok, query string, variables map[string]any) map[string]any {
		t.Helper()
		body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
		if err != nil {
			t.Fatal(err)
		}
		return post(tok, string(body))
	}
	codeOf := func(resp map[string]any) string {
		errs, _ := resp["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
		code, _ := ext["code"].(string)
		return code
	}
	viewer := tokenFor(t, userViewer)
	const phoneTerm, emailTerm = "07700 900777", "Priya.Patel@Example.org"

	remembered := gql(viewer, rememberSearchMutation, map[string]any{"id": serviceA, "term": phoneTerm})
	hash, _ := remembered["data"].(map[string]any)["rememberSearch"].(map[string]any)["hash"].(string)
	if hash == "" {
		t.Fatalf("rememberSearch: %v", remembered)
	}
	steps := []struct {
		name     string
		resp     func() map[string]any
		wantCode string
	}{
		{"search by hash", func() map[string]any {
			return gql(viewer, searchQuery, map[string]any{"id": serviceA, "type": "SMS", "search": map[string]any{"hash": hash}})
		}, ""},
		{"search by term", func() map[string]any {
			return gql(viewer, searchQuery, map[string]any{"id": serviceA, "type": "EMAIL", "search": map[string]any{"term": emailTerm}})
		}, ""},
		{"expired hash", func() map[string]any {
			return gql(viewer, searchQuery, map[string]any{"id": serviceA, "search": map[string]any{"hash": notifyql.SearchHash(testSearchKey(t), randomTerm(t))}})
		}, "SEARCH_EXPIRED"},
		{"oversized term", func() map[string]any {
			return gql(viewer, searchQuery, map[string]any{"id": serviceA, "search": map[string]any{"term": strings.Repeat(phoneTerm+" "+emailTerm+" ", 40)}})
		}, "BAD_USER_INPUT"},
		{"literal of the wrong type", func() map[string]any {
			return gql(viewer, `query { service(id: "`+serviceA+`") { notifications(search: {term: 7700900777}) { edges { cursor } } } }`, nil)
		}, "GRAPHQL_VALIDATION_FAILED"},
		{"body that is not JSON", func() map[string]any {
			return post(viewer, `{"query": "mutation { rememberSearch(serviceId: \"`+serviceA+`\", term: \"`+emailTerm+`\") { hash } }"`)
		}, "BAD_REQUEST"},
		{"no token", func() map[string]any {
			return gql("", rememberSearchMutation, map[string]any{"id": serviceA, "term": emailTerm})
		}, "UNAUTHENTICATED"},
		{"internal error", func() map[string]any {
			if _, err := pool.Exec(ctx, `ALTER TABLE notifications RENAME TO notifications_gone`); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := pool.Exec(ctx, `ALTER TABLE notifications_gone RENAME TO notifications`); err != nil {
					t.Fatal(err)
				}
			}()
			return gql(viewer, searchQuery, map[string]any{"id": serviceA, "type": "EMAIL", "search": map[string]any{"term": emailTerm}})
		}, "INTERNAL"},
	}
	for _, step := range steps {
		resp := step.resp()
		if code := codeOf(resp); code != step.wantCode {
			t.Errorf("%s: code %q, want %q: %v", step.name, code, step.wantCode, resp)
		}
	}
	stop()

	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"serving GraphQL"`) || !strings.Contains(logs, `"msg":"internal error"`) {
		t.Fatalf("the captured logs lack serve's own lines or the internal error's:\n%s", logs)
	}
	emailAddress := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		lower := strings.ToLower(line)
		for _, pii := range []string{"07700 900777", "07700900777", "7700900777", "900777", "priya", "patel", "case-priya"} {
			if strings.Contains(lower, pii) {
				t.Errorf("a log line holds %q: %s", pii, line)
			}
		}
		if m := emailAddress.FindString(line); m != "" {
			t.Errorf("a log line holds the email address %q: %s", m, line)
		}
	}
}

// waitForServeURL waits for serve to print the URLs it serves GraphQL and its metrics at.
func waitForServeURL(t *testing.T, stdout, stderr *syncBuffer, done chan error) (graphqlURL, metricsURL string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\nstderr: %s", err, stderr.String())
		default:
		}
		if graphqlURL, metricsURL, ok := servedURLs(stdout.String()); ok {
			return graphqlURL, metricsURL
		}
	}
	t.Fatalf("serve printed no URL:\n%s\nstderr: %s", stdout.String(), stderr.String())
	return "", ""
}

var (
	graphqlURLPattern = regexp.MustCompile(`serving GraphQL at (http://\S+/graphql)`)
	metricsURLPattern = regexp.MustCompile(`serving metrics at (http://\S+/metrics)`)
)

// servedURLs reads, from what serve printed, the URLs of its GraphQL endpoint and of its
// /metrics, once it has printed both.
func servedURLs(stdout string) (graphqlURL, metricsURL string, ok bool) {
	graphql, metrics := graphqlURLPattern.FindStringSubmatch(stdout), metricsURLPattern.FindStringSubmatch(stdout)
	if graphql == nil || metrics == nil {
		return "", "", false
	}
	return graphql[1], metrics[1], true
}
