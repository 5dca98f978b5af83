package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
)

// The acceptance of issue 16 against a real serve, with the real typesetter and PDFium:
// content of each type at each permission level and past retention, a templated letter's
// page against a committed golden image, uploads with known faults, and hostile files.

// servePost sends a GraphQL request to a served API and decodes its answer.
func servePost(t *testing.T, api *servedAPI, tok, contentType string, body io.Reader, preflight bool) (int, gqlResponse) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, api.url, body)
	req.Header.Set("Content-Type", contentType)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if preflight {
		req.Header.Set("GraphQL-Require-Preflight", "1")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := gqlResponse{status: res.StatusCode, body: string(raw)}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("status %d, body %q: %v", res.StatusCode, raw, err)
	}
	return res.StatusCode, out
}

func serveQuery(t *testing.T, api *servedAPI, tok, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_, out := servePost(t, api, tok, "application/json", bytes.NewReader(body), false)
	return out
}

// serveUpload validates pdf through the multipart transport as tok.
func serveUpload(t *testing.T, api *servedAPI, tok string, pdf []byte) (int, gqlResponse) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("operations", validateOperations(serviceA))
	_ = w.WriteField("map", fileMap)
	part, _ := w.CreateFormFile("0", "letter.pdf")
	_, _ = part.Write(pdf)
	_ = w.Close()
	return servePost(t, api, tok, w.FormDataContentType(), &body, true)
}

const e2eContentQuery = `query($id: ID!) { notification(id: $id) { contentUnavailableReason
  content { subject body html fragmentCount letterAddress letterDate letterContactBlock } } }`

func TestContentEndToEnd(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	recent := time.Now().UTC().Add(-time.Hour)
	insertServed(t, api, "7e000000-0000-0000-0000-0000000000f1", "e3000000-0000-0000-0000-000000000001", "email",
		"Hello ((name))", "# Hi ((name))\n\n* one\n* two", "ann@example.org", `{"name": "<Ann>"}`, recent)
	insertServed(t, api, "7e000000-0000-0000-0000-0000000000f2", "e3000000-0000-0000-0000-000000000002", "sms",
		"", "Your code is ((code)) .", "07700900123", `{"code": "123456"}`, recent)
	insertServed(t, api, "7e000000-0000-0000-0000-0000000000f3", "e3000000-0000-0000-0000-000000000003", "letter",
		"Subject", "Foo", "name\nstreet\nSW1 1AA", `{"addressline1": "name", "addressline2": "street", "postcode": "SW1 1AA"}`, recent)
	// A row past its retention bound that is still in notifications: serve's scheduler
	// catches up on the last nightly move at start, so the row goes in after that move
	// finished, as rows sent before London midnight wait for the next one.
	waitUntil(t, time.Minute, "the retention move to catch up", func() bool {
		return strings.Contains(api.stderr.String(), `"msg":"scheduled job finished","command":"serve","job":"retention-notifications"`)
	})
	insertServed(t, api, "7e000000-0000-0000-0000-0000000000f4", "e3000000-0000-0000-0000-000000000004", "email",
		"Old", "Old news for ((name))", "old@example.org", `{"name": "Ole"}`, time.Now().UTC().AddDate(0, 0, -30))

	wantByType := map[string][]string{
		"e3000000-0000-0000-0000-000000000001": {`"subject":"Hello \u003cAnn\u003e"`, `\u003ch2 class=\"govuk-heading-l\"\u003eHi \u0026lt;Ann\u0026gt;\u003c/h2\u003e`, `"body":"Hi \u003cAnn\u003e\n`},
		"e3000000-0000-0000-0000-000000000002": {`"body":"Service A: Your code is 123456."`, `"fragmentCount":1`, `sms-message-wrapper`},
		"e3000000-0000-0000-0000-000000000003": {`"subject":"Subject"`, `"html":"\u003cp\u003eFoo\u003c/p\u003e"`, `"letterAddress":["name","street","SW1 1AA"]`},
	}
	for _, who := range []struct {
		name, user string
		allowed    bool
	}{
		{"platform admin", userAdmin, true},
		{"view_activity", userViewer, true},
		{"send_messages", userSender, true},
		{"member without permissions", userMember, false},
		{"user of another service", userOther, false},
	} {
		t.Run(who.name, func(t *testing.T) {
			tok := tokenFor(t, who.user)
			for id, wants := range wantByType {
				resp := serveQuery(t, api, tok, e2eContentQuery, map[string]any{"id": id})
				raw, _ := json.Marshal(resp.at("notification", "content"))
				if !who.allowed {
					if resp.at("notification", "content") != nil || len(resp.Errors) == 0 {
						t.Errorf("%s: content %s with errors %v, want none and an error", id, raw, resp.Errors)
					}
					continue
				}
				resp.requireNoErrors(t)
				for _, want := range wants {
					if !strings.Contains(string(raw), want) {
						t.Errorf("%s: content %s lacks %s", id, raw, want)
					}
				}
			}
			if !who.allowed {
				return
			}
			old := serveQuery(t, api, tok, e2eContentQuery, map[string]any{"id": "e3000000-0000-0000-0000-000000000004"})
			old.requireNoErrors(t)
			if old.at("notification", "content") != nil || old.at("notification", "contentUnavailableReason") != "RETENTION_EXPIRED" {
				t.Errorf("past retention: content %v, reason %v", old.at("notification", "content"), old.at("notification", "contentUnavailableReason"))
			}
		})
	}
}

