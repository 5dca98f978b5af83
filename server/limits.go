package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits bound what one request may ask of the server. Each is configurable (README).
type Limits struct {
	// MaxDepth is the deepest nesting of fields an operation may select; introspection
	// fields (__schema, __type) are not counted.
	MaxDepth int
	// MaxComplexity bounds gqlgen's complexity score, in which list fields multiply their
	// children by the page size asked for.
	MaxComplexity int
	// MaxTokens bounds the parser's token count, so huge documents fail before parsing.
	MaxTokens int
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int
}

// DefaultLimits are the limits used when configuration sets none.
func DefaultLimits() Limits {
	// A full page of 100 notifications selecting some 30 fields each scores about 3,000.
	return Limits{MaxDepth: 12, MaxComplexity: 5000, MaxTokens: 2000, MaxBodyBytes: 64 << 10}
}

// DepthLimit refuses operations nested deeper than Max.
type DepthLimit struct{ Max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = DepthLimit{}

func (DepthLimit) ExtensionName() string { return "DepthLimit" }

func (d DepthLimit) Validate(graphql.ExecutableSchema) error {
	if d.Max < 1 {
		return errors.New("depth limit must be at least 1")
	}
	return nil
}

func (d DepthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	if depth := selectionDepth(opCtx.Operation.SelectionSet, d.Max+1); depth > d.Max {
		err := gqlerror.Errorf("operation is nested deeper than the limit of %d", d.Max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// ComplexityLimit refuses operations whose complexity score (gqlgen's, in which list
// fields multiply their children by the page size asked for) is above Max. gqlgen's own
// extension records the score in every operation's stats, a map that a subscription holds
// for as long as it runs; nothing reads it here.
type ComplexityLimit struct {
	Max    int
	schema graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*ComplexityLimit)(nil)

func (*ComplexityLimit) ExtensionName() string { return "ComplexityLimit" }

func (c *ComplexityLimit) Validate(schema graphql.ExecutableSchema) error {
	if c.Max < 1 {
		return errors.New("complexity limit must be at least 1")
	}
	c.schema = schema
	return nil
}

func (c *ComplexityLimit) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	if score := complexity.Calculate(ctx, c.schema, opCtx.Operation, opCtx.Variables); score > c.Max {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", score, c.Max)
		err.Extensions = map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// selectionDepth returns the depth of a selection set, stopping once it reaches stop so
// that a hostile document costs no more than the limit to measure.
func selectionDepth(set ast.SelectionSet, stop int) int {
	deepest := 0
	for _, sel := range set {
		var depth int
		switch sel := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(sel.Name, "__") {
				continue
			}
			if stop > 1 {
				depth = 1 + selectionDepth(sel.SelectionSet, stop-1)
			} else {
				depth = 1
			}
		case *ast.InlineFragment:
			depth = selectionDepth(sel.SelectionSet, stop)
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				depth = selectionDepth(sel.Definition.SelectionSet, stop)
			}
		}
		deepest = max(deepest, depth)
		if deepest >= stop {
			return deepest
		}
	}
	return deepest
}

// limitBody reads at most max bytes of the body and answers 413 past that.
func limitBody(max int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE",
				fmt.Sprintf("request body is larger than the limit of %d bytes", max))
			return
		case err != nil:
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// acceptJSONBody admits POST bodies of type application/json only, with a clear answer for
// anything else.
func acceptJSONBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mediaType != "application/json" {
			writeGraphQLError(w, http.StatusUnsupportedMediaType, "BAD_REQUEST",
				"send the operation as a JSON body with Content-Type: application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}
