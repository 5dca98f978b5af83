package pdfium

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	gopdfium "github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"

	"notifyql"
)

// mmPerPoint converts PDF points (1/72 inch) to millimetres.
const mmPerPoint = 25.4 / 72

// maxPages bounds the page count a document may claim before it is called unreadable:
// PDFium walks the page tree lazily, and no letter comes near this.
const maxPages = 100_000

// errKilled is what every call on a document returns once its instance was discarded.
var errKilled = errors.New("pdfium: the document's engine was stopped")

// document is an open PDF on one instance of the pool. Its methods are serialised.
type document struct {
	reader *Reader
	inst   gopdfium.Pdfium

	mu    sync.Mutex
	doc   references.FPDF_DOCUMENT
	pages int
	// loaded says doc is open in the instance and must be closed there.
	loaded bool
	// killed says the instance was discarded (a context ended mid-call); tainted says a
	// call failed, so the instance may hold a half-done state and is not reused.
	killed  bool
	tainted bool
	closed  bool
}

// guard runs f, an engine call, under ctx: if ctx ends while f runs, the instance is
// killed, which stops the WebAssembly it is running, and the document is unusable after.
// Any error from f taints the instance.
func (d *document) guard(ctx context.Context, f func() error) error {
	if d.closed {
		return errors.New("pdfium: document is closed")
	}
	if d.killed {
		return errKilled
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pdfium: %w", err)
	}
	killedDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(killedDone)
		_ = d.inst.Kill()
	})
	err := f()
	if !stop() {
		// The kill ran or is running: wait for it, so that Close never races it.
		<-killedDone
		d.killed = true
		return fmt.Errorf("pdfium: stopped: %w", ctx.Err())
	}
	if err != nil {
		d.tainted = true
	}
	return err
}

// load opens pdf in the instance. Every failure wraps notifyql.ErrUnreadablePDF; a
// deadline also wraps the context's error.
func (d *document) load(ctx context.Context, pdf []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	unreadable := func(what string, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%w: %s: %w", notifyql.ErrUnreadablePDF, what, ctxErr)
		}
		// PDFium's own errors name a class (format, password, security) and never quote
		// the file, so they may be wrapped.
		return fmt.Errorf("%w: %s: %w", notifyql.ErrUnreadablePDF, what, err)
	}
	if len(pdf) == 0 {
		return fmt.Errorf("%w: empty file", notifyql.ErrUnreadablePDF)
	}
	err := d.guard(ctx, func() error {
		// go-pdfium copies the bytes into the instance's memory; pdf is not kept.
		resp, err := d.inst.FPDF_LoadMemDocument64(&requests.FPDF_LoadMemDocument64{Data: &pdf})
		if err != nil {
			return err
		}
		d.doc = resp.Document
		d.loaded = true
		return nil
	})
	if err != nil {
		return unreadable("open", err)
	}
	err = d.guard(ctx, func() error {
		rev, err := d.inst.FPDF_GetSecurityHandlerRevision(&requests.FPDF_GetSecurityHandlerRevision{Document: d.doc})
		if err != nil {
			return err
		}
		// PDFium opens a file encrypted with an owner password only; a letter must not be
		// encrypted at all (RENDERING.md §6.3, check 1).
		if rev.SecurityHandlerRevision != -1 {
			return errors.New("encrypted")
		}
		count, err := d.inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d.doc})
		if err != nil {
			return err
		}
		if count.PageCount < 1 || count.PageCount > maxPages {
			return fmt.Errorf("%d pages", count.PageCount)
		}
		d.pages = count.PageCount
		return nil
	})
	if err != nil {
		return unreadable("read", err)
	}
	return nil
}

func (d *document) PageCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pages
}

// pageIndex checks a 1-based page number and returns PDFium's 0-based page.
func (d *document) page(page int) (requests.Page, error) {
	if page < 1 || page > d.pages {
		return requests.Page{}, fmt.Errorf("pdfium: page %d of %d", page, d.pages)
	}
	return requests.Page{ByIndex: &requests.PageByIndex{Document: d.doc, Index: page - 1}}, nil
}

// PageBox returns the page's media box as stored, in millimetres, and its /Rotate. It
// loads (parses) the page and takes no context, so Options.PageBoxTimeout bounds it.
func (d *document) PageBox(page int) (notifyql.PageBox, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.page(page)
	if err != nil {
		return notifyql.PageBox{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.reader.opts.PageBoxTimeout)
	defer cancel()
	var box notifyql.PageBox
	err = d.guard(ctx, func() error {
		var left, bottom, right, top float32
		if mb, err := d.inst.FPDFPage_GetMediaBox(&requests.FPDFPage_GetMediaBox{Page: p}); err == nil {
			left, bottom, right, top = mb.Left, mb.Bottom, mb.Right, mb.Top
		} else {
			// PDFium reads /MediaBox from the page's own dictionary only. One inherited from
			// the page tree is the page's bounding box, which is the media box unless the
			// page also has a /CropBox (then it is the visible part of the media box).
			bb, err := d.inst.FPDF_GetPageBoundingBox(&requests.FPDF_GetPageBoundingBox{Page: p})
			if err != nil {
				return err
			}
			left, bottom, right, top = bb.Rect.Left, bb.Rect.Bottom, bb.Rect.Right, bb.Rect.Top
		}
		rot, err := d.inst.FPDFPage_GetRotation(&requests.FPDFPage_GetRotation{Page: p})
		if err != nil {
			return err
		}
		w := float64(right) - float64(left)
		h := float64(top) - float64(bottom)
		// A box may be written with its corners in any order.
		if w < 0 {
			w = -w
		}
		if h < 0 {
			h = -h
		}
		box = notifyql.PageBox{WidthMM: w * mmPerPoint, HeightMM: h * mmPerPoint, Rotate: int(rot.PageRotation) * 90}
		return nil
	})
	if err != nil {
		return notifyql.PageBox{}, fmt.Errorf("pdfium: page box of page %d: %w", page, err)
	}
	return box, nil
}

// Close closes the document and gives the instance back to the pool, or discards it when
// a call failed or its memory grew past Options.RecycleAboveBytes.
func (d *document) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	defer d.reader.open.Done()
	if d.killed {
		return nil
	}
	if d.loaded {
		if _, err := d.inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: d.doc}); err != nil {
			d.tainted = true
		}
	}
	if d.tainted || d.memoryBytes() > d.reader.opts.RecycleAboveBytes {
		return d.inst.Kill()
	}
	return d.inst.Close()
}

// memoryBytes is the instance's WebAssembly memory size, or 0 when it cannot be read. The
// size is reached by reflection because go-pdfium keeps the implementation's type internal
// (its exported Module field has a Memory() with a Size()).
func (d *document) memoryBytes() (n uint64) {
	defer func() {
		if recover() != nil {
			n = 0
		}
	}()
	v := reflect.ValueOf(d.inst.GetImplementation())
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0
	}
	mod := v.FieldByName("Module")
	if !mod.IsValid() || mod.IsNil() {
		return 0
	}
	mem := mod.MethodByName("Memory").Call(nil)[0]
	return mem.MethodByName("Size").Call(nil)[0].Uint()
}

var _ notifyql.PDFDocument = (*document)(nil)
