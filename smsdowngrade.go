package notifyql

import "strings"

//go:generate go run gen_smsdecomp.go

// SMS character downgrading (RENDERING.md §3.3, DOMAIN.md §10.2): what an SMS cannot carry
// becomes what it can. Constant strings rather than maps keep the tables free of
// package-level mutable state; they are short, so a linear scan is cheap.

// gsmBasicCharacters is the GSM 03.38 default alphabet, less the escape character.
const gsmBasicCharacters = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtensionCharacters each take two septets: an escape and the character.
const gsmExtensionCharacters = "^{}\\[]~|€"

// welshLetters are kept even where GSM-7 lacks them; one of those makes the message UCS-2.
const welshLetters = "àèìòùẁỳÀÈÌÒÙẀỲáéíóúẃýÁÉÍÓÚẂÝäëïöüẅÿÄËÏÖÜẄŸâêîôûŵŷÂÊÎÔÛŴŶ"

// keptInSMS is step 1 of §3.3: the characters an SMS carries as they are.
func keptInSMS(r rune) bool {
	return strings.ContainsRune(gsmBasicCharacters, r) ||
		strings.ContainsRune(gsmExtensionCharacters, r) ||
		strings.ContainsRune(welshLetters, r)
}

// isWelshOutsideGSM reports a kept letter that GSM-7 cannot encode.
func isWelshOutsideGSM(r rune) bool {
	return strings.ContainsRune(welshLetters, r) && !strings.ContainsRune(gsmBasicCharacters, r)
}

// CleanSMSText downgrades the characters an SMS cannot carry (§3.3), code point by code
// point: kept characters stay; otherwise one step of the canonical decomposition, when its
// first code point is kept (so accents go, but a compatibility form such as ™ is not read
// as letters); otherwise the table of dashes, quotes, spaces and Ł; otherwise "?".
func CleanSMSText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if keptInSMS(r) {
			b.WriteRune(r)
			continue
		}
		if first, ok := canonicalFirst(r); ok && keptInSMS(first) {
			b.WriteRune(first)
			continue
		}
		switch r {
		case '\u2011', '\u2013', '\u2014', '\u2212':
			b.WriteByte('-')
		case '\u2026':
			b.WriteString("...")
		case '\u2018', '\u2019', '\u201A':
			b.WriteByte('\'')
		case '\u201C', '\u201D', '\u201E':
			b.WriteByte('"')
		case '\u180E', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u2028', '\u2029':
			// deleted
		case '\u00A0', '\u202F', '\t':
			b.WriteByte(' ')
		case 'Ł':
			b.WriteByte('L')
		case 'ł':
			b.WriteByte('l')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
