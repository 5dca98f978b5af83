package pgtest

import (
	"os"
	"strings"
	"testing"
)

// The README names the databases pgtest leaves on the machine's PostgreSQL (the template it
// keeps between runs) and those it makes and drops, so that a developer who finds them
// knows whose they are.
func TestREADMENamesTheDatabasesPgtestKeeps(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"`" + templatePrefix + "<hash of the migrations>`", "`" + testPrefix + "*`"} {
		if !strings.Contains(string(readme), name) {
			t.Errorf("the README does not name %s", name)
		}
	}
}
