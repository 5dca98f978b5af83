package postgres

import (
	"strings"

	"notifyql"
)

// likeEscaper escapes LIKE's wildcards and its escape character, so that a term matches as
// the text it is (DOMAIN.md §6.3); "/" is escaped as well, which does no harm.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `/`, `\/`)

// containsPattern is the LIKE pattern that matches any text containing s.
func containsPattern(s string) string {
	return "%" + likeEscaper.Replace(s) + "%"
}

// searchCondition is the WHERE clause of a search (DOMAIN.md §6.3): the normalised term as
// a case-sensitive substring of normalised_to, or the raw term as a case-insensitive
// substring of client_reference when the search covers references. The GIN trigram index
// of each column finds the candidate rows (no sequential scan of notifications).
//
// The normalised_to index is asked only for the distinctive part of the term
// (searchIndexPart) and strpos checks the whole term on the rows it finds: a trigram that
// almost every row holds, such as those of a shared email domain or a mobile range's
// leading digits, adds nothing to the search but costs a walk through its posting list.
func searchCondition(s *notifyql.Search, arg func(any) string) string {
	part := searchIndexPart(s.Normalised)
	condition := "normalised_to LIKE " + arg(containsPattern(part))
	if part != s.Normalised {
		condition = "(" + condition + " AND strpos(normalised_to, " + arg(s.Normalised) + ") > 0)"
	}
	if s.MatchReference {
		condition += "\n        OR client_reference ILIKE " + arg(containsPattern(s.Raw))
	}
	return "(" + condition + ")"
}

// searchIndexPartDigits is how many trailing digits of a number the index is asked for: a
// UK subscriber number's six, the digits that differ most from number to number.
const searchIndexPartDigits = 6

// searchIndexPart returns the part of a normalised term that distinguishes the rows it
// matches: the local part of an email address with its "@" (the domain is shared by many
// addresses), the last six digits of a longer number (the leading ones are shared by a
// whole range), or else the whole term. The part is a substring of the term, so every row
// that matches the term matches the part.
func searchIndexPart(normalised string) string {
	if at := strings.IndexByte(normalised, '@'); at >= 2 {
		return normalised[:at+1]
	}
	if len(normalised) > searchIndexPartDigits && strings.Trim(normalised, "0123456789") == "" {
		return normalised[len(normalised)-searchIndexPartDigits:]
	}
	return normalised
}
