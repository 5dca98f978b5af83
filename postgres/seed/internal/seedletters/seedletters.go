// Package seedletters holds the uploaded letters the seeds store in letter_files
// (RENDERING.md §1.4): small real PDFs, valid ones as the sending pipeline keeps them after
// sanitising and invalid ones as they were received, each with the facts the seeds record
// about it. The PDFs are made once by ./gen (codeberg.org/go-pdf/fpdf) and committed, so
// seeding reads bytes rather than typesetting thousands of letters, and the seeding binary
// does not depend on a PDF library.
package seedletters

import (
	"embed"
	"fmt"
)

//go:generate go run ./gen

//go:embed *.pdf
var files embed.FS

// Letter describes one uploaded letter file.
type Letter struct {
	// File is the file's name in this package.
	File string
	// Address is what the address window holds, one entry a line; empty for none.
	Address []string
	Pages   int
	// Landscape are the pages drawn 297 × 210 mm (no /Rotate): not A4 portrait.
	Landscape []int
	// Margins are the pages with text outside the printable area.
	Margins []int
	// Tagged says page 1 carries the NOTIFY tag the pipeline adds to a valid file.
	Tagged bool
	// Message is the letter_validation message (DOMAIN §12.4) the pipeline recorded; empty
	// for a valid file. "not-a-real-uk-postcode" becomes "not-a-real-uk-postcode-or-country"
	// for a service that may send international letters (RENDERING.md §6.4).
	Message string
	// InvalidPages are letter_validation's invalid_pages.
	InvalidPages []int
}

// Valid reports whether the file passed validation.
func (l Letter) Valid() bool { return l.Message == "" }

// PDF returns the file's bytes.
func (l Letter) PDF() []byte {
	b, err := files.ReadFile(l.File)
	if err != nil {
		// The files are embedded and listed below; TestEveryLetterIsEmbedded holds them together.
		panic(fmt.Sprintf("seedletters: %s is not embedded: %v", l.File, err))
	}
	return b
}

// Letters are every file, valid ones first.
var Letters = []Letter{
	{File: "valid-1-page.pdf", Pages: 1, Tagged: true,
		Address: []string{"Ms Ann Smith", "12 High Street", "Leeds", "LS1 4AB"}},
	{File: "valid-2-pages.pdf", Pages: 2, Tagged: true,
		Address: []string{"Mr Ben Jones", "Flat 3", "45 Station Road", "Headingley", "Leeds", "West Yorkshire", "LS6 2QS"}},
	{File: "valid-3-pages-abroad.pdf", Pages: 3, Tagged: true,
		Address: []string{"Chloe Martin", "8 Rue de Rivoli", "75001 Paris", "France"}},
	{File: "valid-1-page-abroad.pdf", Pages: 1, Tagged: true,
		Address: []string{"Sana Lewis", "120 King Street West", "Toronto ON M5H 1J9", "Canada"}},
	{File: "valid-2-pages-bfpo.pdf", Pages: 2, Tagged: true,
		Address: []string{"Sgt Dev Patel", "1 Royal Signals Regiment", "BFPO 801"}},
	{File: "valid-4-pages.pdf", Pages: 4, Tagged: true,
		Address: []string{"Grace Taylor", "7 Mill Road", "Exeter", "EX1 2AB"}},
	{File: "valid-10-pages.pdf", Pages: 10, Tagged: true,
		Address: []string{"Hamza Khan", "The Old Rectory", "Church Lane", "Norwich", "NR1 3QT"}},
	{File: "landscape-page-2.pdf", Pages: 3, Landscape: []int{2},
		Address: []string{"Isla Brown", "22 Park Avenue", "Bristol", "BS1 5TR"},
		Message: "letter-not-a4-portrait-oriented", InvalidPages: []int{2}},
	{File: "margins-pages-2-and-4.pdf", Pages: 4, Margins: []int{2, 4},
		Address: []string{"Jack Wilson", "9 Queens Road", "York", "YO1 7HH"},
		Message: "content-outside-printable-area", InvalidPages: []int{2, 4}},
	{File: "empty-address.pdf", Pages: 1,
		Message: "address-is-empty", InvalidPages: []int{1}},
	{File: "12-pages.pdf", Pages: 12,
		Address: []string{"Kai Evans", "3 The Green", "Cardiff", "CF10 1AA"},
		Message: "letter-too-long", InvalidPages: []int{}},
	{File: "no-postcode.pdf", Pages: 1,
		Address: []string{"Leah Roberts", "14 Orchard Close", "Swansea"},
		Message: "not-a-real-uk-postcode", InvalidPages: []int{1}},
}
