package notifyql

import (
	"strings"
	"testing"
	"time"
)

// Rendering is linear in the template: each of these once took minutes, when every [ or
// list item looked at the rest of the text again. The bound is far above the
// milliseconds they take, so that a busy machine does not fail it.
func TestMarkdownAdversarialInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("renders large inputs")
	}
	v := mustValues(t, "", "", "", false)
	for _, s := range []string{
		strings.Repeat("[", 50000), strings.Repeat("[a](", 20000), strings.Repeat("[a][", 20000),
		strings.Repeat("![", 30000), strings.Repeat("[a](b ", 20000), strings.Repeat("[](", 20000),
		strings.Repeat("- a\n ", 20000), strings.Repeat("  - a\n", 10000), strings.Repeat("^ ", 20000),
		strings.Repeat("'a\" ", 20000), strings.Repeat("https://", 10000), strings.Repeat("\\[", 50000),
		strings.Repeat("[a]: b\n[a]\n", 5000),
	} {
		start := time.Now()
		emailHTML(v, s)
		renderLetterText(v, "", s)
		emailPlainText(v, s)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%q… (%d bytes) took %v", s[:8], len(s), d)
		}
	}
}
