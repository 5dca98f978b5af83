package main

import (
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// auditResult is one audit of the graphql-http suite, as clients/node/audit.mjs prints it.
type auditResult struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// explainedAuditWarnings are the graphql-http warnings the README explains (section
// "GraphQL over HTTP"); any other warning fails the test, to be fixed or explained.
var explainedAuditWarnings = []string{
	"SHOULD use 200 status code on document parsing failure when accepting application/json",
	"SHOULD use 200 status code on document validation failure when accepting application/json",
	"SHOULD use a status code of 200 on variable coercion failure when accepting application/json",
	"SHOULD not contain the data entry on document parsing failure when accepting application/graphql-response+json",
	"SHOULD not contain the data entry on document validation failure when accepting application/graphql-response+json",
}

// The npm graphql-http audit suite (GraphQL over HTTP) against the API as development
// serves it (its audits ask for __type, which production's introspection refuses): no
// error, and only the warnings the README explains.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	node := nodeOrSkip(t)
	api := newTestAPIWith(t, testAPIOptions{development: true})
	httpServer := httptest.NewServer(api.handler)
	t.Cleanup(httpServer.Close)

	cmd := exec.Command(node, filepath.Join(nodeClientDir(t), "audit.mjs"), httpServer.URL+"/graphql")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("the audit did not finish within 2 minutes")
	}
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	var results []auditResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("audit output %q: %v", out, err)
	}
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
		switch {
		case r.Status == "error":
			t.Errorf("audit %s failed: %s: %s", r.ID, r.Name, r.Reason)
		case r.Status == "warn" && !slices.Contains(explainedAuditWarnings, r.Name):
			t.Errorf("audit %s warns, and the README does not explain it: %s: %s", r.ID, r.Name, r.Reason)
		case r.Status == "notice":
			t.Logf("notice %s: %s: %s", r.ID, r.Name, r.Reason)
		}
	}
	t.Logf("graphql-http audit: %d audits, %d ok, %d warnings, %d notices, %d errors", len(results), counts["ok"], counts["warn"], counts["notice"], counts["error"])
	if len(results) == 0 {
		t.Fatal("the audit ran no audits")
	}
}
