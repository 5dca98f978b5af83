package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Trusted documents: a manifest of the operations an API's own clients send (GraphQL Code
// Generator's client preset writes one, persisted-documents.json: a JSON object from each
// operation's hash to its text), and a mode saying what happens to any other operation.
//
// They extend the persisted queries (apq.go) rather than stand beside them: a hash, sent as
// extensions.persistedQuery.sha256Hash or as the documentId parameter, is looked up in the
// manifest before the persisted-query cache. Whether an operation is listed is decided on
// the exact text that will run: its SHA-256 hash must be a key of the manifest. So a text
// sent in full is listed when it is byte for byte a manifest's document, however it was
// sent; any other text, even one that differs only in spacing, is not.
//
//   - off: nothing is checked; the manifest's documents can still be run by hash.
//   - audit: everything runs; each unlisted operation is counted
//     (notifyql_trusted_documents_unlisted_total), so that an operator can see what enforce
//     would refuse before switching it on.
//   - enforce: an unlisted operation is refused with OPERATION_NOT_TRUSTED before it is
//     parsed, and so is a persisted-query registration (a text sent with a hash the
//     manifest does not list): clients cannot add to the list. In development (where
//     introspection and GraphiQL are on) one exception keeps GraphiQL working: an operation
//     sent as plain text, with no hash, runs and is counted as under audit. Unknown hashes
//     and registrations are refused in development too, so a client built for enforce
//     meets it there; production refuses everything unlisted.

// TrustedDocumentsMode says what the server does with operations the trusted documents do
// not list.
type TrustedDocumentsMode string

const (
	TrustedDocumentsOff     TrustedDocumentsMode = "off"
	TrustedDocumentsAudit   TrustedDocumentsMode = "audit"
	TrustedDocumentsEnforce TrustedDocumentsMode = "enforce"
)

// ParseTrustedDocumentsMode reads a mode's name; "" is off.
func ParseTrustedDocumentsMode(s string) (TrustedDocumentsMode, error) {
	switch mode := TrustedDocumentsMode(s); mode {
	case "":
		return TrustedDocumentsOff, nil
	case TrustedDocumentsOff, TrustedDocumentsAudit, TrustedDocumentsEnforce:
		return mode, nil
	}
	return "", fmt.Errorf("must be off, audit or enforce, got %q", s)
}

// TrustedDocuments are the operations the server lists and the mode it checks them in. The
// zero value is off with nothing listed.
type TrustedDocuments struct {
	Mode TrustedDocumentsMode
	// texts are the listed documents by the lower-case hex SHA-256 hash of their text.
	texts map[string]string
}

// operationNotTrusted is the extensions.code of an operation that enforce refuses.
const operationNotTrusted = "OPERATION_NOT_TRUSTED"

// AddManifest lists the documents of a manifest: a JSON object from each document's
// SHA-256 hash (64 hex digits, optionally prefixed "sha256:" as the client preset writes
// them) to its text. Every hash must be its text's own, so that a document is the same
// whether it is sent by hash or in full; the error says which entry is wrong (by its hash,
// never its text). A manifest with an error lists nothing.
func (d *TrustedDocuments) AddManifest(manifest []byte) error {
	var entries map[string]string
	if err := json.Unmarshal(manifest, &entries); err != nil {
		// Not the decoder's message: it may quote the file.
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return errors.New("the manifest must be a JSON object from each document's sha256 hash to its text")
		}
		return errors.New("the manifest is not valid JSON")
	}
	if entries == nil {
		return errors.New("the manifest must be a JSON object from each document's sha256 hash to its text")
	}
	keys := make([]string, 0, len(entries))
	for key := range entries {
		keys = append(keys, key)
	}
	// In order, so that the error for a manifest with several wrong entries is always the same.
	sort.Strings(keys)
	texts := make(map[string]string, len(entries))
	for _, key := range keys {
		hash, ok := sha256HashOf(key)
		if !ok {
			return fmt.Errorf("the manifest's key %q is not a sha256 hash: write 64 hex digits, or sha256: and 64 hex digits (the client preset's hashAlgorithm: 'sha256')", truncate(key, 80))
		}
		text := entries[key]
		if sum := sha256.Sum256([]byte(text)); hex.EncodeToString(sum[:]) != hash {
			return fmt.Errorf("the manifest's document %s does not match its hash: the key must be the sha256 hash of its text exactly", key)
		}
		texts[hash] = text
	}
	// A new map, so that a copy of d made before keeps its own list.
	for hash, text := range d.texts {
		texts[hash] = text
	}
	d.texts = texts
	return nil
}

// Equal reports whether d and o have the same mode and list the same documents.
func (d TrustedDocuments) Equal(o TrustedDocuments) bool {
	return d.Mode == o.Mode && maps.Equal(d.texts, o.texts)
}

// Len is how many documents are listed.
func (d TrustedDocuments) Len() int { return len(d.texts) }

// lists reports whether the document with this hash is listed.
func (d TrustedDocuments) lists(hash string) bool {
	_, ok := d.texts[hash]
	return ok
}

