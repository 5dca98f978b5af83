package notifyql

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakePage is a page as a PDF reader would report it: its box, the rectangles (in mm, as
// displayed) where it is not white, and its words.
type fakePage struct {
	box   PageBox
	marks []mmRect
	words []PDFWord
}

// fakePDF stands in for the PDF engine: it is both the reader and the open document, and
// records what validation asked of it.
type fakePDF struct {
	pages     []fakePage
	openErr   error
	failPage  int    // a page whose Render, PageBox or Words fails
	failWhat  string // "render", "box" or "words"
	onRender  func(page int)
	boxesRead int
	rendered  []int
	closed    bool
}

var _ PDFReader = (*fakePDF)(nil)
var _ PDFDocument = (*fakePDF)(nil)

func (f *fakePDF) Open(ctx context.Context, pdf []byte) (PDFDocument, error) {
	if f.openErr != nil {
		return nil, f.openErr
	}
	return f, nil
}

func (f *fakePDF) PageCount() int { return len(f.pages) }

func (f *fakePDF) page(n int, what string) (fakePage, error) {
	if n < 1 || n > len(f.pages) {
		return fakePage{}, fmt.Errorf("no page %d", n)
	}
	if n == f.failPage && what == f.failWhat {
		return fakePage{}, fmt.Errorf("%s of page %d: %w", what, n, ErrUnreadablePDF)
	}
	return f.pages[n-1], nil
}

func (f *fakePDF) PageBox(n int) (PageBox, error) {
	f.boxesRead++
	p, err := f.page(n, "box")
	return p.box, err
}

func (f *fakePDF) Render(ctx context.Context, n int, dpi float64) (*image.RGBA, error) {
	f.rendered = append(f.rendered, n)
	if f.onRender != nil {
		f.onRender(n)
	}
	p, err := f.page(n, "render")
	if err != nil {
		return nil, err
	}
	w, h := p.box.DisplayedSize()
	img := image.NewRGBA(image.Rect(0, 0, mmToPx(w, dpi), mmToPx(h, dpi)))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, m := range p.marks {
		paint(img, m, dpi, func(px []uint8) { px[0], px[1], px[2] = 0, 0, 0 })
	}
	return img, nil
}

func (f *fakePDF) Words(ctx context.Context, n int) ([]PDFWord, error) {
	p, err := f.page(n, "words")
	return p.words, err
}

func (f *fakePDF) Close() error {
	f.closed = true
	return nil
}

var a4Box = PageBox{WidthMM: 210, HeightMM: 297}

// addressWords lays lines out as words in the address window, 8 pt on 8.5 pt, from x 25.
func addressWords(lines ...string) []PDFWord {
	var words []PDFWord
	for i, line := range lines {
		baseline := 45 + 3*float64(i)
		x := 25.0
		for _, text := range strings.Fields(line) {
			width := 1.6 * float64(len([]rune(text)))
			words = append(words, PDFWord{Text: text, Left: x, Right: x + width, Top: baseline - 2.2, Bottom: baseline + 0.6,
				Baseline: baseline, FontSize: 2.8})
			x += width + 1
		}
	}
	return words
}

// letter is a valid page 1 with an address, and plain A4 pages after it.
func uploadedLetter(pages int) []fakePage {
	ps := []fakePage{{box: a4Box, words: addressWords("Jo Bloggs", "1 Road", "SW1A 1AA"),
		marks: []mmRect{{25, 45, 60, 55}, {20, 100, 190, 280}, {130, 10, 190, 90}, {20, 10, 100, 25}}}}
	for range pages - 1 {
		ps = append(ps, fakePage{box: a4Box, marks: []mmRect{{15.5, 5.5, 194.5, 291.5}}})
	}
	return ps
}

func withUploadPage(pages []fakePage, n int, f func(*fakePage)) []fakePage {
	f(&pages[n-1])
	return pages
}

func pageCountPtr(n int) *int { return &n }

func TestValidateLetterPDF(t *testing.T) {
	unreadable := UploadValidation{Errors: []LetterValidationError{{Code: "unable-to-read-the-file",
		Title: "There’s a problem with your file", Summary: "Validation failed because Notify cannot read this PDF. Save a new copy of your file and try again.",
		Pages: []int{}}}}
	failing := func(count int, code string, pages ...int) UploadValidation {
		return UploadValidation{PageCount: pageCountPtr(count), Errors: []LetterValidationError{letterValidationError(code, pages, count)}}
	}
	passing := func(count int) UploadValidation {
		return UploadValidation{PageCount: pageCountPtr(count), Errors: []LetterValidationError{}}
	}
	tests := []struct {
		name          string
		pdf           *fakePDF
		international bool
		want          UploadValidation
		wantRendered  []int
	}{
		{"a valid letter", &fakePDF{pages: uploadedLetter(3)}, false, passing(3), []int{1, 2, 3}},
		{"T31: one blank A4 page", &fakePDF{pages: []fakePage{{box: a4Box}}}, false,
			UploadValidation{PageCount: pageCountPtr(1), Errors: []LetterValidationError{{Code: "address-is-empty",
				Title: "The address block is empty", Summary: "Validation failed because the address block is empty.", Pages: []int{1}}}},
			[]int{1}},
		{"the reader cannot open the file", &fakePDF{openErr: fmt.Errorf("open: %w", ErrUnreadablePDF)}, false, unreadable, nil},
		{"no pages", &fakePDF{}, false, unreadable, nil},
		{"a page box cannot be read", &fakePDF{pages: uploadedLetter(2), failPage: 2, failWhat: "box"}, false, unreadable, nil},
		{"a page cannot be rendered", &fakePDF{pages: uploadedLetter(3), failPage: 2, failWhat: "render"}, false, unreadable, []int{1, 2}},
		{"words cannot be read", &fakePDF{pages: uploadedLetter(2), failPage: 1, failWhat: "words"}, false, unreadable, []int{1, 2}},
		{"11 pages: too long, nothing read", &fakePDF{pages: uploadedLetter(11)}, false, failing(11, "letter-too-long"), nil},
		{"10 pages are fine", &fakePDF{pages: uploadedLetter(10)}, false, passing(10), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"a landscape page: never rasterised", &fakePDF{pages: withUploadPage(uploadedLetter(3), 2, func(p *fakePage) { p.box = PageBox{WidthMM: 297, HeightMM: 210} })},
			false, failing(3, "letter-not-a4-portrait-oriented", 2), nil},
		{"landscape turned a quarter is portrait as displayed", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.box = PageBox{WidthMM: 297, HeightMM: 210, Rotate: 90} })},
			false, passing(2), []int{1, 2}},
		{"portrait turned a quarter is landscape as displayed", &fakePDF{pages: withUploadPage(withUploadPage(uploadedLetter(3), 1, func(p *fakePage) { p.box.Rotate = 270 }), 3, func(p *fakePage) { p.box.Rotate = 90 })},
			false, failing(3, "letter-not-a4-portrait-oriented", 1, 3), nil},
		{"upside down is portrait", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.box.Rotate = 180 })}, false, passing(2), []int{1, 2}},
		{"within 2 mm of A4", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.box = PageBox{WidthMM: 211.9, HeightMM: 295.1} })}, false, passing(2), []int{1, 2}},
		{"more than 2 mm from A4", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.box = PageBox{WidthMM: 212.1, HeightMM: 297} })},
			false, failing(2, "letter-not-a4-portrait-oriented", 2), nil},
		{"an odd /Rotate", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) { p.box.Rotate = 45 })},
			false, failing(1, "letter-not-a4-portrait-oriented", 1), nil},
		{"A5", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) { p.box = PageBox{WidthMM: 148, HeightMM: 210} })},
			false, failing(1, "letter-not-a4-portrait-oriented", 1), nil},
		{"content in the margin of page 3 only", &fakePDF{pages: withUploadPage(uploadedLetter(4), 3, func(p *fakePage) { p.marks = append(p.marks, mmRect{5, 100, 8, 110}) })},
			false, failing(4, "content-outside-printable-area", 3), []int{1, 2, 3, 4}},
		{"content within 1 mm of the printable area is allowed", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.marks = append(p.marks, mmRect{14.2, 4.2, 195.8, 292.8}) })},
			false, passing(2), []int{1, 2}},
		{"content more than 1 mm out is not", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.marks = append(p.marks, mmRect{100, 280, 110, 293.5}) })},
			false, failing(2, "content-outside-printable-area", 2), []int{1, 2}},
		{"page 1 left of the address window", &fakePDF{pages: withUploadPage(uploadedLetter(2), 1, func(p *fakePage) { p.marks = append(p.marks, mmRect{16, 40, 22, 50}) })},
			false, failing(2, "content-outside-printable-area", 1), []int{1, 2}},
		{"the same content on page 2 is fine", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) { p.marks = append(p.marks, mmRect{16, 40, 22, 50}) })},
			false, passing(2), []int{1, 2}},
		{"pages 1 and 3 outside", &fakePDF{pages: withUploadPage(withUploadPage(uploadedLetter(3), 3, func(p *fakePage) { p.marks = append(p.marks, mmRect{196.5, 10, 200, 20}) }),
			1, func(p *fakePage) { p.marks = append(p.marks, mmRect{50, 70, 60, 80}) })},
			false, failing(3, "content-outside-printable-area", 1, 3), []int{1, 2, 3}},
		{"NOTIFY tag on page 2", &fakePDF{pages: withUploadPage(uploadedLetter(3), 2, func(p *fakePage) {
			p.words = append(p.words, PDFWord{Text: "NOTIFY", Left: 1.5, Top: 1.5, Right: 13, Bottom: 5, Baseline: 4.5, FontSize: 4})
		})}, false, failing(3, "notify-tag-found-in-content", 2), []int{1, 2, 3}},
		{"NOTIFY elsewhere on page 2, or in another case, is content", &fakePDF{pages: withUploadPage(uploadedLetter(2), 2, func(p *fakePage) {
			p.words = append(p.words, PDFWord{Text: "NOTIFY", Left: 50, Top: 50, Right: 63, Bottom: 54, Baseline: 53, FontSize: 4},
				PDFWord{Text: "Notify", Left: 1.5, Top: 1.5, Right: 13, Bottom: 5, Baseline: 4.5, FontSize: 4})
		})}, false, passing(2), []int{1, 2}},
		{"NOTIFY tag on page 1 is not checked", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) {
			p.words = append(p.words, PDFWord{Text: "NOTIFY", Left: 1.5, Top: 1.5, Right: 13, Bottom: 5, Baseline: 4.5, FontSize: 4})
		})}, false, passing(1), []int{1}},
		{"words outside the extraction box are not the address", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) {
			p.words = []PDFWord{{Text: "Jo", Left: 130, Top: 40, Right: 135, Bottom: 43, Baseline: 42, FontSize: 3}}
		})}, false, failing(1, "address-is-empty", 1), []int{1}},
		{"an international address without the feature", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) {
			p.words = addressWords("Jo Bloggs", "1 Rue", "Paris", "France")
		})}, false, failing(1, "cant-send-international-letters", 1), []int{1}},
		{"an international address with the feature", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) {
			p.words = addressWords("Jo Bloggs", "1 Rue", "Paris", "France")
		})}, true, passing(1), []int{1}},
		{"not a postcode", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) { p.words = addressWords("Jo Bloggs", "1 Road", "London") })},
			false, failing(1, "not-a-real-uk-postcode", 1), []int{1}},
		{"two address lines", &fakePDF{pages: withUploadPage(uploadedLetter(1), 1, func(p *fakePage) { p.words = addressWords("Jo Bloggs", "SW1A 1AA") })},
			false, failing(1, "not-enough-address-lines", 1), []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateLetterPDF(context.Background(), tt.pdf, []byte("%PDF"), tt.international)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateLetterPDF (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRendered, tt.pdf.rendered); diff != "" {
				t.Errorf("pages rasterised (-want +got):\n%s", diff)
			}
			if tt.pdf.openErr == nil && !tt.pdf.closed {
				t.Error("the document was not closed")
			}
		})
	}
}

