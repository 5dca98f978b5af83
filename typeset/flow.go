package typeset

import (
	"errors"
	"fmt"
	"strconv"

	"notifyql"

	qrcode "github.com/skip2/go-qrcode"
)

// Geometry of RENDERING.md §5.5, in millimetres from the page's top-left corner.
const (
	pageWidth, pageHeight = 210.0, 297.0

	columnLeft, columnRight = 15.0, 152.5
	firstPageTop, otherTop  = 104.0, 15.0
	columnBottom            = 282.0

	addressLeft, addressRight, addressBottom = 24.6, 109.6, 66.2
	addressMaxLines                          = 7

	contactLeft, contactBottom = 125.0, 82.2
	contactWidth               = 70.0
	contactMaxLines            = 11

	footerRight, footerBaseline = 195.0, 289.0

	// blockSpace follows each top-level block: 16 pt.
	blockSpace = 16 * ptToMM
	// listIndent is the indent of each list level, which holds its bullet or number.
	listIndent = 7.0
	// markerGap separates a list item's bullet or number from its text.
	markerGap = 1.5
	// minTextWidth bounds nesting: a list level that would leave less room than this for its
	// text is not indented further, so deep nesting cannot squeeze text to nothing.
	minTextWidth = 40.0

	qrSize = 30.0
	// framePad is the space between a QR placeholder's dashed box and its text.
	framePad = 2.0
)

type rowKind int

const (
	rowText rowKind = iota
	rowQR
	// rowPad is empty space inside a QR placeholder's box.
	rowPad
	// rowBreak is a page break: no height, and the row after it starts a new page.
	rowBreak
)

// row is one unbreakable strip of the content flow: a line of text, a QR code or padding.
// Pagination places rows; the constraints on where pages may break live on the rows.
type row struct {
	kind rowKind
	h    float64
	x    float64
	line textLine
	st   textStyle
	// marks are the list bullets or numbers drawn on the row: more than one when a list
	// opens an item of another.
	marks []bulletMark
	qr    [][]bool
	// frame is the 1-based index of the dashed box the row belongs to, 0 for none.
	frame int

	spaceBefore  float64
	breakBefore  bool
	noBreakAfter bool
}

// bulletMark is a list item's bullet or number, drawn in the indent before the item's text,
// which starts at x.
type bulletMark struct {
	text string
	x    float64
}

// frameInfo is a QR placeholder's dashed box: its left edge and width.
type frameInfo struct {
	x, w float64
}

// flow builds the rows of one part's content: the date, the title and the blocks.
type flow struct {
	fs     *fonts
	rows   []row
	frames []frameInfo
	// pendingBreak makes the next row start a new page.
	pendingBreak bool
}

// add appends a row, giving it any pending page break.
func (f *flow) add(r row) {
	if f.pendingBreak {
		r.breakBefore = true
		f.pendingBreak = false
	}
	f.rows = append(f.rows, r)
}

// paragraph adds lines of runs wrapped into the width from x to the column's right edge. A
// paragraph of 4 or more lines keeps at least 2 on each page; a heading's lines are never
// last on a page.
func (f *flow) paragraph(lines []notifyql.LetterLine, st textStyle, x float64, heading bool) {
	start := len(f.rows)
	for _, l := range lines {
		for _, tl := range f.fs.wrap(l, st, columnRight-x) {
			f.add(row{kind: rowText, h: st.lineHeight(), x: x, line: tl, st: st})
		}
	}
	n := len(f.rows) - start
	for i := start; i < len(f.rows); i++ {
		k := i - start + 1
		if heading || (n >= 4 && (k < 2 || n-k < 2)) {
			f.rows[i].noBreakAfter = true
		}
	}
}

// block adds one block whose text starts at x.
func (f *flow) block(b notifyql.LetterBlock, x float64) error {
	switch b.Kind {
	case notifyql.LetterParagraph:
		f.paragraph(b.Lines, bodyStyle, x, false)
	case notifyql.LetterHeading:
		f.paragraph(b.Lines, headingStyle, x, true)
	case notifyql.LetterList:
		return f.list(b, x)
	case notifyql.LetterPageBreak:
		f.add(row{kind: rowBreak, x: x})
		f.pendingBreak = true
	case notifyql.LetterQRCode:
		bits, err := qrBitmap(b.QRData)
		if err != nil {
			return err
		}
		f.add(row{kind: rowQR, h: qrSize, x: x, qr: bits})
	case notifyql.LetterQRPlaceholder:
		f.placeholder(b.Lines, x)
	default:
		return fmt.Errorf("letter block of unknown kind %d", b.Kind)
	}
	return nil
}

