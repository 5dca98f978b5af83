// Package server is the HTTP and WebSocket edge of notifyql: transports, authentication,
// request limits, the error presenter, health, metrics and the routes.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/formatter"
	"go.opentelemetry.io/otel/trace"

	"notifyql"
)

// Config is the edge's configuration, read once by cmd.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free one.
	Addr   string
	Logger *slog.Logger
	Limits Limits
	// Development switches on introspection and "did you mean" suggestions.
	Development bool
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// (DefaultShutdownTimeout when zero).
	ShutdownTimeout time.Duration
	// Extensions are added to the GraphQL handler, for example per-operation dataloaders.
	Extensions []graphql.HandlerExtension
	// WebSocket configures subscriptions over WebSockets; unset fields take their defaults
	// (DefaultWebSocketConfig).
	WebSocket WebSocketConfig
	// Metrics, when set, is served in Prometheus' text format on GET /metrics, at
	// MetricsAddr; when nil, /metrics answers 404.
	Metrics prometheus.Gatherer
	// MetricsAddr is the host:port of a listener of its own for GET /metrics (port 0 picks
	// a free one), which then answers 404 on Addr: the metrics are not the API's clients'
	// to read. Empty serves /metrics beside the API, as development does.
	MetricsAddr string
	// Profiling serves the runtime's profiles (net/http/pprof, under /debug/pprof/) on the
	// metrics listener, which must then be one of its own (MetricsAddr): a profile shows
	// what the process holds, which is not the API's clients' to read.
	Profiling bool
	// Connections bound each client address's connections and how long they may idle or
	// take to send a request; zero timeouts take their defaults.
	Connections ConnectionLimits
	// InboxCSV, when set, serves GET /services/{id}/inbox.csv.
	InboxCSV *InboxCSV
	// Downloads, when set, serves the notifications CSV; when nil, its route answers 404.
	Downloads *Downloads
	// Reports, when set, serves stored report requests; when nil, their route answers 404.
	Reports *Reports
	// LetterFiles, when set, serves letter previews' PDFs and page images (RENDERING.md
	// §7.2); when nil, their routes answer 404.
	LetterFiles *LetterFiles
	// DownloadLimits bound the downloads (InboxCSV, Downloads, Reports): each batch's write
	// timeout and each user's downloads at once (DefaultDownloadLimits for a zero field).
	DownloadLimits DownloadLimits
	// RequestMetrics, when set, measures GraphQL requests and errors (register it in the
	// gatherer that Metrics serves).
	RequestMetrics *RequestMetrics
	// APQCache, when set, keeps automatic persisted queries (a client sends a query's hash
	// and only sends the text when told it is unknown): only texts that passed every check,
	// no longer than Limits.MaxBodyBytes, each counted against the client address's
	// allowance. Parsed queries are cached in memory in front of it either way.
	APQCache graphql.Cache[string]
	// TrustedDocuments are the operations the server's clients send, found by hash before
	// the APQCache, and the mode that says what happens to others (server/trusteddocuments.go).
	TrustedDocuments TrustedDocuments
	// RateLimiter, when set, applies RateLimits to GraphQL requests over HTTP and to the
	// downloads.
	RateLimiter RateLimiter
	// RateLimits are the allowances (DefaultRateLimits are serve's); a zero field switches
	// that limit off.
	RateLimits RateLimits
	// TrustedProxies are the proxies whose X-Forwarded-For names the client's address.
	TrustedProxies TrustedProxies
	// CodeBackendError, when set, gives a code to an error from a backend that the edge
	// cannot recognise itself (PostgreSQL not answering: EUNAVAILABLE), or returns nil; an
	// error it codes is shown with that code instead of as "internal error", by GraphQL and
	// by the downloads.
	CodeBackendError func(error) *notifyql.Error
	// Readiness are what GET /readyz checks.
	Readiness []ReadinessCheck
	// Pages are the browser pages served beside the API, by the path each is served at
	// (each also serves beneath path + "/"): GraphiQL and the live dashboard.
	Pages map[string]http.Handler
	// Home, when set, is the page that GET / redirects to.
	Home string
	// DrainDelay is how long /readyz answers "shutting down" before the server stops
	// accepting requests, so that load balancers stop sending it traffic first.
	DrainDelay time.Duration
	// Tracing, when set, gives every request and GraphQL operation a span (tracing.go)
	// and answers each request with a traceresponse header; nil traces nothing, at no cost.
	Tracing trace.TracerProvider
}

