package pdfium

import (
	"bytes"
	"crypto/md5"
	"crypto/rc4"
	"fmt"
	"strconv"
	"strings"
)

// A tiny PDF writer for tests: hand-made files whose every byte is known, so the tests can
// say where text was drawn and make the broken files of the hostile corpus.

const (
	a4W = 595.2756 // 210 mm in points
	a4H = 841.8898 // 297 mm in points
)

// num writes v as a PDF number, which has no exponent.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// mm converts millimetres to points.
func mm(v float64) float64 { return v / mmPerPoint }

type testPage struct {
	box     [4]float64 // media box in points; A4 portrait when zero
	rotate  int
	content string
	// inherit puts the media box on the page tree rather than the page.
	inherit bool
	// extra is added to the page dictionary as written.
	extra string
}

type pdfBuilder struct {
	objs []string // objs[i] is object i+1's body
}

func (b *pdfBuilder) add(body string) int {
	b.objs = append(b.objs, body)
	return len(b.objs)
}

func (b *pdfBuilder) set(n int, body string) { b.objs[n-1] = body }

func stream(dict, data string) string {
	return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data)
}

// bytes writes the file with a correct cross-reference table; trailerExtra goes into the
// trailer dictionary.
func (b *pdfBuilder) bytes(trailerExtra string) []byte {
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(b.objs))
	for i, o := range b.objs {
		offsets[i] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(b.objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n", len(b.objs)+1, trailerExtra, xref)
	return buf.Bytes()
}

// makePDF builds a document of pages; font F1 is Helvetica, and F2 is Helvetica whose
// code 'A' reads as the ligature U+FB01 through a ToUnicode map.
func makePDF(pages ...testPage) []byte {
	b, trailer := makeBuilder(pages...)
	return b.bytes(trailer)
}

func makeBuilder(pages ...testPage) (*pdfBuilder, string) {
	b := &pdfBuilder{}
	b.add("<</Type/Catalog/Pages 2 0 R>>")
	b.add("") // the page tree, written once the pages are
	f1 := b.add("<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>")
	cmap := b.add(stream("", "/CIDInit /ProcSet findresource begin 12 dict begin begincmap "+
		"/CMapName /T def 1 begincodespacerange <00> <FF> endcodespacerange "+
		"1 beginbfchar <41> <FB01> endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"))
	f2 := b.add(fmt.Sprintf("<</Type/Font/Subtype/Type1/BaseFont/Helvetica/ToUnicode %d 0 R>>", cmap))
	var kids []string
	treeBox := ""
	for _, p := range pages {
		box := p.box
		if box == [4]float64{} {
			box = [4]float64{0, 0, a4W, a4H}
		}
		boxStr := fmt.Sprintf("/MediaBox[%s %s %s %s]", num(box[0]), num(box[1]), num(box[2]), num(box[3]))
		if p.inherit {
			treeBox, boxStr = boxStr, ""
		}
		rot := ""
		if p.rotate != 0 {
			rot = fmt.Sprintf("/Rotate %d", p.rotate)
		}
		c := b.add(stream("", p.content))
		n := b.add(fmt.Sprintf("<</Type/Page/Parent 2 0 R%s%s/Resources<</Font<</F1 %d 0 R/F2 %d 0 R>>>>/Contents %d 0 R%s>>",
			boxStr, rot, f1, f2, c, p.extra))
		kids = append(kids, fmt.Sprintf("%d 0 R", n))
	}
	b.set(2, fmt.Sprintf("<</Type/Pages/Kids[%s]/Count %d%s>>", strings.Join(kids, " "), len(kids), treeBox))
	return b, ""
}

// text draws s with font F1 at size pt, its baseline starting at (x, y) millimetres from
// the top-left of an A4 portrait page.
func text(s string, xMM, yMM, size float64) string {
	return fmt.Sprintf("BT /F1 %g Tf %.3f %.3f Td (%s) Tj ET\n", size, mm(xMM), a4H-mm(yMM), s)
}

// encryptedPDF is a one-page file encrypted with the standard security handler, revision
// 2 (RC4, 40 bits). With userPassword empty PDFium opens it; otherwise it asks for one.
func encryptedPDF(userPassword string) []byte {
	pad := []byte("\x28\xbf\x4e\x5e\x4e\x75\x8a\x41\x64\x00\x4e\x56\xff\xfa\x01\x08" +
		"\x2e\x2e\x00\xb6\xd0\x68\x3e\x80\x2f\x0c\xa9\xfe\x64\x53\x69\x7a")
	padded := func(pw string) []byte { return append([]byte(pw), pad...)[:32] }
	rc4x := func(key, data []byte) []byte {
		c, _ := rc4.NewCipher(key)
		out := make([]byte, len(data))
		c.XORKeyStream(out, data)
		return out
	}
	ok := md5.Sum(padded("owner-secret"))
	o := rc4x(ok[:5], padded(userPassword))
	id := []byte("0123456789abcdef")
	p := int32(-4) // every permission
	h := md5.New()
	h.Write(padded(userPassword))
	h.Write(o)
	h.Write([]byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)})
	h.Write(id)
	key := h.Sum(nil)[:5]
	u := rc4x(key, pad)
	b, _ := makeBuilder(testPage{})
	enc := b.add(fmt.Sprintf("<</Filter/Standard/V 1/R 2/O<%x>/U<%x>/P %d>>", o, u, p))
	return b.bytes(fmt.Sprintf("/Encrypt %d 0 R/ID[<%x><%x>]", enc, id, id))
}

// manyPages is a document of n pages sharing one content stream.
func manyPages(n int) []byte {
	b := &pdfBuilder{}
	b.add("<</Type/Catalog/Pages 2 0 R>>")
	b.add("")
	c := b.add(stream("", "0 0 m 10 10 l S"))
	var kids strings.Builder
	for range n {
		k := b.add(fmt.Sprintf("<</Type/Page/Parent 2 0 R/Contents %d 0 R>>", c))
		fmt.Fprintf(&kids, "%d 0 R ", k)
	}
	b.set(2, fmt.Sprintf("<</Type/Pages/Kids[%s]/Count %d/MediaBox[0 0 %g %g]>>", kids.String(), n, a4W, a4H))
	return b.bytes("")
}
