package server

import (
	"context"
	"math"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Document analysis (the depth, complexity, alias and directive limits) costs time linear
// in the document, whatever its fragments do. A document whose fragments each spread the
// next one twice is 2 KB long for 40 fragments, but has 2^40 paths from its operation to
// its last fragment: a walk that followed every spread (gqlgen's complexity.Calculate
// does) never ends. What a fragment measures does not depend on where it is spread — its
// type condition fixes the type of its fields, and an operation's variables are the same
// everywhere in it — so each fragment is measured once and its measure reused at every
// spread.

// fragmentMemo remembers one measure per fragment, by name (validation refuses two
// fragments of one name; the first is the one spreads reach). A fragment reached again
// while it is still being measured, which only a cycle does (DocumentLimits refuses
// cycles before anything measures a document, but a walk must not depend on that to end),
// measures the zero value.
type fragmentMemo[M any] struct {
	measured  map[string]M
	measuring map[string]bool
}

func newFragmentMemo[M any]() fragmentMemo[M] {
	return fragmentMemo[M]{measured: map[string]M{}, measuring: map[string]bool{}}
}

// of returns the fragment's measure, calling measure the first time it is asked for.
func (m fragmentMemo[M]) of(name string, measure func() M) M {
	if v, done := m.measured[name]; done {
		return v
	}
	var zero M
	if m.measuring[name] {
		return zero
	}
	m.measuring[name] = true
	v := measure()
	delete(m.measuring, name)
	m.measured[name] = v
	return v
}

// contextCheckInterval is how many selections a walk visits between looks at its request's
// context: a look costs a lock, a visit a few nanoseconds.
const contextCheckInterval = 256

// contextWatch lets a walk stop once its request's context is done (the client left, or
// the request's deadline passed): a walk is linear, but a raised token limit makes long
// documents possible, and no request's work should outlive it.
type contextWatch struct {
	ctx     context.Context
	visited int
	err     error
}

// stopped counts a visit and reports whether the walk should stop; err says why.
func (w *contextWatch) stopped() bool {
	if w.err != nil {
		return true
	}
	w.visited++
	if w.visited%contextCheckInterval == 0 {
		w.err = w.ctx.Err()
	}
	return w.err != nil
}

// OperationMeasure is what the operation limits compare.
type OperationMeasure struct {
	// Depth is the deepest nesting of fields; introspection fields (__schema, __type,
	// __typename) and what they select are not counted.
	Depth int
	// Complexity is gqlgen's complexity score: each field costs what the executable
	// schema's Complexity says (list fields multiply their rows' cost by the rows they may
	// hold), 1 plus what it selects otherwise; __schema costs nothing; a field of an
	// interface costs the most any implementation of it does; fields under @skip or
	// @include count as if they were selected. Sums saturate at math.MaxInt.
	Complexity int
}

// maxChildComplexity is the largest score of a field's selections that is handed to the
// executable schema's Complexity, whose functions multiply it by a page size and would
// wrap round past math.MaxInt — to a small score, even, for a document built so that
// 2^62 × 20 wraps to 0. A field whose selections score more costs math.MaxInt. It is far
// above any useful complexity limit.
const maxChildComplexity = 1 << 31

// MeasureOperation measures an operation of a validated document, with the operation's
// variables. Each fragment is measured once, so the cost is linear in the document. It
// stops, with the context's error, once ctx is done.
func MeasureOperation(ctx context.Context, es graphql.ExecutableSchema, op *ast.OperationDefinition, vars map[string]any) (OperationMeasure, error) {
	m := operationMeasurer{es: es, schema: es.Schema(), vars: vars, fragments: newFragmentMemo[OperationMeasure](),
		watch: contextWatch{ctx: ctx}}
	measure := m.selections(op.SelectionSet)
	if m.watch.err != nil {
		return OperationMeasure{}, m.watch.err
	}
	return measure, nil
}

type operationMeasurer struct {
	es        graphql.ExecutableSchema
	schema    *ast.Schema
	vars      map[string]any
	fragments fragmentMemo[OperationMeasure]
	watch     contextWatch
}

// selections measures a selection set: its depth is its deepest selection's, its
// complexity the sum of its selections'. Inline fragments and fragment spreads add no
// depth; their fields count as the set's own (whatever their type condition, as gqlgen
// counts them).
func (m *operationMeasurer) selections(set ast.SelectionSet) OperationMeasure {
	var total OperationMeasure
	for _, sel := range set {
		if m.watch.stopped() {
			return total
		}
		var part OperationMeasure
		switch sel := sel.(type) {
		case *ast.Field:
			part = m.field(sel)
		case *ast.InlineFragment:
			part = m.selections(sel.SelectionSet)
		case *ast.FragmentSpread:
			if def := sel.Definition; def != nil {
				part = m.fragments.of(sel.Name, func() OperationMeasure { return m.selections(def.SelectionSet) })
			}
		}
		total.Depth = max(total.Depth, part.Depth)
		total.Complexity = addSaturating(total.Complexity, part.Complexity)
	}
	return total
}

func (m *operationMeasurer) field(f *ast.Field) OperationMeasure {
	if f.Definition == nil || f.ObjectDefinition == nil {
		return OperationMeasure{} // validation refuses such a field before anything measures it
	}
	fieldType := m.schema.Types[f.Definition.Type.Name()]
	if fieldType == nil || fieldType.Name == "__Schema" {
		return OperationMeasure{}
	}
	children := m.selections(f.SelectionSet)
	measure := OperationMeasure{Depth: 1 + children.Depth}
	if strings.HasPrefix(f.Name, "__") {
		measure.Depth = 0
	}
	childComplexity := 0
	switch fieldType.Kind {
	case ast.Object, ast.Interface, ast.Union:
		childComplexity = children.Complexity
	}
	args := f.ArgumentMap(m.vars)
	if f.ObjectDefinition.Kind == ast.Interface {
		// An interface's field has no cost of its own: it costs what the dearest
		// implementation's does.
		for _, t := range m.schema.GetPossibleTypes(f.ObjectDefinition) {
			measure.Complexity = max(measure.Complexity, m.fieldComplexity(t.Name, f.Name, childComplexity, args))
		}
	} else {
		measure.Complexity = m.fieldComplexity(f.ObjectDefinition.Name, f.Name, childComplexity, args)
	}
	return measure
}

// fieldComplexity is what the executable schema says the field costs, or, where it says
// nothing (or nothing positive), 1 plus what the field selects.
func (m *operationMeasurer) fieldComplexity(typeName, field string, childComplexity int, args map[string]any) int {
	if childComplexity > maxChildComplexity {
		return math.MaxInt
	}
	if custom, ok := m.es.Complexity(m.watch.ctx, typeName, field, childComplexity, args); ok && custom >= 1 {
		return custom
	}
	return addSaturating(1, childComplexity)
}

// addSaturating adds two scores that are not negative, stopping at math.MaxInt rather
// than wrapping round to a negative (or small) one.
func addSaturating(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
