package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"notifyql/server"
)

const validateMutation = `mutation($s: ID!, $f: Upload!) { validateLetterPdf(serviceId: $s, file: $f) {
	pageCount errors { code title summary pages } preview { pageCount pdfUrl expiresAt pages { number pngUrl widthPx heightPx } } } }`

// uploadPart is one file part of a multipart request.
type uploadPart struct {
	name string
	body []byte
}

// multipartUpload builds a GraphQL multipart request: operations, map, then the parts.
func multipartUpload(t *testing.T, operations, mapping string, parts ...uploadPart) (string, []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, field := range [][2]string{{"operations", operations}, {"map", mapping}} {
		if err := w.WriteField(field[0], field[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range parts {
		part, err := w.CreateFormFile(p.name, "Ann Smith's letter.pdf")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write(p.body)
	}
	_ = w.Close()
	return w.FormDataContentType(), body.Bytes()
}

// validateOperations is the operations field of a validateLetterPdf request on service.
func validateOperations(service string) string {
	ops, _ := json.Marshal(map[string]any{"query": validateMutation, "variables": map[string]any{"s": service, "f": nil}})
	return string(ops)
}

const fileMap = `{"0": ["variables.f"]}`

// postUpload sends a multipart request as tok, with the preflight header when preflight.
func (a *testAPI) postUpload(t *testing.T, tok string, preflight bool, contentType string, body []byte) gqlResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if preflight {
		req.Header.Set("GraphQL-Require-Preflight", "1")
	}
	return a.serveGraphQL(t, req, tok)
}

// validateLetterPdf checks a PDF and hands out a 5-minute preview of it, for its uploader
// alone (RENDERING.md §7.3, §7.4; T31).
func TestValidateLetterPdf(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	sender := tokenFor(t, userSender)
	ct, body := multipartUpload(t, validateOperations(serviceA), fileMap, uploadPart{"0", fakeLetterPDF(1)})
	resp := api.postUpload(t, sender, true, ct, body)
	resp.requireNoErrors(t)
	v := []any{"validateLetterPdf"}
	if resp.at(append(v, "pageCount")...) != float64(1) {
		t.Fatalf("pageCount: %s", resp.body)
	}
	errs, _ := resp.at(append(v, "errors")...).([]any)
	want := map[string]any{"code": "address-is-empty", "title": "The address block is empty",
		"summary": "Validation failed because the address block is empty.", "pages": []any{float64(1)}}
	if len(errs) != 1 || fmt.Sprint(errs[0]) != fmt.Sprint(want) {
		t.Errorf("errors %v, want [%v]", errs, want)
	}
	page := append(v, "preview", "pages", 0)
	if resp.at(append(v, "preview", "pageCount")...) != float64(1) || resp.at(append(page, "widthPx")...) != float64(1240) || resp.at(append(page, "heightPx")...) != float64(1754) {
		t.Fatalf("preview: %s", resp.body)
	}
	pdfURL, _ := resp.at(append(v, "preview", "pdfUrl")...).(string)
	pngURL, _ := resp.at(append(page, "pngUrl")...).(string)
	if !strings.HasPrefix(pdfURL, "/services/"+serviceA+"/letter-uploads/") || strings.Contains(resp.body, "Ann Smith") {
		t.Errorf("links %s, %s", pdfURL, pngURL)
	}

	rec := api.getFile(t, pdfURL, "", nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), fakeLetterPDF(1)) ||
		rec.Header().Get("Content-Disposition") != `inline; filename="letter.pdf"` || rec.Header().Get("Cache-Control") != "private, no-store" {
		t.Errorf("upload PDF: %d %v", rec.Code, rec.Header())
	}
	if rec = api.getFile(t, pngURL, "", nil); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
		t.Errorf("upload page 1: %d %s", rec.Code, rec.Body)
	}
	uploadBase, _ := strings.CutSuffix(strings.SplitN(pdfURL, "?", 2)[0], ".pdf")
	links := api.letters.UploadLinks
	for _, tt := range []struct {
		name, link, tok string
		want            int
	}{
		{"page 2 of 1", api.signedAs(t, links, uploadBase+"/2.png", userSender), "", http.StatusNotFound},
		{"another user's header", uploadBase + ".pdf", tokenFor(t, userViewer), http.StatusForbidden},
		{"a link signed for another user", api.signedAs(t, links, uploadBase+".pdf", userManager), "", http.StatusForbidden},
		{"the uploader's header", uploadBase + ".pdf", sender, http.StatusOK},
		{"a letter link's signer", api.signedAs(t, api.letters.LetterLinks, uploadBase+".pdf", userSender), "", http.StatusForbidden},
		{"an unknown upload", api.signedAs(t, links, "/services/"+serviceA+"/letter-uploads/"+strings.Repeat("0", 32)+".pdf", userSender), "", http.StatusNotFound},
		{"an id that is not one", api.signedAs(t, links, "/services/"+serviceA+"/letter-uploads/x.pdf", userSender), "", http.StatusNotFound},
		{"another service", api.signedAs(t, links, strings.Replace(uploadBase, serviceA, serviceB, 1)+".pdf", userAdmin), "", http.StatusNotFound},
	} {
		if rec := api.getFile(t, tt.link, tt.tok, nil); rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, rec.Code, tt.want, rec.Body)
		}
	}

	// A file that is not a PDF: unreadable, no page count, no preview.
	ct, body = multipartUpload(t, validateOperations(serviceA), fileMap, uploadPart{"0", []byte("GIF89a not a letter")})
	resp = api.postUpload(t, sender, true, ct, body)
	resp.requireNoErrors(t)
	if resp.at(append(v, "pageCount")...) != nil || resp.at(append(v, "preview")...) != nil || resp.at(append(v, "errors", 0, "code")...) != "unable-to-read-the-file" {
		t.Errorf("not a PDF: %s", resp.body)
	}
	// Content in the margin of page 2 of 2: the error names it, and its image has the overlay.
	marked := []byte("%PDF-fake\npage 210 297 0\npage 210 297 0\nink 5 100\n")
	ct, body = multipartUpload(t, validateOperations(serviceA), fileMap, uploadPart{"0", marked})
	resp = api.postUpload(t, sender, true, ct, body)
	resp.requireNoErrors(t)
	if resp.at(append(v, "errors", 0, "code")...) != "content-outside-printable-area" || fmt.Sprint(resp.at(append(v, "errors", 0, "pages")...)) != "[2]" {
		t.Errorf("margin content: %s", resp.body)
	}
}

