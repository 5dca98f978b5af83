package notifyql

import (
	"fmt"
	"strings"
	"time"
)

// A templated letter's contact block and date line (RENDERING.md §5.3).

// letterContactBlock is the contact block printed from the notification's reply_to_text
// (F17: what was printed, not the template as it is now): the whole trimmed, CRLF made LF,
// each line trimmed, substituted in plain mode with inline lists, and spaces and tabs
// before "," or "." deleted. printed holds its lines with markers in plain form, for
// MessageContent.LetterContactBlock; lines holds them as runs, markers apart, for the
// typesetter. Blank lines stay; an empty result is no contact block (both nil).
func letterContactBlock(v Values, replyTo string) (printed []string, lines []LetterLine) {
	text := strings.TrimFunc(replyTo, isRenderSpace)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	rows := strings.Split(text, "\n")
	for i, row := range rows {
		rows[i] = strings.TrimFunc(row, isRenderSpace)
	}
	sub := v.Substitute(strings.Join(rows, "\n"), SubstituteMode{})
	sub.Text = deleteSpaceBeforePunctuation(sub.Text)
	if sub.Expand(sub.Text, false) == "" {
		return nil, nil
	}
	for _, row := range strings.Split(sub.Text, "\n") {
		printed = append(printed, sub.Expand(row, false))
		lines = append(lines, letterRuns(sub, row))
	}
	return printed, lines
}

// letterRuns splits a piece of substituted plain text into runs: text as written, and each
// marker in its plain form to be drawn on #FFDD00. A LiteralMarker is text: it is the
// character that was written, not a missing value.
func letterRuns(sub Substituted, s string) LetterLine {
	var line LetterLine
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			line = append(line, LetterRun{Text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		n, end, ok := markerAt(s, i)
		if !ok || n >= len(sub.Markers) {
			text.WriteByte(s[i])
			i++
			continue
		}
		m := sub.Markers[n]
		if m.Kind == LiteralMarker {
			text.WriteString(m.Plain())
		} else {
			flush()
			line = append(line, LetterRun{Text: m.Plain(), Marker: true})
		}
		i = end
	}
	flush()
	return line
}

// letterDate is the date line (§5.3): the London date of createdAt as "D Month YYYY", in
// Welsh for a letter's Welsh part. It loads London itself because content inputs carry no
// location; the error is the time zone data's only.
func letterDate(createdAt time.Time, welsh bool) (string, error) {
	london, err := LoadLondon()
	if err != nil {
		return "", err
	}
	return letterDateIn(createdAt, london, welsh), nil
}

// letterDateIn is letterDate with London already loaded.
func letterDateIn(createdAt time.Time, london *time.Location, welsh bool) string {
	d := LondonDate(createdAt, london)
	month := d.Month.String()
	if welsh {
		month = welshMonthName(d.Month)
	}
	return fmt.Sprintf("%d %s %d", d.Day, month, d.Year)
}

// welshMonthName is the Welsh name of a month, as a Welsh letter prints it.
func welshMonthName(m time.Month) string {
	const names = "Ionawr Chwefror Mawrth Ebrill Mai Mehefin Gorffennaf Awst Medi Hydref Tachwedd Rhagfyr"
	return strings.Fields(names)[m-1]
}