// DefaultShutdownTimeout is how long Run lets in-flight requests finish, after the drain
// delay, before it closes what is left: a supervisor's stop timeout (systemd's
// TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds) must cover both, and the
// deployment's tests check that it does.
const DefaultShutdownTimeout = 10 * time.Second

// Server serves the GraphQL API over HTTP.
type Server struct {
	cfg        Config
	auth       *Authenticator
	handler    http.Handler
	websockets *websocketSessions
	// websocketUpgrader answers WebSocket handshakes.
	websocketUpgrader *gorillaWebsocket
	// fieldsIntercepted says an extension intercepts fields: every operation's context,
	// over HTTP and on sockets, is marked for it (notifyql.NewContextWithFieldsIntercepted).
	fieldsIntercepted bool
	// socketExecutor runs the sockets' operations with gqlgen's executor.
	socketExecutor socketExecutor
	// sharedOperations are the operation contexts the sockets' subscriptions share.
	sharedOperations *sharedOperationContexts
	// parsed is gqlgen's cache of parsed documents.
	parsed *parsedQueries
	// rates counts each user's operations, over HTTP and on sockets alike; nil without a
	// limiter.
	rates *rateLimiting
	// presentError shows an error as GraphQL does, for operations refused before they run.
	presentError graphql.ErrorPresenterFunc
	// revocations re-check the users of sockets that an access change names.
	revocations *revocationChecks

	listener net.Listener
	// metricsListener serves /metrics when Config.MetricsAddr is set.
	metricsListener net.Listener
	// draining is set once shutdown begins: /readyz then answers "shutting down".
	draining atomic.Bool
	// tracer makes the requests' and operations' spans; nil when Config.Tracing is.
	tracer trace.Tracer
}

// New returns a server for the executable schema; Run starts it.
func New(cfg Config, schema graphql.ExecutableSchema, auth *Authenticator) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = slog.New(WithRequestIDs(cfg.Logger.Handler()))
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	cfg.WebSocket = cfg.WebSocket.withDefaults()
	cfg.Connections = cfg.Connections.withDefaults()
	cfg.DownloadLimits = cfg.DownloadLimits.withDefaults()
	if cfg.TrustedDocuments.Mode == "" {
		cfg.TrustedDocuments.Mode = TrustedDocumentsOff
	}
	s := &Server{cfg: cfg, auth: auth, websockets: newWebsocketSessions(), sharedOperations: newSharedOperationContexts(),
		websocketUpgrader: &gorillaWebsocket{cfg: cfg.WebSocket, writeBuffers: &sync.Pool{}, steps: newStepWorkers(stepWorkerIdle)},
		presentError:      newErrorPresenter(cfg.Logger, cfg.RequestMetrics, cfg.CodeBackendError)}
	if cfg.RateLimiter != nil {
		s.rates = &rateLimiting{limiter: cfg.RateLimiter, limits: cfg.RateLimits, proxies: cfg.TrustedProxies, logger: cfg.Logger, metrics: cfg.RequestMetrics}
	}
	s.revocations = newRevocationChecks(s)
	if cfg.Tracing != nil {
		s.tracer = cfg.Tracing.Tracer(tracerName)
	}
	s.handler = s.routes(s.graphqlHandler(schema), schema)
	return s
}

