package scalars

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"notifyql"
)

func TestUnmarshalInt(t *testing.T) {
	for _, tt := range []struct {
		in       any
		want     int
		wantCode string
	}{
		{int64(7), 7, ""},
		{json.Number("-2147483648"), math.MinInt32, ""},
		{int64(math.MaxInt32), math.MaxInt32, ""},
		{int64(math.MaxInt32 + 1), 0, notifyql.EINVALID},
		{int64(math.MinInt32 - 1), 0, notifyql.EINVALID},
		{json.Number("9223372036854775807"), 0, notifyql.EINVALID},
		{json.Number("99999999999999999999"), 0, notifyql.EINVALID},
		{"ten", 0, notifyql.EINVALID},
	} {
		got, err := UnmarshalInt(tt.in)
		if got != tt.want || code(err) != tt.wantCode {
			t.Errorf("UnmarshalInt(%#v) = %d, %v; want %d, code %q", tt.in, got, err, tt.want, tt.wantCode)
		}
		got64, err := UnmarshalInt64(tt.in)
		if got64 != int64(tt.want) || code(err) != tt.wantCode {
			t.Errorf("UnmarshalInt64(%#v) = %d, %v; want %d, code %q", tt.in, got64, err, tt.want, tt.wantCode)
		}
	}
}

func TestUnmarshalText(t *testing.T) {
	for _, tt := range []struct {
		in      any
		wantErr bool
	}{
		{"ann@example.org", false},
		{"", false},
		{"Zoë ✓ 𝄞", false},
		{"\ufffd", false},
		{"ann\x00", true},
		{"\x00", true},
		{"ann\xff", true},
		{"\xed\xa0\x80", true}, // a UTF-16 surrogate written as UTF-8
		{"\xc3", true},
		{json.Number("12"), false},
	} {
		for name, unmarshal := range map[string]func(any) (string, error){"String": UnmarshalString, "ID": UnmarshalID} {
			got, err := unmarshal(tt.in)
			if tt.wantErr {
				if notifyql.ErrorCode(err) != notifyql.EINVALID {
					t.Errorf("Unmarshal%s(%q) = %q, %v; want EINVALID", name, tt.in, got, err)
				}
				if s, msg := tt.in.(string), notifyql.ErrorMessage(err); strings.Contains(msg, s) {
					t.Errorf("Unmarshal%s(%q): message %q repeats the value", name, tt.in, msg)
				}
				continue
			}
			if err != nil {
				t.Errorf("Unmarshal%s(%q): %v", name, tt.in, err)
			}
		}
	}
}

// code is err's code, "" for no error.
func code(err error) string {
	if err == nil {
		return ""
	}
	return notifyql.ErrorCode(err)
}
