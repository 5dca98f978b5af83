package notifyql

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// generatedTag matches every tag the email and letter renderers write; attribute values
// hold no quote or angle bracket.
var generatedTag = regexp.MustCompile(`^(?:` +
	`<(p|h2|h3|ul|ol|li|div|span|strong)(?: class="[a-z -]+")?>` +
	`|<(a) class="govuk-link govuk-link--no-visited-state" href="[^"<>]*"(?: title="[^"<>]*")?>` +
	`|<(br|hr)(?: class="[a-z -]+")?>` +
	`|</(p|h2|h3|ul|ol|li|div|span|strong|a)>)`)

// checkMarkup reports the first way html is not well formed: a < that starts no generated
// tag (input injecting markup), or tags that do not balance.
func checkMarkup(html string) string {
	var stack []string
	for i := 0; i < len(html); i++ {
		if html[i] == '>' {
			return "a > outside a tag at " + html[max(0, i-20):i+1]
		}
		if html[i] != '<' {
			continue
		}
		m := generatedTag.FindStringSubmatch(html[i:])
		if m == nil {
			return "a < that starts no generated tag: " + html[i:min(len(html), i+40)]
		}
		switch {
		case m[1] != "":
			stack = append(stack, m[1])
		case m[2] != "":
			stack = append(stack, m[2])
		case m[4] != "":
			if len(stack) == 0 || stack[len(stack)-1] != m[4] {
				return "unbalanced </" + m[4] + ">"
			}
			stack = stack[:len(stack)-1]
		}
		i += len(m[0]) - 1
	}
	if len(stack) > 0 {
		return "unclosed <" + stack[len(stack)-1] + ">"
	}
	return ""
}

func FuzzMarkdown(f *testing.F) {
	for _, seed := range [][2]string{
		{"# Heading\n\n1. one\n2. two\n  - nested\n\n***\n\n^ callout\n\nQR: x", "v"},
		{"[a](b(c)d \"t\") https://x.org/((v)) ![i](j) [r][] \n\n[r]: x 'y'", "<script>"},
		{"((v))", "# h\n* a\n[x](javascript:alert(1))\"'<>&amp;&lt;"},
		{"* a\n\n  b\n   * c\n\n\n x\n- \t y", "\uE000\uE0010\uE001"},
		{"QR: ((v))\n\nqr:https://x.org/?a='1'&b=\"2\"", "&#x3c;b&#x3e;"},
		{"GOV.UK ((v)) \u2028\u3164 '\"'", "((nested))"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, content, value string) {
		personalisation, _ := json.Marshal(map[string]string{"v": value})
		v, err := NewValues(personalisation, "email address", "a@b.org", false)
		if err != nil {
			t.Skip() // invalid UTF-8 cannot be personalisation
		}
		html := emailHTML(v, content)
		if problem := checkMarkup(html); problem != "" {
			t.Fatalf("email HTML of %q with %q: %s\n%s", content, value, problem, html)
		}
		_, _, markup, _, blocks := renderLetterText(v, content, content)
		if problem := checkMarkup(markup); problem != "" {
			t.Fatalf("letter markup of %q with %q: %s\n%s", content, value, problem, markup)
		}
		if plain := emailPlainText(v, content); !strings.HasSuffix(plain, "\n") {
			t.Fatalf("plain text of %q does not end in a newline", content)
		}
		checkQRBlocks(t, blocks)
		// The blocks say what the markup says: the same text, references decoded.
		if drawn, printed := flattenBlocks(blocks), DecodeReferences(tagPattern.ReplaceAllString(markup, "")); drawn != printed {
			t.Fatalf("letter blocks of %q with %q draw\n%q\nwhere the markup says\n%q", content, value, drawn, printed)
		}
	})
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

// flattenBlocks is the text of blocks, runs and QR data in order.
func flattenBlocks(blocks []LetterBlock) string {
	var b strings.Builder
	for _, block := range blocks {
		for _, line := range block.Lines {
			for _, run := range line {
				b.WriteString(run.Text)
			}
		}
		b.WriteString(block.QRData)
		for _, item := range block.Items {
			b.WriteString(flattenBlocks(item.Blocks))
		}
	}
	return b.String()
}

// checkQRBlocks fails on a QR code that holds more than a code may.
func checkQRBlocks(t *testing.T, blocks []LetterBlock) {
	for _, b := range blocks {
		if b.Kind == LetterQRCode && (b.QRData == "" || len(b.QRData) > maxQRBytes) {
			t.Fatalf("QR code of %d bytes", len(b.QRData))
		}
		for _, item := range b.Items {
			checkQRBlocks(t, item.Blocks)
		}
	}
}

// The fuzz target's check finds what it is for.
func TestCheckMarkup(t *testing.T) {
	for html, bad := range map[string]bool{
		tp + "a<br>b</p>" + tul + "<li>x</li></ul>":              false,
		tp + ta + ` href="http://x" title="a &quot;b">y</a></p>`: false,
		`<span class="placeholder">&#40;&#40;x&#41;&#41;</span>`: false,
		tp + "<script>alert(1)</script></p>":                     true,
		tp + "a</p></p>":                                         true,
		"<ul><li>a</ul>":                                         true,
		tp + ta + ` href="http://x" onclick="y">z</a></p>`:       true,
		tp + "a > b</p>":                                         true,
	} {
		if got := checkMarkup(html) != ""; got != bad {
			t.Errorf("checkMarkup(%q) found a problem: %v, want %v", html, got, bad)
		}
	}
}
