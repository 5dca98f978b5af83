package server

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"

	"github.com/99designs/gqlgen/graphql"
)

// postTransport runs operations POSTed as a JSON object (GraphQL over HTTP) in a body of
// any operation media type: query, and optionally operationName, variables and
// extensions. A body that is not such an object is 400, and its answer never repeats the
// body (which may hold personal data in its variables).
type postTransport struct{}

var _ graphql.Transport = postTransport{}

func (postTransport) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && slices.Contains(operationMediaTypes, mediaType)
}

func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	params := &graphql.RawParams{Headers: r.Header}
	params.ReadTime.Start = graphql.Now()
	body, err := io.ReadAll(r.Body) // limitBody has read it already, within its bound
	if err != nil {
		writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
		return
	}
	if !json.Valid(body) {
		writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST", "request body is not valid JSON")
		return
	}
	if err := decodeJSONObject(body, params); err != nil {
		writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST",
			"the body must be a JSON object: query and operationName strings, variables and extensions objects")
		return
	}
	params.ReadTime.End = graphql.Now()
	if opCtx := prepareOperation(w, r, exec, params); opCtx != nil {
		runOperation(w, r, exec, opCtx)
	}
}
