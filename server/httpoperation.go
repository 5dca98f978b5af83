package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The API's own HTTP transports, POST here and GET (httpget.go), read an operation's
// parameters their way and then run it the same way: runOperation.

// postTransport runs an operation sent as a POST body of GraphQL parameters, in either
// operation media type (gqlgen's own POST takes application/json only). checkBody has
// already read the body and refused batches and text that is not UTF-8.
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
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		// Never the decoder's message: it may quote the body, which may hold personal data.
		writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "request body is not valid JSON")
		return
	}
	params.ReadTime.End = graphql.Now()
	runOperation(w, r, exec, params, nil)
}

// runOperation runs the operation params name and writes its answer in the media type
// the client accepts. An operation refused before it ran is answered with
// requestErrorStatus's status, or 429 with Retry-After when an allowance is used up (a
// persisted query's registration), as byIP and byUser answer. refuseKind, when given,
// writes the answer for an operation of a kind the transport does not run and reports
// that it did.
func runOperation(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, refuseKind func(http.ResponseWriter, ast.Operation) bool) {
	responseType := responseMediaType(r)
	w.Header().Set("Content-Type", responseType)
	opCtx, errs := exec.CreateOperationContext(r.Context(), params)
	if errs != nil {
		w.WriteHeader(allowanceRefusalStatus(w.Header(), errs, requestErrorStatus(errs, responseType)))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(r.Context(), opCtx), errs))
		return
	}
	if refuseKind != nil && refuseKind(w, opCtx.Operation.Operation) {
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), opCtx)
	writeResponse(w, responses(ctx))
}

// responseMediaType is the media type the client accepts, as gqlgen's transports choose it:
// application/json unless only application/graphql-response+json is named.
func responseMediaType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return "application/json"
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", "application/json":
			return "application/json"
		case "application/graphql-response+json":
			return mediaType
		}
	}
	return "application/graphql-response+json"
}

// requestErrorStatus is the status of an operation refused before it ran, as gqlgen's POST
// transport answers it: a parse or validation failure is 422 (400 for a client that accepts
// application/graphql-response+json), anything else (a limit) 200 with the error.
func requestErrorStatus(errs gqlerror.List, responseType string) int {
	if errcode.GetErrorKind(errs) != errcode.KindProtocol {
		return http.StatusOK
	}
	if responseType == "application/graphql-response+json" {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// writeResponse writes resp as encoding/json's Encoder writes a graphql.Response. The data,
// which gqlgen wrote as JSON, is copied as it is when it holds nothing the Encoder would
// escape (<, > and & for HTML, U+2028 and U+2029 for JavaScript): the Encoder checks and
// compacts a json.RawMessage byte by byte, a second pass over the answer that cost about 6%
// of a 50-row page's CPU.
func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	if needsEncoderEscapes(resp.Data) {
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	var b bytes.Buffer
	b.Grow(len(resp.Data) + 64)
	b.WriteByte('{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			_ = json.NewEncoder(w).Encode(resp)
			return
		}
		b.WriteString(`"errors":`)
		b.Write(errs)
		b.WriteByte(',')
	}
	b.WriteString(`"data":`)
	if resp.Data == nil {
		b.WriteString("null")
	} else {
		b.Write(resp.Data)
	}
	rest, err := json.Marshal(responseRest{Label: resp.Label, Path: resp.Path, HasNext: resp.HasNext, Extensions: resp.Extensions})
	if err != nil {
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	if len(rest) > len("{}") {
		b.WriteByte(',')
		b.Write(rest[1 : len(rest)-1])
	}
	b.WriteString("}\n")
	// With its length known, net/http sends the answer as it is, in as few writes as it
	// can, instead of in chunks of its 2 KiB buffer behind a Transfer-Encoding header.
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
}

// responseRest is a graphql.Response's fields after its data, as it encodes them.
type responseRest struct {
	Label      string         `json:"label,omitempty"`
	Path       ast.Path       `json:"path,omitempty"`
	HasNext    *bool          `json:"hasNext,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// needsEncoderEscapes reports whether data holds a byte the Encoder would escape in it:
// <, > or & for HTML, or the first byte of U+2028 or U+2029 for JavaScript (0xe2, which
// other characters start with too). One vectorised pass a byte is faster than
// bytes.IndexAny's byte-by-byte loop over a 50-row page's 12 KB.
func needsEncoderEscapes(data []byte) bool {
	for _, c := range []byte("<>&\xe2") {
		if bytes.IndexByte(data, c) >= 0 {
			return true
		}
	}
	return false
}