// SchemaSDL is the executable schema written as SDL, as `notifyql schema` prints it and GET
// /schema.graphql serves it.
func SchemaSDL(schema graphql.ExecutableSchema) []byte {
	var sdl bytes.Buffer
	formatter.NewFormatter(&sdl, formatter.WithIndent("  ")).FormatSchema(schema.Schema())
	return sdl.Bytes()
}

// Handler returns the server's routes, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) graphqlHandler(schema graphql.ExecutableSchema) http.Handler {
	gql := handler.New(schema)
	gql.AddTransport(postTransport{})
	gql.AddTransport(getTransport{})
	gql.AddTransport(letterUploadTransport())
	gql.AddTransport(socketTransport{})
	parsed := newParsedQueries(parsedQueryCacheDocs, s.cfg.Limits.MaxCachedQueryBytes)
	s.parsed = parsed
	gql.SetQueryCache(parsed)
	// DocumentLimits counts tokens before gqlgen parses, with a clearer answer; this stays
	// as gqlgen's own bound.
	gql.SetParserTokenLimit(s.cfg.Limits.MaxTokens)
	gql.SetErrorPresenter(s.presentError)
	// A field interceptor must see every field: the executor (graph's generated plain leaves) runs
	// plain scalar fields through interceptors only for requests marked as intercepted.
	intercepted := false
	use := func(ext graphql.HandlerExtension) {
		gql.Use(ext)
		if _, ok := ext.(graphql.FieldInterceptor); ok {
			intercepted = true
		}
	}
	if s.tracer != nil {
		// First, so that the operation's span is the parent of all the others' work.
		use(operationTracing{s.tracer})
	}
	if s.cfg.RequestMetrics != nil {
		use(s.cfg.RequestMetrics)
	}
	gql.SetRecoverFunc(newRecoverFunc(s.cfg.Logger))
	gql.SetDisableSuggestion(!s.cfg.Development)
	if s.cfg.Development {
		use(extension.Introspection{})
	} else {
		use(NoIntrospection{})
	}
	// A persisted query's text is looked up first, in the trusted documents and then the
	// cache, and stored only once every check below has accepted it (server/apq.go,
	// server/trusteddocuments.go).
	var apqRegistration graphql.HandlerExtension
	if s.cfg.APQCache != nil || s.cfg.TrustedDocuments.Mode != TrustedDocumentsOff || s.cfg.TrustedDocuments.Len() > 0 {
		var apqLookup graphql.HandlerExtension
		apqLookup, apqRegistration = persistedQueries(s.cfg.APQCache, s.cfg.TrustedDocuments, s.cfg.Development,
			s.cfg.Limits.MaxBodyBytes, s.rates, s.cfg.RequestMetrics)
		use(apqLookup)
	}
	// After the persisted query extension, which puts a hash's text in the request.
	use(DocumentLimits{MaxTokens: s.cfg.Limits.MaxTokens, MaxAliases: s.cfg.Limits.MaxAliases,
		MaxDirectives: s.cfg.Limits.MaxDirectives, MaxValidationSteps: s.cfg.Limits.MaxValidationSteps, Parsed: parsed})
	use(&OperationLimits{MaxDepth: s.cfg.Limits.MaxDepth, MaxComplexity: s.cfg.Limits.MaxComplexity})
	// Before the extensions cmd adds, so that they see the operation's own principal.
	use(socketOperations{s})
	for _, ext := range s.cfg.Extensions {
		use(ext)
	}
	if apqRegistration != nil {
		use(apqRegistration)
	}
	s.socketExecutor = socketExecutor{s: s, exec: executorOf(gql)}
	s.fieldsIntercepted = intercepted
	if intercepted {
		return markFieldsIntercepted(refuseUnreadableParameters(gql))
	}
	return refuseUnreadableParameters(gql)
}

// markFieldsIntercepted marks every request's context for an executor with field
// interceptors.
func markFieldsIntercepted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(notifyql.NewContextWithFieldsIntercepted(r.Context())))
	})
}

