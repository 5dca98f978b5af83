package notifyql

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const cursorID = "7b3e5c1a-2f4d-4e6b-8a9c-0d1e2f3a4b5c"

func TestCursorRoundTrip(t *testing.T) {
	london := mustLondon(t)
	tests := []struct {
		name string
		in   Cursor
		want Cursor
	}{
		{"microseconds", Cursor{time.Date(2025, 7, 20, 23, 40, 0, 123456000, time.UTC), cursorID}, Cursor{time.Date(2025, 7, 20, 23, 40, 0, 123456000, time.UTC), cursorID}},
		{"nanoseconds kept", Cursor{time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC), cursorID}, Cursor{time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC), cursorID}},
		{"London time comes back as the same instant in UTC", Cursor{time.Date(2023, 10, 29, 1, 30, 0, 0, london), cursorID}, Cursor{time.Date(2023, 10, 29, 1, 30, 0, 0, london).UTC(), cursorID}},
		{"upper-case id is normalised", Cursor{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "7B3E5C1A-2F4D-4E6B-8A9C-0D1E2F3A4B5C"}, Cursor{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), cursorID}},
		{"before 1970", Cursor{time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), cursorID}, Cursor{time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), cursorID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := tt.in.Encode()
			got, err := DecodeCursor(encoded)
			if err != nil {
				t.Fatalf("DecodeCursor(%q): %v", encoded, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Errorf("decoded time is in %v, want UTC", got.CreatedAt.Location())
			}
		})
	}
}

func TestCursorIsURLSafe(t *testing.T) {
	encoded := Cursor{time.Date(2025, 7, 20, 23, 40, 0, 999999999, time.UTC), cursorID}.Encode()
	for _, c := range encoded {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("cursor %q contains %q", encoded, c)
		}
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not base64", "!!!"},
		{"padded", base64.URLEncoding.EncodeToString([]byte("1:1735689600:50:" + cursorID))},
		{"standard alphabet", "+/+/"},
		{"wrong version", enc("2:1735689600:0:" + cursorID)},
		{"no version", enc("1735689600:0:" + cursorID)},
		{"too many fields", enc("1:1735689600:0:" + cursorID + ":x")},
		{"bad seconds", enc("1:soon:0:" + cursorID)},
		{"signed seconds", enc("1:+1735689600:0:" + cursorID)},
		{"negative nanoseconds", enc("1:1735689600:-1:" + cursorID)},
		{"nanoseconds overflow", enc("1:1735689600:1000000000:" + cursorID)},
		{"leading zero", enc("1:01735689600:0:" + cursorID)},
		{"seconds out of range", enc("1:9223372036854775807:0:" + cursorID)},
		{"year beyond 9999", enc("1:253402300800:0:" + cursorID)},
		{"id not a uuid", enc("1:1735689600:0:ann@example.org")},
		{"upper-case id", enc("1:1735689600:0:7B3E5C1A-2F4D-4E6B-8A9C-0D1E2F3A4B5C")},
		{"very long", string(make([]byte, 5000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCursor(tt.in)
			if ErrorCode(err) != EINVALID || ErrorMessage(err) != "invalid cursor" {
				t.Errorf("DecodeCursor(%q) error = %v, want EINVALID \"invalid cursor\"", tt.in, err)
			}
		})
	}
	// The canonical form itself decodes, so the rejections above are about their defects.
	for _, canonical := range []string{"1:1735689600:0:" + cursorID, "1:1735689600:50:" + cursorID} {
		if _, err := DecodeCursor(enc(canonical)); err != nil {
			t.Errorf("canonical cursor %q rejected: %v", canonical, err)
		}
	}
}

