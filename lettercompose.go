package notifyql

import (
	"context"
	"errors"
	"image"
)

// The letter contract between the rendering rules of this package and the PDF adapters
// (RENDERING.md §1.5): the rules compose a LetterDocument and judge the facts a PDFReader
// reports; a Typesetter and a PDFReader, in packages named for the engines they wrap, do
// the typesetting and the reading.

// LetterRun is a piece of inline text on a letter, drawn as written: it is never read as
// markup (F15).
type LetterRun struct {
	Text string
	// Bold is <strong>: a bare URL without its scheme.
	Bold bool
	// Marker is a missing placeholder or address line, drawn on #FFDD00 (RENDERING.md §2.6).
	Marker bool
}

// LetterLine is one line of runs; a line break inside a paragraph starts the next one.
type LetterLine []LetterRun

// LetterBlockKind says what a LetterBlock is.
type LetterBlockKind int

// The letter blocks of RENDERING.md §4.4 and §5.4.
const (
	// LetterParagraph is <p>: Lines.
	LetterParagraph LetterBlockKind = iota
	// LetterHeading is <h2>: 14 pt bold, Lines.
	LetterHeading
	// LetterList is <ul> or <ol>: Ordered, Items.
	LetterList
	// LetterPageBreak is <hr class="page-break">: the next block starts a new page.
	LetterPageBreak
	// LetterQRCode is <div class="qrcode">: a 30 mm QR code of QRData (references decoded),
	// error correction level M.
	LetterQRCode
	// LetterQRPlaceholder is <div class="qrcode-placeholder">: Lines in a dashed box.
	LetterQRPlaceholder
)

// LetterBlock is one block of a letter's content flow.
type LetterBlock struct {
	Kind    LetterBlockKind
	Lines   []LetterLine
	Ordered bool
	Items   []LetterListItem
	QRData  string
}

// LetterListItem is one list item: its paragraphs and nested lists.
type LetterListItem struct {
	Blocks []LetterBlock
}

// LetterPart is one language's part of a letter (RENDERING.md §5.6). Its pages are
// numbered on their own.
type LetterPart struct {
	// Address is the address block, upper-cased already; empty in a second part.
	Address []LetterLine
	// Contact is the contact block; empty when there is none, and in a second part.
	Contact []LetterLine
	// Date is the date line as printed ("31 October 2023", "31 Hydref 2023").
	Date string
	// Title is the letter's title, 20 pt bold.
	Title  LetterLine
	Blocks []LetterBlock
	// Welsh footers read "Tudalen n o N" rather than "Page n of N".
	Welsh bool
}

// LetterDocument is a templated letter ready to typeset: one part, or a Welsh part then an
// English part.
type LetterDocument struct {
	Parts []LetterPart
}

// Typesetter composes letters into A4 PDFs with the geometry of RENDERING.md §5.5.
type Typesetter interface {
	// Typeset returns the PDF of doc and its page count, both parts together.
	Typeset(ctx context.Context, doc LetterDocument) (pdf []byte, pageCount int, err error)
}

// ErrUnreadablePDF is what a PDFReader returns for a file that is not a PDF, is damaged or
// encrypted, or cannot be read within its bounds (RENDERING.md §6.3, check 1).
var ErrUnreadablePDF = errors.New("the PDF cannot be read")

// PageBox is a page's media box in millimetres, as stored, with its /Rotate (0, 90, 180 or
// 270).
type PageBox struct {
	WidthMM, HeightMM float64
	Rotate            int
}

// DisplayedSize is the page's width and height in millimetres as displayed, after rotation.
func (b PageBox) DisplayedSize() (widthMM, heightMM float64) {
	if b.Rotate == 90 || b.Rotate == 270 {
		return b.HeightMM, b.WidthMM
	}
	return b.WidthMM, b.HeightMM
}

// PDFWord is a word on a page as displayed: its box and baseline in millimetres from the
// page's top-left corner, and its font size in millimetres. Text is NFKD-normalised, so
// ligatures are letters.
type PDFWord struct {
	Text                     string
	Left, Top, Right, Bottom float64
	Baseline                 float64
	FontSize                 float64
}

// PDFReader opens PDFs for reading. It holds engine resources while a document is open.
type PDFReader interface {
	// Open reads pdf; a file that cannot be read gives an error wrapping ErrUnreadablePDF.
	Open(ctx context.Context, pdf []byte) (PDFDocument, error)
}

// PDFDocument is an open PDF. Pages are numbered from 1.
type PDFDocument interface {
	PageCount() int
	PageBox(page int) (PageBox, error)
	// Render rasterises a page as displayed (after rotation), flattened on white, opaque.
	Render(ctx context.Context, page int, dpi float64) (*image.RGBA, error)
	// Words lists the words of a page.
	Words(ctx context.Context, page int) ([]PDFWord, error)
	Close() error
}

// LetterValidationError is one validation failure of a letter, in DOMAIN.md §12.4's words.
type LetterValidationError struct {
	// Code is a key of DOMAIN.md §12.4, such as "letter-too-long".
	Code  string
	Title string
	// Summary is empty for keys without one.
	Summary string
	// Pages are the pages concerned, ascending; empty when none are named.
	Pages []int
}

// UploadValidation is the verdict on an uploaded PDF (RENDERING.md §6.3).
type UploadValidation struct {
	// PageCount is nil when the file cannot be read.
	PageCount *int
	// Errors holds at most one error.
	Errors []LetterValidationError
}

// LetterPageOptions say how a page image is prepared for display (RENDERING.md §5.7, §6.1).
type LetterPageOptions struct {
	// HideNotifyTag paints page 1's NOTIFY tag area white (a stored uploaded letter).
	HideNotifyTag bool
	// Overlay draws the red overlay of the areas outside the printable zones.
	Overlay bool
}

// LetterPreviewDPI is the resolution of letter page images: A4 is 1240 × 1754 pixels.
const LetterPreviewDPI = 150