// list adds a list: each level indented 7 mm, its bullet or number in the indent on the
// item's first line, no space between items.
func (f *flow) list(b notifyql.LetterBlock, x float64) error {
	textX := x + listIndent
	if columnRight-textX < minTextWidth {
		textX = x
	}
	for i, item := range b.Items {
		mark := bulletMark{text: "•", x: textX}
		if b.Ordered {
			mark.text = strconv.Itoa(i+1) + "."
		}
		start := len(f.rows)
		for _, child := range item.Blocks {
			if err := f.block(child, textX); err != nil {
				return err
			}
		}
		first := start
		for first < len(f.rows) && f.rows[first].kind == rowBreak {
			first++
		}
		if first == len(f.rows) {
			// An empty item still shows its bullet, on an empty line.
			f.add(row{kind: rowText, h: bodyStyle.lineHeight(), x: textX, st: bodyStyle})
			first = len(f.rows) - 1
		}
		// A list that opens the item has put its own mark on this line already.
		f.rows[first].marks = append([]bulletMark{mark}, f.rows[first].marks...)
	}
	return nil
}

// placeholder adds a QR placeholder: its text in a dashed box at the column's left, at least
// as large as the QR code it stands for. The box stays on one page when it fits on one.
func (f *flow) placeholder(lines []notifyql.LetterLine, x float64) {
	f.frames = append(f.frames, frameInfo{x: x})
	id := len(f.frames)
	start := len(f.rows)
	f.add(row{kind: rowPad, h: framePad, x: x, frame: id})
	inner := x + framePad
	widest := 0.0
	textH := 0.0
	for _, l := range lines {
		for _, tl := range f.fs.wrap(l, bodyStyle, columnRight-framePad-inner) {
			f.add(row{kind: rowText, h: bodyStyle.lineHeight(), x: inner, line: tl, st: bodyStyle, frame: id})
			widest = max(widest, tl.width)
			textH += bodyStyle.lineHeight()
		}
	}
	bottom := framePad + max(0, qrSize-2*framePad-textH)
	f.add(row{kind: rowPad, h: bottom, x: x, frame: id})
	f.frames[id-1].w = min(columnRight-x, max(qrSize, widest+2*framePad))

	total := 0.0
	for i := start; i < len(f.rows); i++ {
		total += f.rows[i].h
	}
	atomic := total <= columnBottom-firstPageTop
	for i := start; i < len(f.rows)-1; i++ {
		if atomic || i == start || i == len(f.rows)-2 {
			f.rows[i].noBreakAfter = true
		}
	}
}

// topLevel adds a top-level block, with 16 pt of space after the block before it.
func (f *flow) topLevel(add func() error) error {
	start := len(f.rows)
	if err := add(); err != nil {
		return err
	}
	if len(f.rows) > start && start > 0 {
		f.rows[start].spaceBefore = blockSpace
	}
	return nil
}

// partFlow is the content flow of a part: the date paragraph, the title, then the blocks.
func (fs *fonts) partFlow(p notifyql.LetterPart) (*flow, error) {
	f := &flow{fs: fs}
	date := []notifyql.LetterLine{{{Text: p.Date}}}
	if err := f.topLevel(func() error {
		f.paragraph(date, bodyStyle, columnLeft, false)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := f.topLevel(func() error {
		f.paragraph([]notifyql.LetterLine{p.Title}, titleStyle, columnLeft, true)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, b := range p.Blocks {
		if err := f.topLevel(func() error { return f.block(b, columnLeft) }); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// qrBitmap encodes data as a QR code with error correction level M, quiet zone included.
func qrBitmap(data string) (bits [][]bool, err error) {
	if data == "" {
		return nil, errors.New("a QR code needs data")
	}
	// The encoder panics, through log.Panic, on what it deems its own bugs; a letter must
	// never crash the server, so such a panic becomes an error that names no data.
	defer func() {
		if recover() != nil {
			bits, err = nil, fmt.Errorf("encode QR code of %d bytes: the encoder failed", len(data))
		}
	}()
	q, err := qrcode.New(data, qrcode.Medium)
	if err != nil {
		// The encoder's errors are about the data's length; they do not quote it.
		return nil, fmt.Errorf("encode QR code of %d bytes: %w", len(data), err)
	}
	return q.Bitmap(), nil
}
