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

// ValidateID rejects an id that is neither a canonical UUID nor the node id of a row of that
// kind (NodeID) with EINVALID "invalid <kind> id", so that malformed ids never reach the
// database as uuid cast errors. An argument takes either form: the `id` a type shows is
// its node id, while the fields that refer to a row (serviceId, templateId) show its UUID.
func ValidateID(kind, s string) error {
	if IsUUID(s) {
		return nil
	}
	if t, _, ok := ParseNodeID(s); ok && nodeIDKinds[kind] == t {
		return nil
	}
	return Errorf(EINVALID, "invalid %s id", kind)
}

// NormaliseID returns the key an id names: a UUID lower-cased, the form PostgreSQL prints
// uuids in, so that ids compare equal however the caller wrote them; a node id its UUID.
// Callers check the id's kind with ValidateID first.
func NormaliseID(s string) string {
	if !IsUUID(s) {
		if _, key, ok := ParseNodeID(s); ok {
			return key
		}
	}
	return strings.ToLower(s)
}