func TestValidateLetterPDFReadsNothingPastTenPages(t *testing.T) {
	pdf := &fakePDF{pages: uploadedLetter(99)}
	got := ValidateLetterPDF(context.Background(), pdf, nil, false)
	if got.PageCount == nil || *got.PageCount != 99 || got.Errors[0].Code != "letter-too-long" {
		t.Fatalf("got %+v, want letter-too-long for 99 pages", got)
	}
	if pdf.boxesRead != 0 || len(pdf.rendered) != 0 {
		t.Errorf("read %d page boxes and rendered %d pages of a letter too long to check", pdf.boxesRead, len(pdf.rendered))
	}
}

func TestValidateLetterPDFDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := ValidateLetterPDF(ctx, &fakePDF{pages: uploadedLetter(1)}, nil, false); got.PageCount != nil || got.Errors[0].Code != "unable-to-read-the-file" {
		t.Errorf("with the deadline passed: got %+v, want unreadable", got)
	}

	// The deadline passes while page 2 is rendered: the letter is unreadable, and no more
	// pages are rendered.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	pdf := &fakePDF{pages: uploadedLetter(4), onRender: func(page int) {
		if page == 2 {
			cancel()
		}
	}}
	got := ValidateLetterPDF(ctx, pdf, nil, false)
	if got.PageCount != nil || got.Errors[0].Code != "unable-to-read-the-file" {
		t.Errorf("deadline during rendering: got %+v, want unreadable", got)
	}
	if diff := cmp.Diff([]int{1, 2}, pdf.rendered); diff != "" {
		t.Errorf("pages rendered (-want +got):\n%s", diff)
	}
}

