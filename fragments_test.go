package notifyql

import (
	"strings"
	"testing"
)

func TestSMSFragments(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		want    int
	}{
		{"160 plain characters", strings.Repeat("a", 160), 1},
		{"161 plain characters", strings.Repeat("a", 161), 2},
		{"306 plain characters", strings.Repeat("a", 306), 2},
		{"307 plain characters", strings.Repeat("a", 307), 3},
		{"150 characters including 6 € count 156", strings.Repeat("€", 6) + strings.Repeat("a", 144), 1},
		{"157 characters including 4 € count 161", strings.Repeat("€", 4) + strings.Repeat("a", 153), 2},
		{"every extension character counts twice", strings.Repeat("^{}\\[]~|€", 9) + strings.Repeat("a", 0), 2}, // 81 chars, 162 septets
		{"71 characters with ŵ", "ŵ" + strings.Repeat("a", 70), 2},
		{"70 characters with ŵ", "ŵ" + strings.Repeat("a", 69), 1},
		{"134 characters with ŷ", "ŷ" + strings.Repeat("a", 133), 2},
		{"135 characters with Ŵ", "Ŵ" + strings.Repeat("a", 134), 3},
		{"GSM accented letters stay GSM-7", strings.Repeat("é", 160), 1},
		{"downgraded letters stay GSM-7", strings.Repeat("ł", 160), 1},
		{"an emoji becomes ? and stays GSM-7", "😀" + strings.Repeat("a", 159), 1},
		{"an ellipsis counts as three characters", "…" + strings.Repeat("a", 158), 2},
		{"zero-width characters do not count", strings.Repeat("a", 160) + "\u200B\uFEFF", 1},
		{"a kept Welsh û makes it UCS-2", "coûte" + strings.Repeat("a", 66), 2},
		{"empty", "", 1},
	} {
		if got := SMSFragments(tt.content); got != tt.want {
			t.Errorf("%s: SMSFragments = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCleanSMSText(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"Hello, world!", "Hello, world!"},
		{"Ça coûte €5 @ £3 {ok} [x] ~|^\\", "Ça coûte €5 @ £3 {ok} [x] ~|^\\"},
		{"Bore da, ŵyr! Mae’n “wych” – iawn — …", "Bore da, ŵyr! Mae'n \"wych\" - iawn - ..."},
		{"Łódź", "Lódz"}, // ó is Welsh, kept,
		{"a\u00A0b\u202Fc\td", "a b c d"},
		{"zero\u200Bwidth\u200C\u200D\u2060\uFEFF", "zerowidth"},
		{"café naïve Ångström", "café naïve Ångström"},
		{"ĉu ĝi ŝanĝiĝas", "cu gi sangigas"},
		{"emoji 😀 and 中文", "emoji ? and ??"},
		{"line\nbreak\r\n", "line\nbreak\r\n"},
	} {
		if got := CleanSMSText(tt.in); got != tt.want {
			t.Errorf("CleanSMSText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
