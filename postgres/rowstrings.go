package postgres

import (
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// rowStrings makes each text a statement's rows repeat into one Go string, shared by every
// row: a page's service, templates, jobs and API keys, its types, statuses and postage
// classes. Scanned as pgx scans a string, each row's copy costs an allocation, a 50-row
// page about six a row; a page repeats most of them. Text that is unique to a row (an id,
// a recipient, a reference) is scanned as usual, since sharing would only add a lookup.
// A rowStrings serves the rows of one statement: its maps grow with their distinct values.
// Its maps and its scanners' are made on their first value, so that a statement of one row
// pays little for them.
type rowStrings struct {
	texts map[string]string
	uuids map[[16]byte]string
}

func newRowStrings() *rowStrings { return &rowStrings{} }

// text is b as a string, the same string for the same bytes. (Indexing a map with
// string(b) does not copy b.)
func (s *rowStrings) text(b []byte) string {
	if v, ok := s.texts[string(b)]; ok {
		return v
	}
	v := string(b)
	if s.texts == nil {
		s.texts = map[string]string{}
	}
	s.texts[v] = v
	return v
}

// uuid is id's text form, the same string for the same id.
func (s *rowStrings) uuid(id [16]byte) string {
	if v, ok := s.uuids[id]; ok {
		return v
	}
	v := uuid.UUID(id).String()
	if s.uuids == nil {
		s.uuids = map[[16]byte]string{}
	}
	s.uuids[id] = v
	return v
}

var errNullInNotNull = errors.New("NULL in a column scanned as NOT NULL")

// sharedText scans a NOT NULL text column into *dest through strings.
type sharedText[T ~string] struct {
	strings *rowStrings
	dest    *T
}

func (t sharedText[T]) ScanBytes(b []byte) error {
	if b == nil {
		return errNullInNotNull
	}
	*t.dest = T(t.strings.text(b))
	return nil
}

// sharedNullText scans a nullable text column into *dest through strings, nil for NULL.
// The rows share the pointer too, one per distinct value of the column: nothing writes
// through a scanned row's pointers.
type sharedNullText[T ~string] struct {
	strings  *rowStrings
	dest     **T
	pointers map[string]*T
}

func newSharedNullText[T ~string](strings *rowStrings, dest **T) *sharedNullText[T] {
	return &sharedNullText[T]{strings: strings, dest: dest}
}

func (t *sharedNullText[T]) ScanBytes(b []byte) error {
	if b == nil {
		*t.dest = nil
		return nil
	}
	if p, ok := t.pointers[string(b)]; ok {
		*t.dest = p
		return nil
	}
	v := T(t.strings.text(b))
	if t.pointers == nil {
		t.pointers = map[string]*T{}
	}
	t.pointers[string(v)] = &v
	*t.dest = &v
	return nil
}

// sharedUUID scans a NOT NULL uuid column into *dest through strings.
type sharedUUID struct {
	strings *rowStrings
	dest    *string
}

func (u sharedUUID) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		return errNullInNotNull
	}
	*u.dest = u.strings.uuid(v.Bytes)
	return nil
}

// sharedNullUUID scans a nullable uuid column into *dest through strings, nil for NULL,
// sharing pointers as sharedNullText does.
type sharedNullUUID struct {
	strings  *rowStrings
	dest     **string
	pointers map[[16]byte]*string
}

func newSharedNullUUID(strings *rowStrings, dest **string) *sharedNullUUID {
	return &sharedNullUUID{strings: strings, dest: dest}
}

func (u *sharedNullUUID) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		*u.dest = nil
		return nil
	}
	if p, ok := u.pointers[v.Bytes]; ok {
		*u.dest = p
		return nil
	}
	s := u.strings.uuid(v.Bytes)
	if u.pointers == nil {
		u.pointers = map[[16]byte]*string{}
	}
	u.pointers[v.Bytes] = &s
	*u.dest = &s
	return nil
}
