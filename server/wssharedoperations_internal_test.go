package server

import (
	"runtime"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

func subscriptionContext(query string, variables map[string]any) *graphql.OperationContext {
	return &graphql.OperationContext{RawQuery: query, Variables: variables,
		Operation: &ast.OperationDefinition{Operation: ast.Subscription}}
}

// Subscriptions that sent the same document and variables share the operation context
// the first offered; others, and queries, keep their own; a context nobody holds is
// forgotten.
func TestSubscriptionsShareTheOperationContextOfTheirDocumentAndVariables(t *testing.T) {
	s := newSharedOperationContexts()
	const query = `subscription($id: ID!) { dashboardTotals(serviceId: $id) { email { requested } } }`

	first := subscriptionContext(query, map[string]any{"id": "a"})
	if rc, _, ok := s.take(first); !ok || rc != first {
		t.Fatalf("the first subscription took %p (ok %v), want its own %p", rc, ok, first)
	}
	// Until the first is offered (once dispatched), the next makes its own too.
	second := subscriptionContext(query, map[string]any{"id": "a"})
	rc, key, ok := s.take(second)
	if !ok || rc != second {
		t.Fatalf("before any offer, the second took %p, want its own", rc)
	}
	s.offer(key, first)
	if rc, _, _ := s.take(second); rc != first {
		t.Errorf("the second took %p, want the first's %p", rc, first)
	}
	// Another offer for the same key does not replace the one shared.
	s.offer(key, second)
	if rc, _, _ := s.take(subscriptionContext(query, map[string]any{"id": "a"})); rc != first {
		t.Errorf("a third took %p, want the first's %p", rc, first)
	}

	other := subscriptionContext(query, map[string]any{"id": "b"})
	if rc, _, _ := s.take(other); rc != other {
		t.Errorf("a subscription with other variables took %p, want its own", rc)
	}
	withExtensions := subscriptionContext(query, map[string]any{"id": "a"})
	withExtensions.Extensions = map[string]any{"persistedQuery": map[string]any{"version": 1}}
	if rc, _, _ := s.take(withExtensions); rc != withExtensions {
		t.Errorf("a subscription with other extensions took %p, want its own", rc)
	}
	query2 := &graphql.OperationContext{RawQuery: `{ me { id } }`, Operation: &ast.OperationDefinition{Operation: ast.Query}}
	if rc, _, ok := s.take(query2); ok || rc != query2 {
		t.Errorf("a query took %p (ok %v), want its own, not shared", rc, ok)
	}

	if n := s.size(); n != 1 {
		t.Fatalf("%d contexts shared, want 1", n)
	}
	runtime.KeepAlive(first)
	first, second = nil, nil
	deadline := time.Now().Add(10 * time.Second)
	for s.size() != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.size(); n != 0 {
		t.Errorf("%d contexts still shared once no subscription holds one, want 0", n)
	}
}
