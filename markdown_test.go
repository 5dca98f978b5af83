package notifyql

import (
	"strings"
	"testing"
)

// threeColumns renders content as email HTML, letter markup and plain-text email.
func threeColumns(t *testing.T, content, personalisation string) (html, letter, plain string) {
	t.Helper()
	v := mustValues(t, personalisation, "", "", false)
	_, _, letter, _, _ = renderLetterText(v, "", content)
	return emailHTML(v, content), letter, emailPlainText(v, content)
}

// The element mapping of RENDERING.md §4.4, every column.
func TestMarkdownElements(t *testing.T) {
	for _, tt := range []struct {
		name, content, personalisation string
		html, letter, plain            string
	}{
		{name: "paragraph", content: "L1\nL2",
			html: tp + "L1<br>L2</p>", letter: "<p>L1<br>L2</p>", plain: "L1\nL2\n"},
		{name: "paragraphs", content: "a\n\n\n\nb",
			html: tp + "a</p>" + tp + "b</p>", letter: "<p>a</p><p>b</p>", plain: "a\n\nb\n"},
		{name: "trailing spaces (F21)", content: "list:   \nnext",
			html: tp + "list:<br>next</p>", letter: "<p>list:<br>next</p>", plain: "list:\nnext\n"},
		{name: "headings", content: "# One #\n## Two\ntext",
			html:   `<h2 class="govuk-heading-l">One</h2><h3 class="govuk-heading-m">Two</h3>` + tp + "text</p>",
			letter: "<h2>One</h2><p>Two</p><p>text</p>",
			plain:  "One\n" + t65eq + "\n\n\nTwo\n" + t65dash + "\n\ntext\n"},
		{name: "seven hashes", content: "####### x", html: tp + "####### x</p>", letter: "<p>####### x</p>", plain: "####### x\n"},
		{name: "rule", content: "a\n\n* * *\n\nb",
			html: tp + "a</p>" + thr + tp + "b</p>", letter: `<p>a</p><hr class="page-break"><p>b</p>`, plain: "a\n\n" + plainRule + "\n\nb\n"},
		{name: "=== is text (F3)", content: "a\n===", html: tp + "a<br>===</p>", letter: "<p>a<br>===</p>", plain: "a\n===\n"},
		{name: "numbered list", content: "7. a\n7. b\n* c",
			html: tol + "<li>a</li><li>b</li><li>c</li></ol>", letter: "<ol><li>a</li><li>b</li><li>c</li></ol>", plain: "1. a\n2. b\n3. c\n"},
		{name: "nested list", content: "* a\n   1. b\n   2. c\n* d",
			html:   tul + "<li>a" + tol + "<li>b</li><li>c</li></ol></li><li>d</li></ul>",
			letter: "<ul><li>a<ol><li>b</li><li>c</li></ol></li><li>d</li></ul>",
			plain:  "• a\n  1. b\n  2. c\n• d\n"},
		{name: "inset", content: "^ a\nb\n\nc",
			html: `<div class="govuk-inset-text">` + tp + "a<br>b</p></div>" + tp + "c</p>", letter: "<p>a<br>b</p><p>c</p>", plain: "a\nb\n\nc\n"},
		{name: "inset of blocks", content: "^ # h\n^ * x",
			html: `<div class="govuk-inset-text"><h2 class="govuk-heading-l">h</h2>` + tul + "<li>x</li></ul></div>", letter: "<h2>h</h2><ul><li>x</li></ul>",
			plain: "h\n" + t65eq + "\n\n• x\n"},
		{name: "link title quoted", content: `[a](https://x.org 'say "hi"')`,
			html: tp + ta + ` href="https://x.org" title="say &quot;hi&quot;">a</a></p>`, letter: `<p>[a](https://x.org “say “hi”“)</p>`, plain: "a (say “hi”): https://x.org\n"},
		{name: "balanced parentheses (F10)", content: "[w](https://en.wikipedia.org/wiki/Pie_(food)) x",
			html:   tp + ta + ` href="https://en.wikipedia.org/wiki/Pie_%28food%29">w</a> x</p>`,
			letter: "<p>[w](https://en.wikipedia.org/wiki/Pie_(food)) x</p>", plain: "w: https://en.wikipedia.org/wiki/Pie_(food) x\n"},
		{name: "javascript is harmless", content: "[x](javascript:alert(1))",
			html: tp + ta + ` href="http://javascript:alert%281%29">x</a></p>`, letter: "<p>[x](javascript:alert(1))</p>", plain: "x: javascript:alert(1)\n"},
		{name: "reference links", content: "[a][one], [One][] and [one]\n\n[ONE]:  https://x.org/1  \"t\"",
			html:   tp + ta + ` href="https://x.org/1" title="t">a</a>, ` + ta + ` href="https://x.org/1" title="t">One</a> and ` + ta + ` href="https://x.org/1" title="t">one</a></p>`,
			letter: `<p>[a](https://x.org/1 “t”), [One](https://x.org/1 “t”) and [one](https://x.org/1 “t”)</p>`,
			plain:  "a (t): https://x.org/1, One (t): https://x.org/1 and one (t): https://x.org/1\n"},
		{name: "undefined reference", content: "[a][b]", html: tp + "[a][b]</p>", letter: "<p>[a][b]</p>", plain: "[a][b]\n"},
		{name: "bare URL", content: "see https://x.org/a;b, then",
			html: tp + "see " + ta + ` href="https://x.org/a;b">https://x.org/a;b</a>, then</p>`, letter: "<p>see <strong>x.org/a;b</strong>, then</p>", plain: "see https://x.org/a;b, then\n"},
		{name: "other schemes stay text", content: "ftp://x.org mailto:a@b.org www.x.org",
			html: tp + "ftp://x.org mailto:a@b.org www.x.org</p>", letter: "<p>ftp://x.org mailto:a@b.org www.x.org</p>", plain: "ftp://x.org mailto:a@b.org www.x.org\n"},
		{name: "link text has no links", content: "[see https://x.org](https://y.org)",
			html: tp + ta + ` href="https://y.org">see https://x.org</a></p>`, letter: "<p>[see https://x.org](https://y.org)</p>", plain: "see https://x.org: https://y.org\n"},
		{name: "escapes", content: `\* not a list \[x\](y) \a`,
			html: tp + `* not a list [x](y) \a</p>`, letter: `<p>* not a list [x](y) \a</p>`, plain: `* not a list [x](y) \a` + "\n"},
		{name: "image in a line", content: "a ![i](x.png) b", html: tp + "a  b</p>", letter: "<p>a  b</p>", plain: "a  b\n"},
		{name: "marker in destination (F12)", content: "[pay](https://x.org/((ref))) and https://x.org/((ref))",
			html:   tp + `pay and https://x.org/<span class="placeholder">&#40;&#40;ref&#41;&#41;</span></p>`,
			letter: `<p>[pay](https://x.org/<span class="placeholder">&#40;&#40;ref&#41;&#41;</span>) and https://x.org/<span class="placeholder">&#40;&#40;ref&#41;&#41;</span></p>`,
			plain:  "pay and https://x.org/((ref))\n"},
		{name: "URL then a marker after punctuation", content: "https://x.org. ((ref))",
			html:   tp + ta + ` href="https://x.org">https://x.org</a>. <span class="placeholder">&#40;&#40;ref&#41;&#41;</span></p>`,
			letter: `<p><strong>x.org</strong>. <span class="placeholder">&#40;&#40;ref&#41;&#41;</span></p>`,
			plain:  "https://x.org. ((ref))\n"},
		{name: "markers are atomic", content: "((a))\n((b)) heading",
			html:   tp + `<span class="placeholder">&#40;&#40;a&#41;&#41;</span><br><span class="placeholder">&#40;&#40;b&#41;&#41;</span> heading</p>`,
			letter: `<p><span class="placeholder">&#40;&#40;a&#41;&#41;</span><br><span class="placeholder">&#40;&#40;b&#41;&#41;</span> heading</p>`,
			plain:  "((a))\n((b)) heading\n"},
		{name: "markdown in values takes effect", content: "((v))", personalisation: `{"v": "# Title\n\n[Pay now](https://pay.example)"}`,
			html:   `<h2 class="govuk-heading-l">Title</h2>` + tp + ta + ` href="https://pay.example">Pay now</a></p>`,
			letter: "<h2>Title</h2><p>[Pay now](https://pay.example)</p>", plain: "Title\n" + t65eq + "\n\nPay now: https://pay.example\n"},
		{name: "HTML in values is text", content: "((v))", personalisation: `{"v": "<b>x</b> &lt;i&gt;"}`,
			html: tp + "&lt;b&gt;x&lt;/b&gt; &lt;i&gt;</p>", letter: "<p>&lt;b&gt;x&lt;/b&gt; &lt;i&gt;</p>", plain: "<b>x</b> <i>\n"},
		{name: "list values", content: "You need:((items))\n\nThanks", personalisation: `{"items": ["a", " b ", ""]}`,
			html: tp + "You need:</p>" + tul + "<li>a</li><li>b</li></ul>" + tp + "Thanks</p>", letter: "<p>You need:</p><ul><li>a</li><li>b</li></ul><p>Thanks</p>",
			plain: "You need:\n\n• a\n• b\n\nThanks\n"},
		{name: "nbsp paragraph", content: "a\n\n&nbsp;\n\nb",
			html: tp + "a</p>" + tp + "&nbsp;</p>" + tp + "b</p>", letter: "<p>a</p><p>&nbsp;</p><p>b</p>", plain: "a\n\n\u00a0\n\nb\n"},
		{name: "fences dropped, code is text (F8)", content: "```\n    code\n```\nafter",
			html: tp + "code</p>" + tp + "after</p>", letter: "<p>code</p><p>after</p>", plain: "code\n\nafter\n"},
		{name: "tables and footnotes are text (F9)", content: "| a | b |\n|---|---|\nx[^1]\n\n[^1]: note",
			html:   tp + "| a | b |<br>|---|---|<br>x[^1]</p>" + tp + "[^1]: note</p>",
			letter: "<p>| a | b |<br>|---|---|<br>x[^1]</p><p>[^1]: note</p>", plain: "| a | b |\n|---|---|\nx[^1]\n\n[^1]: note\n"},
		{name: "leading blank lines (F5)", content: "\n\n\na", html: tp + "a</p>", letter: "<p>a</p>", plain: "a\n"},
		{name: "CRLF and tabs", content: "\ta\r\n\tb\r\rc", html: tp + "a<br>b</p>" + tp + "c</p>", letter: "<p>a<br>b</p><p>c</p>", plain: "a\nb\n\nc\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			html, letter, plain := threeColumns(t, tt.content, tt.personalisation)
			if html != tt.html {
				t.Errorf("html =\n%q\nwant\n%q", html, tt.html)
			}
			if letter != tt.letter {
				t.Errorf("letter =\n%q\nwant\n%q", letter, tt.letter)
			}
			if plain != tt.plain {
				t.Errorf("plain =\n%q\nwant\n%q", plain, tt.plain)
			}
		})
	}
}