// FuzzDecodeCursor: whatever a client sends as a cursor, DecodeCursor either refuses it
// with EINVALID "invalid cursor" or returns a cursor that is a PostgreSQL timestamp in UTC
// with a lower-case UUID, and whose encoding is the input itself (one spelling per cursor).
func FuzzDecodeCursor(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(Cursor{time.Date(2025, 7, 20, 23, 40, 0, 123456000, time.UTC), cursorID}.Encode())
	f.Add("")
	f.Add("MTox")
	f.Add("!!!")
	f.Add(base64.URLEncoding.EncodeToString([]byte("1:1735689600:50:" + cursorID)))
	f.Add(enc("1:-62135596800:0:" + cursorID))         // 0001-01-01, the earliest
	f.Add(enc("1:253402300799:999999999:" + cursorID)) // 9999-12-31, the latest
	f.Add(enc("1:253402300800:0:" + cursorID))
	f.Add(enc("1:-0:0:" + cursorID))
	f.Add(enc("1:1735689600:0:7B3E5C1A-2F4D-4E6B-8A9C-0D1E2F3A4B5C"))
	f.Add(enc("1:9223372036854775807:999999999:" + cursorID))
	f.Add(enc("1:1735689600:0:" + cursorID + ":"))
	f.Add(enc("1:1735689600:0:" + cursorID)[:10] + "=")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			if ErrorCode(err) != EINVALID || ErrorMessage(err) != "invalid cursor" {
				t.Fatalf("DecodeCursor(%q) error %v, want EINVALID \"invalid cursor\"", s, err)
			}
			return
		}
		if c.Encode() != s {
			t.Fatalf("DecodeCursor(%q) = %+v, which encodes differently", s, c)
		}
		if year := c.CreatedAt.Year(); year < 1 || year > 9999 || c.CreatedAt.Location() != time.UTC {
			t.Errorf("DecodeCursor(%q) = %v: not a PostgreSQL timestamp in UTC", s, c.CreatedAt)
		}
		if !IsUUID(c.ID) || NormaliseID(c.ID) != c.ID {
			t.Errorf("DecodeCursor(%q) id = %q, want a lower-case UUID", s, c.ID)
		}
		if len(s) > maxCursorLength {
			t.Errorf("DecodeCursor accepted %d characters, more than %d", len(s), maxCursorLength)
		}
	})
}

// FuzzCursorRoundTrip: every cursor a page can end on (a time PostgreSQL can hold, any
// UUID in either case) encodes to URL-safe text that decodes to the same instant in UTC
// and the lower-case id.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add(int64(1735689600), uint32(0), []byte("0123456789abcdef"), false)
	f.Add(int64(-62135596800), uint32(0), []byte{}, true)                             // 0001-01-01
	f.Add(int64(253402300799), uint32(999999999), []byte{0xff}, false)                // 9999-12-31
	f.Add(int64(-1), uint32(1), []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00"), true) // before 1970
	f.Fuzz(func(t *testing.T, seconds int64, nanos uint32, idBytes []byte, upper bool) {
		const first, last = -62135596800, 253402300799 // 0001-01-01 and 9999-12-31 23:59:59 UTC
		if seconds < first || seconds > last {
			seconds = first + (seconds%(last-first+1)+(last-first+1))%(last-first+1)
		}
		var raw [16]byte
		copy(raw[:], idBytes)
		id := fmt.Sprintf("%x-%x-%x-%x-%x", raw[0:4], raw[4:6], raw[6:8], raw[8:10], raw[10:16])
		if upper {
			id = strings.ToUpper(id)
		}
		in := Cursor{CreatedAt: time.Unix(seconds, int64(nanos%uint32(time.Second))), ID: id}
		encoded := in.Encode()
		for _, c := range encoded {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("cursor %q contains %q", encoded, c)
			}
		}
		if len(encoded) > maxCursorLength {
			t.Fatalf("cursor %q is longer than DecodeCursor reads", encoded)
		}
		got, err := DecodeCursor(encoded)
		if err != nil {
			t.Fatalf("DecodeCursor(Encode(%+v)): %v", in, err)
		}
		if !got.CreatedAt.Equal(in.CreatedAt) || got.CreatedAt.Location() != time.UTC || got.ID != strings.ToLower(id) {
			t.Errorf("Encode(%+v) decodes to %+v", in, got)
		}
	})
}

func TestValidatePageSize(t *testing.T) {
	ptr := func(n int) *int { return &n }
	tests := []struct {
		name     string
		first    *int
		want     int
		wantCode string
	}{
		{"default", nil, 50, ""},
		{"one", ptr(1), 1, ""},
		{"hundred", ptr(100), 100, ""},
		{"zero", ptr(0), 0, EINVALID},
		{"negative", ptr(-1), 0, EINVALID},
		{"too many", ptr(101), 0, EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidatePageSize(tt.first)
			if got != tt.want || ErrorCode(err) != tt.wantCode {
				t.Errorf("ValidatePageSize = %d, %v; want %d, code %q", got, err, tt.want, tt.wantCode)
			}
			if err != nil && ErrorMessage(err) != "first must be between 1 and 100" {
				t.Errorf("message = %q", ErrorMessage(err))
			}
		})
	}
}
