package notifyql

import "strings"

// IsUUID reports whether s is a canonical UUID: 8-4-4-4-12 hexadecimal digits, any case, with
// no braces, prefix or surrounding space.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ValidateID rejects an id that is not a canonical UUID with EINVALID "invalid <kind> id",
// so that malformed ids never reach the database as uuid cast errors.
func ValidateID(kind, s string) error {
	if !IsUUID(s) {
		return Errorf(EINVALID, "invalid %s id", kind)
	}
	return nil
}

// NormaliseID lower-cases an id, the form PostgreSQL prints uuids in, so that ids compare
// equal however the caller wrote them.
func NormaliseID(s string) string { return strings.ToLower(s) }