// Who may validate: send_messages on a service with the letter feature (§7.4).
func TestValidateLetterPdfPermission(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	for _, tt := range []struct {
		name, user, service, want string
	}{
		{"viewer", userViewer, serviceA, "FORBIDDEN"},
		{"member", userMember, serviceA, "FORBIDDEN"},
		{"another service's user", userOther, serviceA, "NOT_FOUND"},
		{"platform admin on a service without letters", userAdmin, serviceB, "FORBIDDEN"},
		{"manager", userManager, serviceA, ""},
		{"platform admin", userAdmin, serviceA, ""},
	} {
		ct, body := multipartUpload(t, validateOperations(tt.service), fileMap, uploadPart{"0", fakeLetterPDF(1)})
		resp := api.postUpload(t, tokenFor(t, tt.user), true, ct, body)
		if got := resp.codeAt("validateLetterPdf"); got != tt.want {
			t.Errorf("%s: code %q, want %q: %s", tt.name, got, tt.want, resp.body)
		}
	}
}

// Only a letter upload is taken as multipart, and only within its bounds (§7.3); anything
// else is refused before it runs.
func TestValidateLetterPdfTransport(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	sender := tokenFor(t, userSender)
	ops := validateOperations(serviceA)
	pdf := fakeLetterPDF(1)
	twoFields, _ := json.Marshal(map[string]any{"query": `mutation($s: ID!, $f: Upload!) { validateLetterPdf(serviceId: $s, file: $f) { pageCount } cancelLetter(serviceId: $s, notificationId: $s) { id } }`,
		"variables": map[string]any{"s": serviceA, "f": nil}})
	query, _ := json.Marshal(map[string]any{"query": `query { me { id } }`})
	aliased, _ := json.Marshal(map[string]any{"query": `mutation($s: ID!, $f: Upload!) { v: validateLetterPdf(serviceId: $s, file: $f) { pageCount } }`,
		"variables": map[string]any{"s": serviceA, "f": nil}})
	big := append(fakeLetterPDF(1), bytes.Repeat([]byte(" "), server.MaxLetterUploadFileBytes)...)
	for _, tt := range []struct {
		name       string
		preflight  bool
		operations string
		mapping    string
		parts      []uploadPart
		wantStatus int
		wantCode   string
	}{
		{"without the preflight header", false, ops, fileMap, []uploadPart{{"0", pdf}}, 400, "MULTIPART_REFUSED"},
		{"two files", true, ops, `{"0": ["variables.f"], "1": ["variables.g"]}`, []uploadPart{{"0", pdf}, {"1", pdf}}, 400, "MULTIPART_REFUSED"},
		{"one file put in two places", true, ops, `{"0": ["variables.f", "variables.g"]}`, []uploadPart{{"0", pdf}}, 400, "MULTIPART_REFUSED"},
		{"a second part map does not name", true, ops, fileMap, []uploadPart{{"0", pdf}, {"1", pdf}}, 400, "MULTIPART_REFUSED"},
		{"no file", true, ops, fileMap, nil, 400, "MULTIPART_REFUSED"},
		{"no map", true, ops, `{}`, nil, 400, "MULTIPART_REFUSED"},
		{"a query", true, string(query), fileMap, []uploadPart{{"0", pdf}}, 400, "MULTIPART_REFUSED"},
		{"another root field beside it", true, string(twoFields), fileMap, []uploadPart{{"0", pdf}}, 400, "MULTIPART_REFUSED"},
		{"operations that are not JSON", true, "{", fileMap, []uploadPart{{"0", pdf}}, 400, "MULTIPART_REFUSED"},
		{"a file over 2 MiB", true, ops, fileMap, []uploadPart{{"0", big}}, 413, "FILE_TOO_LARGE"},
		{"a body over 2 MiB + 64 KiB", true, ops, fileMap, []uploadPart{{"0", append(big, bytes.Repeat([]byte(" "), 64<<10)...)}}, 413, "BODY_TOO_LARGE"},
		{"an alias is still the field alone", true, string(aliased), fileMap, []uploadPart{{"0", pdf}}, 200, ""},
		{"a file of exactly 2 MiB", true, ops, fileMap, []uploadPart{{"0", big[:server.MaxLetterUploadFileBytes]}}, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartUpload(t, tt.operations, tt.mapping, tt.parts...)
			resp := api.postUpload(t, sender, tt.preflight, ct, body)
			code := ""
			if len(resp.Errors) > 0 {
				code, _ = resp.Errors[0].Extensions["code"].(string)
			}
			if resp.status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q: %s", resp.status, code, tt.wantStatus, tt.wantCode, resp.body)
			}
		})
	}
	// A refused multipart request never ran: nothing was cancelled.
	var status string
	if err := api.pool.QueryRow(t.Context(), `SELECT notification_status FROM notifications WHERE id = $1`, notificationA5).Scan(&status); err != nil || status != "created" {
		t.Errorf("A5 is %q (%v)", status, err)
	}
}