func (s *Server) routes(gql http.Handler, schema graphql.ExecutableSchema) http.Handler {
	mux := http.NewServeMux()
	rates := s.rates
	operations := limitDuration(s.cfg.Limits.RequestTimeout,
		rates.byIP(s.auth.Middleware(rates.byUser(limitBody(s.cfg.Limits.MaxBodyBytes, acceptJSONBody(checkBody(answerInTime(gql))))))))
	// A letter upload is the one multipart body taken (admitLetterUpload), with bounds and
	// a time of its own.
	uploads := limitDuration(max(s.cfg.Limits.RequestTimeout, letterUploadTimeout),
		rates.byIP(s.auth.Middleware(rates.byUser(admitLetterUpload(answerInTime(gql))))))
	mux.Handle("POST /graphql", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isMultipart(r) {
			uploads.ServeHTTP(w, r)
			return
		}
		operations.ServeHTTP(w, r)
	}))
	methodNotAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		writeGraphQLError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST with a JSON body")
	})
	// GET upgrades to a WebSocket for subscriptions, which authenticate in connection_init;
	// otherwise it runs a query, when a browser must have asked first to send it.
	queries := limitDuration(s.cfg.Limits.RequestTimeout,
		rates.byIP(s.auth.Middleware(rates.byUser(requirePreflight(answerInTime(gql))))))
	getQuery := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "this request cannot be upgraded to a WebSocket")
			return
		}
		queries.ServeHTTP(w, r)
	})
	mux.Handle("GET /graphql", s.websocketHandler(getQuery))
	mux.Handle("/graphql", methodNotAllowed)
	if s.cfg.Development {
		// The schema's text is what introspection answers, so it is served where
		// introspection is on, and only there.
		sdl := SchemaSDL(schema)
		mux.HandleFunc("GET /schema.graphql", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(sdl)
		})
	}
	for path, page := range s.cfg.Pages {
		mux.Handle("GET "+path, page)
		mux.Handle("GET "+path+"/", page)
	}
	if s.cfg.Home != "" {
		mux.Handle("GET /{$}", http.RedirectHandler(s.cfg.Home, http.StatusFound))
	}
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	download := s.downloadRoutes(rates)
	if s.cfg.InboxCSV != nil {
		mux.Handle("GET /services/{id}/inbox.csv", download(s.auth.Middleware,
			s.cfg.InboxCSV.serve(s.cfg.Logger, s.writeError, s.cfg.DownloadLimits.WriteTimeout)))
	}
	if s.cfg.Downloads != nil {
		mux.Handle(NotificationsCSVRoute, download(s.authenticateByLinkOrHeader(s.cfg.Downloads.Links), http.HandlerFunc(s.notificationsCSV)))
	}
	if s.cfg.Reports != nil {
		mux.Handle(ReportDownloadRoute, download(s.authenticateByLinkOrHeader(s.cfg.Reports.Links), http.HandlerFunc(s.reportDownload)))
	}
	if lf := s.cfg.LetterFiles; lf != nil {
		file := s.letterFileRoutes(rates)
		mux.Handle(LetterPDFRoute, file(lf.LetterLinks, s.letterPDF))
		mux.Handle(LetterPNGRoute, file(lf.LetterLinks, s.letterPNG))
		mux.Handle(UploadPDFRoute, file(lf.UploadLinks, s.uploadPDF))
		mux.Handle(UploadPNGRoute, file(lf.UploadLinks, s.uploadPNG))
	}
	if s.cfg.Metrics != nil && s.cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", s.MetricsHandler())
	}
	if s.tracer != nil {
		return withRequestID(s.cfg.Logger, traceRequests(s.tracer, mux, recoverPanics(s.cfg.Logger, mux)))
	}
	return withRequestID(s.cfg.Logger, recoverPanics(s.cfg.Logger, mux))
}

// MetricsHandler serves GET /metrics: on the API's routes without Config.MetricsAddr, on
// the metrics listener with it, and to tests that use httptest.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelError),
		}))
	}
	return mux
}

