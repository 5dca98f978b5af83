package notifyql

// The letter blocks (lettercompose.go) are read back from the very pieces the letter
// markup is written from, after typography, so a typesetter draws exactly what the markup
// says. Runs hold text as drawn: references decoded, never markup (F15).

// letterReader reads letter-markup pieces into blocks.
type letterReader struct {
	sub    Substituted
	pieces []piece
	i      int
}

// letterBlocksFromPieces reads the pieces of renderMarkdownHTML(sub, letterStyle).
func letterBlocksFromPieces(sub Substituted, pieces []piece) []LetterBlock {
	r := &letterReader{sub: sub, pieces: pieces}
	return r.blocks(opNone)
}

// isInlinePiece reports pieces that belong to a line rather than to a block's structure.
func isInlinePiece(p piece) bool {
	return p.kind != pieceTag || p.op == opBr || p.op == opOpenStrong || p.op == opCloseStrong
}

// blocks reads blocks up to and including the tag end (opNone: to the end). Text directly
// inside a list item is the item's one paragraph.
func (r *letterReader) blocks(end tagOp) []LetterBlock {
	var out []LetterBlock
	for r.i < len(r.pieces) {
		p := r.pieces[r.i]
		if isInlinePiece(p) {
			out = append(out, LetterBlock{Kind: LetterParagraph, Lines: r.lines()})
			continue
		}
		r.i++
		switch p.op {
		case end:
			return out
		case opOpenP:
			out = append(out, LetterBlock{Kind: LetterParagraph, Lines: r.lines()})
			r.skip(opCloseP)
		case opOpenHeading:
			out = append(out, LetterBlock{Kind: LetterHeading, Lines: r.lines()})
			r.skip(opCloseHeading)
		case opRule:
			out = append(out, LetterBlock{Kind: LetterPageBreak})
		case opOpenList:
			list := LetterBlock{Kind: LetterList, Ordered: p.ordered}
			for r.i < len(r.pieces) && r.pieces[r.i].op == opOpenItem {
				r.i++
				list.Items = append(list.Items, LetterListItem{Blocks: r.blocks(opCloseItem)})
			}
			r.skip(opCloseList)
			out = append(out, list)
		case opOpenQR:
			data := ""
			if r.i < len(r.pieces) && r.pieces[r.i].kind == pieceText {
				data = DecodeReferences(r.pieces[r.i].s)
				r.i++
			}
			r.skip(opCloseQR)
			out = append(out, LetterBlock{Kind: LetterQRCode, QRData: data})
		case opOpenQRPlaceholder:
			out = append(out, LetterBlock{Kind: LetterQRPlaceholder, Lines: r.lines()})
			r.skip(opCloseQR)
		}
	}
	return out
}

// skip steps over the tag op if it comes next.
func (r *letterReader) skip(op tagOp) {
	if r.i < len(r.pieces) && r.pieces[r.i].kind == pieceTag && r.pieces[r.i].op == op {
		r.i++
	}
}

// lines reads inline pieces into lines, a <br> starting the next one.
func (r *letterReader) lines() []LetterLine {
	start := r.i
	for r.i < len(r.pieces) && isInlinePiece(r.pieces[r.i]) {
		r.i++
	}
	var lines []LetterLine
	line := []piece{}
	for _, p := range r.pieces[start:r.i] {
		if p.kind == pieceTag && p.op == opBr {
			lines = append(lines, pieceRuns(r.sub, line, true))
			line = []piece{}
			continue
		}
		line = append(line, p)
	}
	return append(lines, pieceRuns(r.sub, line, true))
}

// pieceRuns turns one line's pieces into runs; html says text is escaped (HTML mode) and
// is decoded for drawing. Markers of placeholders are drawn highlighted.
func pieceRuns(sub Substituted, pieces []piece, html bool) LetterLine {
	line := LetterLine{}
	bold := false
	add := func(run LetterRun) {
		if run.Text == "" {
			return
		}
		if n := len(line); n > 0 && !run.Marker && !line[n-1].Marker && line[n-1].Bold == run.Bold {
			line[n-1].Text += run.Text
			return
		}
		line = append(line, run)
	}
	decode := func(s string) string {
		if html {
			return DecodeReferences(s)
		}
		return s
	}
	for _, p := range pieces {
		switch {
		case p.kind == pieceTag && p.op == opOpenStrong:
			bold = true
		case p.kind == pieceTag && p.op == opCloseStrong:
			bold = false
		case p.kind == pieceText:
			add(LetterRun{Text: decode(p.s), Bold: bold})
		case p.kind == pieceMarker:
			m := sub.Markers[p.marker]
			add(LetterRun{Text: decode(m.Plain()), Bold: bold, Marker: m.Kind != LiteralMarker})
		}
	}
	return line
}
