package pdfium

import (
	"context"
	"testing"
	"time"
)

// letterPage is an A4 page with a letter's worth of text.
func letterPage() []byte {
	content := text("MS A SAMPLE", 25, 45, 8) + text("1 EXAMPLE STREET", 25, 48, 8) + text("SW1A 1AA", 25, 51, 8)
	for i := range 40 {
		content += text("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.", 15, 110+float64(i)*4.2, 11)
	}
	return makePDF(testPage{content: content})
}

// BenchmarkRenderPage renders an A4 letter page at 150 dpi on a warm pool, the document
// already open. It reports the one-time cost of compiling the module and making the first
// instance (a cold compilation when this benchmark runs first in the process).
func BenchmarkRenderPage(b *testing.B) {
	r := reader(b)
	doc := open(b, r, letterPage())
	ctx := context.Background()
	for b.Loop() {
		img, err := doc.Render(ctx, 1, 150)
		if err != nil {
			b.Fatal(err)
		}
		if img.Bounds().Dx() != 1240 {
			b.Fatal(img.Bounds())
		}
	}
	b.ReportMetric(float64(r.WarmDuration().Milliseconds()), "warm-ms")
}

// BenchmarkOpenRenderClose is a first render: open, render page 1 at 150 dpi, close.
func BenchmarkOpenRenderClose(b *testing.B) {
	r := reader(b)
	pdf := letterPage()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		doc, err := r.Open(ctx, pdf)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := doc.Render(ctx, 1, 150); err != nil {
			b.Fatal(err)
		}
		doc.Close()
		cancel()
	}
}

// BenchmarkWords extracts the words of the letter page.
func BenchmarkWords(b *testing.B) {
	r := reader(b)
	doc := open(b, r, letterPage())
	ctx := context.Background()
	for b.Loop() {
		if _, err := doc.Words(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}
