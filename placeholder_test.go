package notifyql

import (
	"strings"
	"testing"
)

// mustValues builds values for a test; personalisation is JSON text.
func mustValues(t testing.TB, personalisation, recipientKey, recipient string, redacted bool) Values {
	t.Helper()
	v, err := NewValues([]byte(personalisation), recipientKey, recipient, redacted)
	if err != nil {
		t.Fatalf("NewValues(%q): %v", personalisation, err)
	}
	return v
}

var (
	plainInline = SubstituteMode{}
	htmlInline  = SubstituteMode{HTML: true}
	plainLists  = SubstituteMode{Lists: true}
)

func TestSubstitute(t *testing.T) {
	for _, tt := range []struct {
		name            string
		template        string
		personalisation string
		redacted        bool
		mode            SubstituteMode
		want            string
	}{
		{"T1 plain", "the quick ((colour)) fox", `{"colour": "brown"}`, false, plainInline, "the quick brown fox"},
		{"T1 html", "the quick ((colour)) fox", `{"colour": "brown"}`, false, htmlInline, "the quick brown fox"},
		{"T2 html", "the quick ((colour)) fox", `{"colour": "<script>alert('foo')</script>"}`, false, htmlInline,
			"the quick &lt;script&gt;alert('foo')&lt;/script&gt; fox"},
		{"T2 plain", "the quick ((colour)) fox", `{"colour": "<script>alert('foo')</script>"}`, false, plainInline,
			"the quick <script>alert('foo')</script> fox"},
		{"T3 true", "((warning??foo??bar))", `{"warning": true}`, false, plainInline, "foo??bar"},
		{"T3 false", "((warning??foo??bar))", `{"warning": false}`, false, plainInline, ""},
		{"T4", "((show_thing??thing)) ((colour))", `{"colour": "red"}`, false, htmlInline,
			`<span class="placeholder-conditional">&#40;&#40;show_thing??</span>thing&#41;&#41; red`},
		{"T5 missing", "((foo)) ((foo??bar))", ``, false, plainInline, "((foo)) ((foo??bar))"},
		{"T5 redacted", "((foo)) ((foo??bar))", ``, true, plainInline, "[hidden] [hidden]"},
		{"T5 redacted with values", "((foo)) ((foo??bar))", `{"foo": "yes"}`, true, plainInline, "[hidden] [hidden]"},
		{"T6", "&lsqb; &rsqb; &lpar; &rpar; &ast; &sol; &num; &amp; &nbsp; &Hat;", ``, false, htmlInline,
			"[ ] ( ) * / # &amp; &nbsp; ^"},
		{"T7 timestamp", "&timestamp=&times;", ``, false, htmlInline, "&amp;timestamp=×"},
		{"T7 microg", "200&microg", ``, false, htmlInline, "200&amp;microg"},
		{"T7 unknown", "This &isnotarealentity;", ``, false, htmlInline, "This &amp;isnotarealentity;"},
		{"T7 known prefix of an unknown name", "&timesx; &ampx;", ``, false, htmlInline, "&amp;timesx; &amp;ampx;"},
		{"numeric references", "&#60;&#x3E;&#X41;&#38;amp;", ``, false, htmlInline, "&lt;&gt;A&amp;amp;"},
		{"plain mode decodes nothing", "&lt;((a))&amp;", `{"a": "&gt;"}`, false, plainInline, "&lt;&gt;&amp;"},
		{"T23 name with an ampersand", "with (( this&that )) HTML <>.", `{"this&that": "some very lovely &"}`, false, htmlInline,
			"with some very lovely &amp; HTML &lt;&gt;."},
		{"entities in values are decoded then escaped", "((v))", `{"v": "&lt;b&gt;"}`, false, htmlInline, "&lt;b&gt;"},
		{"name matching", "((First Name)) ((FIRST-NAME)) ((firstname)) ((first_name))", `{"first_name": "Jo"}`, false, plainInline, "Jo Jo Jo Jo"},
		{"tabs are not deleted", "((first\tname))", `{"firstname": "Jo"}`, false, plainInline, "((first\tname))"},
		{"first key in byte order wins", "((a b))", `{"a_b": "second", "A B": "first", "ab": "third"}`, false, plainInline, "first"},
		{"name with a reference", "((a&#95;b))", `{"ab": "x"}`, false, plainInline, "x"},
		{"name with &amp;", "((a&amp;b)) ((c&nbsp;d))", `{"A&B": "x", "c d": "y"}`, false, plainInline, "x ((c&nbsp;d))"},
		{"objects are not HTML-escaped", "((o))", `{"o": {"k": "<v> & \u00e9"}}`, false, plainInline, `{"k":"<v> & \u00e9"}`},
		{"surplus brackets", "(((foo))) ((bar) (())", `{"foo": "x"}`, false, plainInline, "(x) ((bar) (())"},
		{"unterminated", "((foo", `{"foo": "x"}`, false, plainInline, "((foo"},
		{"spans lines", "((fo\no))", `{"fo\no": "x"}`, false, plainInline, "x"},
		{"values are not scanned again", "((a))", `{"a": "((b))", "b": "no"}`, false, plainInline, "((b))"},
		{"lone ? is a name character", "((a?))", `{"a?": "x"}`, false, plainInline, "x"},
		{"number as stored", "((n)) ((m))", `{"n": 1.50, "m": 1e3}`, false, plainInline, "1.50 1e3"},
		{"booleans and objects as JSON (F19)", "((t)) ((o))", `{"t": true, "o": {"k": "v", "n": [1, 2]}}`, false, plainInline, `true {"k":"v","n":[1,2]}`},
		{"null is missing", "((n))", `{"n": null}`, false, plainInline, "((n))"},
		{"empty string", "a((e))b", `{"e": ""}`, false, plainInline, "ab"},
		{"whitespace kept", "a((e))b", `{"e": "  "}`, false, plainInline, "a  b"},
		{"inline list of one", "((l))", `{"l": ["a"]}`, false, plainInline, "a"},
		{"inline list of two", "((l))", `{"l": ["a", "b"]}`, false, plainInline, "a and b"},
		{"inline list of three", "((l))", `{"l": [" a\u200b", null, "", 2, ["x", 1], {"k": 1}]}`, false, plainInline, `a, 2, ["x",1] and {"k":1}`},
		{"empty list", "[((l))]", `{"l": [null, " "]}`, false, plainInline, "[]"},
		{"list mode", "((l))", `{"l": ["a", "b"]}`, false, plainLists, "\n\n* a\n* b"},
		{"conditional words", "((a??A))((b??B))((c??C))((d??D))((e??E))((f??F))((g??G))", `{"a": "Yes", "b": 1, "c": "SHOW", "d": " yes", "e": [1], "f": {"y": 1}, "g": "include"}`, false, plainInline, "ABCG"},
		{"conditional text is template text", "((a??<b>&lt;))", `{"a": "y"}`, false, htmlInline, "&lt;b&gt;&lt;"},
		{"missing conditional escaped", "((a<??<))", ``, false, htmlInline, `<span class="placeholder-conditional">&#40;&#40;a&lt;??</span>&lt;&#41;&#41;`},
		{"redacted html", "((a))", ``, true, htmlInline, `<span class="placeholder-redacted">hidden</span>`},
		{"forged marker", "\uE0000\uE001((v))", `{"v": "\uE000"}`, false, htmlInline, "\uE0000\uE001\uE000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := mustValues(t, tt.personalisation, "", "", tt.redacted)
			sub := v.Substitute(tt.template, tt.mode)
			if got := sub.Expand(sub.Text, tt.mode.HTML); got != tt.want {
				t.Errorf("Substitute(%q) = %q, want %q", tt.template, got, tt.want)
			}
		})
	}
}

