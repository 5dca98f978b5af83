package notifyql

import (
	"strings"
	"unicode/utf16"
)

// SMS length rules (DOMAIN.md §10.2). Constant strings rather than maps keep the tables free
// of package-level mutable state; the strings are short, so a linear scan is cheap.

// gsmBasicCharacters is the GSM 03.38 default alphabet, less the escape character.
const gsmBasicCharacters = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtensionCharacters each take two septets: an escape and the character.
const gsmExtensionCharacters = "^{}\\[]~|€"

// welshNonGSMCharacters are the Welsh accented letters GSM-7 cannot carry; keeping one
// makes the whole message UCS-2.
const welshNonGSMCharacters = "ẁỳÀÈÌÒÙẀỲáíóúẃýÁÍÓÚẂÝëïẅÿËÏẄŸâêîôûŵŷÂÊÎÔÛŴŶ"

// accentedLetters and their baseLetters, position by position: the downgrade of accented
// letters that are neither GSM-7 nor Welsh (Latin-1 and Latin Extended-A).
const (
	accentedLetters = "ÃĀĂĄãāăąĆĈĊČćĉċčĎĐďđĒĔĖĘĚëēĕėęěĜĞĠĢĝğġģĤĦĥħĨĪĬĮİĩīĭįıĴĵĶķĹĻĽĿĺļľŀŃŅŇńņňŉÕŌŎŐõōŏőŔŖŘŕŗřŚŜŞŠśŝşšŢŤŦţťŧŨŪŬŮŰŲũūŭůűųŹŻŽźżžÐðÞþýÿçÙÚÛÝŸ"
	baseLetters     = "AAAAaaaaCCCCccccDDddEEEEEeeeeeeGGGGggggHHhhIIIIIiiiiiJjKkLLLLllllNNNnnnnOOOOooooRRRrrrSSSSssssTTTtttUUUUUUuuuuuuZZZzzzDdTtyycUUUYY"
)

// downgradeAccented returns the base letter of an accented letter, if it is one.
func downgradeAccented(r rune) (rune, bool) {
	base := []rune(baseLetters)
	for i, a := range []rune(accentedLetters) {
		if a == r {
			return base[i], true
		}
	}
	return 0, false
}

// CleanSMSText downgrades the characters an SMS cannot carry (DOMAIN.md §10.2): GSM-7, its
// extension table and Welsh letters are kept; other accented letters lose their accent;
// dashes become "-", curly quotes straight ones, "…" becomes "..."; zero-width characters
// go; NBSP, narrow NBSP and TAB become a space; Ł/ł become L/l; anything else becomes "?".
func CleanSMSText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasicCharacters, r),
			strings.ContainsRune(gsmExtensionCharacters, r),
			strings.ContainsRune(welshNonGSMCharacters, r):
			b.WriteRune(r)
		case strings.ContainsRune("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uFE58\uFE63\uFF0D", r):
			b.WriteByte('-')
		case strings.ContainsRune("\u2018\u2019\u201A\u201B\u2032", r):
			b.WriteByte('\'')
		case strings.ContainsRune("\u201C\u201D\u201E\u201F\u2033", r):
			b.WriteByte('"')
		case r == '\u2026':
			b.WriteString("...")
		case strings.ContainsRune("\u200B\u200C\u200D\u2060\uFEFF\u180E\u2028\u2029", r):
			// zero-width: removed
		case r == '\u00A0', r == '\u202F', r == '\t':
			b.WriteByte(' ')
		case r == 'Ł':
			b.WriteByte('L')
		case r == 'ł':
			b.WriteByte('l')
		default:
			if base, ok := downgradeAccented(r); ok {
				b.WriteRune(base)
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// SMSFragments is the billable_units of a text message: its cleaned content is UCS-2 when a
// Welsh letter outside GSM-7 remains (70 UTF-16 units in one fragment, otherwise 67 each),
// and GSM-7 otherwise (160 septets in one fragment, otherwise 153 each, extension characters
// counting twice). content is the final text, service name prefix included.
func SMSFragments(content string) int {
	cleaned := CleanSMSText(content)
	if strings.ContainsAny(cleaned, welshNonGSMCharacters) {
		return fragmentsOf(len(utf16.Encode([]rune(cleaned))), 70, 67)
	}
	septets := 0
	for _, r := range cleaned {
		septets++
		if strings.ContainsRune(gsmExtensionCharacters, r) {
			septets++
		}
	}
	return fragmentsOf(septets, 160, 153)
}

// fragmentsOf is 1 when length fits in a single message, otherwise ⌈length/perPart⌉.
func fragmentsOf(length, single, perPart int) int {
	if length <= single {
		return 1
	}
	return (length + perPart - 1) / perPart
}
