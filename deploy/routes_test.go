package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql/server"
)

// routeAnswers is what the real server answers on the API's listener for each path, as
// it serves and while it drains after a stop signal.
type routeAnswers struct {
	serving, draining map[string]int
}

// askServer starts the real server (its own routes, readiness and drain; a one-field
// schema, as the routes do not depend on it), GETs each path on the API's listener, stops
// it, and GETs each path again during the drain delay. separateMetrics says whether
// /metrics has a listener of its own, as NOTIFYQL_METRICS_ADDR makes it.
func askServer(paths []string, separateMetrics bool) (routeAnswers, error) {
	// Long enough for the GETs during the drain on a busy machine.
	const drainDelay = 2 * time.Second
	stopping := make(chan struct{})
	logger := slog.New(&signalHandler{message: "shutting down", seen: stopping})
	metricsAddr := ""
	if separateMetrics {
		metricsAddr = "127.0.0.1:0"
	}
	srv := server.New(server.Config{Addr: "127.0.0.1:0", Logger: logger, DrainDelay: drainDelay,
		Metrics: prometheus.NewRegistry(), MetricsAddr: metricsAddr},
		oneFieldSchema(), server.NewAuthenticator([]byte(strings.Repeat("k", 32)), nil))
	if err := srv.Listen(); err != nil {
		return routeAnswers{}, err
	}
	base := strings.TrimSuffix(srv.URL(), "/graphql")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() (map[string]int, error) {
		codes := map[string]int{}
		for _, path := range paths {
			resp, err := client.Get(base + path)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			codes[path] = resp.StatusCode
		}
		return codes, nil
	}
	answers := routeAnswers{}
	var err error
	answers.serving, err = get()
	stop()
	if err == nil {
		select {
		case <-stopping:
			// The server marks itself draining just after it logs so.
			time.Sleep(50 * time.Millisecond)
			answers.draining, err = get()
		case <-time.After(5 * time.Second):
			err = errors.New("the server did not begin shutting down")
		}
	}
	return answers, errors.Join(err, <-done)
}

// oneFieldSchema is an executable schema with one query field, enough for the server's
// routes.
func oneFieldSchema() graphql.ExecutableSchema {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { ok: Boolean }`})
	return &graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 1, true
		},
		ExecFunc: func(context.Context) graphql.ResponseHandler {
			return graphql.OneShot(&graphql.Response{Data: []byte(`{"ok":true}`)})
		},
	}
}

// signalHandler is a log handler that closes seen when message is logged.
type signalHandler struct {
	message string
	seen    chan struct{}
	once    sync.Once
}

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.message {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }

// describe names an HTTP status for messages.
func describe(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }
