package migrations_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestReferenceDataIsGenerated checks that 00002_reference_data.sql is what the generator
// makes from the CSV files today, so `go generate` would leave it unchanged.
func TestReferenceDataIsGenerated(t *testing.T) {
	output := filepath.Join(t.TempDir(), "reference.sql")
	cmd := exec.Command("go", "run", "gen_reference.go", "-o", output)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_reference.go: %v\n%s", err, out)
	}
	want, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("00002_reference_data.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("00002_reference_data.sql is out of date: run `go generate ./migrations`")
	}
}
