package pdfium

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"notifyql"
)

// exercise opens pdf and uses every method on its first pages, as the validator would,
// under a deadline; it returns Open's error, or a summary of what the calls answered.
func exercise(r *Reader, pdf []byte, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	doc, err := r.Open(ctx, pdf)
	if err != nil {
		return "", err
	}
	defer doc.Close()
	var out []string
	n := doc.PageCount()
	out = append(out, fmt.Sprintf("%d pages", n))
	for page := 1; page <= min(n, 2); page++ {
		box, err := doc.PageBox(page)
		out = append(out, fmt.Sprintf("box %.0f×%.0f/%d %v", box.WidthMM, box.HeightMM, box.Rotate, err != nil))
		words, err := doc.Words(ctx, page)
		out = append(out, fmt.Sprintf("%d words %v", len(words), err))
		img, err := doc.Render(ctx, page, 72)
		if err == nil {
			out = append(out, fmt.Sprintf("render %v", img.Bounds().Size()))
		} else {
			out = append(out, fmt.Sprintf("render: %v", err))
		}
	}
	return strings.Join(out, "; "), nil
}

// TestHostileCorpus opens every hostile file: each is either unreadable (an error wrapping
// notifyql.ErrUnreadablePDF) or read within its bounds, the calls on its pages answering or
// failing cleanly (PDFium counts the two pages of page-tree-loop.pdf but loads neither),
// and the listed ones must be unreadable. No panic, and each takes little time.
func TestHostileCorpus(t *testing.T) {
	r := reader(t)
	files := readCorpus(t)
	for name, data := range generatedFiles() {
		files[name] = data
	}
	mustFail := map[string]bool{
		"truncated.pdf": true, "header-only.pdf": true, "encrypted-user-password.pdf": true,
		"encrypted-owner-password.pdf": true, "not-a-pdf.txt": true, "png-header.pdf": true,
		"no-pages.pdf": true, "many-pages": true,
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			summary, err := exercise(r, files[name], 20*time.Second)
			took := time.Since(start)
			if err != nil && !errors.Is(err, notifyql.ErrUnreadablePDF) {
				t.Errorf("open: %v, not ErrUnreadablePDF", err)
			}
			if mustFail[name] && err == nil {
				t.Errorf("read as %q, want ErrUnreadablePDF", summary)
			}
			if took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			t.Logf("%v in %v: %s", err, took.Round(time.Millisecond), summary)
		})
	}
	// The pool still serves a good file after all of them.
	if _, err := exercise(r, makePDF(testPage{}), 20*time.Second); err != nil {
		t.Fatalf("a good file after the corpus: %v", err)
	}
}
