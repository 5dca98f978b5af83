package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// variableName is how an environment variable is spelled.
var variableName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// readmeTable reads the README's configuration table: each variable its first column
// names (a row may name several), with the row's default column.
func readmeTable(readme []byte) (map[string]string, error) {
	table := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(readme))
	scanner.Buffer(nil, 1<<20)
	inSection, inTable := false, false
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "## ") {
			inSection = line == "## Configuration"
			continue
		}
		if !inSection {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break // the table has ended
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			continue
		}
		for _, name := range backticked(cells[0]) {
			if variableName.MatchString(name) {
				table[name] = strings.TrimSpace(cells[1])
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if len(table) == 0 {
		return nil, fmt.Errorf("the README has no configuration table under ## Configuration")
	}
	return table, nil
}

// backticked returns the `code` spans of a Markdown cell.
func backticked(cell string) []string {
	var spans []string
	parts := strings.Split(cell, "`")
	for i := 1; i < len(parts); i += 2 {
		spans = append(spans, parts[i])
	}
	return spans
}

// readmeDefault is the listen address a README row gives as its default: the first code
// span of its default column, such as `:8080`.
func readmeDefault(table map[string]string, name string) (string, error) {
	spans := backticked(table[name])
	if len(spans) == 0 {
		return "", fmt.Errorf("the README's configuration table gives %s no default in code", name)
	}
	return spans[0], nil
}

// configurationNames returns the environment variables the Go files of dir (the commands'
// configuration) read: each string given to a call of getenv, directly or as a field of
// the rows a loop ranges over and passes to getenv, as loadConfig does with its tables of
// limits and durations.
func configurationNames(dir string) (map[string]bool, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if name, ok := getenvArgument(n); ok {
					if lit, ok := name.(*ast.BasicLit); ok {
						addName(names, lit)
					}
				}
			case *ast.RangeStmt:
				namesOfRangedRows(n, names)
			}
			return true
		})
	}
	return names, nil
}

// namesOfRangedStrings adds the names of a loop such as
//
//	for _, name := range []string{"OTEL_X", "OTEL_Y"} {
//		v := getenv(name)
//
// when its body passes the loop's variable to getenv.
func namesOfRangedStrings(loop *ast.RangeStmt, rows *ast.CompositeLit, rowVar *ast.Ident, names map[string]bool) {
	read := false
	ast.Inspect(loop.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if arg, ok := getenvArgument(call); ok {
				if x, ok := arg.(*ast.Ident); ok && x.Name == rowVar.Name {
					read = true
				}
			}
		}
		return true
	})
	if !read {
		return
	}
	for _, elt := range rows.Elts {
		if lit, ok := elt.(*ast.BasicLit); ok {
			addName(names, lit)
		}
	}
}

// getenvArgument returns the argument of a call getenv(x).
func getenvArgument(call *ast.CallExpr) (ast.Expr, bool) {
	fn, ok := call.Fun.(*ast.Ident)
	if !ok || fn.Name != "getenv" || len(call.Args) != 1 {
		return nil, false
	}
	return call.Args[0], true
}

// namesOfRangedRows adds the names of a loop such as
//
//	for _, row := range []struct{ name string; ... }{{"NOTIFYQL_X", ...}, ...} {
//		v := getenv(row.name)
//
// that is, the field getenv is given, of each row of the literal ranged over.
func namesOfRangedRows(loop *ast.RangeStmt, names map[string]bool) {
	rows, ok := loop.X.(*ast.CompositeLit)
	if !ok {
		return
	}
	slice, ok := rows.Type.(*ast.ArrayType)
	if !ok {
		return
	}
	rowVar, ok := loop.Value.(*ast.Ident)
	if !ok {
		return
	}
	if elt, ok := slice.Elt.(*ast.Ident); ok && elt.Name == "string" {
		namesOfRangedStrings(loop, rows, rowVar, names)
		return
	}
	row, ok := slice.Elt.(*ast.StructType)
	if !ok {
		return
	}
	var field string
	ast.Inspect(loop.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if arg, ok := getenvArgument(call); ok {
			if sel, ok := arg.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == rowVar.Name {
					field = sel.Sel.Name
				}
			}
		}
		return true
	})
	if field == "" {
		return
	}
	// The field's position among the struct's fields, for rows written without keys.
	index, i := -1, 0
	for _, f := range row.Fields.List {
		for _, n := range f.Names {
			if n.Name == field {
				index = i
			}
			i++
		}
	}
	for _, elt := range rows.Elts {
		lit, ok := elt.(*ast.CompositeLit)
		if !ok {
			continue
		}
		for j, value := range lit.Elts {
			if kv, ok := value.(*ast.KeyValueExpr); ok {
				if key, ok := kv.Key.(*ast.Ident); ok && key.Name == field {
					if s, ok := kv.Value.(*ast.BasicLit); ok {
						addName(names, s)
					}
				}
				continue
			}
			if j == index {
				if s, ok := value.(*ast.BasicLit); ok {
					addName(names, s)
				}
			}
		}
	}
}

func addName(names map[string]bool, lit *ast.BasicLit) {
	if lit.Kind != token.STRING {
		return
	}
	if s, err := strconv.Unquote(lit.Value); err == nil && variableName.MatchString(s) {
		names[s] = true
	}
}

