package seedletters

import (
	"bytes"
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

// pageObject matches a page object of the uncompressed object structure fpdf writes
// (only content streams are compressed), and not the page tree's /Type /Pages.
var pageObject = regexp.MustCompile(`/Type /Page\b[^s]`)

func TestEveryLetterIsEmbedded(t *testing.T) {
	embedded, err := fs.Glob(files, "*.pdf")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, l := range Letters {
		listed = append(listed, l.File)
		pdf := l.PDF()
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[len(pdf)-64:], []byte("%%EOF")) {
			t.Errorf("%s is not a whole PDF", l.File)
		}
		if n := len(pageObject.FindAll(pdf, -1)); n != l.Pages {
			t.Errorf("%s has %d page objects, want %d", l.File, n, l.Pages)
		}
		// Seeding copies a file per uploaded letter: they must stay small.
		if len(pdf) > 12<<10 {
			t.Errorf("%s is %d bytes, want at most 12 KiB", l.File, len(pdf))
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, embedded) {
		t.Errorf("listed files %v, embedded files %v", listed, embedded)
	}
}

func TestFactsAgree(t *testing.T) {
	for _, l := range Letters {
		switch {
		case l.Valid() && (len(l.Landscape) > 0 || len(l.Margins) > 0 || l.Pages > 10 || len(l.Address) < 3):
			t.Errorf("%s is listed as valid but has a fault", l.File)
		case l.Message == "letter-not-a4-portrait-oriented" && !slices.Equal(l.InvalidPages, l.Landscape):
			t.Errorf("%s: invalid pages %v, landscape pages %v", l.File, l.InvalidPages, l.Landscape)
		case l.Message == "content-outside-printable-area" && !slices.Equal(l.InvalidPages, l.Margins):
			t.Errorf("%s: invalid pages %v, pages with margin content %v", l.File, l.InvalidPages, l.Margins)
		case l.Message == "letter-too-long" && l.Pages <= 10:
			t.Errorf("%s: too long at %d pages", l.File, l.Pages)
		case l.Message == "address-is-empty" && len(l.Address) > 0:
			t.Errorf("%s: empty address with %d lines", l.File, len(l.Address))
		case !l.Valid() && l.InvalidPages == nil:
			t.Errorf("%s: invalid_pages must be a list, [] for none", l.File)
		}
	}
}
