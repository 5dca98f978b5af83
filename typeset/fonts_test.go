package typeset

import (
	"os"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-fonts/liberation/liberationsansbold"
	"github.com/go-fonts/liberation/liberationsansregular"
)

// The characters a message keeps (RENDERING.md §3.3): the GSM 03.38 basic set (less its
// control characters LF and CR, which a letter never draws), its extension set and the Welsh
// letters. Copied here, not shared, so the test states what it checks.
const (
	gsmBasic     = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "^{}\\[]~|€"
	welshLetters = "àèìòùẁỳÀÈÌÒÙẀỲáéíóúẃýÁÉÍÓÚẂÝäëïöüẅÿÄËÏÖÜẄŸâêîôûŵŷÂÊÎÔÛŴŶ"
)

func TestFontsHaveAGlyphForEveryKeptCharacter(t *testing.T) {
	fs := mustNew(t).fonts
	for _, r := range gsmBasic + gsmExtension + welshLetters {
		if !fs.regular.hasGlyph(r) {
			t.Errorf("Liberation Sans regular has no glyph for %q (U+%04X)", r, r)
		}
		if !fs.bold.hasGlyph(r) {
			t.Errorf("Liberation Sans bold has no glyph for %q (U+%04X)", r, r)
		}
		if fs.drawable(r) != r {
			t.Errorf("%q is drawn as %q", r, fs.drawable(r))
		}
	}
}

func TestRunesWithoutAGlyphAreDrawnAsQuestionMarks(t *testing.T) {
	fs := mustNew(t).fonts
	for _, r := range []rune{0, 0x7, 0x10000, 0x1F62C, 0xFFFF, 0xE000} {
		if got := fs.drawable(r); got != '?' {
			t.Errorf("drawable(U+%04X) = %q, want '?'", r, got)
		}
	}
}

// The layout measures text with its own table; it must agree with what fpdf draws, or lines
// would overrun the column and the footer would not end at x 195.
func TestWidthsAgreeWithFpdf(t *testing.T) {
	fs := mustNew(t).fonts
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(fontFamily, "", liberationsansregular.TTF)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", liberationsansbold.TTF)
	samples := []string{"Page 10 of 11", "Tudalen 3 o 3", "ŵŷ ẅ Ÿ €{}[]", gsmBasic, "WWW iii ... ‘quoted’ – dash"}
	for _, bold := range []bool{false, true} {
		style := ""
		if bold {
			style = "B"
		}
		for _, size := range []float64{8, 10, 12.5, 14, 20} {
			pdf.SetFont(fontFamily, style, size)
			for _, s := range samples {
				got, want := fs.face(bold).width(s, size), pdf.GetStringWidth(s)
				if d := got - want; d > 1e-9 || d < -1e-9 {
					t.Errorf("bold %v size %v %q: width %v, fpdf %v", bold, size, s, got, want)
				}
			}
		}
	}
	if err := pdf.Error(); err != nil {
		t.Fatal(err)
	}
}

// The fonts' licence asks that its notice travel with them.
func TestFontLicenceIsBesideTheFonts(t *testing.T) {
	b, err := os.ReadFile("LICENSE-LiberationSans.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "SIL OPEN FONT LICENSE Version 1.1") || !strings.Contains(string(b), "Liberation") {
		t.Error("LICENSE-LiberationSans.txt is not the SIL Open Font License of Liberation")
	}
}

// width is the advance of s at size points, in millimetres. s holds only drawable runes.
func (fm *faceMetrics) width(s string, size float64) float64 {
	total := 0
	for _, r := range s {
		if fm.hasGlyph(r) {
			total += int(fm.widths[r])
		}
	}
	return float64(total) * size * ptToMM / 1000
}
