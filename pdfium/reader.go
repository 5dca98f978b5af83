// Package pdfium reads PDFs with PDFium compiled to WebAssembly and run by wazero
// (github.com/klippa-app/go-pdfium in its webassembly mode): no cgo, nothing to install.
// It implements notifyql.PDFReader and notifyql.PDFDocument (RENDERING.md §1.5).
//
// Every open document holds one PDFium instance from a bounded pool. An instance runs with
// a cap on its WebAssembly memory, and work on it is bounded by the caller's context: when
// the context ends mid-call the instance is killed and discarded, and the pool makes a
// fresh one, so a PDF that makes PDFium loop or balloon costs one instance, not the process.
package pdfium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	gopdfium "github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"notifyql"
)

// wasmPageSize is the size of one WebAssembly memory page.
const wasmPageSize = 64 << 10

// Defaults for the zero Options.
const (
	DefaultMemoryLimitBytes = 512 << 20
	DefaultMaxPagePixels    = 40_000_000
)

// Options size the pool. The zero value is usable.
type Options struct {
	// Instances is the most PDFium instances alive at once, so the most documents open at
	// once; Open waits (under its context) for a free one. Default: GOMAXPROCS.
	Instances int
	// MemoryLimitBytes caps each instance's WebAssembly memory; PDFium fails an allocation
	// past it, which the document reports as an error. Rounded down to 64 KiB pages.
	// Default 512 MiB: a 40 Mpx page needs 160 MiB of bitmap alone.
	MemoryLimitBytes uint64
	// RecycleAboveBytes: an instance whose memory grew past this while serving a document is
	// discarded when the document closes instead of going back to the pool, because
	// WebAssembly memory never shrinks and an idle instance would keep it. Default: half of
	// MemoryLimitBytes.
	RecycleAboveBytes uint64
	// MaxPagePixels refuses to render a page whose bitmap would have more pixels, so a huge
	// media box cannot exhaust memory. Default 40 million.
	MaxPagePixels int
	// PageBoxTimeout bounds PageBox, which takes no context. Default 10 s.
	PageBoxTimeout time.Duration
	// CompilationCacheDir, when set, keeps wazero's compiled module on disk so that a
	// restart skips most of the one-time compilation.
	CompilationCacheDir string
}

// Reader is a pool of PDFium instances. Its module is compiled once, on the first Warm or
// Open; New does no work, so start-up does not wait for the compilation.
type Reader struct {
	opts Options

	startOnce sync.Once
	// warm is closed when the compilation has finished, well or not; pool and warmErr are
	// set before it closes and never change after.
	warm    chan struct{}
	pool    gopdfium.Pool
	warmErr error
	// warmTook is how long compiling and the first instance took.
	warmTook time.Duration

	mu     sync.Mutex
	closed bool
	// open counts documents not yet closed, so Close can wait for them.
	open sync.WaitGroup
}

// New returns a Reader with opts; the module is not compiled yet. To compile in the
// background after start-up, run `go r.Warm(context.Background())`; Ready reports when it
// is done. An Open before then waits for the compilation.
func New(opts Options) *Reader {
	if opts.Instances <= 0 {
		opts.Instances = runtime.GOMAXPROCS(0)
	}
	if opts.MemoryLimitBytes == 0 {
		opts.MemoryLimitBytes = DefaultMemoryLimitBytes
	}
	if opts.RecycleAboveBytes == 0 {
		opts.RecycleAboveBytes = opts.MemoryLimitBytes / 2
	}
	if opts.PageBoxTimeout <= 0 {
		opts.PageBoxTimeout = 10 * time.Second
	}
	if opts.MaxPagePixels <= 0 {
		opts.MaxPagePixels = DefaultMaxPagePixels
	}
	return &Reader{opts: opts, warm: make(chan struct{})}
}

// Warm compiles the module and makes one instance, if not done already, and waits until
// that is finished or ctx ends. The compilation itself is not cancelled by ctx: it runs on
// for the next caller. It returns the compilation's error, if any, which is permanent.
func (r *Reader) Warm(ctx context.Context) error {
	r.startOnce.Do(func() { go r.compile() })
	select {
	case <-r.warm:
		return r.warmErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ready reports whether the module is compiled and the pool usable, without waiting.
func (r *Reader) Ready() bool {
	select {
	case <-r.warm:
		return r.warmErr == nil
	default:
		return false
	}
}

func (r *Reader) compile() {
	defer close(r.warm)
	start := time.Now()
	pages := r.opts.MemoryLimitBytes / wasmPageSize
	if pages > 65536 {
		pages = 65536
	}
	rc := wazero.NewRuntimeConfig().
		// The bundled module lowers setjmp/longjmp to exception handling (go-pdfium's default
		// runtime config does the same).
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithMemoryLimitPages(uint32(pages)).
		// A cancelled worker context stops running WebAssembly: this is what lets a deadline
		// interrupt PDFium in the middle of a call.
		WithCloseOnContextDone(true)
	if r.opts.CompilationCacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(r.opts.CompilationCacheDir)
		if err != nil {
			r.warmErr = fmt.Errorf("pdfium: compilation cache: %w", err)
			return
		}
		rc = rc.WithCompilationCache(cache)
	}
	pool, err := webassembly.Init(webassembly.Config{
		MinIdle:  1,
		MaxIdle:  r.opts.Instances,
		MaxTotal: r.opts.Instances,
		// An empty file system: documents arrive as bytes and PDFium needs no file. The
		// default would mount the host's root directory.
		FSConfig:      wazero.NewFSConfig(),
		RuntimeConfig: rc,
		// PDFium's warnings may quote the document; they never reach the logs.
		Stdout: io.Discard,
		Stderr: io.Discard,
		// Instantiating is cheap next to compiling, but not free (PDFium initialises its
		// fonts): instances are reused unless they grew too big (see Document.Close).
		ReuseWorkers: true,
	})
	if err != nil {
		r.warmErr = fmt.Errorf("pdfium: start: %w", err)
		return
	}
	r.pool = pool
	r.warmTook = time.Since(start)
}

// WarmDuration is how long the compilation and the first instance took; zero before Ready.
func (r *Reader) WarmDuration() time.Duration {
	if !r.Ready() {
		return 0
	}
	return r.warmTook
}

// Open reads pdf on an instance of the pool, waiting under ctx for the compilation and for
// a free instance. A file PDFium cannot open, or an encrypted one, gives an error wrapping
// notifyql.ErrUnreadablePDF. The document holds its instance until Close.
func (r *Reader) Open(ctx context.Context, pdf []byte) (notifyql.PDFDocument, error) {
	if err := r.Warm(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("pdfium: reader is closed")
	}
	r.open.Add(1)
	r.mu.Unlock()

	inst, err := r.pool.GetInstanceWithContext(ctx)
	if err != nil {
		r.open.Done()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("pdfium: waiting for an instance: %w", ctxErr)
		}
		return nil, fmt.Errorf("pdfium: instance: %w", err)
	}
	d := &document{reader: r, inst: inst}
	if err := d.load(ctx, pdf); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close waits for open documents to close, then discards every instance and the compiled
// module. It waits for a compilation in progress.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.open.Wait()
	// A reader never warmed stays cold; one warming finishes first, so its pool is closed.
	r.startOnce.Do(func() {
		r.warmErr = errors.New("pdfium: reader is closed")
		close(r.warm)
	})
	<-r.warm
	if r.pool != nil {
		return r.pool.Close()
	}
	return nil
}

var _ notifyql.PDFReader = (*Reader)(nil)
