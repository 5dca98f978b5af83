// Package scalars is the Go side of GraphQL's built-in Int, String and ID scalars
// (gqlgen.yml binds them here): gqlgen's own marshalling, with the checks that every
// argument needs before it reaches a store. Each argument, whether written in the document
// or sent as a variable, alone or inside an input object or a list, is unmarshalled through
// one of these functions, so a value they refuse never reaches a resolver. Written by hand,
// unlike the rest of graph/.
package scalars

import (
	"math"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"notifyql"
)

// MarshalInt writes an int as gqlgen does.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int argument. GraphQL's Int is a 32-bit signed integer
// (specification §3.5.1), and input coercion must refuse values outside it; gqlgen's own
// reads anything that fits Go's int, which then overflows the integer columns it is
// compared with or written to. EINVALID (BAD_USER_INPUT) past the range.
func UnmarshalInt(v any) (int, error) {
	n, err := UnmarshalInt64(v)
	return int(n), err
}

// MarshalInt64 writes an int64 as gqlgen does.
func MarshalInt64(i int64) graphql.Marshaler { return graphql.MarshalInt64(i) }

// UnmarshalInt64 is UnmarshalInt for arguments bound to int64: still GraphQL's 32-bit Int.
func UnmarshalInt64(v any) (int64, error) {
	n, err := graphql.UnmarshalInt64(v)
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, notifyql.Errorf(notifyql.EINVALID, "an Int must be a whole number from %d to %d", math.MinInt32, math.MaxInt32)
	}
	return n, nil
}

// MarshalString writes a string as gqlgen does.
func MarshalString(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalString reads a String argument, refusing text PostgreSQL cannot hold (checkText).
func UnmarshalString(v any) (string, error) { return checkedText(graphql.UnmarshalString(v)) }

// MarshalID writes an ID as gqlgen does.
func MarshalID(s string) graphql.Marshaler { return graphql.MarshalID(s) }

// UnmarshalID reads an ID argument, refusing text PostgreSQL cannot hold (checkText).
func UnmarshalID(v any) (string, error) { return checkedText(graphql.UnmarshalID(v)) }

// checkedText passes on gqlgen's unmarshalled text, or its error, once checkText has
// accepted it.
func checkedText(s string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return s, checkText(s)
}

// checkText refuses text PostgreSQL cannot hold (notifyql.IsStorableText), saying which
// rule it breaks. EINVALID (BAD_USER_INPUT); the message never repeats the value, which may
// be personal data.
func checkText(s string) error {
	switch {
	case notifyql.IsStorableText(s):
		return nil
	case !utf8.ValidString(s):
		return notifyql.Errorf(notifyql.EINVALID, "text arguments must be valid UTF-8")
	}
	return notifyql.Errorf(notifyql.EINVALID, "text arguments must not contain the NUL character (U+0000)")
}
