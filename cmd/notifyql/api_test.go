package main

import (
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres"
	"notifyql/redis"
	"notifyql/server"
)

// fixtureSQL is a small fixed world: services A, B and an inactive C, a user for each kind
// of caller, notifications around the London midnight, and facts for past days.
//
//go:embed testdata/fixture.sql
var fixtureSQL string

// fixtureNow is the API tests' clock: 13:00 BST, so London today began at 23:00 UTC.
var fixtureNow = time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)

// Ids from testdata/fixture.sql.
const (
	serviceA = "5a000000-0000-0000-0000-00000000000a"
	serviceB = "5b000000-0000-0000-0000-00000000000b"
	serviceC = "5c000000-0000-0000-0000-00000000000c"

	userAdmin   = "00000000-0000-0000-0000-0000000000ad"
	userManager = "00000000-0000-0000-0000-0000000000aa"
	userViewer  = "00000000-0000-0000-0000-0000000000bb"
	userSender  = "00000000-0000-0000-0000-0000000000cc"
	userMember  = "00000000-0000-0000-0000-0000000000dd"
	userOrg     = "00000000-0000-0000-0000-0000000000ee"
	userOther   = "00000000-0000-0000-0000-0000000000ff"

	notificationA1 = "a0000000-0000-0000-0000-000000000001"
	notificationA2 = "a0000000-0000-0000-0000-000000000002"
	notificationA3 = "a0000000-0000-0000-0000-000000000003"
	notificationA5 = "a0000000-0000-0000-0000-000000000005"
	notificationA7 = "a0000000-0000-0000-0000-000000000007"
	notificationA8 = "a0000000-0000-0000-0000-000000000008"
	notificationB1 = "b0000000-0000-0000-0000-000000000001"

	templateA1 = "7e000000-0000-0000-0000-000000000001"
	templateB1 = "7e000000-0000-0000-0000-0000000000b1"
	jobA1      = "10b00000-0000-0000-0000-000000000001"
	inboundA1  = "1a000000-0000-0000-0000-000000000001"
)

// testAPI is the GraphQL API wired as serve wires it, over a fresh database with the fixture.
type testAPI struct {
	handler    http.Handler
	pool       *pgxpool.Pool
	statements *postgres.QueryCounter
	// links signs download links as serve's signer does.
	links *server.LinkSigner
	// letters are the letter renderer, uploads and preview link signers, when the test
	// asked for them (testAPIOptions.letters).
	letters *letterWiring
}

func newTestAPI(t *testing.T, limits server.Limits) *testAPI {
	t.Helper()
	return newTestAPIAt(t, limits, fixtureNow)
}

// newTestAPIAt is newTestAPI with the resolvers' clock set to now.
func newTestAPIAt(t *testing.T, limits server.Limits, now time.Time) *testAPI {
	t.Helper()
	return newTestAPIWith(t, testAPIOptions{limits: limits, now: func() time.Time { return now }})
}

// newTestAPIWithClock is newTestAPI with the resolvers reading the time from now, which a
// test may move between requests.
func newTestAPIWithClock(t *testing.T, limits server.Limits, now func() time.Time) *testAPI {
	t.Helper()
	return newTestAPIWith(t, testAPIOptions{limits: limits, now: now})
}

// testAPIOptions are what a test may change about the API it gets.
type testAPIOptions struct {
	limits server.Limits
	// now is the resolvers' clock.
	now func() time.Time
	// redisAddr is where the search terms are remembered: the machine's Redis when empty.
	redisAddr string
	// logs receives the server's JSON log lines at logLevel (the test's output, info, when
	// nil).
	logs     io.Writer
	logLevel slog.Leveler
	// downloadBatchSize is the notifications CSV's batch size (DownloadBatchSize when 0).
	downloadBatchSize int
	// development serves as NOTIFYQL_ENV=development does: introspection and suggestions on.
	development bool
	// rateLimits, when set, limits requests as serve does, counted in Redis under
	// rateLimitNamespace (APIs that share one share their allowances).
	rateLimits         server.RateLimits
	rateLimitNamespace string
	// extensions are added to the GraphQL handler after the schema's own.
	extensions []graphql.HandlerExtension
	// downloadLimits are the downloads' limits (DefaultDownloadLimits for a zero field), and
	// maxConns the pool's size (pgxpool's default when 0).
	downloadLimits server.DownloadLimits
	maxConns       int32
	// letters, when set, are the PDF engines letters are previewed with (fakes: the
	// adapter's own tests are its own); letterRedisAddr, when set, is the Redis uploads and
	// the render cache use, and letterRenderTimeout bounds a preview file's rendering
	// (LetterRenderTimeout when 0).
	letters             *letterEngines
	letterRedisAddr     string
	letterRenderTimeout time.Duration
	// principalCache keeps principals as serve does (no access changes reach this API, so
	// a test that changes access and asks again within a second must leave it off).
	principalCache bool
	// trusted are the trusted documents and their mode (off, listing nothing, when zero).
	trusted server.TrustedDocuments
	// requestMetrics, when set, measures the requests (and counts unlisted operations).
	requestMetrics *server.RequestMetrics
}

// machineRedisAddr is the Redis that make test starts.
const machineRedisAddr = "127.0.0.1:6379"