// insertServed adds a template and a notification of service A sent with it at created.
func insertServed(t *testing.T, api *servedAPI, templateID, id, typ, subject, content, to, personalisation string, created time.Time) {
	t.Helper()
	ctx := context.Background()
	var postage any
	if typ == "letter" {
		postage = "second"
	}
	for _, table := range []string{"templates", "templates_history"} {
		if _, err := api.pool.Exec(ctx, `INSERT INTO `+table+` (id, service_id, name, template_type, version, subject, content, postage, created_at)
			VALUES ($1, $2, $3, $4, 1, NULLIF($5, ''), $6, $7, '2025-01-01')`, templateID, serviceA, "E2E "+typ+" "+templateID[len(templateID)-2:], typ, subject, content, postage); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.pool.Exec(ctx, `INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, billable_units, postage, created_at, personalisation)
		VALUES ($1, $2, $3, 1, $4, $5, $5, 'normal', 'delivered', 1, $6, $7, $8)`,
		id, serviceA, templateID, typ, to, postage, created, personalisation); err != nil {
		t.Fatal(err)
	}
}

// TestLetterUploadsEndToEnd validates the seeds' faulty files and the PDF reader's hostile
// corpus through a real serve: each fault is reported with its code and pages, each
// hostile file is refused as unreadable, and the server goes on answering.
func TestLetterUploadsEndToEnd(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	// Each user may validate 10 files a minute: the uploads take turns among the three
	// users who may send letters on service A.
	senders := []string{tokenFor(t, userSender), tokenFor(t, userManager), tokenFor(t, userAdmin)}
	// serve keeps the allowances in the machine's Redis under the fixture's user ids, which
	// other tests of this package spend too: start with full ones.
	rdb := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
	defer rdb.Close()
	for _, user := range []string{userSender, userManager, userAdmin} {
		if err := rdb.Del(context.Background(), "rate-limit--letter-validations:"+user).Err(); err != nil {
			t.Fatal(err)
		}
	}
	uploads := 0
	nextSender := func() string { uploads++; return senders[uploads%len(senders)] }
	read := func(path string) []byte {
		pdf, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return pdf
	}
	faults := []struct {
		file, code, pages string
	}{
		{"margins-pages-2-and-4.pdf", "content-outside-printable-area", "[2 4]"},
		{"landscape-page-2.pdf", "letter-not-a4-portrait-oriented", "[2]"},
		{"12-pages.pdf", "letter-too-long", "[]"},
		{"empty-address.pdf", "address-is-empty", "[1]"},
	}
	for _, f := range faults {
		// Invalid files are stored as received, without the NOTIFY tag sending adds to
		// valid ones, so each fault is the first one found.
		t.Run(f.file, func(t *testing.T) {
			status, resp := serveUpload(t, api, nextSender(), read(filepath.Join("../../postgres/seed/internal/seedletters", f.file)))
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			resp.requireNoErrors(t)
			code, pages := resp.at("validateLetterPdf", "errors", 0, "code"), fmt.Sprint(resp.at("validateLetterPdf", "errors", 0, "pages"))
			if code != f.code || pages != f.pages {
				t.Errorf("error %v on pages %s, want %s on %s", code, pages, f.code, f.pages)
			}
		})
	}

	hostile, err := filepath.Glob("../../pdfium/testdata/hostile/*")
	if err != nil || len(hostile) == 0 {
		t.Fatalf("hostile corpus: %v, %d files", err, len(hostile))
	}
	for _, path := range hostile {
		t.Run(filepath.Base(path), func(t *testing.T) {
			status, resp := serveUpload(t, api, nextSender(), read(path))
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			resp.requireNoErrors(t)
			// PDFium repairs what it can (a broken xref, a lying page count), and deep nesting
			// is legal: those are read, and get the verdict their pages earn. Whatever the
			// file, the answer is one error of DOMAIN §12.4, and an unreadable file has no
			// page count.
			code, _ := resp.at("validateLetterPdf", "errors", 0, "code").(string)
			title, _ := notifyql.LetterValidationMessage(code, nil, 0)
			if code == "" || title == "Validation failed" {
				t.Fatalf("verdict %v, want one error of DOMAIN §12.4", resp.Data)
			}
			if want, ok := unreadableHostile[filepath.Base(path)]; ok && code != want {
				t.Errorf("code %s, want %s", code, want)
			}
			if (code == "unable-to-read-the-file") != (resp.at("validateLetterPdf", "pageCount") == nil) {
				t.Errorf("code %s with page count %v", code, resp.at("validateLetterPdf", "pageCount"))
			}
		})
	}
	// After all that, the server still answers, and still reads a good file.
	status, resp := serveUpload(t, api, nextSender(), read("../../postgres/seed/internal/seedletters/empty-address.pdf"))
	if status != http.StatusOK || resp.at("validateLetterPdf", "pageCount") != float64(1) {
		t.Fatalf("after the hostile files: status %d, %v", status, resp.Data)
	}
}

// unreadableHostile are the hostile files no reader can make sense of, and the verdict a
// huge page box gets before anything is rasterised.
var unreadableHostile = map[string]string{
	"encrypted-owner-password.pdf": "unable-to-read-the-file",
	"encrypted-user-password.pdf":  "unable-to-read-the-file",
	"header-only.pdf":              "unable-to-read-the-file",
	"no-pages.pdf":                 "unable-to-read-the-file",
	"not-a-pdf.txt":                "unable-to-read-the-file",
	"png-header.pdf":               "unable-to-read-the-file",
	"page-tree-loop.pdf":           "unable-to-read-the-file",
	"truncated.pdf":                "unable-to-read-the-file",
	"huge-mediabox.pdf":            "letter-not-a4-portrait-oriented",
}

// goldenPageTolerance is how far a channel of a pixel may stray from the golden image:
// PDFium's anti-aliasing is deterministic for one build, so this only absorbs rounding.
const goldenPageTolerance = 16

// comparePageWithGolden compares a rendered page with testdata/letter-page-1.png, outside
// the date line (it is the London date of the letter, which a test inside retention cannot
// fix). With -update it rewrites the golden file.
func comparePageWithGolden(t *testing.T, got image.Image) {
	t.Helper()
	golden := filepath.Join("testdata", "letter-page-1.png")
	if *updateGolden {
		f, err := os.Create(golden)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, got); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("page size %v, golden %v", got.Bounds(), want.Bounds())
	}
	// The date paragraph is the first line of the content column, at y 104 mm: rows
	// 104–112 mm at 150 dpi.
	mmToPx := 150 / 25.4
	dateTop, dateBottom := int(104*mmToPx), int(112*mmToPx)
	differing := 0
	for y := want.Bounds().Min.Y; y < want.Bounds().Max.Y; y++ {
		if y >= dateTop && y < dateBottom {
			continue
		}
		for x := want.Bounds().Min.X; x < want.Bounds().Max.X; x++ {
			if !closeColour(got.At(x, y), want.At(x, y)) {
				differing++
			}
		}
	}
	if differing > 0 {
		t.Errorf("%d pixels differ from %s by more than %d in a channel", differing, golden, goldenPageTolerance)
	}
}

