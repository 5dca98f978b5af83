package notifyql

import (
	"strings"
	"unicode/utf16"
)

// SMSFragments is the billable_units of a text message (DOMAIN.md §10.2): its text
// downgraded by CleanSMSText is UCS-2 when a Welsh letter outside GSM-7 remains (70 UTF-16
// units in one fragment, otherwise 67 each), and GSM-7 otherwise (160 septets in one
// fragment, otherwise 153 each, extension characters counting twice). content is the final
// text, service name prefix included.
func SMSFragments(content string) int {
	cleaned := CleanSMSText(content)
	if strings.IndexFunc(cleaned, isWelshOutsideGSM) >= 0 {
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
