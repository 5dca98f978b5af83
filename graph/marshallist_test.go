package graph

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// listSelection validates query against the schema and returns the selection under the
// first field named list, with the field's parent type.
func listSelection(t *testing.T, query, list string) (ast.SelectionSet, string) {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(NewExecutableSchema(Config{}).Schema(), query)
	if errs != nil {
		t.Fatalf("query does not validate: %v", errs)
	}
	var find func(ast.SelectionSet) *ast.Field
	find = func(sel ast.SelectionSet) *ast.Field {
		for _, s := range sel {
			if f, ok := s.(*ast.Field); ok {
				if f.Name == list {
					return f
				}
				if found := find(f.SelectionSet); found != nil {
					return found
				}
			}
		}
		return nil
	}
	field := find(doc.Operations[0].SelectionSet)
	if field == nil {
		t.Fatalf("no %s in the query", list)
	}
	return field.SelectionSet, field.ObjectDefinition.Name
}

func TestSelectionMayWait(t *testing.T) {
	const page = `query { service(id: "x") { notifications { edges { cursor node { %s } } } } } %s`
	for _, c := range []struct {
		name, query, list string
		wait              bool
	}{
		{"the list page's fields", strings.Replace(page, "%s", `id recipient statusLabel statusGroup isFinal isTestKey
			template { name } job { originalFileName } createdBy { name } apiKey { name } sentBy`, 1), "edges", false},
		{"a row's status history", strings.Replace(page, "%s", "id statusHistory { status }", 1), "edges", true},
		{"a row's content", strings.Replace(page, "%s", "id content { body }", 1), "edges", true},
		{"a status history in a fragment", strings.Replace(strings.Replace(page, "%s", "id ...Row", 1), "%s",
			"fragment Row on Notification { statusHistory { status } }", 1), "edges", true},
		{"a status history in an inline fragment", strings.Replace(page, "%s", "id ... on Notification { statusHistory { status } }", 1), "edges", true},
		{"a status history skipped", strings.Replace(page, "%s", "id statusHistory @skip(if: true) { status }", 1), "edges", true},
		{"months", `query { service(id: "x") { monthlyStatistics { month { key number } email { requested } } } }`, "monthlyStatistics", false},
		{"template statistics with their template", `query { service(id: "x") { templateStatistics { count template { name } } } }`, "templateStatistics", false},
		{"template statistics alone", `query { service(id: "x") { templateStatistics { count } } }`, "templateStatistics", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, parent := listSelection(t, strings.Replace(c.query, "%s", "", 1), c.list)
			if got := selectionMayWait(sel, primedByList[parent+"."+c.list]); got != c.wait {
				t.Errorf("selectionMayWait = %t, want %t", got, c.wait)
			}
		})
	}
}

// The loads a list primes are its own: the same notification fields under another list,
// or none, may wait.
func TestPrimedFieldsWaitElsewhere(t *testing.T) {
	sel, _ := listSelection(t, `query { service(id: "x") { notifications { edges { node { template { name } } } } } }`, "edges")
	if !selectionMayWait(sel, nil) {
		t.Error("a notification's template does not wait where no list primed it")
	}
	sel, _ = listSelection(t, `query { service(id: "x") { templateStatistics { template { name } } } }`, "templateStatistics")
	if !selectionMayWait(sel, primedByList["NotificationConnection.edges"]) {
		t.Error("a template statistic's template does not wait under a list that primes other fields")
	}
}

// elementContext is the context gqlgen gives a list field's marshalling.
func elementContext(t *testing.T, object, list string) context.Context {
	t.Helper()
	ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{
		RecoverFunc: func(ctx context.Context, err any) error { return errors.New("internal system error") },
	})
	ctx = graphql.WithResponseContext(ctx, graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: object, Field: graphql.CollectedField{Field: &ast.Field{Name: list}}})
}

// In order, every element still gets its own field context with its index, and a panic
// in one is that element's error, as under gqlgen's goroutines.
func TestMarshalListInOrder(t *testing.T) {
	ctx := elementContext(t, "Service", "monthlyStatistics")
	var indexes []int
	ret := marshalList(ctx, nil, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		indexes = append(indexes, *graphql.GetFieldContext(ctx).Index)
		if i == 1 {
			panic("element 1")
		}
		return graphql.MarshalInt(i)
	})
	if len(indexes) != 3 || indexes[0] != 0 || indexes[1] != 1 || indexes[2] != 2 {
		t.Errorf("elements marshalled at indexes %v, want [0 1 2] in order", indexes)
	}
	if ret[1] != graphql.Null || ret[0] == graphql.Null || ret[2] == graphql.Null {
		t.Errorf("results %v: want the panicking element null and the others marshalled", ret)
	}
	if errs := graphql.GetErrors(ctx); len(errs) != 1 {
		t.Errorf("errors %v, want the panic's one", errs)
	}
}

