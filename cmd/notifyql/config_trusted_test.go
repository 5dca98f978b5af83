package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"notifyql/server"
)

// NOTIFYQL_TRUSTED_DOCUMENTS and NOTIFYQL_TRUSTED_DOCUMENTS_MODE: a good manifest is read
// with its mode; every wrong value is a configuration error that says what is wrong.
func TestTrustedDocumentsConfiguration(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.json", string(trustedManifest(t)))
	bareHash := write("bare.json", `{"`+apqHash(listedQuery)+`": "`+listedQuery+`"}`)
	unreadable := write("unreadable.json", string(trustedManifest(t)))
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []string{"audit", "enforce"} {
		for _, path := range []string{good, bareHash} {
			cfg, err := loadConfig(envOf(map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS": path, "NOTIFYQL_TRUSTED_DOCUMENTS_MODE": mode}))
			if err != nil {
				t.Fatalf("%s with %s: %v", mode, path, err)
			}
			if cfg.TrustedDocuments.Mode != server.TrustedDocumentsMode(mode) || cfg.TrustedDocuments.Len() != 1 {
				t.Errorf("%s with %s: mode %q with %d documents", mode, path, cfg.TrustedDocuments.Mode, cfg.TrustedDocuments.Len())
			}
		}
	}
	for _, vars := range []map[string]string{{}, {"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "off"}} {
		cfg, err := loadConfig(envOf(vars))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TrustedDocuments.Mode != server.TrustedDocumentsOff || cfg.TrustedDocuments.Len() != 0 {
			t.Errorf("%v: mode %q with %d documents, want off with none", vars, cfg.TrustedDocuments.Mode, cfg.TrustedDocuments.Len())
		}
	}

	mismatch := write("mismatch.json", `{"sha256:`+apqHash(listedQuery)+`": "query Me { me { emailAddress } }"}`)
	sha1 := write("sha1.json", `{"`+apqHash(listedQuery)[:40]+`": "`+listedQuery+`"}`)
	for _, tt := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"unknown mode", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "strict", "NOTIFYQL_TRUSTED_DOCUMENTS": good},
			`NOTIFYQL_TRUSTED_DOCUMENTS_MODE must be off, audit or enforce, got "strict"`},
		{"mode in capitals", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "ENFORCE", "NOTIFYQL_TRUSTED_DOCUMENTS": good},
			`NOTIFYQL_TRUSTED_DOCUMENTS_MODE must be off, audit or enforce, got "ENFORCE"`},
		{"enforce without a manifest", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce"},
			"NOTIFYQL_TRUSTED_DOCUMENTS_MODE=enforce needs NOTIFYQL_TRUSTED_DOCUMENTS, the path of the manifest"},
		{"audit without a manifest", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "audit"},
			"NOTIFYQL_TRUSTED_DOCUMENTS_MODE=audit needs NOTIFYQL_TRUSTED_DOCUMENTS"},
		{"a manifest without a mode", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS": good},
			"NOTIFYQL_TRUSTED_DOCUMENTS is set but NOTIFYQL_TRUSTED_DOCUMENTS_MODE is off"},
		{"a missing file", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": filepath.Join(dir, "missing.json")},
			"NOTIFYQL_TRUSTED_DOCUMENTS: open " + filepath.Join(dir, "missing.json") + ": no such file or directory"},
		{"a folder", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": dir},
			"is a directory"},
		{"invalid JSON", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": write("invalid.json", `{"sha256:ab": `)},
			"the manifest is not valid JSON"},
		{"a JSON array", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": write("array.json", `["`+listedQuery+`"]`)},
			"the manifest must be a JSON object from each document's sha256 hash to its text"},
		{"JSON null", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": write("null.json", `null`)},
			"the manifest must be a JSON object"},
		{"a document that is not text", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": write("number.json", `{"sha256:`+apqHash(listedQuery)+`": 1}`)},
			"the manifest must be a JSON object"},
		{"no documents", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": write("empty.json", `{}`)},
			"lists no documents"},
		{"a hash that is not its text's", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": mismatch},
			"the manifest's document sha256:" + apqHash(listedQuery) + " does not match its hash"},
		{"a sha1 hash", map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "audit", "NOTIFYQL_TRUSTED_DOCUMENTS": sha1},
			"is not a sha256 hash: write 64 hex digits, or sha256: and 64 hex digits (the client preset's hashAlgorithm: 'sha256')"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(envOf(tt.vars))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadConfig: %v, want an error with %q", err, tt.want)
			}
			// The error names the hash, never the document's text.
			if strings.Contains(err.Error(), "me {") {
				t.Errorf("the error quotes a document: %v", err)
			}
		})
	}
	if os.Geteuid() != 0 {
		_, err := loadConfig(envOf(map[string]string{"NOTIFYQL_TRUSTED_DOCUMENTS_MODE": "enforce", "NOTIFYQL_TRUSTED_DOCUMENTS": unreadable}))
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("an unreadable manifest: %v, want permission denied", err)
		}
	}
}
