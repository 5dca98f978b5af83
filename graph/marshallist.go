package graph

import (
	"context"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// gqlgen marshals every list of objects with a goroutine per element, and resolves every
// resolver field with a goroutine of its own, so that fields waiting on I/O (the
// per-operation dataloaders) wait together and land in one batch. Where nothing a list's
// selection reaches can wait, those goroutines are pure cost: a 50-row page spent a fifth
// of its CPU starting and growing them. graph/internal/gqlgenerate routes the generated
// executor through marshalList and resolveField, which keep gqlgen's way unless the
// selection shows it is not needed.

// resolvesWithoutIO names the resolvers that never wait: they compute from their object, the
// clock or the caller's context. (A context-free method on the object is resolved inline by
// gqlgen itself and needs no entry: see notificationfields.go.)
var resolvesWithoutIO = map[string]bool{
	// Phone numbers are formatted by the phone package, which the root package may not import.
	"Notification.recipient":          true,
	"Conversation.phoneNumber":        true,
	"ConversationMessage.phoneNumber": true,
	"InboxMessage.phoneNumber":        true,
	// The caller's principal, read from the context.
	"Notification.sentBy": true,
	// The resolver's clock.
	"InboxMessage.receivedAgo": true,
	// Labels worked out from the object.
	"ConversationMessage.statusLabel":        true,
	"LetterCharge.postage":                   true,
	"LetterValidationError.summary":          true,
	"MonthlyUsage.smsFreeAllowanceUsedLabel": true,
}

// primedByList names, for a list field, the fields of the objects under it whose loads the
// list's resolver has already queued on the operation's dataloaders. Resolved one element
// after another they still cost one batch: the first waits for it, the rest find their value
// loaded.
var primedByList = map[string]map[string]bool{
	// resolvers' prefetchEdges queues the nodes' keys.
	"NotificationConnection.edges": {
		"Notification.template":  true,
		"Notification.job":       true,
		"Notification.createdBy": true,
		"Notification.apiKey":    true,
	},
	// The resolver queues every row's template.
	"Service.templateStatistics": {
		"TemplateStatistic.template": true,
	},
}

// inlineFieldsKey carries, under a list marshalled in order, the concurrent fields that
// resolveField may resolve inline.
type inlineFieldsKey struct{}

// marshalList marshals a list of objects. When no field its selection reaches may wait on
// I/O, the elements are marshalled in order on the caller's goroutine, each with its own
// field context and panic guard as gqlgen gives it; otherwise as gqlgen does, a goroutine
// per element, so that their loads wait together.
func marshalList(
	ctx context.Context,
	sel ast.SelectionSet,
	length int,
	workerLimit int64,
	omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	primed := primedBy(ctx)
	if length < 2 || selectionMayWait(sel, primed) {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	ctx = context.WithValue(ctx, inlineFieldsKey{}, primed)
	ret := make(graphql.Array, length)
	for i := range length {
		elementCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		ret[i] = marshalElementGuarded(elementCtx, i, omitPanicHandler, marshalElement)
	}
	return ret
}

func marshalElementGuarded(ctx context.Context, i int, omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler) (ret graphql.Marshaler) {
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(ctx, graphql.Recover(ctx, r))
				ret = graphql.Null
			}
		}()
	}
	return marshalElement(ctx, i)
}

// primedBy returns the fields primed by the list field being marshalled, if any.
func primedBy(ctx context.Context) map[string]bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return nil
	}
	return primedByList[fc.Object+"."+fc.Field.Name]
}

// selectionMayWait reports whether sel reaches, at any depth, a field that may wait on I/O:
// one gqlgen resolves concurrently that neither resolves without I/O nor is primed by the
// list it is under. It reads every field the document names, whatever @skip, @include or
// a type condition decides, so that it errs towards gqlgen's way.
func selectionMayWait(sel ast.SelectionSet, primed map[string]bool) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if s.ObjectDefinition == nil {
				return true
			}
			// A field of an interface is resolved by the objects implementing it, which
			// the generated table names one by one.
			if s.ObjectDefinition.Kind != ast.Object {
				return true
			}
			name := s.ObjectDefinition.Name + "." + s.Name
			if mayWait(name, primed) {
				return true
			}
			// A list under the list is marshalled with what it primes itself.
			under := primed
			if s.Definition != nil && s.Definition.Type.Elem != nil {
				under = primedByList[name]
			}
			if selectionMayWait(s.SelectionSet, under) {
				return true
			}
		case *ast.InlineFragment:
			if selectionMayWait(s.SelectionSet, primed) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || selectionMayWait(s.Definition.SelectionSet, primed) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

func mayWait(field string, primed map[string]bool) bool {
	return concurrentFields[field] && !resolvesWithoutIO[field] && !primed[field]
}

// resolveField schedules field i of an object as gqlgen's FieldSet.ResolveConcurrently
// does, unless the field cannot wait where it is (fieldMayWait): then it is resolved here
// and now, with the same panic guard and invalid-result count.
// A deferred field always goes gqlgen's way, into its incremental payload; the object's
// group of deferred fields, which the generated code leaves empty, is made for the first
// (graph/internal/gqlgenerate), with the object's context as gqlgen makes it.
func resolveField(
	ctx context.Context,
	out *graphql.FieldSet,
	field graphql.CollectedField,
	oc *graphql.OperationContext,
	deferred *graphql.DeferredGroup,
	i int,
	recoverFromPanic bool,
	nonNull bool,
	resolve func(ctx context.Context) graphql.Marshaler,
) {
	if field.IsDeferred() && deferred.FieldSet == nil {
		*deferred = graphql.NewDeferredGroup(ctx)
	}
	if field.IsDeferred() || field.ObjectDefinition == nil || fieldMayWait(ctx, field.ObjectDefinition.Name+"."+field.Name) {
		out.ResolveConcurrently(oc, deferred, i, recoverFromPanic, nonNull, resolve)
		return
	}
	out.Values[i] = resolveGuarded(ctx, oc, recoverFromPanic, resolve)
	if nonNull && out.Values[i] == graphql.Null || !nonNull && out.Values[i] == graphql.RequiredNull {
		atomic.AddUint32(&out.Invalids, 1)
	}
}

// fieldMayWait reports whether a field may wait on I/O where it is resolved: under a list
// marshalled in order, unless the list primed it; elsewhere, unless it is a resolver that
// never waits. Outside a list, an object's fields that cannot wait are resolved at once, so
// that a lone field that may wait (a notification's template beside its recipient) is the
// only one gqlgen schedules, which it then runs without a goroutine.
func fieldMayWait(ctx context.Context, field string) bool {
	if primed, inOrder := ctx.Value(inlineFieldsKey{}).(map[string]bool); inOrder {
		return mayWait(field, primed)
	}
	return !resolvesWithoutIO[field]
}

func resolveGuarded(ctx context.Context, oc *graphql.OperationContext, recoverFromPanic bool, resolve func(ctx context.Context) graphql.Marshaler) (res graphql.Marshaler) {
	if recoverFromPanic {
		defer func() {
			if r := recover(); r != nil {
				oc.Error(ctx, oc.Recover(ctx, r))
				res = graphql.Null
			}
		}()
	}
	return resolve(ctx)
}
