package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	"notifyql/server"
)

// Issue 15, item 2: documents whose fragments multiply the paths through them, which any
// walk that follows every spread takes exponential time over, and their cousins that make
// other walks quadratic. Each family builds a document from a size n; the benchmark and the
// tests take the largest n within a token limit.

// raisedTokenLimit is the raised token limit the benchmark measures beside the default:
// ten times it, the most a default 64 KiB body holds of such documents.
const raisedTokenLimit = 20_000

type hostileDocumentFamily struct {
	name string
	doc  func(n int) string
	// wantCode is the answer to the family's largest document within the default limits.
	wantCode string
}

var hostileDocumentFamilies = []hostileDocumentFamily{
	// The reproduction: 2^n paths in n fragments.
	{"nested-double-spreads", nestedDoubleSpreads, "VALIDATION_LIMIT_EXCEEDED"},
	// The same under a list: each path multiplied by services' 20 rows.
	{"nested-double-spreads-under-a-list", spreadChain{operation: "{ services { ...S0 } }", name: "S", onType: "Service",
		spreads: 2, each: "templateStatistics { count }", last: "id"}.document, "VALIDATION_LIMIT_EXCEEDED"},
	// A chain of fragments, each spreading the next once.
	{"fragment-chain", spreadChain{operation: "{ ...F0 }", name: "F", onType: "Query",
		spreads: 1, last: "me { id }"}.document, "VALIDATION_LIMIT_EXCEEDED"},
	// Fragment k spreads every fragment before it: the densest web of spreads.
	{"each-spreads-all-earlier", func(n int) string {
		var doc strings.Builder
		fmt.Fprintf(&doc, "{ ...F%d }", n)
		for i := 0; i <= n; i++ {
			fmt.Fprintf(&doc, " fragment F%d on Query { me { id } ", i)
			for j := range i {
				fmt.Fprintf(&doc, "...F%d ", j)
			}
			doc.WriteString("}")
		}
		return doc.String()
	}, "VALIDATION_LIMIT_EXCEEDED"},
	// One fragment spread n times in one place.
	{"wide-spread", func(n int) string {
		return "{ " + strings.Repeat("...F ", n) + "} fragment F on Query { me { id name } }"
	}, "VALIDATION_LIMIT_EXCEEDED"},
	// n inline fragments, each inside the last (the parser refuses more than 1,000).
	{"deep-inline-fragments", func(n int) string {
		return "{ " + strings.Repeat("... on Query { ", n) + "me { id }" + strings.Repeat(" }", n) + " }"
	}, analysedCode},
	// One field, under one response name, in n fragments spread side by side: validation
	// compares every pair.
	{"one-field-in-many-fragments", fragmentsSideBySide{open: "{", close: " }", name: "F", onType: "Query",
		selection: "me { id }"}.document, "VALIDATION_LIMIT_EXCEEDED"},
	// A list field in n fragments spread side by side inside a field.
	{"one-list-in-many-fragments", fragmentsSideBySide{open: "{ me {", close: " } }", name: "U", onType: "User",
		selection: "memberships { permissions }"}.document, "VALIDATION_LIMIT_EXCEEDED"},
	// One field selected n times in one place.
	{"one-field-repeated", func(n int) string {
		return "{ me { " + strings.Repeat("id ", n) + "} }"
	}, "VALIDATION_LIMIT_EXCEEDED"},
}

// nestedDoubleSpreads is the document of issue 15, item 2: n fragments on Query, each
// spreading the next twice and selecting me { id }, and a last one selecting me { id name }.
// It is about 50 bytes a fragment, and has 2^n paths from its operation to its last
// fragment.
func nestedDoubleSpreads(n int) string {
	return spreadChain{operation: "query { ...F0 }", name: "F", onType: "Query",
		spreads: 2, each: "me { id }", last: "me { id name }"}.document(n)
}

// spreadChain builds documents of an operation and fragments that each spread the next.
type spreadChain struct {
	operation string // spreads the first fragment, name0
	name      string // the fragments are name0 to name<n>
	onType    string
	spreads   int    // how many times each fragment but the last spreads the next
	each      string // what each fragment but the last selects beside its spreads, if anything
	last      string // what the last fragment selects
}

// document returns the operation and n+1 fragments: with two spreads, 2^n paths lead from
// the operation to the last fragment.
func (c spreadChain) document(n int) string {
	var doc strings.Builder
	doc.WriteString(c.operation)
	for i := range n {
		fmt.Fprintf(&doc, " fragment %s%d on %s {%s", c.name, i, c.onType, strings.Repeat(fmt.Sprintf(" ...%s%d", c.name, i+1), c.spreads))
		if c.each != "" {
			doc.WriteString(" " + c.each)
		}
		doc.WriteString(" }")
	}
	fmt.Fprintf(&doc, " fragment %s%d on %s { %s }", c.name, n, c.onType, c.last)
	return doc.String()
}