// sha256HashOf is the lower-case hex hash a manifest key or a documentId names: 64 hex
// digits, optionally prefixed "sha256:"; false for anything else.
func sha256HashOf(id string) (string, bool) {
	hash := strings.ToLower(strings.TrimPrefix(id, "sha256:"))
	if len(hash) != sha256.Size*2 || !isLowerHex(hash) {
		return "", false
	}
	return hash, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// useDocumentID puts a documentId parameter (the persisted-documents convention of
// GraphQL over HTTP, which the client preset's documents carry as __meta__.hash) where
// the persisted-query lookup finds a hash: extensions.persistedQuery. A request names its
// operation one way only.
func useDocumentID(params *graphql.RawParams, documentID *string) error {
	if documentID == nil {
		return nil
	}
	hash, ok := sha256HashOf(*documentID)
	switch {
	case !ok:
		return errors.New("documentId must be sha256: and the 64 hex digits of the document's SHA-256 hash")
	case params.Query != "":
		return errors.New("send documentId or query, not both")
	case params.Extensions["persistedQuery"] != nil:
		return errors.New("send documentId or extensions.persistedQuery, not both")
	}
	if params.Extensions == nil {
		params.Extensions = make(map[string]any, 1)
	}
	params.Extensions["persistedQuery"] = map[string]any{"version": int64(1), "sha256Hash": hash}
	return nil
}

// persistedQueryLookup is the first half of the persisted queries (apq.go) with the
// trusted documents' checks around gqlgen's extension: it refuses what enforce refuses
// before gqlgen looks a hash up or reads a text, and marks an unlisted operation for
// counting once it has parsed (MutateOperationContext).
type persistedQueryLookup struct {
	apq     extension.AutomaticPersistedQuery
	trusted TrustedDocuments
	// development lets an operation sent as plain text run under enforce (see above).
	development bool
	metrics     *RequestMetrics
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = persistedQueryLookup{}

func (persistedQueryLookup) ExtensionName() string { return "PersistedQueryLookup" }

func (l persistedQueryLookup) Validate(schema graphql.ExecutableSchema) error {
	if l.trusted.Mode == TrustedDocumentsEnforce && l.trusted.Len() == 0 {
		return errors.New("enforcing trusted documents needs at least one listed document")
	}
	return l.apq.Validate(schema)
}

// unlistedOperation marks, in an operation's stats, that the trusted documents do not list
// it.
const unlistedOperation = "UnlistedOperation"

func (l persistedQueryLookup) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	hash := persistedQueryHashIn(params.Extensions)
	enforce := l.trusted.Mode == TrustedDocumentsEnforce
	if enforce && params.Extensions["persistedQuery"] != nil && !l.trusted.lists(hash) {
		if params.Query == "" {
			return notTrusted("no trusted document has this hash: this server runs only its trusted documents")
		}
		return notTrusted("persisted query registration is refused: this server runs only its trusted documents, sent by their hash")
	}
	if err := l.apq.MutateOperationParameters(ctx, params); err != nil {
		return err
	}
	if l.trusted.Mode == TrustedDocumentsOff {
		return nil
	}
	// gqlgen's extension has checked that a text sent with its hash is that hash's, and a
	// text found by hash is stored under its own hash: hash is the text's when set.
	if hash == "" {
		sum := sha256.Sum256([]byte(params.Query))
		hash = hex.EncodeToString(sum[:])
	}
	if l.trusted.lists(hash) {
		return nil
	}
	if enforce && !l.development {
		return notTrusted("this server runs only its trusted documents: send a listed operation by its hash (documentId, or extensions.persistedQuery)")
	}
	graphql.GetOperationContext(ctx).Stats.SetExtension(unlistedOperation, true)
	return nil
}

// MutateOperationContext counts an unlisted operation once it has parsed and validated,
// by its type and name.
func (l persistedQueryLookup) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if unlisted, _ := opCtx.Stats.GetExtension(unlistedOperation).(bool); unlisted {
		l.metrics.countUnlisted(ctx, opCtx.Operation)
	}
	return nil
}

func notTrusted(message string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", message)
	err.Extensions = map[string]any{"code": operationNotTrusted}
	return err
}

// persistedQueryHashIn is extensions.persistedQuery.sha256Hash when it is a SHA-256 hash,
// or "": gqlgen's extension answers anything else.
func persistedQueryHashIn(extensions map[string]any) string {
	pq, _ := extensions["persistedQuery"].(map[string]any)
	hash, _ := pq["sha256Hash"].(string)
	if len(hash) != sha256.Size*2 || !isLowerHex(hash) {
		return ""
	}
	return hash
}

// knownTexts is the cache gqlgen's extension looks hashes up in: the trusted documents
// first, then the persisted-query cache (nil under enforce, and without one), which
// stores nothing through it.
type knownTexts struct {
	trusted TrustedDocuments
	cache   graphql.Cache[string]
}

func (k knownTexts) Get(ctx context.Context, hash string) (string, bool) {
	if text, ok := k.trusted.texts[hash]; ok {
		return text, true
	}
	if k.cache == nil {
		return "", false
	}
	return lookupOnly{k.cache}.Get(ctx, hash)
}

// Add does nothing: persistedQueryRegistration stores a text once the operation has passed
// every check.
func (knownTexts) Add(context.Context, string, string) {}