func closeColour(a, b interface{ RGBA() (r, g, b, a uint32) }) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	near := func(x, y uint32) bool {
		d := int(x>>8) - int(y>>8)
		return d >= -goldenPageTolerance && d <= goldenPageTolerance
	}
	return near(ar, br) && near(ag, bg) && near(ab, bb)
}

// T32 on a real serve: a stored uploaded letter of 10 pages lists pages 1 to 10, its page
// 10 is served as a 150 dpi PNG, and a correctly signed link for page 11 is answered 404.
func TestStoredUploadEndToEnd(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	const template, letter = "7e000000-0000-0000-0000-0000000000d1", "1e000000-0000-0000-0000-0000000000d1"
	ctx := context.Background()
	for _, table := range []string{"templates", "templates_history"} {
		if _, err := api.pool.Exec(ctx, `INSERT INTO `+table+` (id, service_id, name, template_type, version, content, hidden, postage, created_at)
			VALUES ($1, $2, 'Pre-compiled PDF', 'letter', 1, '', true, 'second', '2025-01-01')`, template, serviceA); err != nil {
			t.Fatal(err)
		}
	}
	pdf, err := os.ReadFile("../../postgres/seed/internal/seedletters/valid-10-pages.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.pool.Exec(ctx, `INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, billable_units, postage, created_at, page_count)
		VALUES ($1, $2, $3, 1, 'letter', E'A Person\n1 Street\nSW1A 1AA', 'aperson1streetsw1a1aa', 'normal', 'delivered', 5, 'second', $4, 10)`,
		letter, serviceA, template, time.Now().UTC().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := api.pool.Exec(ctx, `INSERT INTO letter_files (notification_id, pdf) VALUES ($1, $2)`, letter, pdf); err != nil {
		t.Fatal(err)
	}
	resp := serveQuery(t, api, tokenFor(t, userViewer), `query($id: ID!) { notification(id: $id) { contentUnavailableReason
		letter { preview { pageCount pdfUrl pages { number pngUrl widthPx heightPx } } validationErrors { code } } } }`, map[string]any{"id": letter})
	resp.requireNoErrors(t)
	if resp.at("notification", "contentUnavailableReason") != "UPLOADED_PDF" || resp.at("notification", "letter", "preview", "pageCount") != float64(10) {
		t.Fatalf("uploaded letter: %s", resp.body)
	}
	pages, _ := resp.at("notification", "letter", "preview", "pages").([]any)
	if len(pages) != 10 || resp.at("notification", "letter", "preview", "pages", 9, "number") != float64(10) {
		t.Fatalf("pages listed: %v", pages)
	}
	origin := strings.TrimSuffix(api.url, "/graphql")
	page10, _ := resp.at("notification", "letter", "preview", "pages", 9, "pngUrl").(string)
	res, err := http.Get(origin + page10)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() != 1240 || img.Bounds().Dy() != 1754 {
		t.Fatalf("page 10: status %d, %v", res.StatusCode, err)
	}
	// The same link signed for page 11 is refused: the preview has no such page. Links
	// are signed for a path, so page 11's comes from the bearer header instead.
	req, _ := http.NewRequest(http.MethodGet, origin+"/services/"+serviceA+"/notifications/"+letter+"/letter/11.png", nil)
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, userViewer))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("page 11: status %d, want 404", res.StatusCode)
	}
	pdfURL, _ := resp.at("notification", "letter", "preview", "pdfUrl").(string)
	res, err = http.Get(origin + pdfURL)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(served, pdf) {
		t.Errorf("the PDF link: status %d, %d bytes, want the stored file unchanged", res.StatusCode, len(served))
	}
}
