package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The browser harness closes the network: a page's request to another origin is refused
// and recorded, and a screenshot lands in the artefacts folder.
func TestBrowserHarnessClosesTheNetwork(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	browser := startBrowser(t, "harness.mjs", api.httpURL)
	checked := browser.expect("checked", 60*time.Second)
	if checked.Text != "refused https://cdn.example.com/library.js" {
		t.Errorf("a request off the origin: %q, want it refused and recorded", checked.Text)
	}
	browser.finish(30 * time.Second)
	if _, err := os.Stat(filepath.Join(browserArtifacts(t), "harness.png")); err != nil {
		t.Errorf("no screenshot: %v", err)
	}
}
