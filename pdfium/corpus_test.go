package pdfium

import (
	"bytes"
	"compress/zlib"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The hostile corpus: small files committed under testdata/hostile, written by
//
//	go test ./pdfium/ -run TestWriteCorpus -update
//
// and the large ones, made at test time rather than committed.

var update = flag.Bool("update", false, "rewrite testdata/hostile")

// hostileFiles are the committed hostile files by name.
func hostileFiles() map[string][]byte {
	valid := makePDF(testPage{content: text("Hello", 30, 50, 12)}, testPage{content: text("World", 30, 50, 12)})
	nest := func(open, close string, depth int) string {
		return strings.Repeat(open, depth) + strings.Repeat(close, depth)
	}
	badXref := bytes.Replace(valid, []byte("xref\n0 "), []byte("xref\n9 "), 1)
	badXref = bytes.ReplaceAll(badXref, []byte(" 00000 n "), []byte(" 00007 n "))
	if i := bytes.LastIndex(badXref, []byte("startxref\n")); i > 0 {
		badXref = append(badXref[:i:i], []byte("startxref\n999999999\n%%EOF\n")...)
	}
	loop := &pdfBuilder{}
	loop.add("<</Type/Catalog/Pages 2 0 R>>")
	loop.add("<</Type/Pages/Kids[2 0 R 3 0 R]/Count 2>>")
	loop.add("<</Type/Pages/Kids[2 0 R 3 0 R]/Count 5>>")
	lying := &pdfBuilder{}
	lying.add("<</Type/Catalog/Pages 2 0 R>>")
	lying.add("<</Type/Pages/Kids[3 0 R]/Count 2147483647>>")
	lying.add(fmt.Sprintf("<</Type/Page/Parent 2 0 R/MediaBox[0 0 %g %g]>>", a4W, a4H))
	return map[string][]byte{
		"truncated.pdf":                valid[:len(valid)*2/5],
		"header-only.pdf":              []byte("%PDF-1.7\n"),
		"encrypted-user-password.pdf":  encryptedPDF("letmein"),
		"encrypted-owner-password.pdf": encryptedPDF(""),
		"not-a-pdf.txt":                []byte("Dear customer,\nthis is a letter, but not a PDF.\n"),
		"png-header.pdf":               append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...),
		"nested-arrays.pdf":            makePDF(testPage{extra: "/Deep " + nest("[", "]", 100_000)}),
		"nested-dicts.pdf":             makePDF(testPage{extra: "/Deep " + nest("<</A ", ">>", 50_000)}),
		"nested-content.pdf":           makePDF(testPage{content: strings.Repeat("q ", 100_000) + strings.Repeat("Q ", 100_000)}),
		"page-tree-loop.pdf":           loop.bytes(""),
		"lying-page-count.pdf":         lying.bytes(""),
		"malformed-xref.pdf":           badXref,
		"huge-mediabox.pdf":            makePDF(testPage{box: [4]float64{0, 0, 1e9, 1e9}}),
		"negative-mediabox.pdf":        makePDF(testPage{box: [4]float64{0, 0, -1e30, 0}}),
		"no-pages.pdf":                 (&pdfBuilder{objs: []string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[]/Count 0>>"}}).bytes(""),
	}
}

// generatedFiles are the hostile files too big to commit.
func generatedFiles() map[string][]byte {
	var bomb bytes.Buffer
	z, _ := zlib.NewWriterLevel(&bomb, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 1024 { // 1 GiB of content stream once inflated
		z.Write(zeros)
	}
	z.Close()
	b, _ := makeBuilder(testPage{})
	// Replace the page's content stream (object 6) with the deflate bomb.
	b.set(6, fmt.Sprintf("<</Filter/FlateDecode/Length %d>>\nstream\n%s\nendstream", bomb.Len(), bomb.String()))
	return map[string][]byte{
		"many-pages":   manyPages(maxPages + 1),
		"deflate-bomb": b.bytes(""),
	}
}

func TestWriteCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/hostile")
	}
	dir := filepath.Join("testdata", "hostile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range hostileFiles() {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readCorpus returns the committed files, failing when one is missing or stale.
func readCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	want := hostileFiles()
	got := map[string][]byte{}
	for name, data := range want {
		b, err := os.ReadFile(filepath.Join("testdata", "hostile", name))
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("testdata/hostile/%s is stale (run with -update)", name)
		}
		got[name] = b
	}
	return got
}