// The generated executor goes through marshalList and resolveField everywhere: a gqlgen
// update that regenerates it without graph/internal/gqlgenerate brings the goroutines back.
func TestGeneratedExecutorIsRewritten(t *testing.T) {
	src, err := os.ReadFile("generated.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, gqlgen := range []string{"graphql.MarshalSliceConcurrently(", "out.ResolveConcurrently("} {
		if strings.Contains(string(src), gqlgen) {
			t.Errorf("generated.go calls %s: run go generate (graph/internal/gqlgenerate)", gqlgen)
		}
	}
	if !strings.Contains(string(src), "marshalList(ctx, sel, ") || !strings.Contains(string(src), "resolveField(ctx, out, field, ") {
		t.Error("generated.go does not call marshalList and resolveField")
	}
}

// Under a list marshalled in order, a field that cannot wait is resolved at once, its null
// counted against a non-null field's object as gqlgen counts it; one that may wait is left
// for Dispatch.
func TestResolveFieldInline(t *testing.T) {
	notification := NewExecutableSchema(Config{}).Schema().Types["Notification"]
	field := func(name string) graphql.CollectedField {
		return graphql.CollectedField{Field: &ast.Field{Name: name, Alias: name, ObjectDefinition: notification}}
	}
	fields := []graphql.CollectedField{field("recipient"), field("statusHistory")}
	ctx := context.WithValue(elementContext(t, "NotificationConnection", "edges"), inlineFieldsKey{}, primedByList["NotificationConnection.edges"])
	out := graphql.NewFieldSet(fields)
	deferred := graphql.NewDeferredGroup(ctx)
	oc := graphql.GetOperationContext(ctx)
	resolveField(ctx, out, fields[0], oc, &deferred, 0, true, true, func(context.Context) graphql.Marshaler { return graphql.Null })
	resolved := false
	resolveField(ctx, out, fields[1], oc, &deferred, 1, true, false, func(context.Context) graphql.Marshaler {
		resolved = true
		return graphql.Null
	})
	if out.Values[0] != graphql.Null || out.Invalids != 1 {
		t.Errorf("recipient: value %v, invalids %d; want resolved at once to null and counted", out.Values[0], out.Invalids)
	}
	if resolved {
		t.Error("the status history was resolved before Dispatch: it would wait on its own")
	}
	out.Dispatch(ctx)
	if !resolved || out.Invalids != 1 {
		t.Errorf("after Dispatch: status history resolved %t, invalids %d", resolved, out.Invalids)
	}
}

// An object's group of @defer'd fields is made for its first deferred field, which goes
// into it as gqlgen schedules it; an object without one has none.
func TestResolveFieldDeferred(t *testing.T) {
	notification := NewExecutableSchema(Config{}).Schema().Types["Notification"]
	plain := graphql.CollectedField{Field: &ast.Field{Name: "template", Alias: "template", ObjectDefinition: notification}}
	deferredField := graphql.CollectedField{Field: &ast.Field{Name: "statusHistory", Alias: "statusHistory", ObjectDefinition: notification},
		Deferrables: []*graphql.Deferrable{{Label: "history"}}}
	ctx := elementContext(t, "Query", "notification")
	oc := graphql.GetOperationContext(ctx)
	resolve := func(context.Context) graphql.Marshaler { return graphql.MarshalString("x") }

	out := graphql.NewFieldSet([]graphql.CollectedField{plain, deferredField})
	var deferred graphql.DeferredGroup
	resolveField(ctx, out, plain, oc, &deferred, 0, true, false, resolve)
	if deferred.FieldSet != nil || len(deferred.Defers) != 0 {
		t.Fatal("a field that is not deferred made the object's deferred group")
	}
	resolveField(ctx, out, deferredField, oc, &deferred, 1, true, false, resolve)
	if deferred.FieldSet == nil || deferred.Defers["history"] == nil {
		t.Fatalf("the deferred field is not in the object's deferred group under its label: %+v", deferred)
	}
	if out.Values[1] != graphql.Null {
		t.Errorf("the deferred field's place in the initial payload is %v, want null until its payload", out.Values[1])
	}
}
