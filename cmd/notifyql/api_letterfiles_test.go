package main

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

// getFile fetches a preview's file from the API: by its signed link, and with tok's bearer
// header when tok is set.
func (a *testAPI) getFile(t *testing.T, link, tok string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, link, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return a.serveAs(req, tok)
}

// signedAs signs path with the letter links' signer for userID.
func (a *testAPI) signedAs(t *testing.T, signer *server.LinkSigner, path, userID string) string {
	t.Helper()
	link, err := signer.SignLink(path, userID)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// A letter's files by signed link or bearer header: §7.2's checks in order with their
// statuses, the headers, and ETag revalidation.
func TestLetterFiles(t *testing.T) {
	t.Parallel()
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	pdf := fakeLetterPDF(12)
	insertLetterFile(t, api, notificationA5, pdf)
	links := api.letters.LetterLinks
	base := "/services/" + serviceA + "/notifications/" + notificationA5 + "/letter"
	pdfLink := api.signedAs(t, links, base+".pdf", userViewer)

	rec := api.getFile(t, pdfLink, "", nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pdf) {
		t.Fatalf("PDF by link: %d %q", rec.Code, rec.Body.String())
	}
	for name, want := range map[string]string{"Content-Type": "application/pdf", "Cache-Control": "private, no-store",
		"X-Content-Type-Options": "nosniff", "Content-Disposition": `inline; filename="` + notificationA5 + `.pdf"`} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	etag := rec.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 20 {
		t.Errorf("ETag %q is not a strong tag", etag)
	}
	rec = api.getFile(t, pdfLink, "", map[string]string{"If-None-Match": etag})
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag || rec.Header().Get("Cache-Control") != "private, no-store" {
		t.Errorf("If-None-Match: %d %v", rec.Code, rec.Header())
	}
	if rec = api.getFile(t, pdfLink, "", map[string]string{"If-None-Match": `"other"`}); rec.Code != http.StatusOK {
		t.Errorf("another ETag: %d", rec.Code)
	}
	// The bearer header opens the same path without a link.
	if rec = api.getFile(t, base+".pdf", tokenFor(t, userSender), nil); rec.Code != http.StatusOK {
		t.Errorf("by header: %d %s", rec.Code, rec.Body)
	}

	// Page 10 of 12 is an image of A4 at 150 dpi; its ETag differs from the PDF's.
	rec = api.getFile(t, api.signedAs(t, links, base+"/10.png", userViewer), "", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || rec.Header().Get("Cache-Control") != "private, no-store" {
		t.Fatalf("page 10: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	img, err := png.Decode(rec.Body)
	if err != nil || img.Bounds().Dx() != 1240 || img.Bounds().Dy() != 1754 {
		t.Errorf("page 10 decodes as %v, %v; want 1240 × 1754", img.Bounds(), err)
	}
	if rec.Header().Get("ETag") == etag || rec.Header().Get("Content-Disposition") != "" {
		t.Errorf("page 10's headers: %v", rec.Header())
	}

	expired := api.signedAs(t, links.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }), base+".pdf", userViewer)
	tampered := strings.Replace(pdfLink, "signature=", "signature=A", 1)
	otherUser := strings.Replace(pdfLink, "user="+userViewer, "user="+userSender, 1)
	csvSigned := api.signedAs(t, api.links, base+".pdf", userViewer)
	for _, tt := range []struct {
		name, link, tok string
		want            int
	}{
		{"no link and no header", base + ".pdf", "", http.StatusUnauthorized},
		{"a bad signature", tampered, "", http.StatusForbidden},
		{"another user's link", otherUser, "", http.StatusForbidden},
		{"an expired link", expired, "", http.StatusForbidden},
		{"a link signed for another purpose", csvSigned, "", http.StatusForbidden},
		{"a link for another path", strings.Replace(pdfLink, "letter.pdf", "letter/1.png", 1), "", http.StatusForbidden},
		{"a member without the permission", api.signedAs(t, links, base+".pdf", userMember), "", http.StatusForbidden},
		{"another service's user", api.signedAs(t, links, base+".pdf", userOther), "", http.StatusForbidden},
		{"an unknown service", api.signedAs(t, links, "/services/5d000000-0000-0000-0000-00000000000d/notifications/"+notificationA5+"/letter.pdf", userAdmin), "", http.StatusForbidden},
		{"another service's path", api.signedAs(t, links, "/services/"+serviceB+"/notifications/"+notificationA5+"/letter.pdf", userAdmin), "", http.StatusNotFound},
		{"an email", api.signedAs(t, links, "/services/"+serviceA+"/notifications/"+notificationA1+"/letter.pdf", userViewer), "", http.StatusNotFound},
		{"an unknown notification", api.signedAs(t, links, "/services/"+serviceA+"/notifications/"+letterID(99)+"/letter.pdf", userViewer), "", http.StatusNotFound},
		{"page 0", api.signedAs(t, links, base+"/0.png", userViewer), "", http.StatusNotFound},
		{"page 11", api.signedAs(t, links, base+"/11.png", userViewer), "", http.StatusNotFound},
		{"page abc", api.signedAs(t, links, base+"/abc.png", userViewer), "", http.StatusNotFound},
		{"page 01", api.signedAs(t, links, base+"/01.png", userViewer), "", http.StatusNotFound},
		{"page 1 without .png", api.signedAs(t, links, base+"/1", userViewer), "", http.StatusNotFound},
		{"page -1", api.signedAs(t, links, base+"/-1.png", userViewer), "", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := api.getFile(t, tt.link, tt.tok, nil)
			if rec.Code != tt.want {
				t.Errorf("%s: status %d, want %d: %s", tt.link, rec.Code, tt.want, rec.Body)
			}
			if rec.Header().Get("Content-Type") == "application/pdf" || rec.Header().Get("Content-Type") == "image/png" {
				t.Errorf("a refusal served a file")
			}
		})
	}

	// A 3-page letter: page 4 is no page; past retention, or awaiting its virus scan, no file.
	insertLetter(t, api, letterID(1), "created", fixtureNow.Add(-time.Hour))
	insertLetterFile(t, api, letterID(1), fakeLetterPDF(3))
	insertLetter(t, api, letterID(2), "created", time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
	insertLetterFile(t, api, letterID(2), fakeLetterPDF(3))
	insertLetter(t, api, letterID(3), "pending-virus-check", fixtureNow.Add(-time.Hour))
	insertLetterFile(t, api, letterID(3), fakeLetterPDF(3))
	for _, tt := range []struct {
		name, path string
		want       int
	}{
		{"page 3 of 3", "/notifications/" + letterID(1) + "/letter/3.png", http.StatusOK},
		{"page 4 of 3", "/notifications/" + letterID(1) + "/letter/4.png", http.StatusNotFound},
		{"past retention", "/notifications/" + letterID(2) + "/letter.pdf", http.StatusNotFound},
		{"awaiting its virus scan", "/notifications/" + letterID(3) + "/letter.pdf", http.StatusNotFound},
	} {
		rec := api.getFile(t, api.signedAs(t, links, "/services/"+serviceA+tt.path, userViewer), "", nil)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, rec.Code, tt.want, rec.Body)
		}
	}
}

