package notifyql

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// MaxSearchTermLength is the longest search term accepted, in characters.
	MaxSearchTermLength = 1000
	// SearchResultLimit is how many matches a search returns: the first 50 only, with a
	// flag saying more exist (DOMAIN.md §6.3).
	SearchResultLimit = 50
	// SearchTermTTL is how long a remembered search term lives in the cache (§6.4: SET … EX
	// 604800). Storing it again starts the 7 days afresh; reading it does not.
	SearchTermTTL = 7 * 24 * time.Hour
	// MinSearchSecretBytes is the shortest HMAC key the search hash accepts (§6.4).
	MinSearchSecretBytes = 32
)

// Search is what a notifications search matches, the term normalised for the type searched
// (DOMAIN.md §6.3). Both strings are plain text: the store escapes them for its patterns.
type Search struct {
	// Normalised is matched as a case-sensitive substring of normalised_to.
	Normalised string
	// Raw is the term as given, matched case-insensitively as a substring of
	// client_reference when MatchReference is set.
	Raw            string
	MatchReference bool
}

// SearchTermStore remembers search terms under their keyed hash, scoped by service, so that
// URLs, logs and subscription variables carry only the hash (DOMAIN.md §6.4).
type SearchTermStore interface {
	// Remember stores term for the service under hash for SearchTermTTL, starting the TTL
	// afresh when it is already stored. It returns EUNAVAILABLE when the store cannot be
	// reached.
	Remember(ctx context.Context, serviceID, hash, term string) error
	// Recall returns the term stored for the service under hash without extending its TTL.
	// It returns ESEARCHEXPIRED when there is none (never stored, expired, or stored for
	// another service) and EUNAVAILABLE when the store cannot be reached.
	Recall(ctx context.Context, serviceID, hash string) (string, error)
}

// SearchHash is the lowercase hex of HMAC-SHA512(secret, the term's UTF-8 bytes): 128
// characters that stand for the term outside the mutation that sent it.
func SearchHash(secret []byte, term string) string {
	mac := hmac.New(sha512.New, secret)
	mac.Write([]byte(term))
	return hex.EncodeToString(mac.Sum(nil))
}

// ValidateSearchHash returns EINVALID unless hash has SearchHash's shape, so that nothing
// else is ever looked up.
func ValidateSearchHash(hash string) error {
	if len(hash) != 2*sha512.Size || strings.ToLower(hash) != hash {
		return Errorf(EINVALID, "invalid search hash")
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return Errorf(EINVALID, "invalid search hash")
	}
	return nil
}

// ValidateSearchTerm returns EINVALID for a term that is empty or only whitespace, longer
// than MaxSearchTermLength characters, or not valid UTF-8. The messages never repeat the
// term: it is personal data.
func ValidateSearchTerm(term string) error {
	switch {
	case !utf8.ValidString(term):
		return Errorf(EINVALID, "the search term is not valid UTF-8")
	case strings.TrimSpace(term) == "":
		return Errorf(EINVALID, "the search term is empty")
	case utf8.RuneCountInString(term) > MaxSearchTermLength:
		return Errorf(EINVALID, "the search term is longer than %d characters", MaxSearchTermLength)
	}
	return nil
}

// NormaliseSearchTerm turns a term into what normalised_to is searched for, as DOMAIN.md
// §6.3's table says for the type searched (nil: every type). nationalNumber returns a
// valid phone number's national significant number (phone.NationalSignificantNumber); the
// root package leaves phone numbers to the phone package.
func NormaliseSearchTerm(typ *NotificationType, term string, nationalNumber func(string) (string, bool)) string {
	switch {
	case typ != nil && *typ == TypeSMS:
		if nsn, ok := nationalNumber(term); ok {
			term = nsn
		}
		term = strings.NewReplacer("(", "", ")", "", " ", "", "-", "").Replace(term)
		return strings.TrimLeft(term, "+0")
	case typ != nil && *typ == TypeEmail:
		if trimmed := strings.TrimSpace(term); isEmailAddress(trimmed) {
			return strings.ToLower(trimmed)
		}
		return strings.ToLower(term)
	default:
		return strings.ToLower(strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, term))
	}
}

// isEmailAddress reports whether s is a bare address (local@domain, no display name).
func isEmailAddress(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Name == "" && addr.Address == s
}

// SearchesReference reports whether a search also matches client_reference. The search hint
// of §6.3 offers "reference" only when the service has API keys (§3.7), through which
// references arrive; a letter search always offers "file name", which is where an uploaded
// PDF's file name is kept (§3.4).
func SearchesReference(typ *NotificationType, hasAPIKeys bool) bool {
	return hasAPIKeys || (typ != nil && *typ == TypeLetter)
}

// SearchHint is the search box's placeholder (DOMAIN.md §6.3): what a search of the type
// (nil: every type) looks in, with "reference" when the service has API keys (§3.7),
// listed as "a, b or c": "Search by postal address, file name or reference".
func SearchHint(typ *NotificationType, hasAPIKeys bool) string {
	var things []string
	switch {
	case typ == nil:
		things = []string{"recipient"}
	case *typ == TypeEmail:
		things = []string{"email address"}
	case *typ == TypeSMS:
		things = []string{"phone number"}
	default:
		things = []string{"postal address", "file name"}
	}
	if hasAPIKeys {
		things = append(things, "reference")
	}
	last := len(things) - 1
	if last == 0 {
		return "Search by " + things[0]
	}
	return "Search by " + strings.Join(things[:last], ", ") + " or " + things[last]
}
