package notifyql

import (
	"strconv"
	"strings"
)

// LetterAddressBlock builds a templated letter's address block (RENDERING.md §5.2) from the
// value texts of its seven slots: address line 1–6, then address line 7 if the
// personalisation has that key, else postcode (the caller picks). A nil slot is an absent
// or null value.
//
// printed are the lines as printed, which MessageContent.letterAddress serves: the
// normalised address when it has 3 to 7 lines, else the seven slots as they are, an absent
// one showing "address line N". drawn are the same lines upper-cased for the typesetter,
// the absent slots as marker runs; they are text, never markup (F15).
func LetterAddressBlock(slots [7]*string) (printed []string, drawn []LetterLine) {
	values := make([]string, len(slots))
	for i, v := range slots {
		if v != nil {
			values[i] = *v
		}
	}
	address := NormalisePostalAddress(strings.Join(values, "\n"), false)
	if n := len(address.Lines); n >= MinAddressLines && n <= MaxAddressLines {
		printed = address.Lines
		drawn = make([]LetterLine, len(printed))
		for i, line := range printed {
			drawn[i] = LetterLine{{Text: strings.ToUpper(line)}}
		}
		return printed, drawn
	}

	printed = make([]string, len(slots))
	drawn = make([]LetterLine, len(slots))
	for i, v := range slots {
		if v == nil {
			marker := Marker{Kind: AddressLineMarker, Name: "address line " + strconv.Itoa(i+1)}
			printed[i] = marker.Plain()
			drawn[i] = LetterLine{{Text: strings.ToUpper(marker.Plain()), Marker: true}}
			continue
		}
		printed[i] = *v
		// An empty value is an empty line: a line with no runs.
		if *v != "" {
			drawn[i] = LetterLine{{Text: strings.ToUpper(*v)}}
		} else {
			drawn[i] = LetterLine{}
		}
	}
	return printed, drawn
}
