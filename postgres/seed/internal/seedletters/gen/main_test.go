package main

import (
	"bytes"
	"testing"

	"notifyql/postgres/seed/internal/seedletters"
)

// TestCommittedFilesAreCurrent fails when this program changed and the committed PDFs
// were not regenerated (go generate ./postgres/seed/internal/seedletters).
func TestCommittedFilesAreCurrent(t *testing.T) {
	for _, l := range seedletters.Letters {
		built, err := Build(l)
		if err != nil {
			t.Fatalf("%s: %v", l.File, err)
		}
		if !bytes.Equal(built, l.PDF()) {
			t.Errorf("%s differs from what gen builds: run go generate ./postgres/seed/internal/seedletters", l.File)
		}
	}
}
