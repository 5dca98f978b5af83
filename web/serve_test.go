package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
)

// appScript is the test page's script: long and repetitive enough that both codings shrink it.
var appScript = []byte(strings.Repeat(`console.log("notifyql");`, 200))

// compressedPage is a page as make assets leaves one: index.html and a hashed script each
// with real brotli and gzip encodings beside them, and an icon without any.
func compressedPage(t *testing.T) Page {
	t.Helper()
	index := []byte(`<!doctype html><title>t</title><script src="/graphiql/assets/app-1a2b3c4d.js"></script>` + strings.Repeat(" ", 400))
	files := fstest.MapFS{"favicon.svg": {Data: []byte(`<svg/>`)}}
	for name, content := range map[string][]byte{"index.html": index, "assets/app-1a2b3c4d.js": appScript} {
		files[name] = &fstest.MapFile{Data: content}
		files[name+".br"] = &fstest.MapFile{Data: brotliBytes(t, content)}
		files[name+".gz"] = &fstest.MapFile{Data: gzipBytes(t, content)}
	}
	return Page{Path: "/graphiql", Files: files}
}

func brotliBytes(t *testing.T, content []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, brotli.BestCompression)
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipBytes(t *testing.T, content []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decode undoes a response's Content-Encoding.
func decode(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return body
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		gz, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = gz
	default:
		t.Fatalf("unknown Content-Encoding %q", coding)
	}
	decoded, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", coding, err)
	}
	return decoded
}

// request sends method target with the given headers, each value a header line of its own.
func request(h http.Handler, method, target string, headers map[string][]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for name, values := range headers {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Accept-Encoding chooses the representation: br before gzip before identity where the
// client weighs them equally, the client's q-values otherwise, q=0 refusing a coding, and
// a malformed element counting as absent. Whatever comes back decodes to the file, says
// its length truly, and varies by Accept-Encoding.
func TestPageNegotiatesContentCoding(t *testing.T) {
	h := Handler(compressedPage(t))
	absent := []string(nil)
	cases := []struct {
		name   string
		accept []string
		want   string // the Content-Encoding, "" for identity
	}{
		{"no header", absent, ""},
		{"empty header", []string{""}, ""},
		{"gzip", []string{"gzip"}, "gzip"},
		{"br", []string{"br"}, "br"},
		{"browser's list", []string{"gzip, deflate, br, zstd"}, "br"},
		{"both, gzip first", []string{"gzip, br"}, "br"},
		{"two header lines", []string{"gzip", "br"}, "br"},
		{"br weighed less", []string{"br;q=0.5, gzip"}, "gzip"},
		{"gzip weighed more", []string{"br;q=0.8, gzip;q=0.9"}, "gzip"},
		{"identity weighed most", []string{"br;q=0.9, gzip;q=0.9, identity"}, ""},
		{"both refused", []string{"br;q=0, gzip;q=0"}, ""},
		{"br refused", []string{"gzip, br;q=0"}, "gzip"},
		{"star", []string{"*"}, "br"},
		{"star, br refused", []string{"*, br;q=0"}, "gzip"},
		{"star weighed below identity", []string{"*;q=0.5, identity"}, ""},
		{"identity refused, gzip taken", []string{"identity;q=0, gzip"}, "gzip"},
		{"upper case", []string{"BR;Q=1"}, "br"},
		{"spaces", []string{" gzip ; q=0.5 ,\tbr ; q=0.4 "}, "gzip"},
		{"x-gzip is gzip", []string{"x-gzip"}, "gzip"},
		{"q with three decimals", []string{"br;q=0.001, gzip;q=0.002"}, "gzip"},
		{"q at 1.000", []string{"gzip;q=1.000, br;q=0.999"}, "gzip"},
		{"unknown codings only", []string{"zstd, deflate, compress"}, ""},
		{"first of a repeated coding counts", []string{"br;q=0.1, br;q=1, gzip;q=0.5"}, "gzip"},
		// Malformed elements are ignored, never guessed at.
		{"q above 1", []string{"br;q=2"}, ""},
		{"q of 1.5", []string{"br;q=1.5"}, ""},
		{"q with four decimals", []string{"br;q=0.0001"}, ""},
		{"q not a number", []string{"br;q=abc"}, ""},
		{"q empty", []string{"br;q="}, ""},
		{"q negative", []string{"br;q=-1"}, ""},
		{"q starting with a dot", []string{"br;q=.5"}, ""},
		{"parameter other than q", []string{"br;level=11"}, ""},
		{"two parameters", []string{"br;q=0.5;q=0.6"}, ""},
		{"not a token", []string{"b r, g(zip)"}, ""},
		{"malformed beside good", []string{"br;q=x, gzip"}, "gzip"},
		{"control bytes", []string{"\x00\x01br"}, ""},
		{"commas only", []string{",,, ,"}, ""},
	}
	for _, c := range cases {
		rec := request(h, http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", map[string][]string{"Accept-Encoding": c.accept})
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d %q", c.name, rec.Code, rec.Body.String())
			continue
		}
		if got := rec.Header().Get("Content-Encoding"); got != c.want {
			t.Errorf("%s (Accept-Encoding %q): Content-Encoding %q, want %q", c.name, c.accept, got, c.want)
		}
		if got := rec.Header().Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("%s: Vary %q", c.name, got)
		}
		if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("%s: Content-Length %s for a body of %d bytes", c.name, got, rec.Body.Len())
		}
		if !bytes.Equal(decode(t, rec.Header().Get("Content-Encoding"), rec.Body.Bytes()), appScript) {
			t.Errorf("%s: the body does not decode to the file", c.name)
		}
		if got := rec.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("%s: Content-Type %q, want the file's own, whatever the coding", c.name, got)
		}
	}
	// Encoded, the script is smaller: the test's bodies were not identity under another name.
	br := request(h, http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", map[string][]string{"Accept-Encoding": {"br"}})
	if br.Body.Len() >= len(appScript)/4 {
		t.Errorf("br body %d bytes for a %d-byte file", br.Body.Len(), len(appScript))
	}
}