func TestSubstituteRecipientEntry(t *testing.T) {
	v := mustValues(t, `{"Phone_Number": "07700 900000", "name": "Jo"}`, "phone number", "07700 900123", true)
	sub := v.Substitute("((phone number)) ((PHONENUMBER??yes)) ((name))", plainInline)
	if got, want := sub.Expand(sub.Text, false), "07700 900123  [hidden]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, ok := v.Text("name", false); ok {
		t.Errorf("a redacted value has text")
	}
	plain := mustValues(t, `{"email_address": "old@example.com"}`, "email address", "new@example.com", false)
	if got, ok := plain.Text("Email Address", false); !ok || got != "new@example.com" {
		t.Errorf("Text(email address) = %q, %v; want the recipient", got, ok)
	}
}

func TestValuesHas(t *testing.T) {
	v := mustValues(t, `{"address_line_7": null, "postcode": "SW1A 1AA"}`, "", "", false)
	if !v.Has("address line 7") || v.Has("address line 6") {
		t.Errorf("Has: a null key exists, an absent one does not")
	}
	if text, ok := v.Text("address line 7", false); ok || text != "" {
		t.Errorf("Text of a null value = %q, %v", text, ok)
	}
}

func TestSubstituteMarkers(t *testing.T) {
	v := mustValues(t, ``, "", "", false)
	sub := v.Substitute("a ((b)) ((c??d))", htmlInline)
	if sub.Text != "a \uE0000\uE001 \uE0001\uE001" {
		t.Errorf("Text = %q", sub.Text)
	}
	want := []Marker{{Kind: MissingMarker, Name: "b"}, {Kind: MissingConditionalMarker, Name: "c", Text: "d"}}
	if len(sub.Markers) != 2 || sub.Markers[0] != want[0] || sub.Markers[1] != want[1] {
		t.Errorf("Markers = %+v, want %+v", sub.Markers, want)
	}
}

func TestNewValuesRefusesWithoutQuotingTheText(t *testing.T) {
	for _, p := range []string{`["secret"]`, `{"a": secret}`, `{"a": 1} {}`, `"secret"`} {
		_, err := NewValues([]byte(p), "", "", false)
		if err == nil {
			t.Errorf("NewValues(%q) accepted it", p)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("NewValues(%q) error %q quotes the text", p, err)
		}
	}
	if _, err := NewValues([]byte(" null "), "", "", false); err != nil {
		t.Errorf("NewValues(null): %v", err)
	}
}

func TestDecodeReferences(t *testing.T) {
	for in, want := range map[string]string{
		"&amp;lt; &nbsp;x &lt;b&gt; &timestamp=&times; &isnot; &#x41;": "&lt; \u00a0x <b> &timestamp=× &isnot; A",
		"no references":  "no references",
		"&semi; &#;":     "; &#;",
		"&#99999999999;": "\uFFFD",
	} {
		if got := DecodeReferences(in); got != want {
			t.Errorf("DecodeReferences(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinkHref(t *testing.T) {
	for in, want := range map[string]string{
		"tel:+441234":                      "tel:%2B441234",
		"www.example.com/xyz":              "http://www.example.com/xyz",
		"javascript:alert(1)":              "http://javascript:alert%281%29",
		"HTTPS://x.org/a?b=c&amp;d#e":      "HTTPS://x.org/a?b=c&amp;d#e",
		`https://example.com/"onclick="a'`: "https://example.com/%22onclick=%22a%27",
		"mailto:a@b.c":                     "mailto:a%40b.c",
		"https://example.com/ü %":          "https://example.com/%C3%BC%20%",
	} {
		if got := LinkHref(in); got != want {
			t.Errorf("LinkHref(%q) = %q, want %q", in, got, want)
		}
	}
}
