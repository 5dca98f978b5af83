package notifyql

import "slices"

// letterValidationError is the error of a DOMAIN.md §12.4 key, its texts filled in. pages
// are sorted and deduplicated; none gives an empty list, never nil, since the schema's
// list is not nullable.
func letterValidationError(code string, pages []int, pageCount int) LetterValidationError {
	ps := slices.Clone(pages)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	if ps == nil {
		ps = []int{}
	}
	title, summary := LetterValidationMessage(code, ps, pageCount)
	return LetterValidationError{Code: code, Title: title, Summary: summary, Pages: ps}
}

// StoredLetterValidationErrors maps a stored letter_validation (DOMAIN.md §3.4) to its one
// error (RENDERING.md §6.1); nil gives none. Its pages are matched as numbers, not as text
// (F16).
func StoredLetterValidationErrors(v *LetterValidation) []LetterValidationError {
	if v == nil {
		return nil
	}
	return []LetterValidationError{letterValidationError(v.Message, v.InvalidPages, v.PageCount)}
}

// TemplatedLetterErrors are a templated letter's validation errors (§5.7): the stored
// letter_validation when there is one, else letter-too-long past MaxLetterPages pages.
func TemplatedLetterErrors(pageCount int, stored *LetterValidation) []LetterValidationError {
	if stored != nil {
		return StoredLetterValidationErrors(stored)
	}
	if pageCount > MaxLetterPages {
		return []LetterValidationError{letterValidationError("letter-too-long", nil, pageCount)}
	}
	return nil
}