// The list rules of RENDERING.md §4.2, in email HTML and plain text.
func TestMarkdownLists(t *testing.T) {
	li := func(s ...string) string { return "<li>" + strings.Join(s, "") + "</li>" }
	ul := func(s ...string) string { return tul + strings.Join(s, "") + "</ul>" }
	ol := func(s ...string) string { return tol + strings.Join(s, "") + "</ol>" }
	p := func(s string) string { return tp + s + "</p>" }
	for _, tt := range []struct {
		name, content, html, plain string
	}{
		{"F1 marker before a letter", "*one\n-two\n1.three", ul(li("one"), li("two"), li("three")), "• one\n• two\n• three\n"},
		{"F1 no letter", "**bold**\n-1\n*(a)", p("**bold**<br>-1<br>*(a)"), "**bold**\n-1\n*(a)\n"},
		{"bullet needs no space", "•one", ul(li("one")), "• one\n"},
		{"not markers", "+ a\n1) b", p("+ a<br>1) b"), "+ a\n1) b\n"},
		{"first line is inline (F7)", "- * a\n- # b", ul(li("* a"), li("# b")), "• * a\n• # b\n"},
		{"items are trimmed (F6)", "-    a   \n-\tb", ul(li("a"), li("b")), "• a\n• b\n"},
		{"blank lines between items", "- a\n\n\n- b", ul(li("a"), li("b")), "• a\n• b\n"},
		{"continuation line", "- a\nmore\n- b", ul(li("a<br>more"), li("b")), "• a\n  more\n• b\n"},
		{"several paragraphs", "- a\n\n  more\n- b", ul(li(p("a"), p("more")), li("b")), "• a\n  more\n• b\n"},
		{"nesting by indentation", "- a\n  - b\n    - c\n  - d\n- e",
			ul(li("a", ul(li("b", ul(li("c"))), li("d"))), li("e")), "• a\n  • b\n    • c\n  • d\n• e\n"},
		{"less indented than every list goes to the outermost", "  - a\n    - b\n- c",
			ul(li("a", ul(li("b"))), li("c")), "• a\n  • b\n• c\n"},
		{"nested list kind from its first marker", "1. a\n   - b\n   2. c",
			ol(li("a", ul(li("b"), li("c")))), "1. a\n  • b\n  • c\n"},
		{"nested after blank lines", "- a\n\n  - b", ul(li("a", ul(li("b")))), "• a\n  • b\n"},
		{"paragraph after blank ends the list", "- a\n\nb", ul(li("a")) + p("b"), "• a\n\nb\n"},
		{"rule ends the list", "- a\n***", ul(li("a")) + thr, "• a\n\n" + plainRule + "\n"},
		{"heading ends the list", "- a\n# h", ul(li("a")) + `<h2 class="govuk-heading-l">h</h2>`, "• a\n\n\nh\n" + t65eq + "\n"},
		{"inset ends the list", "- a\n^ b", ul(li("a")) + `<div class="govuk-inset-text">` + p("b") + "</div>", "• a\n\nb\n"},
		{"paragraph ends at a list (F4)", "a\n* b\n^ c\n# d",
			p("a") + ul(li("b")) + `<div class="govuk-inset-text">` + p("c") + `<h2 class="govuk-heading-l">d</h2></div>`, "a\n\n• b\n\nc\n\n\nd\n" + t65eq + "\n"},
		{"an indented rule after a blank line ends the list", "- a\n\n ***\n\n - b", ul(li("a")) + thr + ul(li("b")), "• a\n\n" + plainRule + "\n\n• b\n"},
		{"an indented heading after a blank line ends the list", "- a\n\n # h", ul(li("a")) + `<h2 class="govuk-heading-l">h</h2>`, "• a\n\n\nh\n" + t65eq + "\n"},
		{"numbering restarts", "1. a\n\nx\n\n5. b", ol(li("a")) + p("x") + ol(li("b")), "1. a\n\nx\n\n1. b\n"},
		{"empty item", "•\n• b", ul(li(""), li("b")), "• \n• b\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			html, _, plain := threeColumns(t, tt.content, "")
			if html != tt.html {
				t.Errorf("html =\n%q\nwant\n%q", html, tt.html)
			}
			if plain != tt.plain {
				t.Errorf("plain =\n%q\nwant\n%q", plain, tt.plain)
			}
		})
	}
}