// metricsListenerHandler is what the metrics listener serves: the metrics and, with
// Config.Profiling, the runtime's profiles.
func (s *Server) metricsListenerHandler() http.Handler {
	if !s.cfg.Profiling {
		return s.MetricsHandler()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	return mux
}

// OpenWebSockets is the number of WebSocket connections open now, for metrics.
func (s *Server) OpenWebSockets() int { return s.websockets.open() }

// Listen binds the configured addresses, the API's and the metrics' (when it has its own);
// Run calls it when it has not been called yet.
func (s *Server) Listen() error {
	if s.listener != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	if s.cfg.Metrics != nil && s.cfg.MetricsAddr != "" {
		metricsLn, err := net.Listen("tcp", s.cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics on %s: %w", s.cfg.MetricsAddr, err)
		}
		s.metricsListener = metricsLn
	}
	s.listener = ln
	return nil
}

// URL is the GraphQL endpoint's address once the server listens.
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	return baseURL(s.listener) + "/graphql"
}

// MetricsURL is where GET /metrics answers once the server listens, "" without metrics.
func (s *Server) MetricsURL() string {
	switch {
	case s.listener == nil || s.cfg.Metrics == nil:
		return ""
	case s.metricsListener != nil:
		return baseURL(s.metricsListener) + "/metrics"
	default:
		return baseURL(s.listener) + "/metrics"
	}
}

// baseURL is http://host:port of a listener, localhost standing for every address.
func baseURL(ln net.Listener) string {
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Run serves until ctx is done, then stops accepting, lets in-flight requests finish and
// closes WebSockets with 1001 (going away), all within the shutdown timeout, and returns.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	httpServer := s.httpServer(ctx, s.handler)
	serveErr := make(chan error, 2)
	go func() {
		serveErr <- httpServer.Serve(newAddressLimitedListener(s.listener, s.cfg.Connections, s.cfg.TrustedProxies, s.cfg.RequestMetrics))
	}()
	s.cfg.Logger.Info("serving GraphQL", "url", s.URL())
	// The metrics listener is the scraper's, on its own network: it has the timeouts but
	// not the per-address bound.
	var metricsServer *http.Server
	if s.metricsListener != nil {
		metricsServer = s.httpServer(ctx, s.metricsListenerHandler())
		go func() { serveErr <- metricsServer.Serve(s.metricsListener) }()
		s.cfg.Logger.Info("serving metrics", "url", s.MetricsURL())
	}

	select {
	case err := <-serveErr:
		_ = httpServer.Close()
		if metricsServer != nil {
			_ = metricsServer.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.cfg.Logger.Info("shutting down", "websocket_connections", s.websockets.open(), "drain_delay", s.cfg.DrainDelay.String())
	s.draining.Store(true)
	time.Sleep(s.cfg.DrainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := httpServer.Shutdown(shutdownCtx)
	// Shutdown neither closes nor waits for hijacked connections: the sockets are closed
	// here, even when HTTP did not drain in time.
	websocketErr := s.websockets.shutdown(shutdownCtx)
	// The metrics are served until the API has drained, so that a scrape sees the drain.
	servers := 1
	if metricsServer != nil {
		servers++
		if err := metricsServer.Shutdown(shutdownCtx); err != nil && shutdownErr == nil {
			shutdownErr = err
		}
	}
	if shutdownErr != nil {
		return fmt.Errorf("shut down HTTP: %w", shutdownErr)
	}
	if websocketErr != nil {
		return fmt.Errorf("shut down: %w", websocketErr)
	}
	for range servers {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	return nil
}

// httpServer is an HTTP server of handler with the connection limits' timeouts.
func (s *Server) httpServer(ctx context.Context, handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// net/http counts ReadTimeout from a request's first byte and lifts it once the
		// body has been read (at once for a request without a body): it bounds the time
		// to send a request, not the time to answer it.
		ReadTimeout: s.cfg.Connections.BodyTimeout,
		IdleTimeout: s.cfg.Connections.IdleTimeout,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}
