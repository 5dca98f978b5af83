package pdfium

import (
	"errors"
	"testing"
	"time"

	"notifyql"
)

// FuzzOpen feeds any bytes to Open and, when they open, to every method: nothing panics,
// and a refusal wraps notifyql.ErrUnreadablePDF. The seeds are the hostile corpus and a few
// good files.
func FuzzOpen(f *testing.F) {
	for _, data := range readCorpus(f) {
		f.Add(data)
	}
	f.Add(makePDF(testPage{content: text("Hello World", 30, 50, 12)}))
	f.Add(makePDF(testPage{rotate: 90, box: [4]float64{0, 0, a4H, a4W}}, testPage{inherit: true}))
	f.Add(encryptedPDF(""))
	r := reader(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := exercise(r, data, 5*time.Second); err != nil && !errors.Is(err, notifyql.ErrUnreadablePDF) {
			t.Fatalf("open: %v, not ErrUnreadablePDF", err)
		}
	})
}
