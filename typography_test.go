package notifyql

import "testing"

// Typography on one text (RENDERING.md §4.7).
func TestTypography(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"it's", "it’s"},
		{"the '90s", "the ‘90s"},
		{"in the 1990's", "in the 1990’s"},
		{`He said "hello"`, "He said “hello”"},
		{`He said, "'Quoted' words"`, "He said, “‘Quoted’ words”"},
		{`'"Hi," she said'`, "‘“Hi,” she said’"},
		{`"...", he said`, "”...”, he said"},
		{"'tis", "‘tis"},
		{"(\"a\")", "(“a”)"},
		{"-'a'", "-‘a’"},
		{"x&nbsp;'a'", "x&nbsp;‘a’"},
		{"x&ndash;\"a\"", "x&ndash;“a”"},
		{"x--'a'", "x--‘a’"},
		{"x—'a'", "x—‘a’"},
		{"a' 1", "a’ 1"},
		{"'1", "‘1"},
		{"Hello , world .", "Hello, world."},
		{"Hello\t\t,x", "Hello,x"},
		{"first.o’last@example.com and 'o'neil@x.org'", "first.o'last@example.com and 'o'neil@x.org'"},
		{"a - b", "a – b"},
		{"a -- b", "a – b"},
		{"a --- b", "a – b"},
		{"a — b", "a – b"},
		{"a  -\t b", "a – b"},
		{"a ---- b", "a ---- b"},
		{"a-b", "a-b"},
		{"a -b", "a -b"},
		{"- b", "- b"},
		{"a - - b", "a – - b"},
	} {
		if got := typography(tt.in); got != tt.want {
			t.Errorf("typography(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// In HTML, typography runs on each text node: tags are never touched, a link's text keeps
// its quotes, and a marker is a non-space character between nodes.
func TestTypographyNodes(t *testing.T) {
	for _, tt := range []struct{ content, personalisation, want string }{
		{`"((name))"`, "", tp + `“<span class="placeholder">&#40;&#40;name&#41;&#41;</span>”</p>`},
		{`((name))'s`, "", tp + `<span class="placeholder">&#40;&#40;name&#41;&#41;</span>’s</p>`},
		{`((name)) - x`, "", tp + `<span class="placeholder">&#40;&#40;name&#41;&#41;</span> – x</p>`},
		{`((name)) , x`, "", tp + `<span class="placeholder">&#40;&#40;name&#41;&#41;</span>, x</p>`},
		{`say "[it's](https://x.org/?a='b')"`, "", tp + `say “` + ta + ` href="https://x.org/?a=%27b%27">it's</a>”</p>`},
		{"'\n'", "", tp + "‘<br>’</p>"},
		{"a\n- b", "", tp + "a</p>" + tul + "<li>b</li></ul>"},
		{"((name))", `{"name": "\"quoted\""}`, tp + "“quoted”</p>"},
	} {
		if got := emailHTML(mustValues(t, tt.personalisation, "", "", false), tt.content); got != tt.want {
			t.Errorf("emailHTML(%q) =\n%q\nwant\n%q", tt.content, got, tt.want)
		}
	}
}

// The subject and letter title (RENDERING.md §4.1).
func TestSubjectLine(t *testing.T) {
	for _, tt := range []struct{ template, personalisation, want string }{
		{"Your  \"order\"\n is ready", "", "Your “order” is ready"},
		{"# Not a *heading* <b>", "", "# Not a *heading* <b>"},
		{" \u200bHi\u00a0 ((name)) ,\r\n ((items)) ", `{"name": "Jo", "items": ["a", "b", "c"]}`, "Hi Jo, a, b and c"},
		{"((missing)) - ((hidden??x))", "", "((missing)) – ((hidden??x))"},
		{"&amp; &lt;", "", "&amp; &lt;"},
	} {
		got, _, _ := subjectLine(mustValues(t, tt.personalisation, "", "", false), tt.template)
		if got != tt.want {
			t.Errorf("subjectLine(%q) = %q, want %q", tt.template, got, tt.want)
		}
	}
	redacted, _, _ := subjectLine(mustValues(t, `{"name": "Jo"}`, "email address", "a@b.org", true), "Hi ((name)) ((email address))")
	if want := "Hi [hidden] a@b.org"; redacted != want {
		t.Errorf("redacted subject = %q, want %q", redacted, want)
	}
}

// typography applies §4.7 to one text with no markers, as the pieces of a text get it.
func typography(s string) string {
	return typographyText(s, 0, 0, true)
}
