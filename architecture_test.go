package notifyql_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbiddenImports encodes the dependency direction (docs/architecture.md): the root package
// is the vocabulary and imports nothing of ours; adapters (postgres, redis) and the edge
// (server, resolvers) and the PDF adapter (pdfium) import the root package, never each
// other; only cmd wires them together.
var forbiddenImports = map[string][]string{
	"notifyql":          {"notifyql/"},
	"notifyql/postgres": {"notifyql/postgres/seed", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/cmd"},
	// The data generator writes through pgx like the stores and reuses the store package's
	// fact-table build (it may import postgres); the stores never know it.
	"notifyql/postgres/seed": {"notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/cmd"},
	// The process harness drives a built notifyql from outside, as a deployment does: over
	// HTTP, WebSocket and SQL. It knows how a token is minted (server), nothing inside.
	"notifyql/internal/harness": {"notifyql/postgres", "notifyql/redis", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/cmd"},
	"notifyql/redis":            {"notifyql/postgres", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/cmd"},
	"notifyql/server":           {"notifyql/postgres", "notifyql/redis", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/cmd"},
	"notifyql/resolvers":        {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/cmd"},
	"notifyql/dataloaders":      {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/cmd"},
	"notifyql/graph":            {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/cmd"},
	"notifyql/live":             {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/cmd"},
	"notifyql/phone":            {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/cmd"},
	"notifyql/migrations":       {"notifyql/"},
	// The letter renderer is shared by the edge (server, resolvers) and wired by cmd: it
	// reaches engines and the cache only through the root package's interfaces.
	"notifyql/letterpreview": {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/cmd", "notifyql/typeset", "notifyql/pdfium"},
	// The letter typesetter is an adapter: it knows the root package's letter contract only.
	"notifyql/typeset": {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/cmd", "notifyql/pdfium"},
	"notifyql/pdfium":  {"notifyql/postgres", "notifyql/redis", "notifyql/server", "notifyql/resolvers", "notifyql/dataloaders", "notifyql/graph", "notifyql/live", "notifyql/phone", "notifyql/cmd"},
}

// importableOnlyBy names packages that serve the programs around the service rather than
// the service: only the listed packages (and any package's tests, which go list's Imports
// leave out) may import them. The generator is wired by cmd and the load programs; the
// harness is for tests and the load programs, never for a binary that serves.
var importableOnlyBy = map[string][]string{
	"notifyql/postgres/seed":    {"notifyql/cmd/notifyql", "notifyql/bench/"},
	"notifyql/internal/harness": {"notifyql/bench/"},
}

// mayImport reports whether pkg may import imp under importableOnlyBy.
func mayImport(pkg, imp string) bool {
	for restricted, importers := range importableOnlyBy {
		if imp == restricted || strings.HasPrefix(imp, restricted+"/") {
			return pkg == restricted || strings.HasPrefix(pkg, restricted+"/") || slices.ContainsFunc(importers, func(importer string) bool {
				return pkg == importer || strings.HasSuffix(importer, "/") && strings.HasPrefix(pkg, importer)
			})
		}
	}
	return true
}

// violates reports whether an import matches a forbidden entry: a package and its
// sub-packages, or with a trailing slash, every package under that prefix.
func violates(imp, forbidden string) bool {
	if strings.HasSuffix(forbidden, "/") {
		return strings.HasPrefix(imp, forbidden)
	}
	return imp == forbidden || strings.HasPrefix(imp, forbidden+"/")
}

// isStandardLibrary reports whether path is in the standard library: no dot in its first element.
func isStandardLibrary(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && first != "notifyql"
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	packages := 0
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		pkg, imports := fields[0], fields[1:]
		packages++
		if pkg == "notifyql" {
			for _, imp := range imports {
				if !isStandardLibrary(imp) {
					t.Errorf("the root package imports %s: it may use the standard library only", imp)
				}
			}
		}
		for _, imp := range imports {
			for _, forbidden := range forbiddenImports[pkg] {
				if violates(imp, forbidden) {
					t.Errorf("%s imports %s, against the dependency direction (docs/architecture.md)", pkg, imp)
				}
			}
			if !mayImport(pkg, imp) {
				t.Errorf("%s imports %s, which only %v (and tests) may import", pkg, imp, importableOnlyBy[imp])
			}
		}
	}
	if packages < 2 || !slices.Contains(strings.Fields(string(out)), "notifyql") {
		t.Fatalf("go list listed too little to check:\n%s", out)
	}
}

func TestForbiddenImportCheckCatchesAViolation(t *testing.T) {
	// A guard for the guard: the matching rule must flag what it is meant to.
	tests := []struct {
		pkg, imp string
		want     bool
	}{
		{"notifyql/server", "notifyql/postgres", true},
		{"notifyql/server", "notifyql/postgres/sub", true},
		{"notifyql/server", "notifyql/postgresx", false},
		{"notifyql", "notifyql/phone", true},
		{"notifyql/resolvers", "notifyql/dataloaders", false},
		{"notifyql/postgres", "notifyql/postgres/seed", true},
		{"notifyql/postgres/seed", "notifyql/postgres", false},
		{"notifyql/internal/harness", "notifyql/live", true},
	}
	for _, tt := range tests {
		got := slices.ContainsFunc(forbiddenImports[tt.pkg], func(f string) bool { return violates(tt.imp, f) })
		if got != tt.want {
			t.Errorf("%s importing %s: flagged=%v, want %v", tt.pkg, tt.imp, got, tt.want)
		}
	}
	restricted := []struct {
		pkg, imp string
		want     bool
	}{
		{"notifyql/cmd/notifyql", "notifyql/postgres/seed", true},
		{"notifyql/bench/live", "notifyql/postgres/seed", true},
		{"notifyql/postgres/seed", "notifyql/postgres/seed/internal/seedletters", true},
		{"notifyql/server", "notifyql/postgres/seed", false},
		{"notifyql/cmd/notifyql", "notifyql/internal/harness", false},
		{"notifyql/bench/soak", "notifyql/internal/harness", true},
		{"notifyql/live", "notifyql/internal/harness", false},
		{"notifyql/live", "notifyql/redis", true}, // not restricted: forbiddenImports' business
	}
	for _, tt := range restricted {
		if got := mayImport(tt.pkg, tt.imp); got != tt.want {
			t.Errorf("may %s import %s: %v, want %v", tt.pkg, tt.imp, got, tt.want)
		}
	}
}