// fragmentsSideBySide builds documents of fragments that select the same, spread side by
// side in one place.
type fragmentsSideBySide struct {
	open, close string // the operation up to the spreads, and after them
	name        string // the fragments are name0 to name<n-1>
	onType      string
	selection   string // what every fragment selects
}

// document returns the operation, spreading n fragments, and the fragments.
func (f fragmentsSideBySide) document(n int) string {
	var doc strings.Builder
	doc.WriteString(f.open)
	for i := range n {
		fmt.Fprintf(&doc, " ...%s%d", f.name, i)
	}
	doc.WriteString(f.close)
	for i := range n {
		fmt.Fprintf(&doc, " fragment %s%d on %s { %s }", f.name, i, f.onType, f.selection)
	}
	return doc.String()
}

// hostileDocument is one document of a family.
type hostileDocument struct {
	n      int
	text   string
	tokens int
}

// largestWithin returns the family's largest document that the parser takes within
// maxTokens tokens.
func (f hostileDocumentFamily) largestWithin(tb testing.TB, maxTokens int) hostileDocument {
	tb.Helper()
	fits := func(n int) bool {
		_, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: f.doc(n)}, maxTokens)
		return err == nil
	}
	if !fits(1) {
		tb.Fatalf("%s: the smallest document does not fit in %d tokens", f.name, maxTokens)
	}
	low, high := 1, 2 // fits(low), and, once the loop ends, !fits(high)
	for fits(high) {
		low, high = high, 2*high
	}
	for high-low > 1 {
		if mid := (low + high) / 2; fits(mid) {
			low = mid
		} else {
			high = mid
		}
	}
	text := f.doc(low)
	return hostileDocument{n: low, text: text, tokens: documentTokens(tb, text)}
}

func documentTokens(tb testing.TB, text string) int {
	tb.Helper()
	lex := lexer.New(&ast.Source{Input: text})
	for n := 0; ; n++ {
		tok, err := lex.ReadToken()
		if err != nil {
			tb.Fatal(err)
		}
		if tok.Kind == lexer.EOF {
			return n
		}
	}
}

// numberedSpace is white space, which is no token, different for each i.
func numberedSpace(i int) string {
	var space strings.Builder
	for ; i > 0; i /= 3 {
		space.WriteByte(" \t\n"[i%3])
	}
	return "\n" + space.String()
}

// report adds the document's size to a benchmark's figures.
func (d hostileDocument) report(b *testing.B) {
	b.ReportMetric(float64(len(d.text)), "bytes")
	b.ReportMetric(float64(d.tokens), "tokens")
}

// documentAnalysis returns what the document and operation limits do with a document, as
// serve's API does it with the token limit at maxTokens: DocumentLimits parses it and
// counts its tokens, directives and aliases and looks for cycles; MeasureOperation (once
// gqlgen has validated the document, which is not part of this) measures the depth and
// complexity of its operation.
func documentAnalysis(tb testing.TB, executable graphql.ExecutableSchema, maxTokens int, text string) func() {
	tb.Helper()
	defaults := server.DefaultLimits()
	limits := server.DocumentLimits{MaxTokens: maxTokens, MaxAliases: defaults.MaxAliases, MaxDirectives: defaults.MaxDirectives,
		MaxValidationSteps: defaults.MaxValidationSteps, Parsed: graphql.NoCache[*ast.QueryDocument]{}}
	if err := limits.Validate(executable); err != nil {
		tb.Fatal(err)
	}
	var validated *ast.QueryDocument
	if doc, errs := gqlparser.LoadQueryWithRules(executable.Schema(), text, nil); errs == nil {
		validated = doc
	}
	ctx := context.Background()
	return func() {
		if err := limits.MutateOperationParameters(ctx, &graphql.RawParams{Query: text}); err != nil || validated == nil {
			return
		}
		if _, err := server.MeasureOperation(ctx, executable, validated.Operations[0], map[string]any{}); err != nil {
			tb.Fatal(err)
		}
	}
}

// analysedCode answers, in hostileFragmentsAPI, an operation that passed every limit.
const analysedCode = "ANALYSED"

// stopBeforeResolvers answers every operation that reaches it with analysedCode instead of
// running it. Added after the limits, it shows that an operation passed them, without a
// database.
type stopBeforeResolvers struct{}

func (stopBeforeResolvers) ExtensionName() string                   { return "stopBeforeResolvers" }
func (stopBeforeResolvers) Validate(graphql.ExecutableSchema) error { return nil }
func (stopBeforeResolvers) MutateOperationContext(context.Context, *graphql.OperationContext) *gqlerror.Error {
	return &gqlerror.Error{Message: "analysed, not run", Extensions: map[string]any{"code": analysedCode}}
}

