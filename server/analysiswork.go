package server

import "github.com/vektah/gqlparser/v2/ast"

// Validation (gqlparser's, which gqlgen runs on every new document) costs more than the
// document's length in two ways, and cannot be stopped once it has started:
//   - it walks every operation and every fragment definition, and each walk enters every
//     fragment it reaches: a chain of fragments, each spreading the next, is walked once
//     from each of its links, and costs the square of its length;
//   - its check that fields merge compares every pair of fields that answer under one
//     response name in one place (through fragments, and into what each pair selects): a
//     field selected 2,000 times in one place makes 2 million pairs, 0.7 s of CPU.
//
// validationWork counts both before validation starts, within a budget, and so bounds
// what validation may cost: one step for each selection each walk visits, with fragments
// written out where they are spread, and one for each pair of fields merged under one
// response path. It overcounts where validation is cleverer (a fragment spread twice in one
// place is walked once), never undercounts, and stops counting once past the budget, so
// its own cost is at most the budget. What validation does besides is linear.

// validationWork returns the steps validating doc would take, or a number past budget
// once it is past it. Counting costs at most the budget, and stops (watch says why) once
// the request's context is done.
func validationWork(doc *ast.QueryDocument, fragments map[string]*ast.FragmentDefinition, budget int, watch *contextWatch) int {
	w := workCounter{fragments: fragments, budget: budget, paths: map[responsePath]*pathFields{}, expanding: map[string]bool{},
		watch: watch}
	for _, op := range doc.Operations {
		w.selections(w.newPlace(), op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		w.selections(w.newPlace(), f.SelectionSet)
	}
	return w.steps
}

// responsePath is a place in a response: the place it is under, by number, and its
// response name. Fields at one response path merge, and validation compares each pair of
// them, and what each selects.
type responsePath struct {
	parent int
	name   string
}

// pathFields is what is known of a response path: how many fields answer there, and the
// number of the place their selections make.
type pathFields struct {
	fields int
	place  int
}

type workCounter struct {
	fragments map[string]*ast.FragmentDefinition
	budget    int
	steps     int
	places    int
	paths     map[responsePath]*pathFields
	// expanding are the fragments being written out.
	expanding map[string]bool
	watch     *contextWatch
}

func (w *workCounter) newPlace() int {
	w.places++
	return w.places
}

// selections counts the selections of set, made at the place numbered place.
func (w *workCounter) selections(place int, set ast.SelectionSet) {
	for _, sel := range set {
		if w.steps > w.budget || w.watch.stopped() {
			return
		}
		w.steps++
		switch sel := sel.(type) {
		case *ast.Field:
			name := sel.Alias
			if name == "" {
				name = sel.Name
			}
			path := responsePath{parent: place, name: name}
			at := w.paths[path]
			if at == nil {
				at = &pathFields{place: w.newPlace()}
				w.paths[path] = at
			}
			// The field is compared with each field already there.
			w.steps += at.fields
			at.fields++
			w.selections(at.place, sel.SelectionSet)
		case *ast.InlineFragment:
			w.selections(place, sel.SelectionSet)
		case *ast.FragmentSpread:
			// A fragment spreading itself (refused before this is asked) is not written
			// out within itself.
			if def := w.fragments[sel.Name]; def != nil && !w.expanding[sel.Name] {
				w.expanding[sel.Name] = true
				w.selections(place, def.SelectionSet)
				delete(w.expanding, sel.Name)
			}
		}
	}
}
