package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"notifyql"
)

// Text that PostgreSQL's text type cannot hold, a NUL character or bytes that are not
// UTF-8, makes a statement fail (SQLSTATE 22021) rather than find nothing. GraphQL
// arguments are checked as they are unmarshalled (graph/scalars); the checks here cover
// what reaches the server before that: a GraphQL request's raw text, where
// encoding/json would otherwise turn bytes that are not UTF-8 into U+FFFD without a word,
// and the download routes' path and query parameters, which are not GraphQL at all.

// checkRequestText refuses a request whose URL path or query parameters hold a NUL
// character or bytes that are not UTF-8 (after percent-decoding), with EINVALID. The
// message never repeats the value.
func checkRequestText(r *http.Request) error {
	if !isStorableText(r.URL.Path) {
		return notifyql.Errorf(notifyql.EINVALID, "the path must be UTF-8 text without the NUL character (U+0000)")
	}
	for name, values := range r.URL.Query() {
		if !isStorableText(name) {
			return notifyql.Errorf(notifyql.EINVALID, "query parameter names must be UTF-8 text without the NUL character (U+0000)")
		}
		for _, v := range values {
			if !isStorableText(v) {
				return notifyql.Errorf(notifyql.EINVALID, "the query parameter %s must be UTF-8 text without the NUL character (U+0000)", name)
			}
		}
	}
	return nil
}

// isStorableText reports whether s is UTF-8 without a NUL character.
func isStorableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// refuseUnreadableText answers 400 BAD_USER_INPUT for a GraphQL request whose body is not
// UTF-8 (RFC 8259 §8.1 asks JSON to be), or whose query parameters (a GET operation's
// query, variables and extensions) are not text PostgreSQL can hold. A NUL written as \u0000
// inside JSON is valid JSON; the argument it ends up in refuses it. A WebSocket's
// operations come in its messages, not its request: their arguments are checked as they
// are unmarshalled, like every other.
func refuseUnreadableText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		if err := checkRequestText(r); err != nil {
			writeGraphQLError(w, HTTPStatus(notifyql.EINVALID), GraphQLCode(notifyql.EINVALID), notifyql.ErrorMessage(err))
			return
		}
		if r.Method == http.MethodPost && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
				return
			}
			if !utf8.Valid(body) {
				writeGraphQLError(w, HTTPStatus(notifyql.EINVALID), GraphQLCode(notifyql.EINVALID), "the request body must be UTF-8 text")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}
