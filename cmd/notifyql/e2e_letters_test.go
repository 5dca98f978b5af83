package main

import (
	"context"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// A real serve, with the real typesetter and PDFium: a templated letter's content, its
// page image by a signed link, and an uploaded PDF's validation (RENDERING.md T26, T31).
func TestLettersEndToEnd(t *testing.T) {
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development"})
	ctx := context.Background()
	const template, letter = "7e000000-0000-0000-0000-0000000000c1", "1e000000-0000-0000-0000-0000000000c1"
	created := time.Now().UTC().Add(-time.Hour)
	for i, sql := range []string{
		`INSERT INTO templates (id, service_id, name, template_type, version, subject, content, created_at)
		 VALUES ('` + template + `', $1, 'Reminder letter', 'letter', 1, 'Subject', 'Foo', '2025-01-01')`,
		`INSERT INTO templates_history (id, service_id, name, template_type, version, subject, content, created_at)
		 VALUES ('` + template + `', $1, 'Reminder letter', 'letter', 1, 'Subject', 'Foo', '2025-01-01')`,
		`INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to,
		    key_type, notification_status, billable_units, postage, created_at, personalisation)
		 VALUES ('` + letter + `', $1, '` + template + `', 1, 'letter', E'name\nstreet\nSW1 1AA', 'namestreetsw11aa', 'normal', 'created', 1, 'second', $2,
		    '{"addressline1": "name", "addressline2": "street", "postcode": "SW1 1AA"}')`,
	} {
		args := []any{serviceA}
		if i == 2 {
			args = append(args, created)
		}
		if _, err := api.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	tok := tokenFor(t, userViewer)
	read := serveQuery(t, api, tok, `query($id: ID!) { notification(id: $id) { content { subject html letterAddress }
		letter { preview { pageCount pages { pngUrl widthPx heightPx } } validationErrors { code } } } }`, map[string]any{"id": letter})
	read.requireNoErrors(t)
	if read.at("notification", "content", "subject") != "Subject" || read.at("notification", "content", "html") != "<p>Foo</p>" ||
		read.at("notification", "letter", "preview", "pageCount") != float64(1) {
		t.Fatalf("templated letter: %v", read.Data)
	}
	link, _ := read.at("notification", "letter", "preview", "pages", 0, "pngUrl").(string)
	res, err := http.Get(strings.TrimSuffix(api.url, "/graphql") + link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	img, err := png.Decode(res.Body)
	if res.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() != 1240 || img.Bounds().Dy() != 1754 {
		t.Fatalf("page 1: %d, %v", res.StatusCode, err)
	}
	comparePageWithGolden(t, img)

	// T31's kind of fault on a real file: a seeded upload with an empty address window.
	pdf, err := os.ReadFile("../../postgres/seed/internal/seedletters/empty-address.pdf")
	if err != nil {
		t.Fatal(err)
	}
	_, verdict := serveUpload(t, api, tokenFor(t, userSender), pdf)
	verdict.requireNoErrors(t)
	if verdict.at("validateLetterPdf", "pageCount") != float64(1) || verdict.at("validateLetterPdf", "errors", 0, "code") != "address-is-empty" ||
		verdict.at("validateLetterPdf", "preview", "pages", 0, "widthPx") != float64(1240) {
		t.Errorf("validation: %v", verdict.Data)
	}
}
