package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql"
)

// fieldKey names a field of an object type.
type fieldKey struct{ object, field string }

// resolveLeaf is graphql.ResolveField, which the generated executor calls for every field,
// with a shorter way for the fields most of a response is made of: a scalar or an enum read
// from a Go field or from a method that takes no context (plainLeafFields), with no
// directive. Their value needs no context and cannot wait, so it is read and marshalled
// under the parent's context, without the field context, context and closures gqlgen
// makes for each (about ten allocations a field, 500 rows' worth on a 50-row page).
//
// What needs the field's own context still gets it: a value that fails, panics, is null,
// is a zero time or marshals to null goes gqlgen's way from the start, which reports it at
// the field's path.
// gqlgen also runs the operation's field interceptors around every field: an operation
// with any (notifyql.FieldsIntercepted, which the server sets) goes gqlgen's way for
// every field (TestAFieldInterceptorSeesEveryField).
func resolveLeaf[T any](
	ctx context.Context,
	oc *graphql.OperationContext,
	field graphql.CollectedField,
	initializeFieldContext func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error),
	fieldResolver func(ctx context.Context) (any, error),
	middlewareChain func(ctx context.Context, next graphql.Resolver) graphql.Resolver,
	marshal func(ctx context.Context, sel ast.SelectionSet, v T) graphql.Marshaler,
	recoverFromPanic bool,
	nonNull bool,
) graphql.Marshaler {
	if middlewareChain == nil && field.ObjectDefinition != nil &&
		plainLeafFields[fieldKey{field.ObjectDefinition.Name, field.Name}] && !notifyql.FieldsIntercepted(ctx) {
		if m, ok := plainLeafValue(ctx, field, fieldResolver, marshal); ok {
			return m
		}
	}
	return graphql.ResolveField(ctx, oc, field, initializeFieldContext, fieldResolver, middlewareChain, marshal, recoverFromPanic, nonNull)
}

// plainLeafValue reads and marshals a plain leaf field's value, reporting false when it
// failed, panicked or came out null: gqlgen's way then resolves it again, with its errors.
func plainLeafValue[T any](
	ctx context.Context,
	field graphql.CollectedField,
	fieldResolver func(ctx context.Context) (any, error),
	marshal func(ctx context.Context, sel ast.SelectionSet, v T) graphql.Marshaler,
) (m graphql.Marshaler, ok bool) {
	defer func() {
		if recover() != nil {
			m, ok = nil, false
		}
	}()
	res, err := fieldResolver(ctx)
	if err != nil || res == nil {
		return nil, false
	}
	// The zero time marshals to null, reporting the null itself at the field's path.
	if t, isTime := res.(time.Time); isTime && t.IsZero() {
		return nil, false
	}
	v, isT := res.(T)
	if !isT {
		return nil, false
	}
	m = marshal(ctx, field.Selections, v)
	if m == nil || m == graphql.Null {
		return nil, false
	}
	return m, true
}
