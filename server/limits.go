package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"notifyql"
)

// Limits bound what one request may ask of the server. Each is configurable (README).
type Limits struct {
	// MaxDepth is the deepest nesting of fields an operation may select; introspection
	// fields (__schema, __type) are not counted.
	MaxDepth int
	// MaxComplexity bounds the complexity score (gqlgen's, measured by MeasureOperation),
	// in which list fields multiply their children by the page size asked for.
	MaxComplexity int
	// MaxTokens bounds a document's tokens, so huge documents fail before they are parsed.
	MaxTokens int
	// MaxAliases bounds the aliases an operation uses, a fragment's counted each time it is
	// spread.
	MaxAliases int
	// MaxDirectives bounds the directives one place (a field, a fragment, the operation)
	// carries; the same directive twice in one place is refused whatever this is.
	MaxDirectives int
	// MaxValidationSteps bounds the work validating a new document may take: a step for
	// each selection validation walks, with fragments written out where they are spread,
	// and for each pair of fields it compares under one response path (validationWork).
	MaxValidationSteps int
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int
	// MaxCachedQueryBytes bounds the texts of the parsed documents kept for reuse, beside
	// their count (parsedQueryCacheDocs): a parsed document takes up to 80 times its text.
	MaxCachedQueryBytes int
	// RequestTimeout bounds a query or mutation over HTTP, from its first byte to its
	// answer, and one on a socket, from its start to its answer: past it, what the request still waits on (a database that does not answer, a
	// pooled connection) gives up, and the fields that needed it answer UNAVAILABLE. 0
	// means no bound. Subscriptions and downloads are not bound by it.
	RequestTimeout time.Duration
}

// DefaultLimits are the limits used when configuration sets none.
func DefaultLimits() Limits {
	// A full page of 100 notifications selecting some 30 fields each scores about 3,000.
	// 15 aliases leave a page room to ask for one field a few ways (totals over 1 and 7
	// days); an operation only needs more to repeat work. The executable directives are
	// @include and @skip, so no field needs 5. The slowest dashboard query on the bench
	// profile answers in well under a second; ten leaves room for a busy database while
	// still answering a client that a frozen one would otherwise keep waiting for good.
	// 10,000 validation steps are five times what a document of 2,000 tokens that repeats
	// nothing takes, and about 10 ms of validation on one core.
	// A MiB of cached texts holds a thousand dashboard documents of a few hundred bytes, and
	// at most about 80 MiB of parsed documents however large each is.
	return Limits{MaxDepth: 12, MaxComplexity: 5000, MaxTokens: 2000, MaxAliases: 15, MaxDirectives: 5, MaxValidationSteps: 10_000,
		MaxBodyBytes: 64 << 10, MaxCachedQueryBytes: 1 << 20, RequestTimeout: 10 * time.Second}
}

// withDefaults fills each count limit left at zero with its default. RequestTimeout is left
// as it is: zero there means no bound.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, limit := range []struct{ value, fallback *int }{
		{&l.MaxDepth, &d.MaxDepth}, {&l.MaxComplexity, &d.MaxComplexity}, {&l.MaxTokens, &d.MaxTokens},
		{&l.MaxAliases, &d.MaxAliases}, {&l.MaxDirectives, &d.MaxDirectives}, {&l.MaxValidationSteps, &d.MaxValidationSteps},
		{&l.MaxBodyBytes, &d.MaxBodyBytes}, {&l.MaxCachedQueryBytes, &d.MaxCachedQueryBytes},
	} {
		if *limit.value == 0 {
			*limit.value = *limit.fallback
		}
	}
	return l
}

// OperationLimits refuses operations nested deeper than MaxDepth, or whose complexity
// score (gqlgen's, in which list fields multiply their children by the page size asked
// for) is above MaxComplexity. Both are measured in one walk of the operation that
// measures each fragment once (MeasureOperation), so that a document of fragments
// spreading one another costs its length to measure; gqlgen's own complexity extension
// follows every spread, and spends hours of CPU on 2 KB of them. The walk stops, and the operation is refused as UNAVAILABLE, once the request's
// context is done.
type OperationLimits struct {
	MaxDepth      int
	MaxComplexity int
	schema        graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*OperationLimits)(nil)

