package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The parsed-document cache keeps at most its byte budget of texts, least recently used
// out first, and its count of documents; a text larger than the budget is not kept.
func TestParsedQueriesAreBoundedByBytesAndCount(t *testing.T) {
	ctx := t.Context()
	text := func(i, size int) string {
		prefix := fmt.Sprintf("query Q%d { me { id } }", i)
		return prefix + strings.Repeat(" ", size-len(prefix))
	}
	c := newParsedQueries(100, 10_000)
	doc := &ast.QueryDocument{}
	for i := range 30 {
		c.Add(ctx, text(i, 1000), doc) // 30,000 bytes of text into a 10,000-byte budget
	}
	if docs, bytes := c.size(); docs != 10 || bytes != 10_000 {
		t.Fatalf("holds %d documents, %d bytes; want the newest 10, 10,000 bytes", docs, bytes)
	}
	if _, ok := c.Get(ctx, text(19, 1000)); ok {
		t.Error("an old document is still held")
	}
	// Using the oldest held keeps it when the next one comes in.
	if _, ok := c.Get(ctx, text(20, 1000)); !ok {
		t.Fatal("the oldest held document is gone")
	}
	c.Add(ctx, text(30, 1000), doc)
	if _, ok := c.Get(ctx, text(20, 1000)); !ok {
		t.Error("a document just used was let go before older ones")
	}
	if _, ok := c.Get(ctx, text(21, 1000)); ok {
		t.Error("the least recently used document is still held")
	}
	// The same text again costs nothing more.
	c.Add(ctx, text(30, 1000), doc)
	if _, bytes := c.size(); bytes != 10_000 {
		t.Errorf("adding a held text again: %d bytes, want 10,000", bytes)
	}
	c.Add(ctx, text(99, 10_001), doc)
	if _, ok := c.Get(ctx, text(99, 10_001)); ok {
		t.Error("a text larger than the budget was kept")
	}
	if docs, bytes := c.size(); docs != 10 || bytes != 10_000 {
		t.Errorf("after a text too large: %d documents, %d bytes; want 10, 10,000", docs, bytes)
	}

	small := newParsedQueries(5, 1<<20)
	for i := range 50 {
		small.Add(ctx, text(i, 100), doc)
	}
	if docs, bytes := small.size(); docs != 5 || bytes != 500 {
		t.Errorf("count bound: %d documents, %d bytes; want 5, 500", docs, bytes)
	}
}

// Distinct large documents, sent without a token, leave the server holding no more parsed
// documents than the byte budget allows: on a count alone, 200 documents of 3 KB would have
// been kept whole (600 KB of text).
func TestServerKeepsParsedDocumentsWithinTheirBudget(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { me: String! }`})
	exec := &graphql.ExecutableSchemaMock{
		SchemaFunc:     func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) { return 1, true },
		ExecFunc: func(context.Context) graphql.ResponseHandler {
			return graphql.OneShot(&graphql.Response{Data: []byte(`{"me":"x"}`)})
		},
	}
	const budget = 20_000
	s := New(Config{Limits: Limits{MaxCachedQueryBytes: budget}}, exec, NewAuthenticator([]byte("0123456789abcdef0123456789abcdef"), nil))
	for i := range 200 {
		// A long comment makes a large text of few tokens.
		query := fmt.Sprintf("query Q%d { me }\n#%s", i, strings.Repeat("x", 3000))
		body, _ := json.Marshal(map[string]string{"query": query})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("document %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	docs, bytes := s.parsed.size()
	if bytes > budget || docs == 0 {
		t.Fatalf("the server keeps %d parsed documents of %d bytes of text; want some, within %d", docs, bytes, budget)
	}
}