// Each user may validate 10 letters a minute (§7.4).
func TestValidateLetterPdfRateLimit(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	sender := tokenFor(t, userSender)
	ct, body := multipartUpload(t, validateOperations(serviceA), fileMap, uploadPart{"0", fakeLetterPDF(1)})
	for range 10 {
		api.postUpload(t, sender, true, ct, body).requireNoErrors(t)
	}
	resp := api.postUpload(t, sender, true, ct, body)
	if resp.codeAt("validateLetterPdf") != "RATE_LIMITED" {
		t.Errorf("the 11th validation in a minute: %s", resp.body)
	}
	// Another user's allowance is their own.
	api.postUpload(t, tokenFor(t, userManager), true, ct, body).requireNoErrors(t)
}

// With Redis down the verdict still comes back, with a null preview and an error on its
// path (§7.4).
func TestValidateLetterPdfWithoutRedis(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines(), letterRedisAddr: freeAddr(t)})
	ct, body := multipartUpload(t, validateOperations(serviceA), fileMap, uploadPart{"0", fakeLetterPDF(1)})
	resp := api.postUpload(t, tokenFor(t, userSender), true, ct, body)
	if resp.at("validateLetterPdf", "pageCount") != float64(1) || resp.at("validateLetterPdf", "errors", 0, "code") != "address-is-empty" {
		t.Errorf("verdict: %s", resp.body)
	}
	if resp.at("validateLetterPdf", "preview") != nil || resp.codeAt("validateLetterPdf", "preview") != "UNAVAILABLE" || len(resp.Errors) != 1 {
		t.Errorf("preview: %s", resp.body)
	}
}