// A file the build wrote no encoding for is sent as it is, whatever the client accepts.
func TestPageSendsAFileWithoutEncodingsAsItIs(t *testing.T) {
	rec := request(Handler(compressedPage(t)), http.MethodGet, "/graphiql/favicon.svg", map[string][]string{"Accept-Encoding": {"br, gzip"}})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "<svg/>" {
		t.Errorf("favicon.svg: %d, Content-Encoding %q, %q", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
}

// A client that refuses identity and every coding the file has gets 406, with the headers
// that say why the answer varies.
func TestPageRefusesAClientThatAcceptsNothingItHas(t *testing.T) {
	h := Handler(compressedPage(t))
	for _, accept := range []string{"identity;q=0", "*;q=0", "zstd, identity;q=0", "br;q=0, gzip;q=0, identity;q=0"} {
		rec := request(h, http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", map[string][]string{"Accept-Encoding": {accept}})
		if rec.Code != http.StatusNotAcceptable || !strings.Contains(rec.Body.String(), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: %d %q, want 406 naming Accept-Encoding", accept, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Vary") != "Accept-Encoding" || rec.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Errorf("Accept-Encoding %q: headers %v", accept, rec.Header())
		}
	}
	// identity refused but br taken is no refusal.
	if rec := request(h, http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", map[string][]string{"Accept-Encoding": {"br, identity;q=0"}}); rec.Code != http.StatusOK {
		t.Errorf("br with identity refused: %d", rec.Code)
	}
}

var strongETag = regexp.MustCompile(`^"[A-Za-z0-9_-]{24}"$`)

// Each representation has its own strong ETag, a hash of the bytes it sends: the same for
// the same bytes whichever handler serves them, different for different bytes.
func TestPageETagsNameEachRepresentation(t *testing.T) {
	page := compressedPage(t)
	h := Handler(page)
	tags := map[string]string{}
	for _, accept := range []string{"identity", "gzip", "br"} {
		rec := request(h, http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", map[string][]string{"Accept-Encoding": {accept}})
		tag := rec.Header().Get("ETag")
		if !strongETag.MatchString(tag) {
			t.Errorf("%s: ETag %q, want a strong (quoted, no W/) tag", accept, tag)
		}
		tags[accept] = tag
	}
	if tags["identity"] == tags["gzip"] || tags["gzip"] == tags["br"] || tags["identity"] == tags["br"] {
		t.Errorf("the representations share an ETag: %v", tags)
	}
	if again := request(Handler(page), http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", nil).Header().Get("ETag"); again != tags["identity"] {
		t.Errorf("another handler on the same files tags them %s, first %s", again, tags["identity"])
	}
	changed := compressedPage(t)
	changed.Files.(fstest.MapFS)["assets/app-1a2b3c4d.js"] = &fstest.MapFile{Data: append([]byte("//\n"), appScript...)}
	if other := request(Handler(changed), http.MethodGet, "/graphiql/assets/app-1a2b3c4d.js", nil).Header().Get("ETag"); other == tags["identity"] {
		t.Errorf("changed content kept the ETag %s", other)
	}
	index := request(h, http.MethodGet, "/graphiql", map[string][]string{"Accept-Encoding": {"br"}})
	if !strongETag.MatchString(index.Header().Get("ETag")) || index.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("index.html: ETag %q, Cache-Control %q, want a strong tag and no-cache",
			index.Header().Get("ETag"), index.Header().Get("Cache-Control"))
	}
}

// If-None-Match naming the representation the request would get answers 304 with no body
// (weakly compared, as RFC 9110 asks, and "*" for any); a stale tag, another coding's tag
// and anything that is not an entity tag get the whole file.
func TestPageAnswersIfNoneMatch(t *testing.T) {
	h := Handler(compressedPage(t))
	const target = "/graphiql/assets/app-1a2b3c4d.js"
	tagOf := func(accept string) string {
		return request(h, http.MethodGet, target, map[string][]string{"Accept-Encoding": {accept}}).Header().Get("ETag")
	}
	br, gz, identity := tagOf("br"), tagOf("gzip"), tagOf("identity")
	cases := []struct {
		name        string
		accept      string
		ifNoneMatch []string
		want        int
	}{
		{"current br tag", "br", []string{br}, http.StatusNotModified},
		{"current identity tag", "", []string{identity}, http.StatusNotModified},
		{"weak form of the current tag", "br", []string{"W/" + br}, http.StatusNotModified},
		{"star", "gzip", []string{"*"}, http.StatusNotModified},
		{"in a list", "gzip", []string{`"stale", ` + gz + `, "other"`}, http.StatusNotModified},
		{"on a second header line", "gzip", []string{`"stale"`, gz}, http.StatusNotModified},
		{"list without spaces", "gzip", []string{`"stale",` + gz}, http.StatusNotModified},
		{"stale tag", "br", []string{`"AAAAAAAAAAAAAAAAAAAAAAAA"`}, http.StatusOK},
		{"weak stale tag", "br", []string{`W/"AAAAAAAAAAAAAAAAAAAAAAAA"`}, http.StatusOK},
		{"gzip's tag when br is sent", "br", []string{gz}, http.StatusOK},
		{"br's tag when identity is sent", "", []string{br}, http.StatusOK},
		{"unquoted tag", "br", []string{strings.Trim(br, `"`)}, http.StatusOK},
		{"unterminated tag", "br", []string{strings.TrimSuffix(br, `"`)}, http.StatusOK},
		{"garbage before the tag", "br", []string{"garbage, " + br}, http.StatusOK},
		{"garbage after a tag, then the tag", "br", []string{`"x" garbage, ` + br}, http.StatusOK},
		{"star in a list", "br", []string{`*, "x"`}, http.StatusOK},
		{"lower-case weak prefix", "br", []string{"w/" + br}, http.StatusOK},
		{"empty", "br", []string{""}, http.StatusOK},
	}
	for _, c := range cases {
		headers := map[string][]string{"If-None-Match": c.ifNoneMatch}
		if c.accept != "" {
			headers["Accept-Encoding"] = []string{c.accept}
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			rec := request(h, method, target, headers)
			if rec.Code != c.want {
				t.Errorf("%s %s (If-None-Match %q): %d, want %d", method, c.name, c.ifNoneMatch, rec.Code, c.want)
				continue
			}
			hdr := rec.Header()
			if hdr.Get("ETag") == "" || hdr.Get("Vary") != "Accept-Encoding" || hdr.Get("Cache-Control") != immutableCache {
				t.Errorf("%s %s: ETag %q, Vary %q, Cache-Control %q", method, c.name, hdr.Get("ETag"), hdr.Get("Vary"), hdr.Get("Cache-Control"))
			}
			if c.want == http.StatusNotModified {
				if rec.Body.Len() != 0 || hdr.Get("Content-Length") != "" || hdr.Get("Content-Encoding") != "" {
					t.Errorf("%s %s: 304 with %d bytes, Content-Length %q, Content-Encoding %q",
						method, c.name, rec.Body.Len(), hdr.Get("Content-Length"), hdr.Get("Content-Encoding"))
				}
			} else if method == http.MethodGet && !bytes.Equal(decode(t, hdr.Get("Content-Encoding"), rec.Body.Bytes()), appScript) {
				t.Errorf("%s %s: the body is not the file", method, c.name)
			}
		}
	}
	// The entry point revalidates the same way.
	tag := request(h, http.MethodGet, "/graphiql/", map[string][]string{"Accept-Encoding": {"gzip"}}).Header().Get("ETag")
	if rec := request(h, http.MethodGet, "/graphiql", map[string][]string{"Accept-Encoding": {"gzip"}, "If-None-Match": {tag}}); rec.Code != http.StatusNotModified {
		t.Errorf("index.html with its own tag: %d, want 304", rec.Code)
	}
}

// HEAD says what GET would send, its length included, and sends no body.
func TestPageAnswersHead(t *testing.T) {
	h := Handler(compressedPage(t))
	for _, target := range []string{"/graphiql", "/graphiql/assets/app-1a2b3c4d.js", "/graphiql/favicon.svg"} {
		for _, accept := range []string{"", "gzip", "br"} {
			headers := map[string][]string{"Accept-Encoding": {accept}}
			get := request(h, http.MethodGet, target, headers)
			head := request(h, http.MethodHead, target, headers)
			if head.Code != http.StatusOK || head.Body.Len() != 0 {
				t.Errorf("HEAD %s (%s): %d with %d bytes", target, accept, head.Code, head.Body.Len())
			}
			for _, name := range []string{"Content-Length", "Content-Encoding", "Content-Type", "ETag", "Cache-Control", "Vary", "Content-Security-Policy"} {
				if head.Header().Get(name) != get.Header().Get(name) {
					t.Errorf("HEAD %s (%s): %s %q, GET sends %q", target, accept, name, head.Header().Get(name), get.Header().Get(name))
				}
			}
			if head.Header().Get("Content-Length") != strconv.Itoa(get.Body.Len()) {
				t.Errorf("HEAD %s (%s): Content-Length %s, GET sends %d bytes", target, accept, head.Header().Get("Content-Length"), get.Body.Len())
			}
		}
	}
}

// hashedName is how both builds name what they put in assets/: name-HASH.ext, the hash eight
// characters of base64url or base32.
var hashedName = regexp.MustCompile(`^assets/[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$`)

// alreadyCompressed are the extensions compress.mjs leaves alone.
var alreadyCompressed = regexp.MustCompile(`\.(woff2?|png|jpe?g|gif|webp|avif|zip)$`)

// The embedded pages are as make assets leaves them: every file that is not compressed
// already has a brotli and a gzip encoding beside it that decodes to it, and everything
// cached as immutable carries a content hash in its name, so a new build is fetched anew.
func TestBuiltPagesArePrecompressed(t *testing.T) {
	for _, page := range []Page{GraphiQL(), Dashboard()} {
		var raw, br, gz int
		err := fs.WalkDir(page.Files, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
				return err
			}
			if strings.HasPrefix(name, "assets/") && !hashedName.MatchString(name) {
				t.Errorf("%s: %s is cached as immutable but its name carries no hash", page.Path, name)
			}
			content, err := fs.ReadFile(page.Files, name)
			if err != nil {
				return err
			}
			raw += len(content)
			if alreadyCompressed.MatchString(name) {
				return nil
			}
			for coding, suffix := range codingSuffix {
				encoded, err := fs.ReadFile(page.Files, name+suffix)
				if err != nil {
					t.Errorf("%s: %s has no %s encoding (run make assets): %v", page.Path, name, coding, err)
					continue
				}
				if !bytes.Equal(decode(t, coding, encoded), content) {
					t.Errorf("%s: %s%s does not decode to %s (run make assets)", page.Path, name, suffix, name)
				}
				if coding == codingBrotli {
					br += len(encoded)
				} else {
					gz += len(encoded)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes raw, %d brotli, %d gzip", page.Path, raw, br, gz)
		if br == 0 || br >= raw/2 || gz >= raw/2 {
			t.Errorf("%s: %d bytes raw, %d brotli, %d gzip: want each encoding under half the raw size", page.Path, raw, br, gz)
		}
	}
}

// A page that routes in the browser answers each of its views' URLs with index.html, with
// the same encodings, ETags and 304s as the page's own path, so a reload or a shared link
// opens that view; a missing file (anything with an extension, anything under assets/) is
// still 404, and a page that does not route in the browser keeps 404 for every unknown path.
func TestClientRoutesServeTheEntryPoint(t *testing.T) {
	routed := compressedPage(t)
	routed.ClientRoutes = true
	h := Handler(routed)
	index := request(h, http.MethodGet, "/graphiql", map[string][]string{"Accept-Encoding": {"br"}})
	for _, target := range []string{"/graphiql/services/7e000000-0000-0000-0000-000000000001", "/graphiql/services/x/notifications/y", "/graphiql/inbox"} {
		for _, accept := range []string{"br", "gzip", ""} {
			headers := map[string][]string{"Accept-Encoding": {accept}}
			want := request(h, http.MethodGet, "/graphiql/", headers)
			got := request(h, http.MethodGet, target, headers)
			if got.Code != http.StatusOK || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("GET %s (%q): %d, %d bytes; want index.html's %d bytes", target, accept, got.Code, got.Body.Len(), want.Body.Len())
			}
			for _, name := range []string{"ETag", "Content-Encoding", "Content-Type", "Cache-Control", "Vary", "Content-Security-Policy"} {
				if got.Header().Get(name) != want.Header().Get(name) {
					t.Errorf("GET %s (%q): %s %q, index.html has %q", target, accept, name, got.Header().Get(name), want.Header().Get(name))
				}
			}
		}
		revalidated := request(h, http.MethodGet, target, map[string][]string{"Accept-Encoding": {"br"}, "If-None-Match": {index.Header().Get("ETag")}})
		if revalidated.Code != http.StatusNotModified {
			t.Errorf("GET %s with index.html's ETag: %d, want 304", target, revalidated.Code)
		}
	}
	for _, target := range []string{"/graphiql/assets/missing-1a2b3c4d.js", "/graphiql/assets/deeper/route", "/graphiql/missing.png", "/graphiql/services/x/logo.svg"} {
		if rec := get(t, h, target); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404: a missing file is no view", target, rec.Code)
		}
	}
	if rec := get(t, Handler(compressedPage(t)), "/graphiql/services/x"); rec.Code != http.StatusNotFound {
		t.Errorf("a page without client routes, GET /graphiql/services/x: %d, want 404", rec.Code)
	}
}
