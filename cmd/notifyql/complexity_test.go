package main

import (
	"testing"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2"
)

// Each list field multiplies the cost of what its rows select by the rows it may hold, and
// nested lists multiply: the scores the complexity limit compares, field by field.
func TestComplexityMultipliesListsPerField(t *testing.T) {
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query string
		want  int
	}{
		// A scalar costs 1; an object field 1 + its selections.
		{"scalars", `{ me { id name } }`, 1 + 2},
		{"services: 20 rows", `{ services { id } }`, 1 + 20*1},
		{"memberships: 20 rows", `{ me { memberships { permissions } } }`, 1 + (1 + 20*1)},
		// notifications: the page size asked for, times the connection's selections.
		{"notifications, first 10", `{ service(id: "x") { notifications(first: 10) { edges { node { id } } } } }`,
			1 + (1 + 10*(1+(1+1)))},
		{"notifications, first 100", `{ service(id: "x") { notifications(first: 100) { edges { node { id } } } } }`,
			1 + (1 + 100*(1+(1+1)))},
		{"notifications, the default page", `{ service(id: "x") { notifications { edges { node { id } } } } }`,
			1 + (1 + 50*(1+(1+1)))},
		{"notifications, an out-of-range size counts as the default", `{ service(id: "x") { notifications(first: 100000) { edges { cursor } } } }`,
			1 + (1 + 50*(1+1))},
		{"inbox, first 5", `{ service(id: "x") { inbox(first: 5) { messages { id } hasNext } } }`,
			1 + (1 + 5*((1+1)+1))},
		{"inbox, the default page", `{ service(id: "x") { inbox { messages { id } } } }`,
			1 + (1 + 50*(1+1))},
		{"conversation messages: 100 rows", `{ service(id: "x") { conversation(notificationId: "y") { phoneNumber messages { id } } } }`,
			1 + (1 + (1 + (1 + 100*1)))},
		{"template statistics: 20 rows", `{ service(id: "x") { templateStatistics { count } } }`,
			1 + (1 + 20*1)},
		// Lists inside lists multiply: each service's page.
		{"a page in each service", `{ services { notifications(first: 10) { edges { node { id } } } } }`,
			1 + 20*(1+10*(1+(1+1)))},
		{"a page in each membership's service", `{ me { memberships { service { notifications(first: 10) { edges { cursor } } } } } }`,
			1 + (1 + 20*(1+(1+10*(1+1))))},
		{"subscription inbox: a full page", `subscription { inbox(serviceId: "x") { messages { id } } }`,
			1 + 50*(1+1)},
		{"subscription template statistics: 20 rows", `subscription { templateStatistics(serviceId: "x") { count } }`,
			1 + 20*1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(executable.Schema(), tt.query)
			if errs != nil {
				t.Fatalf("query: %v", errs)
			}
			op := doc.Operations[0]
			if got := complexity.Calculate(t.Context(), executable, op, map[string]any{}); got != tt.want {
				t.Errorf("complexity %d, want %d", got, tt.want)
			}
		})
	}
}
