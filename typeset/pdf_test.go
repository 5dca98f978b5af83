package typeset

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-fonts/liberation/liberationsansregular"
	qrcode "github.com/skip2/go-qrcode"

	"notifyql"
)

// pageStreams inflates the PDF's compressed streams: page contents and font files.
func pageStreams(t *testing.T, pdf []byte) []string {
	t.Helper()
	var out []string
	re := regexp.MustCompile(`(?s)/Filter /FlateDecode[^>]*>>\nstream\n`)
	for _, loc := range re.FindAllIndex(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(pdf[loc[1]:]))
		if err != nil {
			t.Fatalf("inflate: %v", err)
		}
		b, err := io.ReadAll(r)
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("inflate: %v", err)
		}
		out = append(out, string(b))
	}
	return out
}

// infoDictionary is the text of the PDF's document information dictionary.
func infoDictionary(t *testing.T, pdf []byte) string {
	t.Helper()
	m := regexp.MustCompile(`/Info (\d+) 0 R`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no /Info in the trailer")
	}
	obj := regexp.MustCompile(`(?s)\n` + string(m[1]) + ` 0 obj\n<<(.*?)>>\nendobj`).FindSubmatch(pdf)
	if obj == nil {
		t.Fatal("no information dictionary")
	}
	return string(obj[1])
}

func TestMetadataIsTheProducerAlone(t *testing.T) {
	pdf, _ := mustTypeset(t, mustNew(t), t26())
	info := strings.Fields(infoDictionary(t, pdf))
	if strings.Join(info, " ") != "/Producer (notifyql)" {
		t.Errorf("information dictionary %q, want the producer alone", info)
	}
	for _, forbidden := range []string{"CreationDate", "ModDate", "/Metadata", "/Title", "/Author", "/Creator"} {
		if bytes.Contains(pdf, []byte(forbidden)) {
			t.Errorf("the PDF holds %s", forbidden)
		}
	}
}

// Identical input gives identical bytes, whenever and however concurrently it is typeset.
func TestOutputIsDeterministic(t *testing.T) {
	ts := mustNew(t)
	doc := zoneDocuments()["bilingual"]
	want, _ := mustTypeset(t, ts, doc)
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for i := range got {
		wg.Go(func() {
			pdf, _, err := ts.Typeset(context.Background(), doc)
			if err != nil {
				t.Error(err)
			}
			got[i] = pdf
		})
	}
	wg.Wait()
	for i, g := range got {
		if !bytes.Equal(g, want) {
			t.Errorf("run %d differs from the first (%d and %d bytes)", i, len(g), len(want))
		}
	}
}

// The fonts are embedded as subsets of the glyphs drawn, not whole.
func TestFontsAreEmbeddedAsSubsets(t *testing.T) {
	pdf, _ := mustTypeset(t, mustNew(t), t26())
	if strings.Count(string(pdf), "/FontFile2") != 2 {
		t.Errorf("%d embedded font files, want 2", strings.Count(string(pdf), "/FontFile2"))
	}
	if len(pdf) > len(liberationsansregular.TTF)/4 {
		t.Errorf("a one-page letter is %d bytes, the regular font alone %d: the fonts are not subset", len(pdf), len(liberationsansregular.TTF))
	}
}

// Markers are drawn on #FFDD00 and QR codes as vector rectangles, never images.
func TestMarkersAndQRCodesAreDrawn(t *testing.T) {
	ts := mustNew(t)
	doc := letter(
		notifyql.LetterBlock{Kind: notifyql.LetterParagraph, Lines: []notifyql.LetterLine{{{Text: "Hi "}, {Text: "((name))", Marker: true}}}},
		notifyql.LetterBlock{Kind: notifyql.LetterQRCode, QRData: "https://example.com/pay"},
		notifyql.LetterBlock{Kind: notifyql.LetterQRPlaceholder, Lines: []notifyql.LetterLine{{{Text: "((var))", Marker: true}}}},
	)
	l := mustLayout(t, ts, doc)
	var highlights, qrs, frames []box
	texts := map[string]box{}
	for _, b := range l.boxes {
		switch b.kind {
		case boxHighlight:
			highlights = append(highlights, b)
		case boxQR:
			qrs = append(qrs, b)
		case boxFrame:
			frames = append(frames, b)
		case boxText:
			texts[b.text] = b
		}
	}
	if len(highlights) != 2 {
		t.Fatalf("%d highlights, want 2", len(highlights))
	}
	for i, name := range []string{"((name))", "((var))"} {
		h, tb := highlights[i], texts[name]
		if !near(h.x, tb.x) || !near(h.w, tb.w) || h.y < tb.y || h.y+h.h > tb.y+tb.h {
			t.Errorf("highlight %+v does not lie under %q %+v", h, name, tb)
		}
	}
	if len(qrs) != 1 || qrs[0].w != 30 || qrs[0].h != 30 || qrs[0].x != columnLeft {
		t.Fatalf("QR boxes %+v, want one 30 mm square at the column's left", qrs)
	}
	want, err := qrcode.New("https://example.com/pay", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	if got, bits := len(qrs[0].qr), len(want.Bitmap()); got != bits {
		t.Errorf("QR of %d modules, want %d (level M)", got, bits)
	}
	if len(frames) != 1 {
		t.Fatalf("%d dashed boxes, want 1", len(frames))
	}
	f, v := frames[0], texts["((var))"]
	if f.w < 30 || f.h < 30 || v.x < f.x || v.x+v.w > f.x+f.w || v.y < f.y || v.y+v.h > f.y+f.h {
		t.Errorf("the placeholder's box %+v does not hold its text %+v at least 30 mm square", f, v)
	}

	pdf, _ := mustTypeset(t, ts, doc)
	content := strings.Join(pageStreams(t, pdf), "\n")
	if !strings.Contains(content, "1.000 0.867 0.000 rg") {
		t.Error("no #FFDD00 fill in the page content")
	}
	if strings.Count(content, " re f") < 50 {
		t.Errorf("%d filled rectangles: the QR code is not drawn as vectors", strings.Count(content, " re f"))
	}
	if !regexp.MustCompile(`\[[0-9. ]+\] 0(\.0+)? d`).MatchString(content) {
		t.Error("no dash pattern: the placeholder's box is not dashed")
	}
	if bytes.Contains(pdf, []byte("/Subtype /Image")) {
		t.Error("the PDF holds an image")
	}
}

func TestEmptyDocumentsAndBadQRDataAreErrors(t *testing.T) {
	ts := mustNew(t)
	if _, _, err := ts.Typeset(context.Background(), notifyql.LetterDocument{}); err == nil {
		t.Error("a document with no parts was typeset")
	}
	secret := strings.Repeat("secret", 1000)
	_, _, err := ts.Typeset(context.Background(), letter(notifyql.LetterBlock{Kind: notifyql.LetterQRCode, QRData: secret}))
	if err == nil {
		t.Fatal("QR data beyond any QR code's capacity was typeset")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error quotes the letter: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := ts.Typeset(ctx, t26()); err == nil {
		t.Error("a cancelled context still typeset")
	}
}
