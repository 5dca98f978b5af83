package notifyql

// A templated letter's content (RENDERING.md §5.1, §5.3 title, §5.4): its title, its
// letter markup with the blocks a typesetter draws, and its body source.

// renderLetterText renders a letter's title (subject through §4.1), its markup (§5.4) and
// the same content as blocks for the composition, and its body source: the content with
// values substituted in plain mode, list values, markdown as written (§5.1). v are the
// letter's values (no recipient entry; letters are never redacted).
func renderLetterText(v Values, subject, content string) (title string, titleLine LetterLine, markup, body string, blocks []LetterBlock) {
	title, titleSub, titlePieces := subjectLine(v, subject)
	titleLine = pieceRuns(titleSub, titlePieces, false)

	htmlSub := v.Substitute(content, SubstituteMode{HTML: true, Lists: true})
	pieces := renderMarkdownHTML(htmlSub, letterStyle)
	typographyPieces(pieces)
	markup = joinPieces(htmlSub, pieces, true)
	blocks = letterBlocksFromPieces(htmlSub, pieces)

	plainSub := v.Substitute(content, SubstituteMode{Lists: true})
	body = plainSub.Expand(plainSub.Text, false)
	return title, titleLine, markup, body, blocks
}