// A file that takes longer than the render deadline to render is answered 503.
func TestLetterFileRenderDeadline(t *testing.T) {
	t.Parallel()
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines(), letterRenderTimeout: 200 * time.Millisecond})
	insertLetterFile(t, api, notificationA5, []byte("%PDF-fake\npage 210 297 0\nslow\n"))
	link := api.signedAs(t, api.letters.LetterLinks, "/services/"+serviceA+"/notifications/"+notificationA5+"/letter/1.png", userViewer)
	started := time.Now()
	rec := api.getFile(t, link, "", nil)
	if rec.Code != http.StatusServiceUnavailable || time.Since(started) > 5*time.Second {
		t.Errorf("status %d after %v, want 503 soon after the deadline: %s", rec.Code, time.Since(started), rec.Body)
	}
}

// A page is rendered once and then served from the Redis cache until what makes it changes
// (here the stored verdict, which adds the overlay), when its key and ETag change too.
func TestLetterFilesCache(t *testing.T) {
	t.Parallel()
	engines := fakeLetterEngines()
	opens := engines.Reader.(fakePDFReader).opens
	api := newTestAPIWith(t, testAPIOptions{letters: engines})
	insertLetterFile(t, api, notificationA5, fakeLetterPDF(3))
	link := api.signedAs(t, api.letters.LetterLinks, "/services/"+serviceA+"/notifications/"+notificationA5+"/letter/2.png", userViewer)
	fetch := func() (string, []byte) {
		t.Helper()
		rec := api.getFile(t, link, "", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("page 2: %d %s", rec.Code, rec.Body)
		}
		return rec.Header().Get("ETag"), rec.Body.Bytes()
	}
	before := opens.Load()
	etag, first := fetch()
	if opens.Load() != before+1 {
		t.Fatalf("the first fetch opened %d documents, want 1", opens.Load()-before)
	}
	again, second := fetch()
	if opens.Load() != before+1 || again != etag || !bytes.Equal(first, second) {
		t.Errorf("the second fetch was rendered again (%d opens) or differs", opens.Load()-before)
	}
	if _, err := api.pool.Exec(t.Context(), `UPDATE notifications SET letter_validation =
		'{"message": "content-outside-printable-area", "invalid_pages": [2], "page_count": 3}' WHERE id = $1`, notificationA5); err != nil {
		t.Fatal(err)
	}
	overlaid, third := fetch()
	if opens.Load() != before+2 || overlaid == etag || bytes.Equal(first, third) {
		t.Errorf("with the overlay: %d opens, ETag %s (was %s)", opens.Load()-before, overlaid, etag)
	}
}
