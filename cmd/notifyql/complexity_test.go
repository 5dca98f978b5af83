package main

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2"

	"notifyql/server"
)

// complexityCase is an operation and the complexity score the limit compares for it.
type complexityCase struct {
	name      string
	query     string
	variables map[string]any
	want      int
}

// Each list field multiplies the cost of what its rows select by the rows it may hold, and
// nested lists multiply: the scores the complexity limit compares, field by field.
func TestComplexityMultipliesListsPerField(t *testing.T) {
	checkComplexity(t, []complexityCase{
		// A scalar costs 1; an object field 1 + its selections.
		{"scalars", `{ me { id name } }`, nil, 1 + 2},
		{"services: 20 rows", `{ services { id } }`, nil, 1 + 20*1},
		{"memberships: 20 rows", `{ me { memberships { permissions } } }`, nil, 1 + (1 + 20*1)},
		// notifications: the page size asked for, times the connection's selections.
		{"notifications, first 10", `{ service(id: "x") { notifications(first: 10) { edges { node { id } } } } }`, nil,
			1 + (1 + 10*(1+(1+1)))},
		{"notifications, first 100", `{ service(id: "x") { notifications(first: 100) { edges { node { id } } } } }`, nil,
			1 + (1 + 100*(1+(1+1)))},
		{"notifications, the default page", `{ service(id: "x") { notifications { edges { node { id } } } } }`, nil,
			1 + (1 + 50*(1+(1+1)))},
		{"notifications, an out-of-range size counts as the default", `{ service(id: "x") { notifications(first: 100000) { edges { cursor } } } }`, nil,
			1 + (1 + 50*(1+1))},
		{"notifications, the page size in a variable", `query($n: Int) { service(id: "x") { notifications(first: $n) { edges { cursor } } } }`,
			map[string]any{"n": 7}, 1 + (1 + 7*(1+1))},
		{"inbox, first 5", `{ service(id: "x") { inbox(first: 5) { edges { node { id } } pageInfo { hasNextPage } } } }`, nil,
			1 + (1 + 5*((1+(1+1))+(1+1)))},
		{"inbox, the default page", `{ service(id: "x") { inbox { edges { node { id } } } } }`, nil,
			1 + (1 + 50*(1+(1+1)))},
		{"conversation messages: 100 rows", `{ service(id: "x") { conversation(notificationId: "y") { phoneNumber messages { id } } } }`, nil,
			1 + (1 + (1 + (1 + 100*1)))},
		{"template statistics: 20 rows", `{ service(id: "x") { templateStatistics { count } } }`, nil,
			1 + (1 + 20*1)},
		// Lists inside lists multiply: each service's page.
		{"a page in each service", `{ services { notifications(first: 10) { edges { node { id } } } } }`, nil,
			1 + 20*(1+10*(1+(1+1)))},
		{"a page in each membership's service", `{ me { memberships { service { notifications(first: 10) { edges { cursor } } } } } }`, nil,
			1 + (1 + 20*(1+(1+10*(1+1))))},
		{"subscription inbox: a full page", `subscription { inbox(serviceId: "x") { edges { node { id } } } }`, nil,
			1 + 50*(1+(1+1))},
		{"subscription template statistics: 20 rows", `subscription { templateStatistics(serviceId: "x") { count } }`, nil,
			1 + 20*1},
		// nodes: a row per id; node: one.
		{"nodes: 3 ids", `{ nodes(ids: ["a", "b", "c"]) { id } }`, nil, 1 + 3*1},
		{"nodes: ids in a variable", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{"a", "b"}}, 1 + 2*1},
		{"nodes: rendered content for each id", `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Notification { content { body } } } }`,
			map[string]any{"ids": []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}, 1 + 10*(101+1)},
		{"node: one row", `{ node(id: "a") { id } }`, nil, 1 + 1},
	})
}