// postHostileDocument sends a document to hostileFragmentsAPI and returns the first error's
// code, failing unless it is the answer of a limit, of validation, or analysedCode.
func postHostileDocument(tb testing.TB, handler http.Handler, body []byte) string {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	handler.ServeHTTP(rec, req)
	var resp gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Errors) == 0 {
		tb.Fatalf("status %d, want an error: %.300s", rec.Code, rec.Body.String())
	}
	code, _ := resp.Errors[0].Extensions["code"].(string)
	answers := []string{analysedCode, "COMPLEXITY_LIMIT_EXCEEDED", "DEPTH_LIMIT_EXCEEDED", "ALIAS_LIMIT_EXCEEDED",
		"DIRECTIVE_LIMIT_EXCEEDED", "TOKEN_LIMIT_EXCEEDED", "VALIDATION_LIMIT_EXCEEDED", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}
	if !slices.Contains(answers, code) {
		tb.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
	}
	return code
}

// Every family's largest document within the default token limit gets its answer (the
// test binary's timeout is what a document that is never answered fails on).
func TestHostileDocumentsAreAnswered(t *testing.T) {
	handler := hostileFragmentsAPI(t, server.DefaultLimits().MaxTokens)
	for _, family := range hostileDocumentFamilies {
		t.Run(family.name, func(t *testing.T) {
			doc := family.largestWithin(t, server.DefaultLimits().MaxTokens)
			body, _ := json.Marshal(map[string]string{"query": doc.text})
			if code := postHostileDocument(t, handler, body); code != family.wantCode {
				t.Errorf("n = %d: %s, want %s", doc.n, code, family.wantCode)
			}
		})
	}
}

// The reproduction, without a token, through the API as serve wires it: 40
// fragments each spreading the next twice (and smaller ones, which took seconds, and the
// largest the token limit lets through) are refused before validation, which would
// compare 4^n pairs of fields, and complexity analysis, which gqlgen's would walk 2^n
// paths for. The test binary's timeout is what a document that is never answered fails on.
func TestNestedFragmentSpreadsAreAnsweredWithoutAToken(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{})
	largest := hostileDocumentFamilies[0].largestWithin(t, server.DefaultLimits().MaxTokens)
	for _, n := range []int{16, 20, 24, 40, largest.n} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			resp := api.post(t, "", nestedDoubleSpreads(n), nil)
			if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "VALIDATION_LIMIT_EXCEEDED" || resp.Errors[0].Message != validationLimitMessage {
				t.Errorf("status %d: %s; want VALIDATION_LIMIT_EXCEEDED: %s", resp.status, resp.body, validationLimitMessage)
			}
		})
	}
}

const validationLimitMessage = "the document would take more than the limit of 10000 steps to validate: it repeats a field, or spreads fragments, too often"

// A document of nested spreads small enough to validate is measured by the operation
// limits, each fragment once, and refused for its complexity: 5 fragments each spreading
// the next twice and selecting templateStatistics { count }, and a last selecting id,
// under services' 20 rows: 1 + 20 × (2^5 × 1 + (2^5 − 1) × (1 + 20 × 1)).
func TestNestedFragmentSpreadsWithinTheValidationLimitAreRefusedForTheirComplexity(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{})
	resp := api.post(t, "", hostileDocumentFamilies[1].doc(5), nil)
	want := "operation has complexity 13661, which exceeds the limit of 5000"
	if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" || resp.Errors[0].Message != want {
		t.Errorf("status %d: %s; want COMPLEXITY_LIMIT_EXCEEDED: %s", resp.status, resp.body, want)
	}
}

// The same document, sent as a subscribe message on a signed-in socket (operations there go
// through the same gqlgen handler), gets its answer for that id.
func TestNestedFragmentSpreadsOverAWebSocketAreAnswered(t *testing.T) {
	api := newTestAPIWith(t, testAPIOptions{})
	httpServer := httptest.NewServer(api.handler)
	t.Cleanup(httpServer.Close)
	conn := dialSignedIn(t, "graphql-transport-ws", "ws"+strings.TrimPrefix(httpServer.URL, "http")+"/graphql", userViewer)
	payload, _ := json.Marshal(map[string]any{"query": nestedDoubleSpreads(40)})
	if err := conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	for {
		var msg wsMessage
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		if msg.ID != "1" || (msg.Type != "next" && msg.Type != "error") {
			continue
		}
		if !strings.Contains(string(msg.Payload), `"code":"VALIDATION_LIMIT_EXCEEDED"`) || !strings.Contains(string(msg.Payload), validationLimitMessage) {
			t.Errorf("%s %s, want VALIDATION_LIMIT_EXCEEDED: %s", msg.Type, msg.Payload, validationLimitMessage)
		}
		return
	}
}
