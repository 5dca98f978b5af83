package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"notifyql"
)

// errorCodes is the one table that maps domain error codes to what a client sees: the
// GraphQL extensions.code, and the HTTP status of the endpoints outside GraphQL (the CSV
// downloads), whose error bodies carry the same code.
var errorCodes = map[string]struct {
	graphQL    string
	httpStatus int
}{
	notifyql.EINVALID:         {"BAD_USER_INPUT", http.StatusBadRequest},
	notifyql.ENOTFOUND:        {"NOT_FOUND", http.StatusNotFound},
	notifyql.EFORBIDDEN:       {"FORBIDDEN", http.StatusForbidden},
	notifyql.EUNAUTHENTICATED: {"UNAUTHENTICATED", http.StatusUnauthorized},
	notifyql.ECONFLICT:        {"CONFLICT", http.StatusConflict},
	// 422: the request is well formed and permitted, but what it asks for cannot be served
	// the way it was asked (413 is about the request's own body, 403 about who asks), and
	// asking again will not help; the message says what will.
	notifyql.ETOOLARGE: {"TOO_LARGE", http.StatusUnprocessableEntity},
	notifyql.EINTERNAL: {"INTERNAL", http.StatusInternalServerError},
	// 404: the search is gone; the client drops the hash and searches by term again.
	notifyql.ESEARCHEXPIRED: {"SEARCH_EXPIRED", http.StatusNotFound},
	notifyql.EUNAVAILABLE:   {"UNAVAILABLE", http.StatusServiceUnavailable},
	// 429: the caller's allowance is used up; asking again later works.
	notifyql.ERATELIMITED:       {"RATE_LIMITED", http.StatusTooManyRequests},
	notifyql.ESUBSCRIPTIONLIMIT: {"SUBSCRIPTION_LIMIT", http.StatusTooManyRequests},
}

// GraphQLCode returns the extensions.code for a domain error code.
func GraphQLCode(code string) string {
	if c, ok := errorCodes[code]; ok {
		return c.graphQL
	}
	return errorCodes[notifyql.EINTERNAL].graphQL
}

// HTTPStatus returns the HTTP status for a domain error code.
func HTTPStatus(code string) int {
	if c, ok := errorCodes[code]; ok {
		return c.httpStatus
	}
	return errorCodes[notifyql.EINTERNAL].httpStatus
}

// httpStatusOfGraphQLCode returns the HTTP status of an extensions.code that errorCodes
// maps a domain code to, and false for any other (gqlgen's own codes, the limits').
func httpStatusOfGraphQLCode(code string) (int, bool) {
	for _, c := range errorCodes {
		if c.graphQL == code {
			return c.httpStatus, true
		}
	}
	return 0, false
}

// newErrorPresenter shows coded domain errors as they are, GraphQL parse and validation
// errors as gqlgen words them, and anything else as "internal error" with the request id,
// logging the detail. No SQL text, host, database user or personal data reaches a response.
// Each error is counted by its code in metrics (when set). codeBackendError (when set) codes
// what the domain left uncoded but a backend adapter recognises, such as a database that
// does not answer; the detail is logged as a warning.
func newErrorPresenter(logger *slog.Logger, metrics *RequestMetrics, codeBackendError func(error) *notifyql.Error) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		if cancelled(ctx, err) {
			// Nobody reads the answer, and nothing went wrong that needs an operator: one
			// line for the request, however many of its fields were pending.
			gqlErr := graphql.DefaultErrorPresenter(ctx, err)
			logClientWentAway(ctx, logger, "path", gqlErr.Path.String(), "error", err.Error())
			gqlErr.Message = "operation cancelled"
			gqlErr.Extensions = nil
			return gqlErr
		}
		err = codeBackendErr(ctx, logger, codeBackendError, err)
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var domainErr *notifyql.Error
		switch {
		case errors.As(err, &domainErr) && domainErr.Code != notifyql.EINTERNAL:
			gqlErr.Message = domainErr.Message
			setCode(gqlErr, GraphQLCode(domainErr.Code))
		case isProtocolError(err, gqlErr):
			gqlErr.Message = hideLiterals(gqlErr.Message)
		default:
			id := RequestID(ctx)
			logger.ErrorContext(ctx, "internal error", "path", gqlErr.Path.String(), "error", err.Error())
			gqlErr.Message = "internal error"
			gqlErr.Extensions = map[string]any{"code": GraphQLCode(notifyql.EINTERNAL), "requestId": id}
		}
		code, _ := gqlErr.Extensions["code"].(string)
		if code == "" {
			code = "UNCODED"
		}
		metrics.countError(code)
		return gqlErr
	}
}

