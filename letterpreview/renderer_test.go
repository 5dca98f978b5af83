package letterpreview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"notifyql"
)

// blockingReader opens documents only when released, counting those open at once.
type blockingReader struct {
	release chan struct{}
	open    atomic.Int32
	most    atomic.Int32
	panics  bool
}

func (r *blockingReader) Open(ctx context.Context, pdf []byte) (notifyql.PDFDocument, error) {
	if r.panics {
		panic("reader bug with Ann Smith's address")
	}
	n := r.open.Add(1)
	defer r.open.Add(-1)
	for {
		most := r.most.Load()
		if n <= most || r.most.CompareAndSwap(most, n) {
			break
		}
	}
	select {
	case <-r.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return oneBlankPage{}, nil
}

type oneBlankPage struct{}

func (oneBlankPage) PageCount() int { return 1 }
func (oneBlankPage) PageBox(int) (notifyql.PageBox, error) {
	return notifyql.PageBox{WidthMM: 210, HeightMM: 297}, nil
}
func (oneBlankPage) Render(context.Context, int, float64) (*image.RGBA, error) {
	return image.NewRGBA(image.Rect(0, 0, 1, 1)), nil
}
func (oneBlankPage) Words(context.Context, int) ([]notifyql.PDFWord, error) { return nil, nil }
func (oneBlankPage) Close() error                                           { return nil }

// The pool runs at most Workers renders at once; a render waiting for a place gives up with
// its caller.
func TestRendererPoolBound(t *testing.T) {
	reader := &blockingReader{release: make(chan struct{})}
	r := New(Config{Reader: reader, Workers: 2})
	done := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := r.Facts(context.Background(), Source{ID: "u", PDF: []byte("%PDF")})
			done <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Facts(ctx, Source{ID: "u", PDF: []byte("%PDF")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a render past its caller's time: %v", err)
	}
	close(reader.release)
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if most := reader.most.Load(); most != 2 {
		t.Errorf("%d renders ran at once, want 2", most)
	}
}

// A failure reaches the caller and the log by id, kind and class, never by its text; it is
// counted by kind; a panic is a failure like any other.
func TestFailShowsNoPersonalData(t *testing.T) {
	var logs bytes.Buffer
	var counted []string
	r := New(Config{Reader: &blockingReader{panics: true}, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		CountFailure: func(kind string) { counted = append(counted, kind) }})
	_, err := r.Facts(context.Background(), Source{ID: "n1", PDF: []byte("%PDF")})
	if err == nil {
		t.Fatal("a panicking reader gave no error")
	}
	failed := r.Fail(context.Background(), KindLetterPNG, "n1", err)
	var f *Failure
	if !errors.As(failed, &f) || f.Class != "panic" || f.Kind != KindLetterPNG || f.ID != "n1" {
		t.Errorf("Fail = %#v", failed)
	}
	leaked := r.Fail(context.Background(), KindSMS, "n2", fmt.Errorf("render ((name)) = %q: %w", "Ann Smith", errors.New("bad")))
	for _, text := range []string{failed.Error(), leaked.Error(), logs.String()} {
		if strings.Contains(text, "Ann Smith") {
			t.Errorf("personal data in %q", text)
		}
	}
	if !strings.Contains(logs.String(), `"id":"n2"`) || !strings.Contains(logs.String(), `"kind":"sms"`) {
		t.Errorf("log %s lacks the id and kind", logs.String())
	}
	if fmt.Sprint(counted) != "[letter_png sms]" {
		t.Errorf("counted %v", counted)
	}
	if got := r.Fail(context.Background(), KindLetterPDF, "n3", context.DeadlineExceeded); notifyql.ErrorCode(got) != notifyql.EUNAVAILABLE {
		t.Errorf("a render past its time: %v, want UNAVAILABLE", got)
	}
	coded := notifyql.Errorf(notifyql.ENOTFOUND, "letter not found")
	if got := r.Fail(context.Background(), KindLetterPDF, "n3", coded); got != coded {
		t.Errorf("a coded error became %v", got)
	}
}

// The hash that cache keys and ETags carry changes with every input and with the key, and
// shows none of them.
func TestDigest(t *testing.T) {
	in := notifyql.ContentInputs{Type: notifyql.TypeLetter, TemplateContent: "Dear ((name))", Personalisation: []byte(`{"name": "Ann Smith"}`), To: "Ann Smith\n1 Road\nSW1A 1AA"}
	other := in
	other.Personalisation = []byte(`{"name": "Bob Jones"}`)
	version := in
	version.TemplateContent = "Dear ((name)),"
	key := []byte("k")
	a := New(Config{HashKey: key})
	b := New(Config{HashKey: []byte("another key")})
	tags := map[string]string{
		"same":            a.ETag(Source{ID: "n", Inputs: &in}, "pdf"),
		"personalisation": a.ETag(Source{ID: "n", Inputs: &other}, "pdf"),
		"template":        a.ETag(Source{ID: "n", Inputs: &version}, "pdf"),
		"key":             b.ETag(Source{ID: "n", Inputs: &in}, "pdf"),
		"page":            a.ETag(Source{ID: "n", Inputs: &in}, "png-1"),
		"upload":          a.ETag(Source{ID: "n", PDF: []byte("%PDF")}, "pdf"),
		"overlay":         a.ETag(Source{ID: "n", PDF: []byte("%PDF"), OverlayPages: []int{2}}, "pdf"),
	}
	seen := map[string]string{}
	for name, tag := range tags {
		if prev, ok := seen[tag]; ok {
			t.Errorf("%s and %s share the tag %s", name, prev, tag)
		}
		seen[tag] = name
		if strings.Contains(tag, "Ann") || strings.Contains(tag, "Dear") {
			t.Errorf("tag %s shows its inputs", tag)
		}
	}
	if a.ETag(Source{ID: "n", Inputs: &in}, "pdf") != tags["same"] {
		t.Error("the same inputs gave another tag")
	}
	if k := a.key(Source{ID: "n1", Inputs: &in}, "pdf"); !strings.HasPrefix(k, "letter-render:n1:") || strings.Contains(k, "Ann") {
		t.Errorf("cache key %q", k)
	}
}

func TestParsePage(t *testing.T) {
	for s, want := range map[string]int{"1": 1, "10": 10, "11": 11} {
		if got, ok := ParsePage(s); !ok || got != want {
			t.Errorf("ParsePage(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "0", "01", "-1", "+1", "abc", "1.0", " 1", "99999999999999999999"} {
		if _, ok := ParsePage(s); ok {
			t.Errorf("ParsePage(%q) accepted", s)
		}
	}
}
