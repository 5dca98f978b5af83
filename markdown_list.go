package notifyql

import "strings"

// parseList reads the list that starts at lines[start], a list marker line, under the list
// rules of RENDERING.md §4.2, and returns it with the index of the first line after it.
func parseList(lines []string, start int, defs map[string]linkDef) (mdBlock, int) {
	first := classifyLine(lines[start])
	root := &mdBlock{kind: mdList, ordered: first.ordered}
	// open holds the open lists, outermost first, each with the indentation of its first
	// marker.
	type openList struct {
		list   *mdBlock
		indent int
	}
	open := []openList{{root, first.indent}}
	addItem(root, first)

	current := func() *mdItem {
		l := open[len(open)-1].list
		return l.items[len(l.items)-1]
	}
	blank := false
	i := start + 1
	for ; i < len(lines); i++ {
		l := lines[i]
		info := classifyLine(l)
		if info.kind == lineBlank {
			blank = true
			continue
		}
		if blank {
			// After blank lines a marker line indented as far as the list, or a line
			// starting with a space, continues it. A rule ends any list (§4.2), and so do
			// the other kinds that are never a paragraph (heading, inset, fence, link
			// definition), as they do directly after an item: an item holds only
			// paragraphs and lists.
			indented := strings.HasPrefix(l, " ") && (info.kind == lineListMarker || info.kind == lineParagraph)
			if !indented && (info.kind != lineListMarker || info.indent < open[0].indent) {
				break
			}
		}
		switch {
		case info.kind == lineListMarker:
			if item := current(); info.indent > item.indent {
				// Indented past the current item's marker: a list nested in that item, its
				// kind decided by its own first marker.
				nested := mdBlock{kind: mdList, ordered: info.ordered}
				item.blocks = append(item.blocks, nested)
				list := &item.blocks[len(item.blocks)-1]
				open = append(open, openList{list, info.indent})
				addItem(list, info)
			} else {
				for len(open) > 1 && open[len(open)-1].indent > info.indent {
					open = open[:len(open)-1]
				}
				addItem(open[len(open)-1].list, info)
			}
		case blank:
			// A line starting with a space after blank lines: a new paragraph in the item.
			item := current()
			item.blocks = append(item.blocks, mdBlock{kind: mdParagraph, lines: []string{paragraphLine(l)}})
		case info.kind != lineParagraph:
			// Rules, headings, insets, fences and link definitions end the list.
			return *root, i
		default:
			// A line directly after an item joins its last paragraph with a line break.
			item := current()
			if n := len(item.blocks); n > 0 && item.blocks[n-1].kind == mdParagraph {
				item.blocks[n-1].lines = append(item.blocks[n-1].lines, paragraphLine(l))
			} else {
				item.blocks = append(item.blocks, mdBlock{kind: mdParagraph, lines: []string{paragraphLine(l)}})
			}
		}
		blank = false
	}
	return *root, i
}

// addItem adds an item for the marker line info to list; an item with no text starts with
// no paragraph.
func addItem(list *mdBlock, info lineInfo) {
	item := &mdItem{indent: info.indent}
	if info.text != "" {
		item.blocks = []mdBlock{{kind: mdParagraph, lines: []string{info.text}}}
	}
	list.items = append(list.items, item)
}
