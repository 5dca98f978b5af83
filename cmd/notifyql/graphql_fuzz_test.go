package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"notifyql"
	"notifyql/server"
)

// errorCode is the shape of every extensions.code: a stable upper-case word or words.
// INTERNAL is not among the codes a fuzzed request may get: no request, however
// malformed, should reach a store without a user (these servers have no database at all).
var errorCode = regexp.MustCompile(`^[A-Z]+(_[A-Z]+)*$`)

// personalLooking matches values shaped like personal data: a phone number (7 digits or
// more, perhaps spaced) or an email address.
var personalLooking = regexp.MustCompile(`[0-9][0-9 ]{5,}[0-9]|[^\s@"]+@[^\s@"]+\.[a-z]{2,}`)

// FuzzGraphQLPost posts arbitrary bodies with arbitrary Content-Type, Accept and
// Authorization headers to POST /graphql, served over the real schema (production and
// development) with no database behind it. Whatever arrives, the handler does not panic,
// answers below 500 with a JSON body that has data or a non-empty list of errors, each
// with a message and a known extensions.code (never INTERNAL), and never repeats a
// personal-looking value sent only in variables, neither in the response nor in a log line.
func FuzzGraphQLPost(f *testing.F) {
	for _, seed := range []struct {
		contentType, accept, authorization, body string
	}{
		{"application/json", "", "", `{"query":"{ me { id } }"}`},
		{"application/json", "application/graphql-response+json", "", `{"query":"{ __typename }"}`},
		{"application/json; charset=utf-8", "", "Bearer x.y.z", `{"query":"query Q($id: ID!) { service(id: $id) { name } }","variables":{"id":"07700 900123"}}`},
		{"application/json", "", "", `{"query":"query Q($id: ID!) { service(id: $id) { name } }","variables":{"id":7700900123}}`},
		{"application/json", "", "", `{"query":"query Q($s: String!) { service(id: $s) { name } }","variables":{"s":"ann.smith@example.org"}}`},
		{"application/json", "", "", `{"query":"mutation { rememberSearch(serviceId: \"x\", term: \"ann@example.org\") { hash } }"}`},
		{"application/json", "", "", `[{"query":"{ me { id } }"},{"query":"{ me { id } }"}]`},
		{"application/json", "", "", `{"query":"{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename g: __typename h: __typename i: __typename j: __typename k: __typename l: __typename m: __typename n: __typename o: __typename p: __typename }"}`},
		{"application/json", "", "", `{"query":"query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}`},
		{"application/json", "", "", `{"query":"{ servics { id } }"}`},
		{"application/json", "", "", `{"query":"{ services { notifications(first: 100) { edges { node { id } } } } }"}`},
		{"application/json", "", "", `{"query":"{ me @include(if: true) @include(if: true) { id } }"}`},
		{"application/json", "", "", `{"query":"{ me { id } ","operationName":"X","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`},
		{"application/json", "", "", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`},
		{"application/json", "", "", `{"query":null,"variables":[],"operationName":7}`},
		{"application/json", "", "", `{"query":"{ me { id } }","variables":"{\"a\":1}"}`},
		{"application/json", "", "", `{`},
		{"application/json", "", "", ``},
		{"application/json", "", "", `null`},
		{"application/json", "", "", "{\"query\":\"{ me { id } }\"}\x00garbage"},
		{"application/json", "", "", `{"query":"{ service(id: \"5e000000-0000-4000-8000-000000000001\") { notifications(search: {term: \"07700 900123\"}, first: 1000000000000) { edges { cursor } } } }"}`},
		{"application/graphql-response+json", "", "", `{"query":"{ me { id } }"}`},
		{"application/graphql", "", "", `{ me { id } }`},
		{"text/plain", "", "", `{"query":"mutation { cancelLetter(id: \"x\") { id } }"}`},
		{"application/x-www-form-urlencoded", "", "", `query=%7B+me+%7B+id+%7D+%7D`},
		{"multipart/form-data; boundary=x", "", "", "--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--x--"},
		{"", "", "", `{"query":"{ me { id } }"}`},
		{"application/json; charset=utf-16", "", "", `{"query":"{ me { id } }"}`},
		{"application/json;;", "*/*", "Bearer", `{"query":"{ me { id } }"}`},
		{"application/json", "", "", `{"query":"` + strings.Repeat("{ me ", 100) + `"}`},
		{"application/json", "", "", `{"query":"` + strings.Repeat("a ", 3000) + `"}`},
		{"application/json", "", "", `{"query":"{ me { id } }","variables":{"x":"` + strings.Repeat("x", 70<<10) + `"}}`},
	} {
		f.Add(seed.contentType, seed.accept, seed.authorization, []byte(seed.body), false)
	}
	// Introspection: answered in development, refused with INTROSPECTION_DISABLED in
	// production.
	for _, development := range []bool{false, true} {
		f.Add("application/json", "", "", []byte(`{"query":"{ __schema { types { name } } __type(name: \"Service\") { name } }"}`), development)
	}
	london, err := notifyql.LoadLondon()
	if err != nil {
		f.Fatal(err)
	}
	executable, extensions, err := newSchema(schemaDeps{London: london})
	if err != nil {
		f.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	handlers := map[bool]http.Handler{}
	for _, development := range []bool{false, true} {
		handlers[development] = server.New(server.Config{Development: development, Extensions: extensions, Logger: logger},
			executable, server.NewAuthenticator([]byte(testSecret), nil).WithLogger(logger)).Handler()
	}
	f.Fuzz(func(t *testing.T, contentType, accept, authorization string, body []byte, development bool) {
		logs.Reset()
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		for name, value := range map[string]string{"Content-Type": contentType, "Accept": accept, "Authorization": authorization} {
			if value != "" {
				req.Header.Set(name, value)
			}
		}
		rec := httptest.NewRecorder()
		handlers[development].ServeHTTP(rec, req)

		if rec.Code < 200 || rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if mediaType, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type")); err != nil ||
			(mediaType != "application/json" && mediaType != "application/graphql-response+json") {
			t.Fatalf("Content-Type %q, want JSON", rec.Header().Get("Content-Type"))
		}
		var response struct {
			Data   *json.RawMessage `json:"data"`
			Errors []struct {
				Message    string         `json:"message"`
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &fields); err != nil || json.Unmarshal(rec.Body.Bytes(), &response) != nil {
			t.Fatalf("status %d, body %q is not a JSON object", rec.Code, rec.Body)
		}
		if _, hasData := fields["data"]; !hasData && len(response.Errors) == 0 {
			t.Fatalf("status %d, body %s has neither data nor errors", rec.Code, rec.Body)
		}
		for _, e := range response.Errors {
			code, _ := e.Extensions["code"].(string)
			if e.Message == "" || !errorCode.MatchString(code) || code == "INTERNAL" {
				t.Errorf("error %q with code %q, want a message and a code other than INTERNAL (body %s)", e.Message, code, rec.Body)
			}
		}
		for _, value := range personalValues(body) {
			for _, where := range []struct{ name, text string }{{"response", rec.Body.String()}, {"logs", logs.String()}} {
				if strings.Contains(where.text, value) {
					t.Errorf("the %s repeat %q, sent only in variables:\n%s", where.name, value, where.text)
				}
			}
		}
	})
}

// personalValues returns the personal-looking parts of the strings and numbers in a
// request body's variables that appear nowhere else in the body.
func personalValues(body []byte) []string {
	var request struct {
		Variables json.RawMessage `json:"variables"`
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	if decoder.Decode(&request) != nil || len(request.Variables) == 0 {
		return nil
	}
	var variables any
	decoder = json.NewDecoder(bytes.NewReader(request.Variables))
	decoder.UseNumber()
	if decoder.Decode(&variables) != nil {
		return nil
	}
	var found []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, item := range v {
				walk(item)
			}
		case []any:
			for _, item := range v {
				walk(item)
			}
		case string, json.Number:
			var text string
			if s, ok := v.(string); ok {
				text = s
			} else {
				text = string(v.(json.Number))
			}
			for _, match := range personalLooking.FindAllString(text, -1) {
				if bytes.Count(body, []byte(match)) == 1 {
					found = append(found, match)
				}
			}
		}
	}
	walk(variables)
	return found
}
