package notifyql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func letterMarkup(t *testing.T, content, personalisation string) (string, []LetterBlock) {
	t.Helper()
	_, _, markup, _, blocks := renderLetterText(mustValues(t, personalisation, "", "", false), "Subject", content)
	return markup, blocks
}

// The letter column of RENDERING.md §8's cases.
func TestLetterMarkupCases(t *testing.T) {
	const marker = `<span class="placeholder">&#40;&#40;var&#41;&#41;</span>`
	for _, tt := range []struct {
		name, content, want string
	}{
		{"T16 #", "# heading", "<h2>heading</h2>"},
		{"T16 # no space", "#heading", "<h2>heading</h2>"},
		{"T16 ##", "## heading", "<p>heading</p>"},
		{"T16 ###", "### inset text", "<p>inset text</p>"},
		{"T17 *", "*one\n*two\n*three\n", "<ul><li>one</li><li>two</li><li>three</li></ul>"},
		{"T17 -", "- one\n- two\n- three\n", "<ul><li>one</li><li>two</li><li>three</li></ul>"},
		{"T17 •", "• one\n• two\n• three\n", "<ul><li>one</li><li>two</li><li>three</li></ul>"},
		{"T18", "^ inset text", "<p>inset text</p>"},
		{"T21 bold", "something **important**", "<p>something **important**</p>"},
		{"T21 image", "![alt text](http://example.com/image.png)", ""},
		{"T26", "Foo", "<p>Foo</p>"},
		{"T28", "nested list:\n\n1. one\n2. two\n3. three\n  - three one\n  - three two\n  - three three\n",
			"<p>nested list:</p><ol><li>one</li><li>two</li><li>three<ul><li>three one</li><li>three two</li><li>three three</li></ul></li></ol>"},
		{"T29 link", "[Example](pre((var))post)", "<p>[Example](pre" + marker + "post)</p>"},
		{"T29 QR", "QR: ((var))", `<div class="qrcode-placeholder">` + marker + "</div>"},
		{"rule", "a\n\n***\n\nb", `<p>a</p><hr class="page-break"><p>b</p>`},
		{"bare URL", "see https://example.com/x.", "<p>see <strong>example.com/x</strong>.</p>"},
		// Typography runs on letter text, links as written included.
		{"link with title", `[a](b "c")`, "<p>[a](b “c”)</p>"},
		{"QR", "qr : https://example.com/a?b=1&c=2", `<div class="qrcode">https://example.com/a?b=1&amp;c=2</div>`},
		{"QR two lines", "QR: a\nb", "<p>QR: a<br>b</p>"},
		{"QR empty", "QR:", "<p>QR:</p>"},
		{"QR too long", "QR: " + string(make505()), `<div class="qrcode-placeholder">` + string(make505()) + "</div>"},
		{"keeps separators", "a\u2028b\u3164", "<p>a\u2028b\u3164</p>"},
		{"no unlinking", "GOV.UK", "<p>GOV.UK</p>"},
		{"typography", `"quoted" it's - yes`, "<p>“quoted” it’s – yes</p>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := letterMarkup(t, tt.content, ""); got != tt.want {
				t.Errorf("letter =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func make505() []byte {
	b := make([]byte, 505)
	for i := range b {
		b[i] = 'a'
	}
	return b
}

// The blocks say what the markup says: the same structure, text decoded for drawing,
// markers and bold URLs marked.
func TestLetterBlocks(t *testing.T) {
	text := func(s string) LetterRun { return LetterRun{Text: s} }
	para := func(lines ...LetterLine) LetterBlock { return LetterBlock{Kind: LetterParagraph, Lines: lines} }
	for _, tt := range []struct {
		name, content, personalisation string
		want                           []LetterBlock
	}{
		{"T28", "nested list:\n\n1. one\n2. two\n3. three\n  - three one\n  - three two\n", "", []LetterBlock{
			para(LetterLine{text("nested list:")}),
			{Kind: LetterList, Ordered: true, Items: []LetterListItem{
				{Blocks: []LetterBlock{para(LetterLine{text("one")})}},
				{Blocks: []LetterBlock{para(LetterLine{text("two")})}},
				{Blocks: []LetterBlock{para(LetterLine{text("three")}), {Kind: LetterList, Items: []LetterListItem{
					{Blocks: []LetterBlock{para(LetterLine{text("three one")})}},
					{Blocks: []LetterBlock{para(LetterLine{text("three two")})}},
				}}}},
			}},
		}},
		{"T29 QR", "QR: ((var))", "", []LetterBlock{
			{Kind: LetterQRPlaceholder, Lines: []LetterLine{{{Text: "((var))", Marker: true}}}},
		}},
		{"QR code", "QR: https://example.com/?a=1&b=<2>", "", []LetterBlock{
			{Kind: LetterQRCode, QRData: "https://example.com/?a=1&b=<2>"},
		}},
		{"escaped text, markers, bold URL and page break", "# A & B\n\nHi ((name)) <x>\nsee https://example.com\n\n---\n\n## Next", `{"name": null}`, []LetterBlock{
			{Kind: LetterHeading, Lines: []LetterLine{{text("A & B")}}},
			para(LetterLine{text("Hi "), {Text: "((name))", Marker: true}, text(" <x>")},
				LetterLine{text("see "), {Text: "example.com", Bold: true}}),
			{Kind: LetterPageBreak},
			para(LetterLine{text("Next")}),
		}},
		{"item with two paragraphs", "- a\n\n  b\n- c", "", []LetterBlock{
			{Kind: LetterList, Items: []LetterListItem{
				{Blocks: []LetterBlock{para(LetterLine{text("a")}), para(LetterLine{text("b")})}},
				{Blocks: []LetterBlock{para(LetterLine{text("c")})}},
			}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, blocks := letterMarkup(t, tt.content, tt.personalisation)
			if diff := cmp.Diff(tt.want, blocks); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
		})
	}
}

// The title goes through §4.1, the body source keeps the markdown as written with values in
// plain mode and list values.
func TestLetterTitleAndBody(t *testing.T) {
	v := mustValues(t, `{"name": "<Jo> & co", "items": ["a", "b"]}`, "", "", false)
	title, line, _, body, _ := renderLetterText(v, "Dear  \"((name))\"\n ((missing))", "# Hi ((name))\n((items))")
	if want := "Dear “<Jo> & co” ((missing))"; title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	wantLine := LetterLine{{Text: "Dear “<Jo> & co” "}, {Text: "((missing))", Marker: true}}
	if diff := cmp.Diff(wantLine, line); diff != "" {
		t.Errorf("title line (-want +got):\n%s", diff)
	}
	if want := "# Hi <Jo> & co\n\n\n* a\n* b"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}
