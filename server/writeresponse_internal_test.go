package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// writeResponse writes what encoding/json's Encoder writes for every shape of response:
// data alone, errors, no data, extensions, an incremental payload's label, path and
// hasNext, and data the Encoder escapes (HTML characters, U+2028).
func TestWriteResponseWritesWhatTheEncoderWrites(t *testing.T) {
	hasNext := true
	for _, tt := range []struct {
		name string
		resp graphql.Response
	}{
		{"data", graphql.Response{Data: json.RawMessage(`{"service":{"id":"a","names":["x","y"],"n":1.5,"ok":true,"none":null}}`)}},
		{"errors and data", graphql.Response{Data: json.RawMessage(`{"me":null}`), Errors: gqlerror.List{
			{Message: "forbidden", Path: ast.Path{ast.PathName("me")}, Extensions: map[string]any{"code": "FORBIDDEN", "data": nil}}}}},
		{"errors without data", graphql.Response{Errors: gqlerror.List{{Message: "no"}}}},
		{"extensions", graphql.Response{Data: json.RawMessage(`{}`), Extensions: map[string]any{"cost": 3}}},
		{"incremental", graphql.Response{Data: json.RawMessage(`{"a":1}`), Label: "l", Path: ast.Path{ast.PathName("x"), ast.PathIndex(2)}, HasNext: &hasNext}},
		{"HTML in data", graphql.Response{Data: json.RawMessage(`{"content":"<p>Tom & Jerry</p>"}`)}},
		{"line separator in data", graphql.Response{Data: json.RawMessage("{\"content\":\"a\u2028b\"}")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(&tt.resp); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			writeResponse(rec, &tt.resp)
			if got := rec.Body.String(); got != want.String() {
				t.Errorf("wrote\n%s\nthe Encoder writes\n%s", got, want.String())
			}
		})
	}
}
