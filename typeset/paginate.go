package typeset

// Pagination: rows of a part's content flow are placed on pages, breaking where the
// letter rules allow.

// placement is where pagination put a row: the page within its part and the row's top.
type placement struct {
	page int
	y    float64
}

// paginate places rows on pages. A row that does not fit moves to the next page with the
// rows before it that may not end a page (headings, a paragraph's first and last lines);
// when every row on the page is bound to the next, the page breaks where it ran out.
func paginate(rows []row) (places []placement, pages int) {
	places = make([]placement, len(rows))
	page, pageStart := 0, 0
	top := func(p int) float64 {
		if p == 0 {
			return firstPageTop
		}
		return otherTop
	}
	y := top(0)
	newPage := func(at int) {
		page++
		pageStart = at
		y = top(page)
	}
	const eps = 1e-9
	for i := 0; i < len(rows); {
		r := rows[i]
		if r.breakBefore && i != pageStart {
			newPage(i)
			continue
		}
		space := r.spaceBefore
		if i == pageStart {
			space = 0
		}
		if r.kind == rowBreak {
			// A page break has no height, so it always fits.
			places[i] = placement{page: page, y: min(y+space, columnBottom)}
			y = places[i].y
			i++
			continue
		}
		if i == pageStart || y+space+r.h <= columnBottom+eps {
			places[i] = placement{page: page, y: y + space}
			y += space + r.h
			i++
			continue
		}
		j := i
		for j > pageStart && rows[j-1].noBreakAfter && !rows[j].breakBefore {
			j--
		}
		if j == pageStart {
			j = i
		}
		newPage(j)
		i = j
	}
	return places, page + 1
}
