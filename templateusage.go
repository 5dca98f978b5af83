package notifyql

import (
	"cmp"
	"slices"
)

// TemplateUsageRow is how many notifications (cancelled excluded) one template was used for
// in one London month (DOMAIN.md §9). Name, Type and Hidden are the current template's.
type TemplateUsageRow struct {
	TemplateID, Name string
	Type             NotificationType
	Hidden           bool
	Month            Month
	Count            int64
}

// IsPrecompiledLetter reports whether the template stands for an uploaded PDF.
func (r TemplateUsageRow) IsPrecompiledLetter() bool {
	return IsPrecompiledLetter(r.Hidden, r.Name, r.Type)
}

// TemplateUsageMonth is one listed month of template usage; Templates is empty when nothing
// was sent ("No messages sent").
type TemplateUsageMonth struct {
	Month     Month
	Templates []TemplateUsageRow
}

// ComputeTemplateUsage sums rows per (template, month) — facts and today's live rows arrive
// as separate rows — and lists every given month in order, its templates by count
// descending, then name, then id. Rows of months not given are ignored.
func ComputeTemplateUsage(rows []TemplateUsageRow, months []Month) []TemplateUsageMonth {
	usage := make([]TemplateUsageMonth, len(months))
	index := make(map[Month]int, len(months))
	for i, m := range months {
		usage[i] = TemplateUsageMonth{Month: m, Templates: []TemplateUsageRow{}}
		index[m] = i
	}
	type key struct {
		month      Month
		templateID string
	}
	position := make(map[key]int)
	for _, r := range rows {
		i, ok := index[r.Month]
		if !ok {
			continue
		}
		k := key{r.Month, r.TemplateID}
		if j, seen := position[k]; seen {
			usage[i].Templates[j].Count += r.Count
			continue
		}
		position[k] = len(usage[i].Templates)
		usage[i].Templates = append(usage[i].Templates, r)
	}
	for i := range usage {
		slices.SortFunc(usage[i].Templates, func(a, b TemplateUsageRow) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name), cmp.Compare(a.TemplateID, b.TemplateID))
		})
	}
	return usage
}
