package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The API's own HTTP transports, POST here and GET (httpget.go), read an operation's
// parameters their way and then run it the same way: runOperation.
//
// GraphQL over HTTP: the status of an operation that never ran depends on the media type
// the client accepts (responseMediaType):
//
//   - A request that is not a GraphQL request (no query to run, nor a persisted query's
//     hash; a body that is not a JSON object of the parameters) is 400, whatever the
//     client accepts.
//   - application/json (the legacy type, and the one a client that names none gets): 200
//     for a document that does not parse or validate, variables that do not fit, and the
//     server's own limits; the errors say which (extensions.code).
//   - application/graphql-response+json: a response without data is 4xx (or 5xx), so
//     that HTTP tooling sees the failure: 400, or the status of the error's code in
//     errorCodes (503 for UNAVAILABLE).
//   - Either way, an allowance used up is 429 with Retry-After (allowanceRefusalStatus).
//
// The answer then has no data entry: nothing was executed (GraphQL's response format
// leaves data out when an error came before execution).

// Media types of a GraphQL answer.
const (
	mediaTypeJSON            = "application/json"
	mediaTypeGraphQLResponse = "application/graphql-response+json"
)

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
		message := "request body is not valid JSON"
		if _, wrongShape := errors.AsType[*json.UnmarshalTypeError](err); wrongShape {
			message = "the body must be a JSON object: query and operationName strings, variables and extensions objects"
		}
		writeRequestError(w, r, http.StatusBadRequest, "BAD_REQUEST", message)
		return
	}
	params.ReadTime.End = graphql.Now()
	runOperation(w, r, exec, params, nil)
}

// runOperation runs the operation params name and writes its answer in the media type
// the client accepts. An operation refused before it ran is answered with refusalStatus's
// status, or 429 with Retry-After when an allowance is used up (a persisted query's
// registration), as byIP and byUser answer, and without data. refuseKind, when given,
// writes the answer for an operation of a kind the transport does not run and reports
// that it did.
func runOperation(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, refuseKind func(http.ResponseWriter, *http.Request, ast.Operation) bool) {
	responseType := responseMediaType(r)
	w.Header().Set("Content-Type", responseType)
	opCtx, errs := exec.CreateOperationContext(r.Context(), params)
	if errs != nil {
		w.WriteHeader(allowanceRefusalStatus(w.Header(), errs, refusalStatus(errs, params, responseType)))
		writeRefusal(w, exec.DispatchError(graphql.WithOperationContext(r.Context(), opCtx), errs))
		return
	}
	if refuseKind != nil && refuseKind(w, r, opCtx.Operation.Operation) {
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), opCtx)
	writeResponse(w, responses(ctx))
}

// refusalStatus is the status of an operation refused before it ran for errs (see above),
// but for a used-up allowance. params are the request's, once the persisted query lookup
// has put a known hash's text in them.
func refusalStatus(errs gqlerror.List, params *graphql.RawParams, responseType string) int {
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		return http.StatusBadRequest
	}
	if responseType == mediaTypeJSON {
		return http.StatusOK
	}
	for _, err := range errs {
		if code, ok := err.Extensions["code"].(string); ok {
			if status, ok := httpStatusOfGraphQLCode(code); ok {
				return status
			}
		}
	}
	return http.StatusBadRequest
}

// responseMediaType is the media type the client accepts: the first of the two GraphQL
// answer types its Accept names (application/json for */* and application/*),
// application/json when it sends none, and application/graphql-response+json when it
// names neither.
func responseMediaType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mediaTypeJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", mediaTypeJSON:
			return mediaTypeJSON
		case mediaTypeGraphQLResponse:
			return mediaType
		}
	}
	return mediaTypeGraphQLResponse
}

// writeRequestError answers a request the transport cannot run, before any GraphQL (a
// body or parameter that does not read, a method the operation does not take), in the
// media type the client accepts.
func writeRequestError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeGraphQLErrorAs(w, responseMediaType(r), status, message, map[string]any{"code": code})
}

// writeRefusal writes the response to an operation that never ran: its errors and
// extensions, and no data entry.
func writeRefusal(w http.ResponseWriter, resp *graphql.Response) {
	_ = json.NewEncoder(w).Encode(struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
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
	b := envelopes.Get().(*bytes.Buffer)
	defer putEnvelope(b)
	b.Reset()
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

// envelopes are the buffers writeResponse composes answers in: net/http has copied an
// answer out by the time Write returns, so its buffer serves the next one.
var envelopes = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledEnvelope is the largest buffer kept for another answer: one huge answer must not
// leave every idle processor holding its size.
const maxPooledEnvelope = 256 << 10

func putEnvelope(b *bytes.Buffer) {
	if b.Cap() <= maxPooledEnvelope {
		envelopes.Put(b)
	}
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
