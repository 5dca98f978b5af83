package notifyql

import (
	"errors"
	"fmt"
)

// Error codes. The server maps each to a GraphQL extensions.code in one table; stores and
// rules return them so that callers classify errors by code, never by text.
const (
	ECONFLICT        = "conflict"
	EINTERNAL        = "internal"
	EINVALID         = "invalid"
	ENOTFOUND        = "not_found"
	EFORBIDDEN       = "forbidden"
	EUNAUTHENTICATED = "unauthenticated"
	// ESEARCHEXPIRED: a remembered search's hash is unknown or its 7 days are up (DOMAIN.md
	// §6.4); the client drops the hash.
	ESEARCHEXPIRED = "search_expired"
	// EUNAVAILABLE: a backend the request needs (such as the search-term cache) cannot be
	// reached; trying again later may work.
	EUNAVAILABLE = "unavailable"
	// ETOOLARGE refuses a well-formed, permitted request because what it asks for is larger
	// than the way it asked allows (a direct download over its row limit).
	ETOOLARGE = "too_large"
	// ERATELIMITED refuses a request because its caller has used up an allowance (requests
	// a minute, reports a day); the message says when to try again.
	ERATELIMITED = "rate_limited"
	// ESUBSCRIPTIONLIMIT refuses a subscription past the number one socket or one user may
	// hold open; completing another frees a place.
	ESUBSCRIPTIONLIMIT = "subscription_limit"
)

// Error is a domain error whose message is safe to show to the caller: it never holds
// SQL, hosts or personal data.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("notifyql error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a coded error with a caller-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of a coded error, or "internal error".
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
