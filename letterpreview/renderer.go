// Package letterpreview makes what a letter's preview serves: the PDF (composed by a
// Typesetter for a templated letter, stored for an uploaded one), its page facts, and its
// pages as PNG images, through a bounded pool and an optional cache. It holds no rules of
// its own: composition, validation and page preparation are the root package's.
package letterpreview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"time"

	"notifyql"
)

// Config is what a Renderer works with.
type Config struct {
	Typesetter notifyql.Typesetter
	Reader     notifyql.PDFReader
	// Cache, when set, keeps composed PDFs, page facts and page images.
	Cache notifyql.LetterRenderCache
	// HashKey keys the hash of a letter's inputs that cache keys and ETags carry, so that
	// neither can be checked against guessed personal data.
	HashKey []byte
	// Workers bounds the renders (typesetting, opening, rasterising, validating) running
	// at once: runtime.NumCPU() when 0.
	Workers int
	// Logger logs failures by notification id, error class and kind only.
	Logger *slog.Logger
	// CountFailure, when set, counts a failure by its kind (a metric's only label).
	CountFailure func(kind string)
}

// Renderer renders letters for previews. It is safe for concurrent use.
type Renderer struct {
	cfg   Config
	slots chan struct{}
}

// The kinds of rendering failure (RENDERING.md §1.2).
const (
	KindSMS        = "sms"
	KindEmail      = "email"
	KindLetterPDF  = "letter_pdf"
	KindLetterPNG  = "letter_png"
	KindValidation = "validation"
)

// ValidationDeadline bounds validateLetterPdf's checks (RENDERING.md §7.4).
const ValidationDeadline = 30 * time.Second

// New returns a Renderer.
func New(cfg Config) *Renderer {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Renderer{cfg: cfg, slots: make(chan struct{}, cfg.Workers)}
}

// Source is one letter to render: a templated letter's inputs, or an uploaded PDF.
type Source struct {
	// ID names the letter in cache keys and logs: a notification or upload id, never
	// personal data.
	ID string
	// Inputs are a templated letter's; nil for an uploaded PDF.
	Inputs *notifyql.ContentInputs
	// PDF is an uploaded letter's file.
	PDF []byte
	// Page options for an uploaded letter (RENDERING.md §6.1, §7.4).
	HideNotifyTag bool
	OverlayPages  []int
}

// Facts are what a preview lists without rasterising anything (RENDERING.md §5.7).
type Facts struct {
	PageCount int        `json:"page_count"`
	Pages     []PageSize `json:"pages"`
}

// PageSize is a listed page's image size at 150 dpi.
type PageSize struct {
	WidthPx  int `json:"w"`
	HeightPx int `json:"h"`
}

// ErrNoSuchPage is PNG's answer for a page outside 1..min(pageCount, 10).
var ErrNoSuchPage = errors.New("no such page")

// ETag is a strong entity tag for what of src ("pdf", or a page's "png-N"): the keyed hash
// of the inputs that make it.
func (r *Renderer) ETag(src Source, what string) string {
	return `"` + digest(r.cfg.HashKey, src) + "-" + what + `"`
}

// PDF returns src's PDF: the stored file of an upload, or the templated letter composed
// and typeset.
func (r *Renderer) PDF(ctx context.Context, src Source) ([]byte, error) {
	if src.Inputs == nil {
		return src.PDF, nil
	}
	pdf, _, err := r.typeset(ctx, src)
	return pdf, err
}

// Facts returns src's page count and the image sizes of its listed pages.
func (r *Renderer) Facts(ctx context.Context, src Source) (Facts, error) {
	key := r.key(src, "facts")
	if cached, ok := r.get(ctx, key); ok {
		var f Facts
		if json.Unmarshal(cached, &f) == nil {
			return f, nil
		}
	}
	var f Facts
	if src.Inputs != nil {
		_, count, err := r.typeset(ctx, src)
		if err != nil {
			return Facts{}, err
		}
		// A composed letter is A4 portrait on every page by construction (§5.5).
		w, h := notifyql.LetterPageSize(notifyql.PageBox{WidthMM: 210, HeightMM: 297})
		f = Facts{PageCount: count}
		for range notifyql.LetterPreviewPages(count) {
			f.Pages = append(f.Pages, PageSize{w, h})
		}
	} else {
		err := r.withDocument(ctx, src.PDF, func(doc notifyql.PDFDocument) error {
			f = Facts{PageCount: doc.PageCount()}
			for page := 1; page <= notifyql.LetterPreviewPages(f.PageCount); page++ {
				box, err := doc.PageBox(page)
				if err != nil {
					return err
				}
				w, h := notifyql.LetterPageSize(box)
				f.Pages = append(f.Pages, PageSize{w, h})
			}
			return nil
		})
		if err != nil {
			return Facts{}, err
		}
	}
	if encoded, err := json.Marshal(f); err == nil {
		r.put(ctx, key, encoded)
	}
	return f, nil
}

