package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"notifyql"
	"notifyql/letterpreview"
	"notifyql/pdfium"
	"notifyql/postgres"
	"notifyql/redis"
	"notifyql/resolvers"
	"notifyql/server"
	"notifyql/typeset"
)

// letterSettings are the letter renderer's settings: the renderers that may run at once
// (NOTIFYQL_LETTER_RENDERERS), and the render cache's byte budget
// (NOTIFYQL_LETTER_CACHE_BYTES, 0 for no cache) and entries' life
// (NOTIFYQL_LETTER_CACHE_TTL, at most 10 minutes).
type letterSettings struct {
	Renderers  int
	CacheBytes int
	CacheTTL   time.Duration
}

// defaultLetterSettings: one renderer per CPU (each is CPU-bound), 64 MiB of cache (some
// 300 first pages at about 200 KB each) for the spec's longest life, 10 minutes.
func defaultLetterSettings() letterSettings {
	return letterSettings{Renderers: runtime.NumCPU(), CacheBytes: 64 << 20, CacheTTL: redis.MaxLetterRenderTTL}
}

// letterEngines are the PDF engines letters are typeset and read with; either nil switches
// previews and validateLetterPdf off (content still works).
type letterEngines struct {
	Typesetter notifyql.Typesetter
	Reader     notifyql.PDFReader
}

// Link purposes: each kind of link has its own key, so a link of one kind never opens
// another's route.
const (
	letterLinkPurpose = "letter preview"
	uploadLinkPurpose = "letter upload"
	// letterLinkTTL and uploadLinkTTL are RENDERING.md §7.2's: 15 minutes for a letter's
	// links, signed afresh on every query; 5 for an upload's, as long as it is kept.
	letterLinkTTL = 15 * time.Minute
	uploadLinkTTL = notifyql.LetterUploadTTL
)

// letterWiring is what content, previews and letter uploads run on.
type letterWiring struct {
	Content     notifyql.ContentStore
	Renderer    *letterpreview.Renderer
	LetterLinks *server.LinkSigner
	UploadLinks *server.LinkSigner
	Uploads     notifyql.LetterUploadStore
	Validations resolvers.ValidationLimiter
}

// renderFailures counts rendering failures by kind, the only label (RENDERING.md §1.2).
var renderFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "notifyql_render_failures_total",
	Help: "Renderings of content, letter PDFs and pages, and upload validations that failed, by kind.",
}, []string{"kind"})

// newLetters wires the letter renderer over the engines (nil engines: content only), the
// render cache and uploads in Redis, and the link signers keyed from secret. namespace
// keeps the cache's counters apart from other deployments' on a shared Redis.
func newLetters(pool *pgxpool.Pool, rdb goredis.UniversalClient, namespace string, secret []byte, engines *letterEngines, settings letterSettings, logger *slog.Logger) (*letterWiring, error) {
	w := &letterWiring{Content: postgres.NewContentStore(pool)}
	if engines == nil || engines.Typesetter == nil || engines.Reader == nil {
		return w, nil
	}
	var err error
	if w.LetterLinks, err = server.NewLinkSigner(secret, letterLinkPurpose, letterLinkTTL); err != nil {
		return nil, err
	}
	if w.UploadLinks, err = server.NewLinkSigner(secret, uploadLinkPurpose, uploadLinkTTL); err != nil {
		return nil, err
	}
	// The cache's hash key is derived from the signing secret, so every instance of a
	// deployment shares the cache, and nobody without the secret can check a key against
	// guessed inputs.
	hashKey, err := hkdf.Key(sha256.New, secret, nil, "notifyql letter render cache", sha256.Size)
	if err != nil {
		return nil, err
	}
	cfg := letterpreview.Config{Typesetter: engines.Typesetter, Reader: engines.Reader, HashKey: hashKey,
		Workers: settings.Renderers, Logger: logger,
		CountFailure: func(kind string) { renderFailures.WithLabelValues(kind).Inc() }}
	if settings.CacheBytes > 0 {
		cfg.Cache = redis.NewLetterRenderCache(rdb, namespace, int64(settings.CacheBytes), settings.CacheTTL)
	}
	w.Renderer = letterpreview.New(cfg)
	w.Uploads = redis.NewLetterUploads(rdb)
	w.Validations = redis.NewRateLimiter(rdb, namespace)
	return w, nil
}

// letterFiles is the preview files' edge, nil when there is no renderer.
func (w *letterWiring) letterFiles(pool *pgxpool.Pool, london *time.Location, now func() time.Time) *server.LetterFiles {
	if w == nil || w.Renderer == nil {
		return nil
	}
	return &server.LetterFiles{
		Notifications: postgres.NewNotificationStore(pool, london),
		Catalogue:     postgres.NewCatalogueStore(pool),
		Services:      postgres.NewServiceStore(pool),
		Content:       w.Content,
		Uploads:       w.Uploads,
		Renderer:      w.Renderer,
		LetterLinks:   w.LetterLinks,
		UploadLinks:   w.UploadLinks,
		Now:           now,
		London:        london,
	}
}

// pdfiumCacheDir is where PDFium's compiled module is kept between runs (the user's cache
// folder), so that a restart, and every serve a test suite starts, loads it instead of
// compiling it again; "" (no cache) where the user has no cache folder.
func pdfiumCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "notifyql", "pdfium")
}

// startLetterEngines starts the PDF engines serve renders letters with: the fpdf
// typesetter and a pool of PDFium instances (one per renderer), whose one-time module
// compilation runs in the background after start-up, so that it never delays /readyz; a
// render before it is done waits for it. Tests replace it with fakes.
var startLetterEngines = func(ctx context.Context, settings letterSettings, logger *slog.Logger) (*letterEngines, func(), error) {
	typesetter, err := typeset.New()
	if err != nil {
		return nil, nil, err
	}
	reader := pdfium.New(pdfium.Options{Instances: settings.Renderers, CompilationCacheDir: pdfiumCacheDir()})
	go func() {
		started := time.Now()
		if err := reader.Warm(context.WithoutCancel(ctx)); err != nil {
			logger.Error("PDF reader failed to start: letter previews and validations will fail", "error", err)
			return
		}
		logger.Info("PDF reader ready", "took_ms", time.Since(started).Milliseconds())
	}()
	stop := func() {
		if err := reader.Close(); err != nil {
			logger.Warn("close the PDF reader", "error", err)
		}
	}
	return &letterEngines{Typesetter: typesetter, Reader: reader}, stop, nil
}