func (*OperationLimits) ExtensionName() string { return "OperationLimits" }

func (l *OperationLimits) Validate(schema graphql.ExecutableSchema) error {
	if l.MaxDepth < 1 || l.MaxComplexity < 1 {
		return errors.New("depth and complexity limits must each be at least 1")
	}
	l.schema = schema
	return nil
}

func (l *OperationLimits) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	measure, err := MeasureOperation(ctx, l.schema, opCtx.Operation, opCtx.Variables)
	switch {
	case err != nil:
		return limitError(GraphQLCode(notifyql.EUNAVAILABLE), "the request could not be answered in time: try again shortly")
	case measure.Depth > l.MaxDepth:
		return limitError("DEPTH_LIMIT_EXCEEDED", "operation is nested deeper than the limit of %d", l.MaxDepth)
	case measure.Complexity > l.MaxComplexity:
		return limitError("COMPLEXITY_LIMIT_EXCEEDED", "operation has complexity %d, which exceeds the limit of %d", measure.Complexity, l.MaxComplexity)
	}
	return nil
}

// limitDuration ends the request's context after timeout (none when it is 0), so that
// everything the request waits on gives up then.
func limitDuration(timeout time.Duration, next http.Handler) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// answerInTime refuses to start an operation whose request has run out of time already
// (say, while its caller was looked up in a database that did not answer): gqlgen would
// answer such a request with a bare null.
func answerInTime(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Err() != nil {
			writeGraphQLError(w, HTTPStatus(notifyql.EUNAVAILABLE), GraphQLCode(notifyql.EUNAVAILABLE),
				"the request could not be answered in time: try again shortly")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody reads at most max bytes of the body and answers 413 past that, and 408 for a
// body that did not arrive before the connection's read deadline (ConnectionLimits'
// BodyTimeout).
func limitBody(max int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
		var tooLarge *http.MaxBytesError
		var netErr net.Error
		switch {
		case errors.As(err, &tooLarge):
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE",
				fmt.Sprintf("request body is larger than the limit of %d bytes", max))
			return
		case errors.As(err, &netErr) && netErr.Timeout():
			// What is left of the body cannot be read: net/http closes the connection after
			// this answer.
			writeGraphQLError(w, http.StatusRequestTimeout, "BODY_TIMEOUT", "the request body did not arrive in time: send it whole, at once")
			return
		case err != nil:
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// operationMediaTypes are the body types an operation may be POSTed as. Both force a
// browser to ask first (a CORS preflight) before sending them from another origin, which
// the API never allows; the types a form or a plain fetch can send without asking
// (text/plain, application/x-www-form-urlencoded, multipart/form-data) are refused, so a
// page elsewhere cannot make a signed-in browser run an operation.
var operationMediaTypes = []string{"application/json", "application/graphql-response+json"}

// acceptJSONBody admits POST bodies of the operation media types only, with a clear answer
// for anything else, a missing or unreadable Content-Type included.
func acceptJSONBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !slices.Contains(operationMediaTypes, mediaType) {
			writeGraphQLError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
				"send the operation as a JSON body with Content-Type: application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkBody refuses, with a clear answer, a body that GraphQL over HTTP does not take: a
// JSON array of operations (each operation is a request of its own, measured and limited on
// its own), and a body that is not UTF-8 (RFC 8259 §8.1 asks JSON to be; encoding/json would
// otherwise turn such bytes into U+FFFD without a word). A NUL written as \u0000 inside JSON
// is valid JSON: the argument it ends up in refuses it (graph/scalars). It reads the body
// limitBody kept.
func checkBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
			return
		}
		switch trimmed := bytes.TrimLeft(body, " \t\r\n"); {
		case len(trimmed) > 0 && trimmed[0] == '[':
			writeGraphQLError(w, http.StatusBadRequest, "BATCHING_NOT_SUPPORTED",
				"batched operations are not supported: send one operation per request")
			return
		case !utf8.Valid(body):
			writeGraphQLError(w, HTTPStatus(notifyql.EINVALID), GraphQLCode(notifyql.EINVALID), "the request body must be UTF-8 text")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