// namedVariable is an environment variable a deployment file sets (or suggests, in a
// comment), and where.
type namedVariable struct {
	name, where string
}

// checkVariablesAreConfiguration checks that every variable the deployment files name is
// a row of the README's configuration table and is read by the configuration code: a
// misspelt name is otherwise silently ignored.
func checkVariablesAreConfiguration(named []namedVariable, readme map[string]string, code map[string]bool) error {
	var errs []error
	if len(named) == 0 {
		return fmt.Errorf("the deployment files name no environment variable")
	}
	for _, v := range named {
		if _, ok := readme[v.name]; !ok {
			errs = append(errs, fmt.Errorf("%s names %s, which is not in the README's configuration table", v.where, v.name))
		}
		if !code[v.name] {
			errs = append(errs, fmt.Errorf("%s names %s, which the configuration code (cmd/notifyql) never reads", v.where, v.name))
		}
	}
	return errors.Join(errs...)
}

// The README's table is read by its first column, a row naming one variable or several,
// and only under ## Configuration.
func TestReadmeTable(t *testing.T) {
	readme := "# x\n\n| variable | default | meaning |\n| --- | --- | --- |\n| `ELSEWHERE` | 1 | not configuration |\n\n" +
		"## Configuration\n\nRead once.\n\n| variable | default | meaning |\n| --- | --- | --- |\n" +
		"| `NOTIFYQL_ADDR` | `:8080` | listen address (`NOTIFYQL_NOT_A_ROW` in prose). |\n" +
		"| `NOTIFYQL_A`, `NOTIFYQL_B` | 1, 2 | two at once |\n\nAfter the table: `NOTIFYQL_AFTER`.\n\n| `NOTIFYQL_LATER` | x | y |\n"
	table, err := readmeTable([]byte(readme))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"NOTIFYQL_ADDR": "`:8080`", "NOTIFYQL_A": "1, 2", "NOTIFYQL_B": "1, 2"}
	if diff := cmp.Diff(want, table); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if addr, err := readmeDefault(table, "NOTIFYQL_ADDR"); err != nil || addr != ":8080" {
		t.Errorf("NOTIFYQL_ADDR's default: %q, %v", addr, err)
	}
	if _, err := readmeDefault(table, "NOTIFYQL_A"); err == nil {
		t.Error("a default not written as code was read as one")
	}
	if _, err := readmeTable([]byte("# x\n\n## Configuration\n\nNo table.\n")); err == nil {
		t.Error("a README without the table was read")
	}
}

// The configuration code's variables are found however loadConfig names them: given to
// getenv, or as the field of the rows a loop ranges over, positional or keyed; other
// strings are not variables.
func TestConfigurationNames(t *testing.T) {
	dir := t.TempDir()
	src := `package main

func load(getenv func(string) string) {
	_ = getenv("DIRECT_NAME")
	_ = "NOT_READ"
	for _, row := range []struct {
		unit string
		name string
	}{{"SECONDS", "POSITIONAL_NAME"}} {
		_ = getenv(row.name)
	}
	for _, row := range []struct{ name, other string }{{name: "KEYED_NAME", other: "KEYED_OTHER"}} {
		_ = getenv(row.name)
	}
	for _, row := range []struct{ name string }{{"RANGED_NOT_READ"}} {
		_ = row.name
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "config.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config_test.go"), []byte("package main\nfunc x(getenv func(string) string) { getenv(\"TEST_ONLY\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := configurationNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"DIRECT_NAME": true, "POSITIONAL_NAME": true, "KEYED_NAME": true}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// Every variable the configuration code reads has a row in the README's table.
func TestEveryVariableTheCodeReadsIsDocumented(t *testing.T) {
	f, _ := mustFacts(t)
	if len(f.code) < 20 || !f.code["NOTIFYQL_DRAIN_DELAY"] || !f.code["DATABASE_URL"] || !f.code["NOTIFYQL_TOKEN_AUDIENCE"] {
		t.Fatalf("found too few of cmd/notifyql's variables to trust: %v", slices.Sorted(maps.Keys(f.code)))
	}
	for _, name := range slices.Sorted(maps.Keys(f.code)) {
		if _, ok := f.readme[name]; !ok {
			t.Errorf("cmd/notifyql reads %s, which the README's configuration table does not describe", name)
		}
	}
}

// A variable is configuration only when both the README and the code know it.
func TestCheckVariablesAreConfiguration(t *testing.T) {
	readme := map[string]string{"NOTIFYQL_A": "", "NOTIFYQL_DOCUMENTED_ONLY": ""}
	code := map[string]bool{"NOTIFYQL_A": true, "NOTIFYQL_READ_ONLY": true}
	if err := checkVariablesAreConfiguration([]namedVariable{{"NOTIFYQL_A", "here"}}, readme, code); err != nil {
		t.Errorf("a known variable: %v", err)
	}
	for name, want := range map[string]string{
		"NOTIFYQL_DOCUMENTED_ONLY": "never reads",
		"NOTIFYQL_READ_ONLY":       "not in the README",
	} {
		err := checkVariablesAreConfiguration([]namedVariable{{name, "here"}}, readme, code)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
	}
	if err := checkVariablesAreConfiguration(nil, readme, code); err == nil {
		t.Error("no variable at all passed")
	}
}
