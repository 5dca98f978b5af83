package main

import (
	"strings"
	"testing"
)

// Every wrong or missing variable is reported in one message, one to a line, with the
// count: a user fixes them all in one go instead of meeting them one run at a time.
func TestConfigurationProblemsAreReportedTogether(t *testing.T) {
	vars := map[string]string{
		"DATABASE_URL":                 "postgres://nobody@127.0.0.1:1/none",
		"NOTIFYQL_MAX_DEPTH":           "deep",
		"NOTIFYQL_REQUEST_TIMEOUT":     "10",
		"NOTIFYQL_ENV":                 "staging",
		"NOTIFYQL_TOKEN_AUDIENCE":      " spaced ",
		"NOTIFYQL_TOKEN_ISSUER":        "line\nbreak",
		"NOTIFYQL_SEARCH_SECRET":       "not hex",
		"REDIS_URL":                    "localhost:6379",
		"NOTIFYQL_RATE_LIMIT_PER_USER": "-1",
		// NOTIFYQL_JWT_SECRET is missing, and DATABASE_URL needs it.
	}
	_, _, err := runCommand(t, vars, "serve")
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	if lines[0] != "configuration: 9 problems:" {
		t.Errorf("first line %q, want the count of problems", lines[0])
	}
	for _, name := range []string{"NOTIFYQL_MAX_DEPTH", "NOTIFYQL_REQUEST_TIMEOUT", "NOTIFYQL_ENV", "NOTIFYQL_TOKEN_AUDIENCE",
		"NOTIFYQL_TOKEN_ISSUER", "NOTIFYQL_SEARCH_SECRET", "REDIS_URL", "NOTIFYQL_RATE_LIMIT_PER_USER", "NOTIFYQL_JWT_SECRET is required"} {
		found := 0
		for _, line := range lines[1:] {
			if strings.HasPrefix(line, "  "+name) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%s is on %d lines of:\n%s", name, found, msg)
		}
	}
	if len(lines) != 10 {
		t.Errorf("%d lines, want the count and 9 problems:\n%s", len(lines), msg)
	}
	// A malformed search secret is reported as malformed, not also as missing.
	if strings.Contains(msg, "NOTIFYQL_SEARCH_SECRET is required") {
		t.Errorf("the malformed search secret is also called missing:\n%s", msg)
	}
	// One problem alone reads as before: no count, no list.
	if _, _, err := runCommand(t, map[string]string{"NOTIFYQL_MAX_DEPTH": "0"}, "serve"); err == nil ||
		err.Error() != `configuration: NOTIFYQL_MAX_DEPTH must be a positive whole number, got "0"` {
		t.Errorf("one problem: %v", err)
	}
}
