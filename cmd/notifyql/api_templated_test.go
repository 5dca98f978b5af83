package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

// insertTemplated adds a template of service A (version 1) and a notification of it with
// the personalisation given, created an hour before the fixture's clock.
func insertTemplated(t *testing.T, api *testAPI, templateID, notificationID, typ, subject, content, to, personalisation string) {
	t.Helper()
	ctx := context.Background()
	for _, table := range []string{"templates", "templates_history"} {
		if _, err := api.pool.Exec(ctx, `INSERT INTO `+table+` (id, service_id, name, template_type, version, subject, content, created_at)
			VALUES ($1, $2, 'T', $3, 1, $4, $5, '2025-01-01')`, templateID, serviceA, typ, subject, content); err != nil {
			t.Fatal(err)
		}
	}
	postage := any(nil)
	if typ == "letter" {
		postage = "second"
	}
	if _, err := api.pool.Exec(ctx, `INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		normalised_to, key_type, notification_status, billable_units, postage, created_at, personalisation)
		VALUES ($1, $2, $3, 1, $4, $5, $5, 'normal', 'delivered', 1, $6, $7, $8)`,
		notificationID, serviceA, templateID, typ, to, postage, fixtureNow.Add(-time.Hour), personalisation); err != nil {
		t.Fatal(err)
	}
}

// Content of each type, rebuilt from the version sent and the stored personalisation.
func TestContentOfEachType(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	insertTemplated(t, api, "7e000000-0000-0000-0000-0000000000e1", "e2000000-0000-0000-0000-000000000001", "email",
		"Hello ((name))", "Hi ((name))", "ann@example.org", `{"name": "Ann"}`)
	insertTemplated(t, api, "7e000000-0000-0000-0000-0000000000e2", "e2000000-0000-0000-0000-000000000002", "sms",
		"", "Your code is ((code))", "07700900123", `{"code": "123456"}`)
	insertTemplated(t, api, "7e000000-0000-0000-0000-0000000000e3", "e2000000-0000-0000-0000-000000000003", "letter",
		"Subject", "Foo", "name\nstreet\nSW1 1AA", `{"addressline1": "name", "addressline2": "street", "postcode": "SW1 1AA"}`)
	query := `query($id: ID!) { notification(id: $id) { contentUnavailableReason content { subject body html fragmentCount letterAddress letterDate } } }`
	viewer := tokenFor(t, userViewer)
	for _, tt := range []struct {
		id   string
		want []string
	}{
		{"e2000000-0000-0000-0000-000000000001", []string{"Hello Ann", "Hi Ann"}},
		{"e2000000-0000-0000-0000-000000000002", []string{"Your code is 123456", "fragmentCount:1"}},
		{"e2000000-0000-0000-0000-000000000003", []string{"subject:Subject", "<p>Foo</p>", "letterAddress:[name street SW1 1AA]", "letterDate:15 July 2026"}},
	} {
		resp := api.post(t, viewer, query, map[string]any{"id": tt.id})
		resp.requireNoErrors(t)
		got := fmt.Sprint(resp.at("notification", "content"))
		for _, want := range tt.want {
			if !strings.Contains(got, want) {
				t.Errorf("%s: content %s lacks %q", tt.id, got, want)
			}
		}
		if resp.at("notification", "contentUnavailableReason") != nil {
			t.Errorf("%s: a reason beside content", tt.id)
		}
	}
}

// A templated letter's preview counts the composed pages and lists at most 10; past 10 its
// validation errors say letter-too-long, and page 11 is no page (RENDERING.md §5.7, T32,
// T33).
func TestTemplatedLetterPages(t *testing.T) {
	t.Parallel()
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	viewer := tokenFor(t, userViewer)
	for i, pages := range []int{1, 3, 10, 11} {
		template := fmt.Sprintf("7e000000-0000-0000-0000-0000000001%02d", i)
		id := fmt.Sprintf("e3000000-0000-0000-0000-0000000001%02d", i)
		content := "Page 1" + strings.Repeat("\n\n---\n\nNext page", pages-1)
		insertTemplated(t, api, template, id, "letter", "Subject", content, "name\nstreet\nSW1 1AA",
			`{"addressline1": "name", "addressline2": "street", "postcode": "SW1 1AA"}`)
		resp := api.post(t, viewer, previewQuery, map[string]any{"id": id})
		resp.requireNoErrors(t)
		if got := resp.at("notification", "letter", "preview", "pageCount"); got != float64(pages) {
			t.Fatalf("%d pages: pageCount %v", pages, got)
		}
		listed, _ := resp.at("notification", "letter", "preview", "pages").([]any)
		if len(listed) != min(pages, 10) || resp.at("notification", "letter", "preview", "pages", len(listed)-1, "number") != float64(len(listed)) {
			t.Errorf("%d pages: listed %v", pages, listed)
		}
		errs := fmt.Sprint(resp.at("notification", "letter", "validationErrors"))
		if (pages > 10) != strings.Contains(errs, "letter-too-long") || (pages > 10 && !strings.Contains(errs, "this letter is 11 pages long")) {
			t.Errorf("%d pages: validationErrors %s", pages, errs)
		}
		if pages == 11 {
			base := "/services/" + serviceA + "/notifications/" + id + "/letter/"
			for page, want := range map[int]int{10: 200, 11: 404} {
				rec := api.getFile(t, api.signedAs(t, api.letters.LetterLinks, fmt.Sprintf("%s%d.png", base, page), userViewer), "", nil)
				if rec.Code != want {
					t.Errorf("page %d of 11: %d, want %d", page, rec.Code, want)
				}
			}
		}
	}
}

// A rendering failure is "internal error" with a request id; the log names the letter, the
// kind and the error's class only (RENDERING.md §1.2).
func TestLetterRenderFailure(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines(), logs: &logs})
	const id = "e4000000-0000-0000-0000-000000000001"
	insertTemplated(t, api, "7e000000-0000-0000-0000-0000000002e1", id, "letter", "Subject", "Foo", "x",
		`{"addressline1": "EXPLODE Canary", "addressline2": "street", "postcode": "SW1 1AA"}`)
	resp := api.post(t, tokenFor(t, userViewer), previewQuery, map[string]any{"id": id})
	if len(resp.Errors) != 2 {
		t.Fatalf("errors: %s", resp.body)
	}
	for _, e := range resp.Errors {
		if e.Message != "internal error" || e.Extensions["code"] != "INTERNAL" || e.Extensions["requestId"] == nil {
			t.Errorf("error %+v", e)
		}
	}
	if resp.at("notification", "letter", "preview") != nil {
		t.Errorf("preview: %s", resp.body)
	}
	logged := logs.String()
	if strings.Contains(strings.ToLower(logged), "canary") || strings.Contains(resp.body, "Canary") {
		t.Errorf("the letter's text reached the log or the answer:\n%s", logged)
	}
	if !strings.Contains(logged, `"msg":"rendering failed"`) || !strings.Contains(logged, `"id":"`+id+`"`) || !strings.Contains(logged, `"kind":"letter_pdf"`) {
		t.Errorf("the failure is not logged by id and kind:\n%s", logged)
	}
}