// Fragments count where they are spread, as many times as they are spread; inline
// fragments, @skip and @include, and introspection count as gqlgen counts them.
func TestComplexityOfFragmentsAndIntrospection(t *testing.T) {
	checkComplexity(t, []complexityCase{
		{"a fragment spread twice", `{ me { ...U } other: me { ...U } } fragment U on User { id name }`, nil, 2 * (1 + 2)},
		{"a fragment spread under a list", `{ services { ...S } } fragment S on Service { id name }`, nil, 1 + 20*2},
		{"a fragment spread twice in one place", `{ me { ...U ...U } } fragment U on User { id }`, nil, 1 + 2},
		{"fragments spreading fragments", `{ ...Q } fragment Q on Query { me { ...U } services { ...S } } fragment U on User { id memberships { service { ...S } } } fragment S on Service { id }`, nil,
			(1 + (1 + (1 + 20*(1+1)))) + (1 + 20*1)},
		{"inline fragments", `{ me { ... on User { id } ... { name } } }`, nil, 1 + 2},
		{"@skip and @include count what they guard", `query($no: Boolean!) { me { id @skip(if: true) name @include(if: $no) } }`,
			map[string]any{"no": false}, 1 + 2},
		{"__typename costs 1", `{ __typename me { __typename } }`, nil, 1 + (1 + 1)},
		{"__schema costs nothing", `{ __schema { queryType { name } } me { id } }`, nil, 1 + 1},
		{"__type costs 1 and its selections", `{ __type(name: "User") { name fields { name } } }`, nil, 1 + (1 + (1 + 1))},
		// 2 + 2×(2 + 2×(… 2 + 2×(1+2) …)) for ten fragments: gqlgen follows 2^10 paths.
		{"ten fragments, each spreading the next twice", nestedDoubleSpreads(10), nil, 5118},
	})
}

// checkComplexity checks each operation's score as MeasureOperation measures it, and that
// gqlgen's complexity.Calculate, which the limit used before and which walks every path,
// scores it the same.
func checkComplexity(t *testing.T, tests []complexityCase) {
	t.Helper()
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(executable.Schema(), tt.query)
			if errs != nil {
				t.Fatalf("query: %v", errs)
			}
			vars := tt.variables
			if vars == nil {
				vars = map[string]any{}
			}
			op := doc.Operations[0]
			measure, err := server.MeasureOperation(t.Context(), executable, op, vars)
			if err != nil {
				t.Fatal(err)
			}
			if measure.Complexity != tt.want {
				t.Errorf("complexity %d, want %d", measure.Complexity, tt.want)
			}
			if gqlgens := complexity.Calculate(t.Context(), executable, op, vars); gqlgens != measure.Complexity {
				t.Errorf("gqlgen's complexity.Calculate scores %d, MeasureOperation %d", gqlgens, measure.Complexity)
			}
		})
	}
}

// A score too large for an int saturates: it neither wraps round to a negative score nor,
// multiplied by a list's rows, to a small one. 62 fragments, each spreading the next twice,
// score 2^62 under services, whose 20 rows would make that 20 × 2^62, which wraps round to
// 0 (the field's score 1) where nothing saturates. gqlgen's complexity.Calculate follows
// each of the 2^62 paths, so it cannot be compared here.
func TestComplexitySaturates(t *testing.T) {
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	wraps := spreadChain{operation: "{ services { ...S0 } }", name: "S", onType: "Service", spreads: 2, last: "id"}.document(62)
	for name, query := range map[string]string{
		"a score that overflows a list's rows": wraps,
		"a score that overflows the sum":       nestedDoubleSpreads(80),
	} {
		t.Run(name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(executable.Schema(), query)
			if errs != nil {
				t.Fatalf("query: %v", errs)
			}
			measure, err := server.MeasureOperation(t.Context(), executable, doc.Operations[0], map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			if measure.Complexity != math.MaxInt {
				t.Errorf("complexity %d, want math.MaxInt", measure.Complexity)
			}
		})
	}
}

// A measure whose request is over (its client left, or its deadline passed) stops with the
// context's error, rather than finishing a walk nobody waits for.
func TestMeasureOperationStopsWhenItsRequestIsOver(t *testing.T) {
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	doc, errs := gqlparser.LoadQuery(executable.Schema(), `{ me { `+strings.Repeat("id ", 1000)+`} }`)
	if errs != nil {
		t.Fatalf("query: %v", errs)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := server.MeasureOperation(ctx, executable, doc.Operations[0], map[string]any{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
}
