package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Letter uploads are the one multipart request the API takes (RENDERING.md §7.3): a
// GraphQL multipart request (gqlgen's transport.MultipartForm) that runs validateLetterPdf
// alone on one file. Every other multipart body is refused unexecuted, as before, since a
// page on another site can send one without asking first.
const (
	// MaxLetterUploadFileBytes bounds the file.
	MaxLetterUploadFileBytes = 2 << 20
	// MaxLetterUploadBodyBytes bounds the whole body: the file and 64 KiB of the rest.
	MaxLetterUploadBodyBytes = MaxLetterUploadFileBytes + 64<<10
	// letterUploadTimeout bounds an upload's request: the validation's own 30 seconds,
	// and room to receive the file and answer.
	letterUploadTimeout = 40 * time.Second
	// uploadOperationField is the one root field a multipart operation may select.
	uploadOperationField = "validateLetterPdf"
)

// letterUploadTransport is gqlgen's multipart transport, kept to the upload's bounds and
// in memory (no temporary files). admitLetterUpload has checked the request before it.
func letterUploadTransport() transport.MultipartForm {
	return transport.MultipartForm{MaxUploadSize: MaxLetterUploadBodyBytes, MaxMemory: MaxLetterUploadBodyBytes + 1}
}

// isMultipart reports whether a request's body is multipart/form-data.
func isMultipart(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "multipart/form-data"
}

// multipartRefused answers a multipart request that is not a letter upload: 400, unexecuted.
func multipartRefused(w http.ResponseWriter, reason string) {
	writeGraphQLError(w, http.StatusBadRequest, "MULTIPART_REFUSED",
		"a multipart request must carry a GraphQL-Require-Preflight header and run validateLetterPdf alone with one file: "+reason)
}

// admitLetterUpload lets a multipart request through only when it is a letter upload: a
// non-empty GraphQL-Require-Preflight header (which a form on another site cannot send
// without a preflight the API never grants), a body within MaxLetterUploadBodyBytes and a
// file within MaxLetterUploadFileBytes (else 413), and an operation that is a mutation
// whose sole root field is validateLetterPdf, with exactly one file. It reads the body
// whole (it is bounded) and hands gqlgen the same bytes.
func admitLetterUpload(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("GraphQL-Require-Preflight") == "" {
			multipartRefused(w, "the preflight header is missing")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxLetterUploadBodyBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE",
				fmt.Sprintf("a letter upload may be at most %d bytes, its file at most %d", MaxLetterUploadBodyBytes, MaxLetterUploadFileBytes))
			return
		case err != nil:
			writeGraphQLError(w, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body")
			return
		}
		if status, reason := checkLetterUpload(r.Header.Get("Content-Type"), body); status != 0 {
			if status == http.StatusRequestEntityTooLarge {
				writeGraphQLError(w, status, "FILE_TOO_LARGE", fmt.Sprintf("the file may be at most %d bytes", MaxLetterUploadFileBytes))
				return
			}
			multipartRefused(w, reason)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// checkLetterUpload reads a multipart body as the GraphQL multipart request spec lays it
// out (operations, map, then the files) and returns 0 when it is a letter upload, or the
// status to refuse it with and why.
func checkLetterUpload(contentType string, body []byte) (int, string) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return http.StatusBadRequest, "the body has no multipart boundary"
	}
	parts := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	operations, err := nextField(parts, "operations")
	if err != nil {
		return http.StatusBadRequest, "the first part must be operations"
	}
	if reason := checkUploadOperation(operations); reason != "" {
		return http.StatusBadRequest, reason
	}
	mapping, err := nextField(parts, "map")
	if err != nil {
		return http.StatusBadRequest, "the second part must be map"
	}
	var files map[string][]string
	if json.Unmarshal(mapping, &files) != nil || len(files) != 1 {
		return http.StatusBadRequest, "map must name exactly one file"
	}
	var key string
	for k, paths := range files {
		if len(paths) != 1 {
			return http.StatusBadRequest, "map must put the file in exactly one place"
		}
		key = k
	}
	count := 0
	for {
		part, err := parts.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return http.StatusBadRequest, "a part cannot be read"
		}
		count++
		if part.FormName() != key {
			return http.StatusBadRequest, "every part after map must be the one file map names"
		}
		n, err := io.Copy(io.Discard, io.LimitReader(part, MaxLetterUploadFileBytes+1))
		if err != nil {
			return http.StatusBadRequest, "a part cannot be read"
		}
		if n > MaxLetterUploadFileBytes {
			return http.StatusRequestEntityTooLarge, ""
		}
	}
	if count != 1 {
		return http.StatusBadRequest, "send exactly one file"
	}
	return 0, ""
}

// nextField reads the next part, which must be the form field name.
func nextField(parts *multipart.Reader, name string) ([]byte, error) {
	part, err := parts.NextPart()
	if err != nil {
		return nil, err
	}
	if part.FormName() != name || part.FileName() != "" {
		return nil, errors.New("unexpected part")
	}
	return io.ReadAll(io.LimitReader(part, 64<<10))
}

// checkUploadOperation returns why an operations field is not a mutation whose sole root
// field is validateLetterPdf, or "".
func checkUploadOperation(operations []byte) string {
	var params struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	if json.Unmarshal(operations, &params) != nil {
		return "operations must be one JSON object"
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: params.Query})
	if err != nil {
		return "operations holds no readable query"
	}
	var op *ast.OperationDefinition
	for _, candidate := range doc.Operations {
		if params.OperationName == "" || candidate.Name == params.OperationName {
			if op != nil {
				return "operations must hold one operation"
			}
			op = candidate
		}
	}
	if op == nil || op.Operation != ast.Mutation || len(op.SelectionSet) != 1 {
		return "the operation must be a mutation selecting validateLetterPdf alone"
	}
	field, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || field.Name != uploadOperationField || len(field.Directives) > 0 {
		return "the operation must be a mutation selecting validateLetterPdf alone"
	}
	return ""
}