func TestAddressTextOrdersWordsByLine(t *testing.T) {
	words := addressWords("Flat 2", "10 Downing Street", "London", "SW1A 2AA")
	// A superscript sits a little above its line, and extraction order is arbitrary.
	words[1].Baseline -= 1
	words[4].Baseline += 1.2
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	words = append(words, PDFWord{Text: "Ref:", Left: 130, Right: 140, Top: 40, Bottom: 43, Baseline: 42, FontSize: 3})
	if got, want := addressText(words), "Flat 2\n10 Downing Street\nLondon\nSW1A 2AA"; got != want {
		t.Errorf("addressText = %q, want %q", got, want)
	}
}

func TestRenderLetterPage(t *testing.T) {
	black := &fakePDF{pages: []fakePage{
		{box: a4Box, marks: []mmRect{{0, 0, 210, 297}}},
		{box: a4Box, marks: []mmRect{{0, 0, 210, 297}}},
	}}
	at := func(img *image.RGBA, x, y int) [4]uint8 {
		i := img.PixOffset(x, y)
		return [4]uint8(img.Pix[i : i+4])
	}
	white, dark := [4]uint8{255, 255, 255, 255}, [4]uint8{0, 0, 0, 255}

	img, err := RenderLetterPage(context.Background(), black, 1, LetterPageOptions{HideNotifyTag: true})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Rect; b.Dx() != 1240 || b.Dy() != 1754 {
		t.Errorf("page image is %v, want 1240 × 1754", b)
	}
	for _, c := range []struct {
		x, y int
		want [4]uint8
	}{{0, 0, white}, {129, 49, white}, {130, 49, dark}, {129, 50, dark}, {600, 900, dark}} {
		if got := at(img, c.x, c.y); got != c.want {
			t.Errorf("page 1 with the tag hidden: pixel (%d, %d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	img, _ = RenderLetterPage(context.Background(), black, 2, LetterPageOptions{HideNotifyTag: true})
	if got := at(img, 0, 0); got != dark {
		t.Errorf("the tag is hidden on page 1 only: page 2's (0, 0) = %v", got)
	}

	plain := &fakePDF{pages: []fakePage{{box: a4Box}, {box: a4Box}}}
	tinted, inside := [4]uint8{255, 204, 204, 255}, white
	for page, checks := range map[int][]struct {
		x, y int
		want [4]uint8
	}{
		1: {{0, 0, tinted}, {1239, 1753, tinted}, {600, 10, tinted}, {100, 300, tinted}, {600, 500, tinted}, {600, 300, inside}, {600, 1000, inside}},
		2: {{0, 0, tinted}, {1239, 1753, tinted}, {600, 10, tinted}, {100, 300, inside}, {600, 500, inside}, {600, 1000, inside}},
	} {
		img, err := RenderLetterPage(context.Background(), plain, page, LetterPageOptions{Overlay: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if got := at(img, c.x, c.y); got != c.want {
				t.Errorf("page %d overlay: pixel (%d, %d) = %v, want %v", page, c.x, c.y, got, c.want)
			}
		}
	}

	if _, err := RenderLetterPage(context.Background(), &fakePDF{pages: uploadedLetter(1), failPage: 1, failWhat: "render"}, 1, LetterPageOptions{}); !errors.Is(err, ErrUnreadablePDF) {
		t.Errorf("a render failure: err = %v, want it wrapped", err)
	}
}

func TestLetterPageSize(t *testing.T) {
	for _, c := range []struct {
		box  PageBox
		w, h int
	}{
		{a4Box, 1240, 1754},
		{PageBox{WidthMM: 297, HeightMM: 210, Rotate: 90}, 1240, 1754},
		{PageBox{WidthMM: 297, HeightMM: 210}, 1754, 1240},
		{PageBox{WidthMM: 148, HeightMM: 210, Rotate: 180}, 874, 1240},
	} {
		if w, h := LetterPageSize(c.box); w != c.w || h != c.h {
			t.Errorf("LetterPageSize(%+v) = %d × %d, want %d × %d", c.box, w, h, c.w, c.h)
		}
	}
}

func TestStoredAndTemplatedLetterErrors(t *testing.T) {
	if got := StoredLetterValidationErrors(nil); got != nil {
		t.Errorf("no stored validation: got %v", got)
	}
	got := StoredLetterValidationErrors(&LetterValidation{Message: "content-outside-printable-area", InvalidPages: []int{10, 1, 10}, PageCount: 12})
	want := []LetterValidationError{{Code: "content-outside-printable-area", Title: "Your content is outside the printable area",
		Summary: "Validation failed because content is outside the printable area on pages 1 and 10.", Pages: []int{1, 10}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored validation (-want +got):\n%s", diff)
	}
	got = StoredLetterValidationErrors(&LetterValidation{Message: "no-encoded-string"})
	want = []LetterValidationError{{Code: "no-encoded-string", Title: "Sanitise failed - No encoded string", Pages: []int{}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored validation without pages or summary (-want +got):\n%s", diff)
	}

	for _, n := range []int{0, 1, 10} {
		if got := TemplatedLetterErrors(n, nil); got != nil {
			t.Errorf("TemplatedLetterErrors(%d) = %v, want none", n, got)
		}
	}
	for _, n := range []int{11, 99} {
		want := []LetterValidationError{{Code: "letter-too-long", Title: "Your letter is too long",
			Summary: fmt.Sprintf("Validation failed because this letter is %d pages long. Letters must be 10 pages or less (5 double-sided sheets of paper).", n),
			Pages:   []int{}}}
		if diff := cmp.Diff(want, TemplatedLetterErrors(n, nil)); diff != "" {
			t.Errorf("TemplatedLetterErrors(%d) (-want +got):\n%s", n, diff)
		}
	}
	stored := &LetterValidation{Message: "letter-not-a4-portrait-oriented", InvalidPages: []int{2}, PageCount: 12}
	if diff := cmp.Diff(StoredLetterValidationErrors(stored), TemplatedLetterErrors(12, stored)); diff != "" {
		t.Errorf("a stored validation takes precedence (-want +got):\n%s", diff)
	}
}

// FuzzValidateLetterPDF feeds arbitrary words and page boxes to the rules: they never
// panic, report at most one error, and only errors that have texts.
func FuzzValidateLetterPDF(f *testing.F) {
	f.Add("Jo Bloggs\n1 Road\nSW1A 1AA", 25.0, 45.0, 2.8, 210.0, 297.0, 0, 2)
	f.Add("NOTIFY", 1.0, 1.0, 4.0, 297.0, 210.0, 90, 3)
	f.Add("", -1e308, 1e308, -3.0, 0.0, 0.0, 45, 0)
	f.Fuzz(func(t *testing.T, text string, left, baseline, size, width, height float64, rotate, pages int) {
		// Up to 3 pages are rasterised at 200 dpi per run, which is slow; 11 is too long.
		if pages = max(pages, 0); pages > 3 {
			pages = 11
		}
		box := PageBox{WidthMM: width, HeightMM: height, Rotate: rotate}
		var words []PDFWord
		for i, w := range strings.Fields(text) {
			x := left + 5*float64(i)
			words = append(words, PDFWord{Text: w, Left: x, Right: x + 4, Top: baseline - size, Bottom: baseline,
				Baseline: baseline + float64(i%3), FontSize: size})
		}
		pdf := &fakePDF{}
		for range pages {
			// The fake draws pages at their size: keep the images small.
			b := box
			b.WidthMM, b.HeightMM = min(max(b.WidthMM, 0), 300), min(max(b.HeightMM, 0), 300)
			pdf.pages = append(pdf.pages, fakePage{box: b, words: words})
		}
		got := ValidateLetterPDF(context.Background(), pdf, nil, rotate%2 == 0)
		if len(got.Errors) > 1 {
			t.Fatalf("%d errors, want at most one", len(got.Errors))
		}
		for _, e := range got.Errors {
			if e.Title == "Validation failed" || e.Pages == nil {
				t.Fatalf("error %+v has no text or a nil page list", e)
			}
		}
		if (got.PageCount == nil) != (len(got.Errors) == 1 && got.Errors[0].Code == "unable-to-read-the-file") {
			t.Fatalf("page count %v with errors %+v", got.PageCount, got.Errors)
		}
	})
}

// The overlay shows exactly what the allowed zones leave out: every point of the page is
// in one or the other, never both.
func TestOverlayIsTheComplementOfTheAllowedZones(t *testing.T) {
	in := func(r mmRect, x, y float64) bool { return x >= r.X0 && x <= r.X1 && y >= r.Y0 && y <= r.Y1 }
	for _, page := range []int{1, 2} {
		for x := 0.05; x < 210; x += 0.2 {
			for y := 0.05; y < 297; y += 0.2 {
				allowed := slices.ContainsFunc(allowedZones(page), func(r mmRect) bool { return in(r, x, y) })
				overlaid := slices.ContainsFunc(overlayAreas(page), func(r mmRect) bool { return in(r, x, y) })
				if allowed == overlaid {
					t.Fatalf("page %d, (%.2f, %.2f) mm: allowed %v, overlaid %v", page, x, y, allowed, overlaid)
				}
			}
		}
	}
}
