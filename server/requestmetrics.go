package server

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql"
)

// RequestMetrics measures GraphQL requests for GET /metrics: the duration of queries and
// mutations by operation name, and errors by extensions.code. It is a gqlgen extension
// and a Prometheus collector; a nil *RequestMetrics measures nothing.
type RequestMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	// unlisted counts the operations the trusted documents do not list that ran anyway
	// (audit, and plain text in development under enforce).
	unlisted *prometheus.CounterVec

	mu    sync.Mutex
	names map[string]bool // operation names used as label values so far
}

// maxOperationNames caps the operation names that become label values; later ones count as
// "other". Names are chosen by clients, so an unbounded set would let any client grow the
// server's memory and every scrape.
const maxOperationNames = 200

// operationName is what a label may hold: a GraphQL name of modest length. Anything else,
// though GraphQL would reject it anyway, counts as "other"; so does a name with a run of
// digits, which could be a phone number (an email or postal address cannot be a name).
var (
	operationName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	digitRun      = regexp.MustCompile(`[0-9]{5,}`)
)

// NewRequestMetrics returns the request metrics, to be registered by the caller.
func NewRequestMetrics() *RequestMetrics {
	return &RequestMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notifyql_graphql_request_duration_seconds",
			Help:    "Time to answer a GraphQL query or mutation, by operation type and name (\"unauthenticated\" for a caller not signed in, \"anonymous\" when unnamed, \"other\" past the first 200 names).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation_type", "operation_name"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifyql_graphql_errors_total",
			Help: "GraphQL errors answered, by extensions.code.",
		}, []string{"code"}),
		unlisted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifyql_trusted_documents_unlisted_total",
			Help: "Operations that the trusted documents do not list and that ran anyway (NOTIFYQL_TRUSTED_DOCUMENTS_MODE=audit), by operation type and name as in notifyql_graphql_request_duration_seconds.",
		}, []string{"operation_type", "operation_name"}),
		names: make(map[string]bool),
	}
}

// Describe and Collect make RequestMetrics a prometheus.Collector.
func (m *RequestMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	m.errors.Describe(ch)
	m.unlisted.Describe(ch)
}

func (m *RequestMetrics) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	m.errors.Collect(ch)
	m.unlisted.Collect(ch)
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
	prometheus.Collector
} = (*RequestMetrics)(nil)

func (m *RequestMetrics) ExtensionName() string                   { return "RequestMetrics" }
func (m *RequestMetrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse times each query and mutation; a subscription's responses are its
// events, whose timing is the live path's (notifyql_live_*).
func (m *RequestMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return resp
	}
	name := unauthenticatedOperation
	if notifyql.PrincipalFromContext(ctx) != nil {
		name = m.label(oc.Operation.Name)
	}
	m.duration.WithLabelValues(string(oc.Operation.Operation), name).Observe(time.Since(start).Seconds())
	return resp
}

// unauthenticatedOperation is the operation_name of every operation from a caller who is
// not signed in, whatever its name: anyone can send those, and the first maxOperationNames
// names are kept for the signed-in callers' dashboards.
const unauthenticatedOperation = "unauthenticated"

// countError counts one error answered with code.
func (m *RequestMetrics) countError(code string) {
	if m == nil || code == "" {
		return
	}
	m.errors.WithLabelValues(code).Inc()
}

// countUnlisted counts one operation that the trusted documents do not list.
func (m *RequestMetrics) countUnlisted(ctx context.Context, op *ast.OperationDefinition) {
	if m == nil || op == nil {
		return
	}
	name := unauthenticatedOperation
	if notifyql.PrincipalFromContext(ctx) != nil {
		name = m.label(op.Name)
	}
	m.unlisted.WithLabelValues(string(op.Operation), name).Inc()
}

// label is the operation_name label of name, sent by a signed-in caller.
func (m *RequestMetrics) label(name string) string {
	switch {
	case name == "":
		return "anonymous"
	case !operationName.MatchString(name) || digitRun.MatchString(name):
		return "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.names[name] {
		if len(m.names) >= maxOperationNames {
			return "other"
		}
		m.names[name] = true
	}
	return name
}