// cancelled reports whether err is the end of an operation whose own context was
// cancelled: its client hung up or sent complete on its WebSocket, or the socket closed.
// A request past its time is not cancelled but out of time (context.DeadlineExceeded), and
// answered as such; an error that only wraps context.Canceled from some other context is
// not the client's doing.
func cancelled(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled)
}

// codeBackendErr gives err the code that coder finds for it (see Config.CodeBackendError)
// when the domain left it uncoded, and logs the detail as a warning; any other error is
// returned as it is.
func codeBackendErr(ctx context.Context, logger *slog.Logger, coder func(error) *notifyql.Error, err error) error {
	if coder == nil || notifyql.ErrorCode(err) != notifyql.EINTERNAL {
		return err
	}
	coded := coder(err)
	if coded == nil {
		return err
	}
	logger.WarnContext(ctx, "backend unavailable", "code", coded.Code, "error", err.Error())
	return fmt.Errorf("%w: %w", coded, err)
}

// hideLiterals replaces, in gqlparser's words about a request, the values the client wrote,
// which may be personal data (a phone number typed as a number, an address as an enum), with
// "(not shown)"; the names of types, fields and variables stay.
func hideLiterals(message string) string {
	// The literal at the end of a message about a value of the wrong type ("String cannot
	// represent a non string value: 7700900123", "Expected value of type …, found ….").
	message = trailingLiteral.ReplaceAllString(message, "${1}(not shown)${2}")
	// A value or token named by what it is: Value "NIGHTINGALE_LANE" does not exist…,
	// Unexpected String "07700 900123".
	message = namedLiteral.ReplaceAllString(message, "${1} (not shown)")
	// Anything else quoted that is not a name ("$id", "ID!", "[String!]").
	return quotedValue.ReplaceAllStringFunc(message, func(quoted string) string {
		if quotedName.MatchString(quoted) {
			return quoted
		}
		return "(not shown)"
	})
}

var (
	trailingLiteral = regexp.MustCompile(`(cannot represent [^:]*value: |, found ).*?(\.?)$`)
	namedLiteral    = regexp.MustCompile(`\b(Value|Unexpected \w+) "[^"]*"`)
	quotedValue     = regexp.MustCompile(`"[^"]*"`)
	quotedName      = regexp.MustCompile(`^"[\[]*\$?[A-Za-z_][A-Za-z0-9_]*[!\]]*"$`)
)

// isProtocolError reports whether err is gqlgen's own word about the request (parse,
// validation, limits), not an error a resolver returned.
func isProtocolError(err error, gqlErr *gqlerror.Error) bool {
	var original *gqlerror.Error
	if !errors.As(err, &original) {
		return false
	}
	return original.Err == nil || gqlErr.Extensions["code"] != nil
}

func setCode(err *gqlerror.Error, code string) {
	if err.Extensions == nil {
		err.Extensions = map[string]any{}
	}
	err.Extensions["code"] = code
}

// newRecoverFunc turns a panic into an internal error without the panic value's arguments
// reaching the response.
func newRecoverFunc(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logPanic(ctx, logger, "panic in resolver", p)
		return errors.New("panic in resolver")
	}
}

// recoverPanics answers a panic in an HTTP handler as an internal error with the request
// id, logged as a resolver's panic is, instead of net/http's log line, which prints the
// panic's value and a stack trace. http.ErrAbortHandler, a handler abandoning a response
// on purpose, goes on to net/http, which drops the connection without logging it.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			logPanic(r.Context(), logger, "panic in handler", p)
			writeGraphQLErrorWith(w, http.StatusInternalServerError, "internal error",
				map[string]any{"code": GraphQLCode(notifyql.EINTERNAL), "requestId": RequestID(r.Context())})
		}()
		next.ServeHTTP(w, r)
	})
}

