package notifyql

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Page sizes of Relay connections.
const (
	MaxPageSize     = 100
	DefaultPageSize = 50
)

// ValidatePageSize returns the page size a `first` argument asks for: 50 when absent,
// otherwise 1 to 100.
func ValidatePageSize(first *int) (int, error) {
	if first == nil {
		return DefaultPageSize, nil
	}
	if *first < 1 || *first > MaxPageSize {
		return 0, Errorf(EINVALID, "first must be between 1 and 100")
	}
	return *first, nil
}

// Cursor is the keyset position of a row in a list ordered by created_at DESC, id DESC: the
// next page holds rows strictly before (CreatedAt, ID).
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// cursorVersion prefixes every encoded cursor so that the format can change without
// misreading old cursors: an unknown version is simply invalid.
const cursorVersion = "1"

// maxCursorLength bounds the input DecodeCursor will look at; real cursors are about 80
// characters.
const maxCursorLength = 200

// Encode returns the cursor as opaque base64url text. It holds only a time and a row id,
// never personal data. The form is "1:<unix seconds>:<nanoseconds>:<lower-case id>".
func (c Cursor) Encode() string {
	// Built in one buffer: a page encodes one cursor per row.
	raw := make([]byte, 0, 64)
	raw = append(raw, cursorVersion...)
	raw = append(raw, ':')
	raw = strconv.AppendInt(raw, c.CreatedAt.Unix(), 10)
	raw = append(raw, ':')
	raw = strconv.AppendInt(raw, int64(c.CreatedAt.Nanosecond()), 10)
	raw = append(raw, ':')
	raw = append(raw, NormaliseID(c.ID)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// DecodeCursor reads a cursor made by Encode. Any malformed input (bad base64, another
// version, a bad time, an id that is not a UUID) gives EINVALID "invalid cursor".
func DecodeCursor(s string) (Cursor, error) {
	invalid := Errorf(EINVALID, "invalid cursor")
	if len(s) > maxCursorLength {
		return Cursor{}, invalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Cursor{}, invalid
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 4 || parts[0] != cursorVersion {
		return Cursor{}, invalid
	}
	seconds, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return Cursor{}, invalid
	}
	nanos, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || nanos < 0 || nanos >= int64(time.Second) {
		return Cursor{}, invalid
	}
	if !IsUUID(parts[3]) {
		return Cursor{}, invalid
	}
	c := Cursor{CreatedAt: time.Unix(seconds, nanos).UTC(), ID: parts[3]}
	// One cursor, one spelling: re-encoding must give the input back, which rejects signs,
	// leading zeros and upper-case ids. Years outside 1–9999 cannot be PostgreSQL timestamps.
	if year := c.CreatedAt.Year(); year < 1 || year > 9999 || c.Encode() != s {
		return Cursor{}, invalid
	}
	return c, nil
}
