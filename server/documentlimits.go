package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"notifyql"
)

// DocumentLimits refuses documents that are too big, or too tangled, to be worth
// validating: more tokens than MaxTokens, more aliases than MaxAliases, a place (a field, a
// fragment, the operation, a variable) carrying more than MaxDirectives directives or one
// directive twice, fragments that spread one another in a cycle, and documents whose
// validation would take more than MaxValidationSteps (validationWork). It runs before gqlgen
// parses and validates, because those are where such documents cost: validation compares
// every pair of fields that answer under one name, which a field repeated under hundreds of
// aliases makes quadratic, and its check that fields merge follows fragment spreads
// recursively, so that a cycle through a few thousand fragments (which a raised token limit
// lets through) recurses until the goroutine's stack overflows, which ends the process.
// Cycles are found here without recursion and refused as validation would refuse them.
//
// A document found in the parsed-query cache has passed these checks already (gqlgen only
// caches documents it validated, and validation only runs after them), so only new
// documents are parsed here, once more than gqlgen does: parsing is linear and bounded by
// MaxTokens; validation is what this protects.
type DocumentLimits struct {
	MaxTokens          int
	MaxAliases         int
	MaxDirectives      int
	MaxValidationSteps int
	// Parsed is gqlgen's parsed-query cache.
	Parsed graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = DocumentLimits{}

func (DocumentLimits) ExtensionName() string { return "DocumentLimits" }

func (d DocumentLimits) Validate(graphql.ExecutableSchema) error {
	if d.MaxTokens < 1 || d.MaxAliases < 1 || d.MaxDirectives < 1 || d.MaxValidationSteps < 1 {
		return errors.New("token, alias, directive and validation step limits must each be at least 1")
	}
	if d.Parsed == nil {
		return errors.New("document limits need the parsed-query cache")
	}
	return nil
}

// MutateOperationParameters runs after the automatic persisted query extension has put a
// hash's text in params.Query (it is added to the handler first).
func (d DocumentLimits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if params.Query == "" {
		return nil
	}
	if _, checked := d.Parsed.Get(ctx, params.Query); checked {
		return nil
	}
	// The parser stops at the token limit, as gqlgen's (set to the same limit) would.
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: params.Query}, d.MaxTokens)
	var parseErr *gqlerror.Error
	switch {
	case errors.As(err, &parseErr) && strings.HasPrefix(parseErr.Message, "exceeded token limit"):
		return limitError("TOKEN_LIMIT_EXCEEDED", "the document has more than the limit of %d tokens", d.MaxTokens)
	case err != nil:
		return nil // gqlgen's parser says why
	}
	if err := checkDirectives(doc, d.MaxDirectives); err != nil {
		return err
	}
	fragments := fragmentIndex(doc)
	if name := fragmentInCycle(doc, fragments); name != "" {
		err := gqlerror.Errorf("Cannot spread fragment %q within itself.", name)
		err.Extensions = map[string]any{"code": errcode.ValidationFailed}
		return err
	}
	watch := &contextWatch{ctx: ctx}
	aliases := aliasCounter{fragments: fragments, stop: d.MaxAliases + 1, counted: newFragmentMemo[int](), watch: watch}
	total := 0
	for _, op := range doc.Operations {
		total = min(total+aliases.in(op.SelectionSet), aliases.stop)
	}
	if total > d.MaxAliases {
		return limitError("ALIAS_LIMIT_EXCEEDED", "the operation uses more than the limit of %d aliases", d.MaxAliases)
	}
	steps := 0
	if watch.err == nil {
		steps = validationWork(doc, fragments, d.MaxValidationSteps, watch)
	}
	switch {
	case watch.err != nil:
		return limitError(GraphQLCode(notifyql.EUNAVAILABLE), "the request could not be answered in time: try again shortly")
	case steps > d.MaxValidationSteps:
		return limitError("VALIDATION_LIMIT_EXCEEDED", "the document would take more than the limit of %d steps to validate: "+
			"it repeats a field, or spreads fragments, too often", d.MaxValidationSteps)
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": code}
	return err
}

// aliasCounter counts the aliases an operation's selections use, a fragment's as many times
// as it is spread. Each fragment is counted once and remembered, so a document of fragments
// spreading one another costs its length, and a cycle (refused by then) counts nothing
// more. Counts stop growing at stop.
type aliasCounter struct {
	fragments map[string]*ast.FragmentDefinition
	stop      int
	counted   fragmentMemo[int]
	watch     *contextWatch
}

func (c aliasCounter) in(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		if c.watch.stopped() {
			return n
		}
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Alias != "" && sel.Alias != sel.Name {
				n++
			}
			n += c.in(sel.SelectionSet)
		case *ast.InlineFragment:
			n += c.in(sel.SelectionSet)
		case *ast.FragmentSpread:
			if def := c.fragments[sel.Name]; def != nil {
				n += c.counted.of(sel.Name, func() int { return c.in(def.SelectionSet) })
			}
		}
		if n >= c.stop {
			return c.stop
		}
	}
	return n
}

// fragmentIndex is a document's fragments by name: the first of two with one name (which
// validation refuses), as ForName, which looks through them all at each call, finds.
func fragmentIndex(doc *ast.QueryDocument) map[string]*ast.FragmentDefinition {
	index := make(map[string]*ast.FragmentDefinition, len(doc.Fragments))
	for _, f := range doc.Fragments {
		if _, dup := index[f.Name]; !dup {
			index[f.Name] = f
		}
	}
	return index
}

