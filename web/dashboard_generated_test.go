package web

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// make check-assets fails when the dashboard's generated files (web/dashboard/src/gql: the
// operations' types and the trusted-documents manifest) are not what GraphQL Code
// Generator makes of the schema. In a copy of what the check reads (the Makefile, the
// script, the schema and the page, its installed packages shared), a field the page
// selects but does not use becomes nullable: the page still type-checks and bundles the
// same, but its generated types change, and the check must fail naming exactly them.
func TestCheckAssetsFailsWhenTheDashboardsGeneratedFilesAreStale(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(repo, "web", "dashboard", "node_modules")
	if _, err := exec.LookPath("npm"); err != nil {
		skipUnlessCI(t, "npm is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(installed, ".package-lock.json")); err != nil {
		skipUnlessCI(t, "the dashboard's packages are not installed (make assets installs them)")
	}

	copyTree := t.TempDir()
	for _, name := range []string{"Makefile", "scripts/check-assets", "web/compress.mjs"} {
		copyFile(t, filepath.Join(repo, name), filepath.Join(copyTree, name))
	}
	schemas, err := filepath.Glob(filepath.Join(repo, "graph", "*.graphqls"))
	if err != nil || len(schemas) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	for _, schema := range schemas {
		copyFile(t, schema, filepath.Join(copyTree, "graph", filepath.Base(schema)))
	}
	page := filepath.Join(repo, "web", "dashboard")
	err = filepath.WalkDir(page, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(repo, path)
		copyFile(t, path, filepath.Join(copyTree, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The installed packages are shared, and the lockfile is older than their install, so
	// that make does not install them again (npm ci would empty the shared folder).
	if err := os.Symlink(installed, filepath.Join(copyTree, "web", "dashboard", "node_modules")); err != nil {
		t.Fatal(err)
	}
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"package.json", "package-lock.json"} {
		if err := os.Chtimes(filepath.Join(copyTree, "web", "dashboard", name), long, long); err != nil {
			t.Fatal(err)
		}
	}

	schemaFile := filepath.Join(copyTree, "graph", "schema.graphqls")
	schema, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	const field = "  isFinal: Boolean!\n"
	if strings.Count(string(schema), field) != 1 {
		t.Fatalf("schema.graphqls no longer has one %q: pick another field the page selects", field)
	}
	changed := strings.Replace(string(schema), field, "  isFinal: Boolean\n", 1)
	if err := os.WriteFile(schemaFile, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}

	check := exec.Command("bash", "scripts/check-assets")
	check.Dir = copyTree
	out, err := check.CombinedOutput()
	if err == nil {
		t.Fatalf("check-assets passed after the schema changed:\n%s", out)
	}
	if !strings.Contains(string(out), "make assets changed these files; commit them:") {
		t.Fatalf("check-assets failed, but not over stale files:\n%s", out)
	}
	// The diff's lines for the files as make assets left them: "> <sha256>  <path>".
	var stale []string
	_, diff, _ := strings.Cut(string(out), "make assets changed these files")
	for _, line := range strings.Split(diff, "\n") {
		if fields := strings.Fields(line); len(fields) == 3 && fields[0] == ">" && len(fields[1]) == 64 {
			stale = append(stale, fields[2])
		}
	}
	if len(stale) != 1 || stale[0] != "web/dashboard/src/gql/graphql.ts" {
		t.Errorf("check-assets found %q stale, want the generated types alone:\n%s", stale, out)
	}
	if regenerated, err := os.ReadFile(filepath.Join(copyTree, "web", "dashboard", "src", "gql", "graphql.ts")); err != nil ||
		!strings.Contains(string(regenerated), "isFinal: boolean | null") {
		t.Errorf("the regenerated types do not make isFinal nullable (%v)", err)
	}
}

func skipUnlessCI(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s and CI=true: this test must run in CI", why)
	}
	t.Skip(why)
}

// copyFile copies from to to, keeping its modification time and mode.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	info, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(to, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
}
