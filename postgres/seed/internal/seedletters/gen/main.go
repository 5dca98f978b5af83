// Command gen writes the uploaded letters of package seedletters. Run it from that
// package's directory (go generate does): it overwrites the PDFs there. The output is
// byte-for-byte repeatable, so a regenerated file differs only when this program does.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"notifyql/postgres/seed/internal/seedletters"
)

func main() {
	for _, l := range seedletters.Letters {
		pdf, err := Build(l)
		if err != nil {
			log.Fatalf("%s: %v", l.File, err)
		}
		if err := os.WriteFile(l.File, pdf, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d pages, %d bytes\n", l.File, l.Pages, len(pdf))
	}
}

// fixedTime stands in for the clock in the file's dates, so that output repeats.
var fixedTime = time.Date(2025, time.January, 6, 9, 0, 0, 0, time.UTC)

// body is a plausible council letter, repeated over the pages.
var body = []string{
	"We are writing about your Council Tax account for the year from 1 April.",
	"Our records show that the instalment due on 1 November has not been paid.",
	"Please pay the amount shown below within 14 days of the date of this letter.",
	"",
	"Amount due: 148.00",
	"Account reference: 40012345",
	"",
	"You can pay online, by phone on 0300 123 4567, or at any Post Office.",
	"If you have already paid, thank you, and please ignore this letter.",
	"If you are having difficulty paying, contact us as soon as possible:",
	"we can help you spread the cost or check whether you can get a discount.",
}

// Build draws one letter. Positions are millimetres from the top-left of the page, with
// the zones of RENDERING.md §6.2 in mind: the address in the window (x 24.6-120,
// y 39.5-66.3), the contact block and date in the contact column (x 125-195), the body
// below y 95 on page 1 and inside the printable area (x 15-195, y 5-292) elsewhere.
func Build(l seedletters.Letter) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(fixedTime)
	pdf.SetModificationDate(fixedTime)
	pdf.SetProducer("notifyql seed letters", false)
	pdf.SetAutoPageBreak(false, 0)
	for page := 1; page <= l.Pages; page++ {
		width := 210.0
		if slices.Contains(l.Landscape, page) {
			pdf.AddPageFormat("L", fpdf.SizeType{Wd: 210, Ht: 297})
			width = 297
		} else {
			pdf.AddPage()
		}
		top := 20.0
		if page == 1 {
			drawFirstPage(pdf, l)
			top = 112
		}
		pdf.SetFont("Helvetica", "", 11)
		y := top
		for _, line := range body {
			pdf.Text(20, y, line)
			y += 6
		}
		if slices.Contains(l.Margins, page) {
			// A reference printed down the left edge, where the printer's rollers are.
			pdf.SetFont("Helvetica", "", 8)
			pdf.Text(3, 150, "REF 40012345")
			pdf.Text(3, 295, "Printed by Example Print Ltd")
		}
		pdf.SetFont("Helvetica", "", 9)
		footer := fmt.Sprintf("Page %d of %d", page, l.Pages)
		pdf.Text(width-15-pdf.GetStringWidth(footer), 288, footer)
	}
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func drawFirstPage(pdf *fpdf.Fpdf, l seedletters.Letter) {
	if l.Tagged {
		// The NOTIFY tag the pipeline stamps on a sanitised file (RENDERING.md §6.1).
		pdf.SetFont("Helvetica", "", 6)
		pdf.Text(1.8, 3.5, "NOTIFY")
	}
	pdf.SetFont("Helvetica", "B", 14)
	pdf.Text(20, 20, "Exampleshire County Council")
	pdf.SetFont("Helvetica", "", 9)
	for i, line := range l.Address {
		pdf.Text(27, 44+float64(i)*3.6, line)
	}
	for i, line := range []string{"Council Tax Office", "PO Box 123", "Exampleton", "EX1 1AA", "0300 123 4567"} {
		pdf.Text(130, 44+float64(i)*4.5, line)
	}
	pdf.Text(130, 80, "6 January 2025")
	pdf.SetFont("Helvetica", "B", 13)
	pdf.Text(20, 103, "Council Tax reminder")
}
