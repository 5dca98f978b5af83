package main

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"notifyql/server"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/ from what the code produces")

// The schema is a published contract: a change to it shows up here as a diff to review,
// and is accepted with `go test ./cmd/notifyql -run TestSchemaGolden -update`.
func TestSchemaGolden(t *testing.T) {
	out, _, err := runCommand(t, nil, "schema")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.graphql")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if out != string(want) {
		t.Errorf("notifyql schema differs from %s; if the change is meant, run the test with -update and review the diff", golden)
	}
}

// Every type, field, argument, enum value and directive of the schema says what it is.
func TestSchemaDescribesEverything(t *testing.T) {
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	if missing := undescribed(executable.Schema()); len(missing) > 0 {
		t.Errorf("%d schema elements have no description:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

func TestUndescribedFindsEachKindOfElement(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Name: "t.graphqls", Input: `
"Described."
directive @described(arg: Int) on FIELD_DEFINITION
directive @bare on FIELD_DEFINITION
"Described."
type Query {
  "Described."
  described("Described." ok: Int, bare: Int): Int
  bare: Kind
}
enum Kind {
  "Described."
  YES
  NO
}
input Filter { bare: Int }
`})
	got := undescribed(schema)
	slices.Sort(got)
	want := []string{"@bare", "@described(arg:)", "Filter", "Filter.bare", "Kind", "Kind.NO", "Query.bare", "Query.described(bare:)"}
	if !slices.Equal(got, want) {
		t.Errorf("undescribed = %q, want %q", got, want)
	}
}

// undescribed lists the schema's own elements that have no description, leaving out the
// ones GraphQL itself defines.
func undescribed(schema *ast.Schema) []string {
	var missing []string
	note := func(description, name string) {
		if strings.TrimSpace(description) == "" {
			missing = append(missing, name)
		}
	}
	arguments := func(owner string, args ast.ArgumentDefinitionList) {
		for _, a := range args {
			note(a.Description, owner+"("+a.Name+":)")
		}
	}
	for name, def := range schema.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		note(def.Description, name)
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			note(f.Description, name+"."+f.Name)
			arguments(name+"."+f.Name, f.Arguments)
		}
		for _, v := range def.EnumValues {
			note(v.Description, name+"."+v.Name)
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		note(d.Description, "@"+name)
		arguments("@"+name, d.Arguments)
	}
	return missing
}

// GET /schema.graphql serves what `notifyql schema` prints, where introspection is on
// (development), and nothing in production, where introspection is off.
func TestSchemaIsServedWhereIntrospectionIs(t *testing.T) {
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "schema.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, development := range []bool{true, false} {
		srv := server.New(server.Config{Development: development}, executable, server.NewAuthenticator([]byte(testSecret), nil))
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/schema.graphql", nil))
		switch {
		case development && (rec.Code != http.StatusOK || rec.Body.String() != string(want) || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8"):
			t.Errorf("development: %d %q, body equal to the golden file: %v", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String() == string(want))
		case !development && rec.Code != http.StatusNotFound:
			t.Errorf("production: %d, want 404", rec.Code)
		}
	}
}