// fragmentInCycle returns the name of a fragment that spreads itself, directly or through
// others, or "" when none does. It walks the spreads depth first with a stack of its own,
// so that a long chain costs memory on the heap, not goroutine stack. fragments is
// fragmentIndex(doc); the document's order decides which of several cycles is named.
func fragmentInCycle(doc *ast.QueryDocument, fragments map[string]*ast.FragmentDefinition) string {
	spreads := make(map[string][]string, len(fragments))
	for name, f := range fragments {
		spreads[name] = spreadNames(f.SelectionSet, []string{})
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(spreads))
	type frame struct {
		name string
		next int
	}
	for _, f := range doc.Fragments {
		if state[f.Name] != unvisited {
			continue
		}
		state[f.Name] = onPath
		path := []frame{{name: f.Name}}
		for len(path) > 0 {
			top := &path[len(path)-1]
			names := spreads[top.name]
			if top.next == len(names) {
				state[top.name] = done
				path = path[:len(path)-1]
				continue
			}
			spread := names[top.next]
			top.next++
			_, known := spreads[spread]
			switch {
			case state[spread] == onPath:
				return spread
			case state[spread] == unvisited && known:
				state[spread] = onPath
				path = append(path, frame{name: spread})
			}
		}
	}
	return ""
}

// spreadNames appends the names of the fragments a selection set spreads, at any depth.
func spreadNames(set ast.SelectionSet, names []string) []string {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			names = spreadNames(sel.SelectionSet, names)
		case *ast.InlineFragment:
			names = spreadNames(sel.SelectionSet, names)
		case *ast.FragmentSpread:
			names = append(names, sel.Name)
		}
	}
	return names
}

// checkDirectives refuses a place in the document carrying more than max directives, or
// the same directive twice: every definition is looked at once, however often it is spread.
func checkDirectives(doc *ast.QueryDocument, max int) *gqlerror.Error {
	for _, op := range doc.Operations {
		if err := checkDirectiveList(op.Directives, max, func() string { return "the operation" }); err != nil {
			return err
		}
		for _, v := range op.VariableDefinitions {
			if err := checkDirectiveList(v.Directives, max, func() string { return "variable $" + v.Variable }); err != nil {
				return err
			}
		}
		if err := checkSelectionDirectives(op.SelectionSet, max); err != nil {
			return err
		}
	}
	for _, f := range doc.Fragments {
		if err := checkDirectiveList(f.Directives, max, func() string { return fmt.Sprintf("fragment %q", f.Name) }); err != nil {
			return err
		}
		if err := checkSelectionDirectives(f.SelectionSet, max); err != nil {
			return err
		}
	}
	return nil
}

func checkSelectionDirectives(set ast.SelectionSet, max int) *gqlerror.Error {
	for _, sel := range set {
		var err *gqlerror.Error
		switch sel := sel.(type) {
		case *ast.Field:
			if err = checkDirectiveList(sel.Directives, max, func() string { return fmt.Sprintf("field %q", sel.Alias) }); err == nil {
				err = checkSelectionDirectives(sel.SelectionSet, max)
			}
		case *ast.InlineFragment:
			if err = checkDirectiveList(sel.Directives, max, func() string { return "an inline fragment" }); err == nil {
				err = checkSelectionDirectives(sel.SelectionSet, max)
			}
		case *ast.FragmentSpread:
			err = checkDirectiveList(sel.Directives, max, func() string { return fmt.Sprintf("the spread of fragment %q", sel.Name) })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkDirectiveList checks the directives of one place; where names the place, and is
// only asked when there is something to say about it.
func checkDirectiveList(directives ast.DirectiveList, max int, where func() string) *gqlerror.Error {
	if len(directives) > max {
		return limitError("DIRECTIVE_LIMIT_EXCEEDED", "%s carries %d directives, more than the limit of %d", where(), len(directives), max)
	}
	for i, d := range directives {
		for _, earlier := range directives[:i] {
			if earlier.Name == d.Name {
				return limitError("DIRECTIVE_LIMIT_EXCEEDED", "%s carries the directive @%s more than once", where(), d.Name)
			}
		}
	}
	return nil
}

// NoIntrospection refuses, before anything runs, an operation that asks for the schema
// (__schema or __type, in its own selections or a fragment's), with a clear code: gqlgen
// would otherwise run it and fail each such field with an uncoded error. __typename is not
// introspection of the schema and stays allowed.
type NoIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = NoIntrospection{}

func (NoIntrospection) ExtensionName() string { return "NoIntrospection" }

func (NoIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

func (NoIntrospection) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil || !asksForSchema(opCtx.Operation.SelectionSet, map[string]bool{}) {
		return nil
	}
	return limitError("INTROSPECTION_DISABLED", "introspection is off in production")
}

// asksForSchema reports whether a selection set selects __schema or __type; seen holds the
// fragments already looked into, so each is looked into once.
func asksForSchema(set ast.SelectionSet, seen map[string]bool) bool {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" || asksForSchema(sel.SelectionSet, seen) {
				return true
			}
		case *ast.InlineFragment:
			if asksForSchema(sel.SelectionSet, seen) {
				return true
			}
		case *ast.FragmentSpread:
			if sel.Definition != nil && !seen[sel.Name] {
				seen[sel.Name] = true
				if asksForSchema(sel.Definition.SelectionSet, seen) {
					return true
				}
			}
		}
	}
	return false
}
