package pdfium

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// ownReader is a reader of its own for a test that changes the pool's state.
func ownReader(t *testing.T, opts Options) *Reader {
	t.Helper()
	opts.CompilationCacheDir = cacheDir
	r := New(opts)
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// heavyPage is a page whose render takes PDFium a long time: thousands of thin stroked
// curves across the whole page (some 45 s at 150 dpi on a busy 2-core machine).
func heavyPage() []byte {
	var c strings.Builder
	c.WriteString("0.1 w ")
	for i := range 6_000 {
		x, y := float64(i%577), float64((i*7)%829)
		fmt.Fprintf(&c, "%g %g m %g %g %g %g %g %g c S\n", x, y, x+300, y+500, 595-x, 842-y, 595-y/2, x)
	}
	return makePDF(testPage{content: c.String()})
}

func TestDeadlineKillsTheInstanceAndThePoolReplacesIt(t *testing.T) {
	r := ownReader(t, Options{Instances: 1})
	doc := open(t, r, heavyPage())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := doc.Render(ctx, 1, 150)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("render past its deadline: %v", err)
	}
	if took > 2*time.Second {
		t.Errorf("the render stopped %v after a 50 ms deadline", took)
	}
	t.Logf("stopped after %v", took)
	// The document is dead, and says so without touching the engine.
	if _, err := doc.Words(context.Background(), 1); !errors.Is(err, errKilled) {
		t.Errorf("words after the kill: %v", err)
	}
	if err := doc.Close(); err != nil {
		t.Errorf("close after the kill: %v", err)
	}
	// The pool's only instance was discarded; a new one serves the next document.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	doc2, err := r.Open(ctx2, makePDF(testPage{content: text("Again", 30, 50, 12)}))
	if err != nil {
		t.Fatalf("open after the kill: %v", err)
	}
	defer doc2.Close()
	if words, err := doc2.Words(ctx2, 1); err != nil || len(words) != 1 {
		t.Fatalf("words after the kill: %v %v", words, err)
	}
}

func TestMemoryCapFailsTheRenderNotTheProcess(t *testing.T) {
	r := ownReader(t, Options{Instances: 1, MemoryLimitBytes: 64 << 20, MaxPagePixels: 1 << 30})
	doc := open(t, r, makePDF(testPage{content: text("Capped", 30, 50, 12)}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := doc.Render(ctx, 1, 150); err != nil {
		t.Fatalf("A4 at 150 dpi (9 MB) under a 64 MiB cap: %v", err)
	}
	// 600 dpi is 4961 × 7016 pixels, 139 MB: more than the instance may hold.
	if _, err := doc.Render(ctx, 1, 600); err == nil {
		t.Fatal("a 139 MB bitmap rendered under a 64 MiB cap")
	}
	doc.Close()
	doc2 := open(t, r, makePDF(testPage{}))
	if _, err := doc2.Render(ctx, 1, 150); err != nil {
		t.Fatalf("render after the capped one: %v", err)
	}
}

func TestPoolIsBounded(t *testing.T) {
	r := ownReader(t, Options{Instances: 1})
	pdf := makePDF(testPage{})
	first := open(t, r, pdf)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := r.Open(ctx, pdf); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second open with one instance busy: %v", err)
	}
	first.Close()
	second := open(t, r, pdf)
	if second.PageCount() != 1 {
		t.Fatal("second document unreadable")
	}
}

func TestCloseWaitsForDocumentsAndRefusesOpen(t *testing.T) {
	r := New(Options{Instances: 1, CompilationCacheDir: cacheDir})
	doc := open(t, r, makePDF(testPage{}))
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned with a document open")
	case <-time.After(100 * time.Millisecond):
	}
	doc.Close()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(context.Background(), makePDF(testPage{})); err == nil {
		t.Fatal("open after close")
	}
	// A reader never warmed closes at once.
	if err := New(Options{}).Close(); err != nil {
		t.Fatal(err)
	}
}
