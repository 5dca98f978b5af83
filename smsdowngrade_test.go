package notifyql

import "testing"

func TestCleanSMSTextDowngrading(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// T10
		{"Łōdź", "Lodz"},
		{"It Just Works™", "It Just Works?"},
		{"–", "-"},
		{"…", "..."},
		{"a\u200Bb", "ab"},
		{"😬", "?"},
		{"ç", "c"},
		{"â Ŷ €", "â Ŷ €"},
		// one canonical step only: ǖ is ü plus a macron, and ü is GSM-7
		{"ǖ", "ü"},
		// a singleton decomposition: the Ångström sign is Å, the Ohm sign Ω
		{"\u212B\u2126", "ÅΩ"},
		// compatibility mappings do not count: ﬁ, ² and the fullwidth A become ?
		{"ﬁ²Ａ", "???"},
		// the table: non-breaking hyphen, minus, low quotes, separators, spaces
		{"\u2011\u2212‚„\u2028\u2029\u00A0\u202F\t\u180E\uFEFF", "--'\"   "},
		// not in the table: the plain hyphen U+2010 and reversed quotes
		{"\u2010\u201B", "??"},
		// Hangul syllables decompose by algorithm into jamo, which are not kept
		{"한", "?"},
		{"Ẃŵ ẅ", "Ẃŵ ẅ"},
	} {
		if got := CleanSMSText(tt.in); got != tt.want {
			t.Errorf("CleanSMSText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalFirst(t *testing.T) {
	for _, tt := range []struct {
		r, want rune
		ok      bool
	}{
		{'ç', 'c', true},
		{'Ǖ', 'Ü', true},
		{'\u212B', 'Å', true},
		{'\uF900', '\u8C48', true},
		{'™', 0, false},
		{'a', 0, false},
		{'한', 0, false},
	} {
		if got, ok := canonicalFirst(tt.r); got != tt.want || ok != tt.ok {
			t.Errorf("canonicalFirst(%q) = %q, %v; want %q, %v", tt.r, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWelshOutsideGSMAreTheUCS2Letters(t *testing.T) {
	// The letters that make a message UCS-2 are the kept Welsh letters GSM-7 lacks.
	const want = "ẁỳÀÈÌÒÙẀỲáíóúẃýÁÍÓÚẂÝëïẅÿËÏẄŸâêîôûŵŷÂÊÎÔÛŴŶ"
	got := ""
	for _, r := range welshLetters {
		if isWelshOutsideGSM(r) {
			got += string(r)
		}
	}
	if got != want {
		t.Errorf("Welsh letters outside GSM-7 = %q, want %q", got, want)
	}
}