// PNG returns page (from 1) of src as a PNG at 150 dpi, prepared for display; ErrNoSuchPage
// for a page outside 1..min(pageCount, 10).
func (r *Renderer) PNG(ctx context.Context, src Source, page int) ([]byte, error) {
	if page < 1 || page > notifyql.MaxLetterPreviewPages {
		return nil, ErrNoSuchPage
	}
	key := r.key(src, "png-"+strconv.Itoa(page))
	if cached, ok := r.get(ctx, key); ok {
		return cached, nil
	}
	pdf, err := r.PDF(ctx, src)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = r.withDocument(ctx, pdf, func(doc notifyql.PDFDocument) error {
		if page > doc.PageCount() {
			return ErrNoSuchPage
		}
		opts := notifyql.LetterPageOptions{
			HideNotifyTag: src.HideNotifyTag && page == 1,
			Overlay:       slices.Contains(src.OverlayPages, page),
		}
		img, err := notifyql.RenderLetterPage(ctx, doc, page, opts)
		if err != nil {
			return err
		}
		return encodePagePNG(&out, img)
	})
	if err != nil {
		return nil, err
	}
	r.put(ctx, key, out.Bytes())
	return out.Bytes(), nil
}

// Validate runs the checks of RENDERING.md §6.3 on an uploaded file in the pool, within
// ValidationDeadline.
func (r *Renderer) Validate(ctx context.Context, pdf []byte, international bool) (notifyql.UploadValidation, error) {
	ctx, cancel := context.WithTimeout(ctx, ValidationDeadline)
	defer cancel()
	var verdict notifyql.UploadValidation
	err := r.inSlot(ctx, func() error {
		verdict = notifyql.ValidateLetterPDF(ctx, r.cfg.Reader, pdf, international)
		return nil
	})
	return verdict, err
}

// typeset composes and typesets a templated letter, through the cache.
func (r *Renderer) typeset(ctx context.Context, src Source) ([]byte, int, error) {
	key := r.key(src, "pdf")
	if cached, ok := r.get(ctx, key); ok {
		if count, ok := r.get(ctx, key+"-pages"); ok {
			if n, err := strconv.Atoi(string(count)); err == nil {
				return cached, n, nil
			}
		}
	}
	var pdf []byte
	var count int
	err := r.inSlot(ctx, func() error {
		doc, err := notifyql.ComposeLetter(*src.Inputs)
		if err != nil {
			return err
		}
		pdf, count, err = r.cfg.Typesetter.Typeset(ctx, doc)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	r.put(ctx, key, pdf)
	r.put(ctx, key+"-pages", []byte(strconv.Itoa(count)))
	return pdf, count, nil
}

// withDocument opens pdf in a pool slot, runs use on it and closes it.
func (r *Renderer) withDocument(ctx context.Context, pdf []byte, use func(notifyql.PDFDocument) error) error {
	return r.inSlot(ctx, func() error {
		doc, err := r.cfg.Reader.Open(ctx, pdf)
		if err != nil {
			return err
		}
		defer doc.Close()
		return use(doc)
	})
}

// inSlot runs work once a pool slot is free (or gives up with ctx), turning a panic into
// an error: no input may bring the process down.
func (r *Renderer) inSlot(ctx context.Context, work func() error) (err error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.slots }()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %T", errPanic, p)
		}
	}()
	return work()
}

var errPanic = errors.New("renderer panicked")

func (r *Renderer) get(ctx context.Context, key string) ([]byte, bool) {
	if r.cfg.Cache == nil {
		return nil, false
	}
	return r.cfg.Cache.Get(ctx, key)
}

func (r *Renderer) put(ctx context.Context, key string, value []byte) {
	if r.cfg.Cache != nil {
		r.cfg.Cache.Put(ctx, key, value)
	}
}

// key is a cache key: the letter's id, the keyed hash of its inputs and what is kept.
func (r *Renderer) key(src Source, what string) string {
	return "letter-render:" + src.ID + ":" + digest(r.cfg.HashKey, src) + ":" + what
}