// logPanic logs a recovered panic by its type and the line that panicked: neither its value
// nor a stack trace, which may hold the personal data being handled (a trace prints
// arguments).
func logPanic(ctx context.Context, logger *slog.Logger, msg string, p any) {
	logger.ErrorContext(ctx, msg, "panic_type", fmt.Sprintf("%T", p), "at", panicSite())
}

// panicSite is the function and line that panicked, read off the stack of the deferred
// recovery that calls it: the first frame outside the runtime after runtime.gopanic.
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	panicking := false
	for {
		frame, more := frames.Next()
		switch {
		case frame.Function == "runtime.gopanic" || frame.Function == "runtime.panicmem" || frame.Function == "runtime.sigpanic":
			panicking = true
		case panicking && !strings.HasPrefix(frame.Function, "runtime."):
			return fmt.Sprintf("%s (%s:%d)", frame.Function, path.Base(frame.File), frame.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// logClientWentAway logs, at DEBUG and once for the request (or WebSocket) that ctx belongs
// to, that its client went away before it was answered, with args from the first error
// that showed it. Each of a request's pending fields fails with its client's cancellation;
// a line each buried the logs (5,924 lines for 779 hang-ups).
func logClientWentAway(ctx context.Context, logger *slog.Logger, args ...any) {
	if tag, ok := ctx.Value(requestIDKey{}).(*requestTag); ok && !tag.wentAway.CompareAndSwap(false, true) {
		return
	}
	logger.DebugContext(ctx, "client went away", args...)
}

type requestIDKey struct{}

// requestTag is what a request's context holds under requestIDKey: its id, and whether its
// client's going away has been logged.
type requestTag struct {
	id       string
	wentAway atomic.Bool
}

// withRequestTag is ctx tagged with a request id.
func withRequestTag(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, &requestTag{id: id})
}

// RequestID returns the id of the HTTP request that ctx belongs to.
func RequestID(ctx context.Context) string {
	if tag, ok := ctx.Value(requestIDKey{}).(*requestTag); ok {
		return tag.id
	}
	return ""
}

// withRequestID gives every request an id, returned in X-Request-Id and used in logs and
// internal error responses.
func withRequestID(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(withRequestTag(r.Context(), id)))
	})
}

// writeError answers a request outside GraphQL (a CSV download) with err in the shape of a
// GraphQL error: a coded error as it is, anything else as "internal error" with the request
// id, logging the detail.
func writeError(ctx context.Context, logger *slog.Logger, w http.ResponseWriter, err error) {
	code := notifyql.ErrorCode(err)
	if cancelled(ctx, err) {
		logClientWentAway(ctx, logger, "error", err.Error())
		return
	}
	if code == notifyql.EINTERNAL {
		id := RequestID(ctx)
		logger.ErrorContext(ctx, "internal error", "error", err.Error())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(HTTPStatus(code))
		_ = json.NewEncoder(w).Encode(map[string]any{
			"errors": []map[string]any{{"message": "internal error", "extensions": map[string]any{"code": GraphQLCode(code), "requestId": id}}},
		})
		return
	}
	if code == notifyql.EUNAUTHENTICATED {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeGraphQLError(w, HTTPStatus(code), GraphQLCode(code), notifyql.ErrorMessage(err))
}

// writeError is the package's writeError with the backend errors coded as
// Config.CodeBackendError says.
func (s *Server) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	writeError(ctx, s.cfg.Logger, w, codeBackendErr(ctx, s.cfg.Logger, s.cfg.CodeBackendError, err))
}

// writeGraphQLError answers a request that never reached GraphQL execution.
func writeGraphQLError(w http.ResponseWriter, status int, code, message string) {
	writeGraphQLErrorWith(w, status, message, map[string]any{"code": code})
}

// writeGraphQLErrorWith is writeGraphQLError with the extensions given.
func writeGraphQLErrorWith(w http.ResponseWriter, status int, message string, extensions map[string]any) {
	writeGraphQLErrorAs(w, mediaTypeJSON, status, message, extensions)
}

// writeGraphQLErrorAs is writeGraphQLErrorWith in the media type given: a GraphQL
// transport answers in the one the client accepts (responseMediaType).
func writeGraphQLErrorAs(w http.ResponseWriter, mediaType string, status int, message string, extensions map[string]any) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": extensions}},
	})
}
