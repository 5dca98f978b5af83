package notifyql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLetterAddressBlock(t *testing.T) {
	s := func(v string) *string { return &v }
	text := func(v string) LetterLine { return LetterLine{{Text: v}} }
	marker := func(v string) LetterLine { return LetterLine{{Text: v, Marker: true}} }
	tests := []struct {
		name        string
		slots       [7]*string
		wantPrinted []string
		wantDrawn   []LetterLine
	}{
		{"T26: normalised, drawn upper-cased",
			[7]*string{s("name"), s("street"), nil, nil, nil, nil, s("SW1 1AA")},
			[]string{"name", "street", "SW1 1AA"},
			[]LetterLine{text("NAME"), text("STREET"), text("SW1 1AA")}},
		{"normalisation formats the postcode and adds the country",
			[7]*string{s(" 1  Rue  "), s(""), s("Paris,"), nil, nil, nil, s("france")},
			[]string{"1 Rue", "Paris", "France"},
			[]LetterLine{text("1 RUE"), text("PARIS"), text("FRANCE")}},
		{"too few lines: the seven slots as they are, markers for absent ones",
			[7]*string{s("Jo Bloggs"), s(""), nil, nil, nil, nil, s("sw1a1aa")},
			[]string{"Jo Bloggs", "", "address line 3", "address line 4", "address line 5", "address line 6", "sw1a1aa"},
			[]LetterLine{text("JO BLOGGS"), {}, marker("ADDRESS LINE 3"), marker("ADDRESS LINE 4"),
				marker("ADDRESS LINE 5"), marker("ADDRESS LINE 6"), text("SW1A1AA")}},
		{"no values at all",
			[7]*string{},
			[]string{"address line 1", "address line 2", "address line 3", "address line 4", "address line 5", "address line 6", "address line 7"},
			[]LetterLine{marker("ADDRESS LINE 1"), marker("ADDRESS LINE 2"), marker("ADDRESS LINE 3"), marker("ADDRESS LINE 4"),
				marker("ADDRESS LINE 5"), marker("ADDRESS LINE 6"), marker("ADDRESS LINE 7")}},
		{"too many lines: values with line breaks make eight",
			[7]*string{s("a\nb"), s("c"), s("d"), s("e"), s("f"), s("g"), s("SW1A 1AA")},
			[]string{"a\nb", "c", "d", "e", "f", "g", "SW1A 1AA"},
			[]LetterLine{text("A\nB"), text("C"), text("D"), text("E"), text("F"), text("G"), text("SW1A 1AA")}},
		{"markup is text",
			[7]*string{s("<b>Jo</b>"), s("1 Road"), s("((town))"), nil, nil, nil, s("SW1A 1AA")},
			[]string{"<b>Jo</b>", "1 Road", "((town))", "SW1A 1AA"},
			[]LetterLine{text("<B>JO</B>"), text("1 ROAD"), text("((TOWN))"), text("SW1A 1AA")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			printed, drawn := LetterAddressBlock(tt.slots)
			if diff := cmp.Diff(tt.wantPrinted, printed); diff != "" {
				t.Errorf("printed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDrawn, drawn); diff != "" {
				t.Errorf("drawn (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzLetterAddressBlock(f *testing.F) {
	f.Add("name", "street", "", "", "", "", "SW1 1AA", uint8(0b0111100))
	f.Add("a\nb\nc\nd", "e\nf", "g", "h", "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, v1, v2, v3, v4, v5, v6, v7 string, absent uint8) {
		var slots [7]*string
		for i, v := range []string{v1, v2, v3, v4, v5, v6, v7} {
			if absent&(1<<i) == 0 {
				slots[i] = &v
			}
		}
		printed, drawn := LetterAddressBlock(slots)
		if len(printed) < MinAddressLines || len(printed) > MaxAddressLines || len(drawn) != len(printed) {
			t.Fatalf("%d printed and %d drawn lines", len(printed), len(drawn))
		}
		for i, line := range drawn {
			var text strings.Builder
			for _, run := range line {
				text.WriteString(run.Text)
			}
			if text.String() != strings.ToUpper(printed[i]) {
				t.Fatalf("line %d is drawn %q, printed %q", i+1, text.String(), printed[i])
			}
		}
	})
}
