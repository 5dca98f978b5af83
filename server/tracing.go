package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the edge's spans' instrumentation scope.
const tracerName = "notifyql/server"

// Span attributes are named as OpenTelemetry's semantic conventions name them. None holds
// what a client sent beyond the method, the route's pattern and a GraphQL operation's type
// and name: no URL, query string, header, variable or error message, any of which may hold
// personal data.
const (
	attrHTTPMethod     = attribute.Key("http.request.method")
	attrHTTPRoute      = attribute.Key("http.route")
	attrHTTPStatus     = attribute.Key("http.response.status_code")
	attrRequestID      = attribute.Key("notifyql.request_id")
	attrOperationType  = attribute.Key("graphql.operation.type")
	attrOperationName  = attribute.Key("graphql.operation.name")
	attrGraphQLErrors  = attribute.Key("notifyql.graphql.error_codes")
	traceResponseField = "traceresponse"
)

// traceContext reads and writes W3C Trace Context headers (traceparent, tracestate).
var traceContext = propagation.TraceContext{}

// knownMethods are the methods a span names as they are; any other is "_OTHER", as the
// semantic conventions say: a method is any token a client likes.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true,
	http.MethodOptions: true, http.MethodTrace: true,
}

// traceRequests gives every request a server span, the child of the trace that its
// traceparent header names (a new trace without one), named by the method and the route
// that serves it. The response's traceresponse header (W3C Trace Context Level 2) names the
// span, so that a client can find its request's trace. routes finds a request's route
// pattern, as the handler that serves it will.
func traceRequests(tracer trace.Tracer, routes *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if !knownMethods[method] {
			method = "_OTHER"
		}
		name, attrs := method, []attribute.KeyValue{attrHTTPMethod.String(method)}
		if _, pattern := routes.Handler(r); pattern != "" {
			// A pattern is the server's own text: "GET /services/{id}/inbox.csv", never the
			// path a client sent.
			_, route, _ := strings.Cut(pattern, " ")
			if route == "" {
				route = pattern
			}
			name += " " + route
			attrs = append(attrs, attrHTTPRoute.String(route))
		}
		if id := RequestID(r.Context()); id != "" {
			attrs = append(attrs, attrRequestID.String(id))
		}
		ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		sc := span.SpanContext()
		w.Header().Set(traceResponseField, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String())
		recorder := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(recorder, r.WithContext(ctx))
		switch {
		case recorder.status != 0:
			span.SetAttributes(attrHTTPStatus.Int(recorder.status))
			if recorder.status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(recorder.status))
			}
		case r.Header.Get("Upgrade") == "":
			// Nothing written: net/http answers 200. An upgraded (hijacked) connection's
			// status was written on the connection itself.
			span.SetAttributes(attrHTTPStatus.Int(http.StatusOK))
		}
	})
}

// statusRecorder notes the status a handler answers with. Unwrap lets
// http.ResponseController reach the connection beneath (flushes, deadlines, hijacks).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withSocketTrace carries the span of a WebSocket's upgrade request into the socket's own
// context (which is not the request's: see websocketHandler), so that the operations the
// socket runs belong to the trace of the request that opened it.
func withSocketTrace(ctx context.Context, r *http.Request) context.Context {
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		return trace.ContextWithSpanContext(ctx, sc)
	}
	return ctx
}

// operationTracing gives every GraphQL operation a span named by its type and name, the
// child of its HTTP request's (or its WebSocket's) span, so that what the operation runs
// (dataloader batches, statements, Redis calls) is its children. A query's or mutation's
// span ends with its response; a subscription's when its stream ends. The variables are
// never recorded: they hold search terms, phone numbers and addresses.
type operationTracing struct{ tracer trace.Tracer }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = operationTracing{}

func (operationTracing) ExtensionName() string                   { return "OperationTracing" }
func (operationTracing) Validate(graphql.ExecutableSchema) error { return nil }

func (t operationTracing) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil {
		return next(ctx)
	}
	typ := string(oc.Operation.Operation)
	name := traceableOperationName(oc.Operation.Name)
	spanName := typ
	if name != "" {
		spanName += " " + name
	}
	ctx, span := t.tracer.Start(ctx, spanName, trace.WithAttributes(attrOperationType.String(typ), attrOperationName.String(name)))
	responses := next(ctx)
	if oc.Operation.Operation != ast.Subscription {
		return func(ctx context.Context) *graphql.Response {
			resp := responses(ctx)
			recordErrors(span, resp)
			span.End() // once: a second End is ignored
			return resp
		}
	}
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp == nil {
			span.End()
		} else {
			recordErrors(span, resp)
		}
		return resp
	}
}

// traceableOperationName is name as a span may show it: "" for an anonymous operation,
// and "other" for a name that could hold personal data (a run of digits may be a phone
// number), as the request metrics label names.
func traceableOperationName(name string) string {
	if name == "" || operationName.MatchString(name) && !digitRun.MatchString(name) {
		return name
	}
	return "other"
}

// recordErrors marks span as failed when resp has errors, naming their codes, never their
// messages.
func recordErrors(span trace.Span, resp *graphql.Response) {
	if resp == nil || len(resp.Errors) == 0 {
		return
	}
	codeList := make([]string, 0, len(resp.Errors))
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		if code == "" {
			code = "UNKNOWN"
		}
		codeList = append(codeList, code)
	}
	span.SetAttributes(attrGraphQLErrors.StringSlice(codeList))
	span.SetStatus(codes.Error, "GraphQL errors")
}