// newTestAPIWith is the API over a fresh database with the fixture, as o asks.
//
// The tests of the api_*_test.go files that only ask such an API and read its database call
// t.Parallel() first: most of each one's time is PostgreSQL cloning and dropping its
// database, which overlaps well. Each API has its own database, Redis namespace for letters
// and rate limits, clock and logs; search terms are kept under their hash, the same value
// whoever writes it. A test that counts the process's goroutines or times the server
// (api_download_limits_test.go), or shares the machine Redis's allowances, stays serial:
// go test starts parallel tests only after the serial ones have ended.
func newTestAPIWith(t testing.TB, o testAPIOptions) *testAPI {
	t.Helper()
	limits, now := o.limits, o.now
	if now == nil {
		now = func() time.Time { return fixtureNow }
	}
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	counter := &postgres.QueryCounter{}
	cfg.ConnConfig.Tracer = counter
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), fixtureSQL); err != nil {
		t.Fatalf("load fixture: %v", err)
	}
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	access := postgres.NewAccessStore(pool)
	if o.redisAddr == "" {
		o.redisAddr = machineRedisAddr
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: o.redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	searchKey, err := hex.DecodeString(testSearchSecret)
	if err != nil {
		t.Fatal(err)
	}
	links, err := server.NewLinkSigner([]byte(testSecret), downloadLinkPurpose, 0)
	if err != nil {
		t.Fatal(err)
	}
	if o.logs == nil {
		o.logs = testLogWriter{t}
	}
	logger := slog.New(slog.NewJSONHandler(o.logs, &slog.HandlerOptions{Level: o.logLevel}))
	deps := schemaDeps{Pool: pool, Access: access, Redis: rdb, SearchSecret: searchKey, London: london, Now: now, Links: links, Logger: logger}
	if o.letters != nil {
		letterRedis := rdb
		if o.letterRedisAddr != "" {
			letterRedis = goredis.NewClient(&goredis.Options{Addr: o.letterRedisAddr, MaxRetries: -1})
			t.Cleanup(func() { _ = letterRedis.Close() })
		}
		namespace := "test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		deps.Letters, err = newLetters(pool, letterRedis, namespace, []byte(testSecret), o.letters,
			letterSettings{Renderers: 2, CacheBytes: 8 << 20, CacheTTL: time.Minute}, logger)
		if err != nil {
			t.Fatal(err)
		}
	}
	schema, extensions, err := newSchema(deps)
	if err != nil {
		t.Fatal(err)
	}
	downloads := newDownloads(pool, links, london, now)
	downloads.BatchSize = o.downloadBatchSize
	apiCfg := server.Config{Limits: limits, Extensions: append(extensions, o.extensions...), Logger: logger, Development: o.development,
		Downloads: downloads, InboxCSV: newInboxCSV(deps), Reports: newReportDownloads(pool, links), APQCache: redis.NewAPQCache(rdb),
		CodeBackendError: postgres.Unavailable, DownloadLimits: o.downloadLimits,
		TrustedDocuments: o.trusted, RequestMetrics: o.requestMetrics}
	if apiCfg.LetterFiles = deps.Letters.letterFiles(pool, london, now); apiCfg.LetterFiles != nil {
		apiCfg.LetterFiles.RenderTimeout = o.letterRenderTimeout
	}
	if o.rateLimits != (server.RateLimits{}) {
		apiCfg.RateLimiter, apiCfg.RateLimits = redis.NewRateLimiter(rdb, o.rateLimitNamespace), o.rateLimits
	}
	auth := server.NewAuthenticator([]byte(testSecret), access).WithLogger(logger)
	if o.principalCache {
		auth = auth.WithPrincipalCache()
	}
	srv := server.New(apiCfg, schema, auth)
	return &testAPI{handler: srv.Handler(), pool: pool, statements: counter, links: links, letters: deps.Letters}
}

// testLogWriter shows the server's log lines in the test's output.
type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// tokenFor mints a token for a fixture user that expires in an hour.
func tokenFor(t *testing.T, userID string) string {
	t.Helper()
	tok, err := server.MintToken([]byte(testSecret), userID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	status int
	body   string
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

// post sends a GraphQL request; a token of "" sends no Authorization header.
func (a *testAPI) post(t *testing.T, tok, query string, variables map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatal(err)
	}
	return a.postRaw(t, tok, "application/json", string(body))
}

func (a *testAPI) postRaw(t *testing.T, tok, contentType, body string) gqlResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return a.serveGraphQL(t, req, tok)
}

// serveGraphQL sends req to the API as tok and decodes its answer, failing unless it is
// JSON.
func (a *testAPI) serveGraphQL(t *testing.T, req *http.Request, tok string) gqlResponse {
	t.Helper()
	rec := a.serveAs(req, tok)
	resp := gqlResponse{status: rec.Code, body: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response is not JSON (%d): %s", rec.Code, rec.Body.String())
	}
	return resp
}

// serveAs sends req to the API with tok in its Authorization header ("" for none) and
// returns the recorded answer.
func (a *testAPI) serveAs(req *http.Request, tok string) *httptest.ResponseRecorder {
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec
}

// at walks the response data along a path of keys and indexes.
func (r gqlResponse) at(path ...any) any {
	var v any = r.Data
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

// codeAt returns the extensions.code of the error at exactly that path, or "".
func (r gqlResponse) codeAt(path ...any) string {
	for _, e := range r.Errors {
		if pathEqual(e.Path, path) {
			code, _ := e.Extensions["code"].(string)
			return code
		}
	}
	return ""
}

func pathEqual(got []any, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		switch w := want[i].(type) {
		case string:
			if got[i] != w {
				return false
			}
		case int:
			if f, ok := got[i].(float64); !ok || int(f) != w {
				return false
			}
		}
	}
	return true
}

// requireNoErrors fails the test when the response carries errors.
func (r gqlResponse) requireNoErrors(t *testing.T) {
	t.Helper()
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors: %s", r.status, r.body)
	}
}

// containsFold reports whether s contains substr, ignoring case.
func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}
