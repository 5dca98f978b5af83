package pdfium

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"notifyql"
)

// cacheDir keeps the compiled module between the readers of this package's tests, so only
// the first pays the full compilation.
var cacheDir string

var (
	sharedOnce   sync.Once
	sharedReader *Reader
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pdfium-cache")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	if sharedReader != nil {
		sharedReader.Close()
	}
	os.RemoveAll(dir)
	// A closed Reader leaves nothing running: no compile, no context watch, no pool worker.
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// reader is the package's shared pool of two instances, warmed on first use.
func reader(t testing.TB) *Reader {
	t.Helper()
	sharedOnce.Do(func() {
		// PageBox parses the page, which a deflate bomb in the corpus makes slow: a
		// shorter bound than the default keeps the test quick.
		sharedReader = New(Options{Instances: 2, CompilationCacheDir: cacheDir, PageBoxTimeout: 3 * time.Second})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sharedReader.Warm(ctx); err != nil {
		t.Fatalf("warm: %v", err)
	}
	return sharedReader
}

func open(t testing.TB, r *Reader, pdf []byte) notifyql.PDFDocument {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	doc, err := r.Open(ctx, pdf)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { doc.Close() })
	return doc
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestNewDoesNotCompileAndWarmMakesReady(t *testing.T) {
	r := New(Options{Instances: 1, CompilationCacheDir: cacheDir})
	defer r.Close()
	if r.Ready() {
		t.Fatal("ready before Warm")
	}
	// An expired context returns at once; the compilation it started goes on.
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Warm(expired); !errors.Is(err, context.Canceled) {
		t.Fatalf("warm with a cancelled context: %v", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	if err := r.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.Ready() || r.WarmDuration() <= 0 {
		t.Fatalf("after Warm: ready %v, took %v", r.Ready(), r.WarmDuration())
	}
	t.Logf("compile and first instance: %v (with a compilation cache that may be warm)", r.WarmDuration())
}

func TestPageCountAndA4Box(t *testing.T) {
	doc := open(t, reader(t), makePDF(testPage{}, testPage{}, testPage{inherit: true}))
	if n := doc.PageCount(); n != 3 {
		t.Fatalf("page count %d, want 3", n)
	}
	for page := 1; page <= 3; page++ {
		box, err := doc.PageBox(page)
		if err != nil {
			t.Fatal(err)
		}
		if !near(box.WidthMM, 210, 0.01) || !near(box.HeightMM, 297, 0.01) || box.Rotate != 0 {
			t.Errorf("page %d box %+v, want 210 × 297, rotate 0", page, box)
		}
	}
	for _, page := range []int{0, 4, -1} {
		if _, err := doc.PageBox(page); err == nil {
			t.Errorf("page %d: no error", page)
		}
	}
}

func TestLandscapeAndRotatedBoxes(t *testing.T) {
	land := [4]float64{0, 0, a4H, a4W}
	doc := open(t, reader(t), makePDF(
		testPage{box: land},
		testPage{box: land, rotate: 90},
		testPage{rotate: 180},
		testPage{rotate: 270, inherit: true},
		// A box written from its top-right corner, offset from the origin.
		testPage{box: [4]float64{100 + a4W, 50 + a4H, 100, 50}},
	))
	want := []notifyql.PageBox{
		{WidthMM: 297, HeightMM: 210}, {WidthMM: 297, HeightMM: 210, Rotate: 90},
		{WidthMM: 210, HeightMM: 297, Rotate: 180}, {WidthMM: 210, HeightMM: 297, Rotate: 270},
		{WidthMM: 210, HeightMM: 297},
	}
	for i, w := range want {
		box, err := doc.PageBox(i + 1)
		if err != nil {
			t.Fatal(err)
		}
		if !near(box.WidthMM, w.WidthMM, 0.01) || !near(box.HeightMM, w.HeightMM, 0.01) || box.Rotate != w.Rotate {
			t.Errorf("page %d box %+v, want %+v", i+1, box, w)
		}
	}
	// Rendered as displayed: the landscape page is wide, the rotated one upright.
	ctx := context.Background()
	for page, size := range map[int][2]int{1: {1754, 1240}, 2: {1240, 1754}, 4: {1754, 1240}} {
		img, err := doc.Render(ctx, page, 150)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != size[0] || b.Dy() != size[1] {
			t.Errorf("page %d rendered %v, want %v", page, b.Size(), size)
		}
	}
}

// dark counts the pixels darker than mid-grey inside r.
func dark(img *image.RGBA, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if int(c.R)+int(c.G)+int(c.B) < 3*128 {
				n++
			}
		}
	}
	return n
}

// pxRect is a box in millimetres as pixels at dpi.
func pxRect(l, t, r, b, dpi float64) image.Rectangle {
	f := dpi / 25.4
	return image.Rect(int(math.Floor(l*f)), int(math.Floor(t*f)), int(math.Ceil(r*f)), int(math.Ceil(b*f)))
}

func TestRenderA4At150(t *testing.T) {
	content := text("Hello World", 30, 50, 24) + "0 0 1 rg 400 100 50 50 re f\n"
	doc := open(t, reader(t), makePDF(testPage{content: content}))
	img, err := doc.Render(context.Background(), 1, notifyql.LetterPreviewDPI)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1240 || b.Dy() != 1754 {
		t.Fatalf("size %v, want 1240 × 1754", b.Size())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 255 {
			t.Fatalf("pixel %d has alpha %d", i/4, img.Pix[i])
		}
	}
	// The text's line: 30 mm from the left, cap height above the 50 mm baseline.
	if n := dark(img, pxRect(30, 43, 75, 51, 150)); n < 200 {
		t.Errorf("%d dark pixels where the text was drawn", n)
	}
	// Blue square at (400, 100) points from the bottom-left, 50 points wide.
	c := img.RGBAAt(885, 1754-260)
	if c.R != 0 || c.G != 0 || c.B != 255 {
		t.Errorf("square centre is %v, want pure blue", c)
	}
	// Everything else is white: the top band and the bottom of the page.
	for _, r := range []image.Rectangle{pxRect(0, 0, 210, 40, 150), pxRect(0, 60, 210, 200, 150)} {
		if n := dark(img, r); n != 0 {
			t.Errorf("%d dark pixels in %v, which should be blank", n, r)
		}
	}
}

func TestRenderRefusesHugePage(t *testing.T) {
	doc := open(t, reader(t), makePDF(testPage{box: [4]float64{0, 0, 14400, 14400}}))
	box, err := doc.PageBox(1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(box.WidthMM, 5080, 0.1) {
		t.Errorf("box %+v, want 5080 mm wide", box)
	}
	start := time.Now()
	if _, err := doc.Render(context.Background(), 1, 150); !errors.Is(err, ErrPageTooLarge) {
		t.Fatalf("render of a 200-inch page: %v, want ErrPageTooLarge", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("refusal took %v", time.Since(start))
	}
	// The refusal is not a failure of the engine: the same document still renders small.
	if img, err := doc.Render(context.Background(), 1, 2); err != nil || img.Bounds().Dx() != 400 {
		t.Fatalf("render at 2 dpi after the refusal: %v", err)
	}
	for _, dpi := range []float64{0, -1, math.NaN(), math.Inf(1), 5000} {
		if _, err := doc.Render(context.Background(), 1, dpi); err == nil {
			t.Errorf("dpi %v: no error", dpi)
		}
	}
}

func TestWordsWithBoxes(t *testing.T) {
	content := text("Hello World", 30, 50, 24) +
		text("second line", 30, 70, 10) +
		"BT /F2 12 Tf 85.039 548.031 Td (A) Tj ET\n" // U+FB01 at (30 mm, 103.6 mm)
	doc := open(t, reader(t), makePDF(testPage{content: content}))
	words, err := doc.Words(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range words {
		got = append(got, w.Text)
	}
	if strings.Join(got, "|") != "Hello|World|second|line|fi" {
		t.Fatalf("words %q", got)
	}
	hello := words[0]
	if !near(hello.Left, 30, 1) || !near(hello.Baseline, 50, 0.2) || !near(hello.FontSize, 24*mmPerPoint, 0.05) {
		t.Errorf("Hello %+v: want left 30, baseline 50, font size %.2f mm", hello, 24*mmPerPoint)
	}
	// The loose box spans the font's ascent and descent around the baseline.
	if !(hello.Top < 50-5 && hello.Top > 50-10 && hello.Bottom > 50 && hello.Bottom < 53) {
		t.Errorf("Hello box top %.2f bottom %.2f around baseline 50", hello.Top, hello.Bottom)
	}
	world := words[1]
	if !(world.Left > hello.Right && near(world.Baseline, 50, 0.2)) {
		t.Errorf("World %+v after Hello %+v", world, hello)
	}
	if second := words[2]; !near(second.Baseline, 70, 0.2) || !near(second.FontSize, 10*mmPerPoint, 0.05) {
		t.Errorf("second %+v: want baseline 70", second)
	}
}

// TestWordBoxesFollowRotation draws the same text on pages with each /Rotate, and checks
// that each word's box, which is in displayed coordinates, covers the text's pixels in the
// render, which is displayed too.
func TestWordBoxesFollowRotation(t *testing.T) {
	content := text("Rotated", 40, 60, 30)
	var pages []testPage
	for _, rot := range []int{0, 90, 180, 270} {
		pages = append(pages, testPage{rotate: rot, content: content})
	}
	doc := open(t, reader(t), makePDF(pages...))
	ctx := context.Background()
	for page := 1; page <= 4; page++ {
		words, err := doc.Words(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(words) != 1 || words[0].Text != "Rotated" {
			t.Fatalf("page %d words %+v", page, words)
		}
		img, err := doc.Render(ctx, page, 100)
		if err != nil {
			t.Fatal(err)
		}
		w := words[0]
		inside := dark(img, pxRect(w.Left, w.Top, w.Right, w.Bottom, 100))
		all := dark(img, img.Bounds())
		if all < 100 || inside < all*98/100 {
			t.Errorf("page %d (rotate %d): %d of %d dark pixels inside the word's box %+v", page, (page-1)*90, inside, all, w)
		}
	}
}

func TestDisplayTransform(t *testing.T) {
	// A 100 × 200 box at (10, 20): its user-space top-left corner (10, 220), seen with each
	// rotation, lands on the displayed corner it is turned to.
	cases := []struct {
		rot  int
		x, y float64
	}{{0, 0, 0}, {90, 200, 0}, {180, 100, 200}, {270, 0, 100}}
	for _, c := range cases {
		x, y := displayTransform(10, 20, 110, 220, c.rot)(10, 220)
		if x != c.x || y != c.y {
			t.Errorf("rotate %d: (%v, %v), want (%v, %v)", c.rot, x, y, c.x, c.y)
		}
	}
}

func TestSpans(t *testing.T) {
	got := spans([]rune("  ab\r\ncd\x00e  f"))
	want := []span{{2, 3}, {6, 7}, {9, 9}, {12, 12}}
	if len(got) != len(want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("spans %v, want %v", got, want)
		}
	}
	if spans(nil) != nil || spans([]rune("   ")) != nil {
		t.Fatal("words in nothing")
	}
}

// TestTransparentPageIsFlattenedOnWhite: a page with a transparency group, which a viewer
// would composite on its own background, renders on white, opaque.
func TestTransparentPageIsFlattenedOnWhite(t *testing.T) {
	doc := open(t, reader(t), makePDF(testPage{
		extra:   "/Group<</S/Transparency/CS/DeviceRGB/I true/K false>>",
		content: "0 0 0 rg 100 100 50 50 re f\n",
	}))
	img, err := doc.Render(context.Background(), 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if c := img.RGBAAt(5, 5); c.R != 255 || c.G != 255 || c.B != 255 || c.A != 255 {
		t.Errorf("background %v, want opaque white", c)
	}
	// The square, (100, 100)–(150, 150) points from the bottom-left, at 50 dpi.
	x, y := 87, img.Bounds().Dy()-87
	if c := img.RGBAAt(x, y); c.R != 0 || c.G != 0 || c.B != 0 || c.A != 255 {
		t.Errorf("square %v, want opaque black", c)
	}
}
