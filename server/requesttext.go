package server

import (
	"net/http"

	"notifyql"
)

// Text that PostgreSQL's text type cannot hold, a NUL character or bytes that are not
// UTF-8, makes a statement fail (SQLSTATE 22021) rather than find nothing. GraphQL
// arguments are checked as they are unmarshalled (graph/scalars); the checks here cover
// what reaches the server before that: a GraphQL request's query parameters (its body is
// checked where it is read, checkBody), and the download routes' path and query
// parameters, which are not GraphQL at all.

// checkRequestText refuses a request whose URL path or query parameters hold a NUL
// character or bytes that are not UTF-8 (after percent-decoding), with EINVALID. The
// message never repeats the value.
func checkRequestText(r *http.Request) error {
	if !notifyql.IsStorableText(r.URL.Path) {
		return notifyql.Errorf(notifyql.EINVALID, "the path must be UTF-8 text without the NUL character (U+0000)")
	}
	for name, values := range r.URL.Query() {
		if !notifyql.IsStorableText(name) {
			return notifyql.Errorf(notifyql.EINVALID, "query parameter names must be UTF-8 text without the NUL character (U+0000)")
		}
		for _, v := range values {
			if !notifyql.IsStorableText(v) {
				return notifyql.Errorf(notifyql.EINVALID, "the query parameter %s must be UTF-8 text without the NUL character (U+0000)", name)
			}
		}
	}
	return nil
}

// refuseUnreadableParameters answers 400 BAD_USER_INPUT for a GraphQL request whose query
// parameters (a GET operation's query, variables and extensions) are not text PostgreSQL
// can hold; a POST's body is checked where it is read (checkBody). A WebSocket's operations
// come in its messages, not its request: their arguments are checked as they are
// unmarshalled, like every other.
func refuseUnreadableParameters(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		if err := checkRequestText(r); err != nil {
			writeGraphQLError(w, HTTPStatus(notifyql.EINVALID), GraphQLCode(notifyql.EINVALID), notifyql.ErrorMessage(err))
			return
		}
		next.ServeHTTP(w, r)
	})
}
