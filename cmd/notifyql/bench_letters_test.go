package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"notifyql"
	"notifyql/letterpreview"
	"notifyql/pdfium"
	"notifyql/redis"
	"notifyql/typeset"
)

// The letter targets of issue 16, with the engines serve runs: a templated letter's page
// rendered for the first time once the PDFium pool is warm (p50 ≤ 50 ms), the same page
// from the Redis render cache (p50 ≤ 5 ms), and validateLetterPdf's checks on a 10-page
// upload (p50 ≤ 1.5 s). `make bench-letters` runs them. Each reports its p50 and p95.

func newBenchRenderer(b *testing.B, cache bool) *letterpreview.Renderer {
	b.Helper()
	setter, err := typeset.New()
	if err != nil {
		b.Fatal(err)
	}
	reader := pdfium.New(pdfium.Options{Instances: runtime.NumCPU(), CompilationCacheDir: pdfiumCacheDir()})
	b.Cleanup(func() { _ = reader.Close() })
	if err := reader.Warm(context.Background()); err != nil {
		b.Fatal(err)
	}
	cfg := letterpreview.Config{Typesetter: setter, Reader: reader, HashKey: []byte("bench letters key")}
	if cache {
		rdb := goredis.NewClient(&goredis.Options{Addr: machineRedisAddr})
		b.Cleanup(func() { _ = rdb.Close() })
		cfg.Cache = redis.NewLetterRenderCache(rdb, fmt.Sprintf("bench-%d", time.Now().UnixNano()), 64<<20, time.Minute)
	}
	return letterpreview.New(cfg)
}

// benchLetterSource is a one-page letter like the demo's, made distinct by n so that each
// render is a first one.
func benchLetterSource(n int) letterpreview.Source {
	return letterpreview.Source{ID: fmt.Sprintf("bench-%d", n), Inputs: &notifyql.ContentInputs{
		Type:            notifyql.TypeLetter,
		TemplateSubject: "Your council tax bill ((reference))",
		TemplateContent: "Dear ((name)),\n\nYour bill for ((year)) is below.\n\n# What you owe\n\n* Band D: £1,946.00\n* Single person discount: -£486.50\n\n" +
			"^ Pay by 1 April to avoid a reminder.\n\nPay online at https://www.example.gov.uk/pay or call 0300 123 4567.\n\nQR: https://www.example.gov.uk/pay?ref=((reference))",
		Personalisation: fmt.Appendf(nil, `{"name": "Alex Smith", "reference": "CT-%08d", "year": "2027 to 2028",
			"address_line_1": "Alex Smith", "address_line_2": "10 Example Road", "address_line_3": "Exampletown", "postcode": "EX1 1AA"}`, n),
		ReplyToText: "Council Tax\nPO Box 1\nExampletown",
		CreatedAt:   time.Now(),
	}}
}

// reportLatencies reports the p50 and p95 of samples as custom metrics.
func reportLatencies(b *testing.B, samples []time.Duration) {
	b.Helper()
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
}

// BenchmarkLetterPageFirstRender is a page's first image as a dashboard fetches it: the
// notification query that handed out the page links has composed the letter (its page
// count needs the PDF, which the cache keeps), and the image itself is rendered afresh.
func BenchmarkLetterPageFirstRender(b *testing.B) {
	r := newBenchRenderer(b, true)
	benchmarkFirstPages(b, r, func(ctx context.Context, src letterpreview.Source) error {
		_, err := r.Facts(ctx, src)
		return err
	})
}

// BenchmarkLetterPageComposeAndRender is the same with nothing cached: typesetting the
// letter, opening it and rendering its first page.
func BenchmarkLetterPageComposeAndRender(b *testing.B) {
	benchmarkFirstPages(b, newBenchRenderer(b, false), nil)
}

// benchmarkFirstPages times page 1 of a new letter per iteration, after prepare (untimed).
func benchmarkFirstPages(b *testing.B, r *letterpreview.Renderer, prepare func(context.Context, letterpreview.Source) error) {
	ctx := context.Background()
	if _, err := r.PNG(ctx, benchLetterSource(-1), 1); err != nil {
		b.Fatal(err)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		src := benchLetterSource(i)
		if prepare != nil {
			b.StopTimer()
			if err := prepare(ctx, src); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		started := time.Now()
		if _, err := r.PNG(ctx, src, 1); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(started))
	}
	reportLatencies(b, samples)
}

func BenchmarkLetterPageCached(b *testing.B) {
	r := newBenchRenderer(b, true)
	ctx := context.Background()
	src := benchLetterSource(0)
	if _, err := r.PNG(ctx, src, 1); err != nil {
		b.Fatal(err)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		started := time.Now()
		if _, err := r.PNG(ctx, src, 1); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(started))
	}
	reportLatencies(b, samples)
}

func BenchmarkValidateLetterPDF10Pages(b *testing.B) {
	r := newBenchRenderer(b, false)
	pdf, err := os.ReadFile("../../postgres/seed/internal/seedletters/valid-10-pages.pdf")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		started := time.Now()
		verdict, err := r.Validate(ctx, pdf, false)
		if err != nil || verdict.PageCount == nil || *verdict.PageCount != 10 {
			b.Fatalf("verdict %+v, %v", verdict, err)
		}
		samples = append(samples, time.Since(started))
	}
	reportLatencies(b, samples)
}
