package server

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// uploadBody is a GraphQL multipart body: operations, map, then one part per file.
func uploadBody(t testing.TB, operations, mapping string, files ...string) (string, []byte) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("operations", operations)
	_ = w.WriteField("map", mapping)
	for i, f := range files {
		part, _ := w.CreateFormFile(strings.Repeat("0", i+1), "f.pdf")
		_, _ = part.Write([]byte(f))
	}
	_ = w.Close()
	return w.FormDataContentType(), body.Bytes()
}

const validateOps = `{"query": "mutation($f: Upload!) { validateLetterPdf(serviceId: \"s\", file: $f) { pageCount } }", "variables": {"f": null}}`

func TestCheckLetterUpload(t *testing.T) {
	tests := []struct {
		name, operations, mapping string
		files                     []string
		want                      int
	}{
		{"one file", validateOps, `{"0": ["variables.f"]}`, []string{"%PDF"}, 0},
		{"named operation chosen", `{"query": "query Q { me { id } } mutation M($f: Upload!) { validateLetterPdf(serviceId: \"s\", file: $f) { pageCount } }", "operationName": "M"}`,
			`{"0": ["variables.f"]}`, []string{"%PDF"}, 0},
		{"two operations, none named", `{"query": "mutation A($f: Upload!) { validateLetterPdf(serviceId: \"s\", file: $f) { pageCount } } mutation B($f: Upload!) { validateLetterPdf(serviceId: \"s\", file: $f) { pageCount } }"}`,
			`{"0": ["variables.f"]}`, []string{"%PDF"}, http.StatusBadRequest},
		{"a fragment at the root", `{"query": "mutation($f: Upload!) { ...F } fragment F on Mutation { validateLetterPdf(serviceId: \"s\", file: $f) { pageCount } }"}`,
			`{"0": ["variables.f"]}`, []string{"%PDF"}, http.StatusBadRequest},
		{"a directive on the field", `{"query": "mutation($f: Upload!, $b: Boolean!) { validateLetterPdf(serviceId: \"s\", file: $f) @include(if: $b) { pageCount } }"}`,
			`{"0": ["variables.f"]}`, []string{"%PDF"}, http.StatusBadRequest},
		{"a subscription", `{"query": "subscription { upcomingJobs(serviceId: \"s\") { id } }"}`, `{"0": ["variables.f"]}`, []string{"%PDF"}, http.StatusBadRequest},
		{"a persisted query's hash alone", `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}`, `{"0": ["variables.f"]}`, []string{"%PDF"}, http.StatusBadRequest},
		{"a batch", `[` + validateOps + `]`, `{"0": ["variables.f"]}`, []string{"%PDF"}, http.StatusBadRequest},
		{"map is not JSON", validateOps, `{`, []string{"%PDF"}, http.StatusBadRequest},
		{"two files", validateOps, `{"0": ["variables.f"], "00": ["variables.g"]}`, []string{"%PDF", "%PDF"}, http.StatusBadRequest},
		{"no file", validateOps, `{"0": ["variables.f"]}`, nil, http.StatusBadRequest},
		{"a file too large", validateOps, `{"0": ["variables.f"]}`, []string{strings.Repeat("x", MaxLetterUploadFileBytes+1)}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := uploadBody(t, tt.operations, tt.mapping, tt.files...)
			if got, reason := checkLetterUpload(ct, body); got != tt.want {
				t.Errorf("status %d (%s), want %d", got, reason, tt.want)
			}
		})
	}
	if got, _ := checkLetterUpload("multipart/form-data", []byte("--x--")); got != http.StatusBadRequest {
		t.Errorf("no boundary: %d", got)
	}
}

// No body, however malformed, makes the check panic, and it admits only what it must.
func FuzzCheckLetterUpload(f *testing.F) {
	ct, body := uploadBody(f, validateOps, `{"0": ["variables.f"]}`, "%PDF")
	f.Add(ct, body)
	ct, body = uploadBody(f, validateOps, `{"0": ["variables.f"], "00": ["variables.g"]}`, "%PDF", "%PDF")
	f.Add(ct, body)
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--x--"))
	f.Add("multipart/form-data; boundary=\"", []byte("--"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		status, reason := checkLetterUpload(contentType, body)
		switch status {
		case 0:
			if !bytes.Contains(body, []byte(uploadOperationField)) {
				t.Errorf("admitted a body without %s", uploadOperationField)
			}
		case http.StatusBadRequest:
			if reason == "" {
				t.Error("refused without a reason")
			}
		case http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("status %d", status)
		}
	})
}
