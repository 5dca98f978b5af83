package notifyql

import (
	"reflect"
	"testing"
	"time"
)

func TestLetterContactBlock(t *testing.T) {
	for _, tt := range []struct {
		name, replyTo, personalisation string
		printed                        []string
		lines                          []LetterLine
	}{
		{name: "T26 empty", replyTo: ""},
		{name: "blank", replyTo: " \r\n \t"},
		{name: "empty after substitution", replyTo: "((a))", personalisation: `{"a": ""}`},
		{
			name:    "trimmed lines, CRLF, blank lines kept, spaces before punctuation",
			replyTo: "\n  Dept ,\r\n\r\n  1 High St .  \r\n Tel ((phone))\n",
			printed: []string{"Dept,", "", "1 High St.", "Tel ((phone))"},
			lines: []LetterLine{
				{{Text: "Dept,"}}, nil, {{Text: "1 High St."}},
				{{Text: "Tel "}, {Text: "((phone))", Marker: true}},
			},
		},
		{
			name:            "values inline, lists inline, HTML not read",
			replyTo:         "((team)) <b>&amp;\n((who??Ask for Jo)) ((n))",
			personalisation: `{"team": ["A", "B"], "who": "yes"}`,
			printed:         []string{"A and B <b>&amp;", "Ask for Jo ((n))"},
			lines: []LetterLine{
				{{Text: "A and B <b>&amp;"}},
				{{Text: "Ask for Jo "}, {Text: "((n))", Marker: true}},
			},
		},
		{
			name:    "a conditional's text is kept whole",
			replyTo: "x ((w??a ,b))",
			printed: []string{"x ((w??a ,b))"},
			lines:   []LetterLine{{{Text: "x "}, {Text: "((w??a ,b))", Marker: true}}},
		},
		{
			name:    "a literal marker character is text",
			replyTo: "a\uE000b",
			printed: []string{"a\uE000b"},
			lines:   []LetterLine{{{Text: "a\uE000b"}}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := mustValues(t, tt.personalisation, "", "", false)
			printed, lines := letterContactBlock(v, tt.replyTo)
			if !reflect.DeepEqual(printed, tt.printed) {
				t.Errorf("printed = %q, want %q", printed, tt.printed)
			}
			if !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("lines = %+v, want %+v", lines, tt.lines)
			}
		})
	}
}

func TestLetterDate(t *testing.T) {
	for _, tt := range []struct {
		at    string
		welsh bool
		want  string
	}{
		{"2025-03-30T23:30:00Z", false, "31 March 2025"},   // BST: already the 31st
		{"2025-01-31T23:30:00Z", false, "31 January 2025"}, // GMT
		{"2001-01-01T12:00:00Z", false, "1 January 2001"},  // T26
		{"2023-10-31T12:00:00Z", false, "31 October 2023"}, // T27, English part
		{"2023-10-31T12:00:00Z", true, "31 Hydref 2023"},   // T27, Welsh part
		{"2023-10-30T23:30:00Z", true, "30 Hydref 2023"},   // GMT again after the clocks went back
		{"2024-06-30T23:00:00Z", true, "1 Gorffennaf 2024"},
		{"2024-02-05T00:00:00Z", true, "5 Chwefror 2024"},
	} {
		at, err := time.Parse(time.RFC3339, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		got, err := letterDate(at, tt.welsh)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("letterDate(%s, welsh %v) = %q, want %q", tt.at, tt.welsh, got, tt.want)
		}
	}
	for m := time.January; m <= time.December; m++ {
		if welshMonthName(m) == "" {
			t.Errorf("no Welsh name for %s", m)
		}
	}
	if got := welshMonthName(time.December); got != "Rhagfyr" {
		t.Errorf("December = %q", got)
	}
}
