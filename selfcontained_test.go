package notifyql_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A clone holds this repository and nothing beside it, and GraphiQL shows the schema's
// descriptions to integrators who have not even that: what the README, docs/ and the
// schema say must not send a reader to a file outside the repository (a specification
// beside it, a section sign into one).

var (
	// markdownLink is a link's target: [text](target).
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// fileMention is a path with a documentation or source ending, or a document's name.
	fileMention = regexp.MustCompile(`(?:\.\.?/)+[\w.-]+(?:/[\w.-]+)*\.(?:md|csv|graphqls|go)\b|\w[\w.-]*(?:/[\w.-]+)+\.(?:md|csv|graphqls|go)\b|\b[\w.-]+\.md\b`)
	// webAddress is a URL, whose path is not the repository's.
	webAddress = regexp.MustCompile(`[a-z]+://\S+`)
	// outsideMarkers cite what lies beside the repository, not in it.
	outsideMarkers = []string{"§", "../shared", "shared/spec", "shared/data"}
)

// outsideReferences lists what text, read from file (relative to root), cites outside the
// repository: links whose target is not a file or folder of the repository, files named
// that the repository does not hold, and citations of sections of outside documents.
func outsideReferences(root, file, text string, exists func(string) bool) []string {
	var found []string
	for _, marker := range outsideMarkers {
		if strings.Contains(text, marker) {
			found = append(found, "cites "+marker)
		}
	}
	dir := filepath.Dir(file)
	inRepository := func(path string) bool {
		for _, base := range []string{dir, "."} {
			joined := filepath.Join(base, path)
			if !strings.HasPrefix(joined, "..") && exists(joined) {
				return true
			}
		}
		return false
	}
	for _, m := range markdownLink.FindAllStringSubmatch(text, -1) {
		target, _, _ := strings.Cut(m[1], "#")
		if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		if !inRepository(target) {
			found = append(found, "links to "+m[1])
		}
	}
	for _, mention := range fileMention.FindAllString(webAddress.ReplaceAllString(text, ""), -1) {
		if inRepository(mention) || strings.Contains(mention, "*") {
			continue
		}
		// A bare file name is fine when the repository holds a file of that name.
		if !strings.Contains(mention, "/") && exists("name:"+mention) {
			continue
		}
		found = append(found, "names "+mention)
	}
	return found
}

// repositoryFiles lists every file and folder under root (skipping .git and node_modules),
// as paths relative to root and as "name:" plus the base name.
func repositoryFiles(t *testing.T, root string) map[string]bool {
	t.Helper()
	files := map[string]bool{".": true}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files[rel] = true
		files["name:"+d.Name()] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDocumentationStandsOnItsOwn(t *testing.T) {
	files := repositoryFiles(t, ".")
	exists := func(path string) bool { return files[filepath.Clean(path)] || files[path] }
	read := []string{"README.md", "cmd/notifyql/testdata/schema.graphql"}
	for _, pattern := range []string{"docs/*.md", "graph/*.graphqls"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, matches...)
	}
	if !slices.Contains(read, "docs/rules.md") || !slices.Contains(read, "graph/schema.graphqls") {
		t.Fatalf("the documents to check were not found: %v", read)
	}
	for _, file := range read {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range outsideReferences(".", file, string(text), exists) {
			t.Errorf("%s %s, outside the repository", file, ref)
		}
	}
}

func TestOutsideReferencesAreFound(t *testing.T) {
	// A guard for the guard: a repository of three files.
	files := map[string]bool{".": true, "README.md": true, "docs": true, "docs/rules.md": true, "name:rules.md": true,
		"name:README.md": true, "cmd": true, "cmd/main.go": true, "name:main.go": true}
	exists := func(path string) bool { return files[filepath.Clean(path)] || files[path] }
	tests := []struct {
		file, text string
		want       []string
	}{
		{"README.md", "The rules are in [docs/rules.md](docs/rules.md) and `cmd/main.go`.", nil},
		{"docs/rules.md", "Back to [the README](../README.md#try-it); see rules.md.", nil},
		{"README.md", "See [the tour](#try-it) and https://example.org/x.md; it writes report.csv.", nil},
		{"README.md", "The rules are in `../shared/spec/DOMAIN.md`.", []string{"cites ../shared", "cites shared/spec", "names ../shared/spec/DOMAIN.md"}},
		{"README.md", "As DOMAIN.md §6.3 says.", []string{"cites §", "names DOMAIN.md"}},
		{"docs/rules.md", "[the spec](../../spec.md)", []string{"links to ../../spec.md", "names ../../spec.md"}},
		{"README.md", "[missing](docs/missing.md)", []string{"links to docs/missing.md", "names docs/missing.md"}},
	}
	for _, tt := range tests {
		got := outsideReferences(".", tt.file, tt.text, exists)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q: got %q, want %q", tt.file, tt.text, got, tt.want)
		}
	}
}
