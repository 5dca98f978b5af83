package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"notifyql/pgtest"
	"notifyql/postgres"
)

// TestRenderingMigrationConvertsPersonalisation writes the kinds of text the old column
// could hold, migrates up, and checks that only JSON objects survive, unchanged.
func TestRenderingMigrationConvertsPersonalisation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	databaseURL := pgtest.NewDatabase(t)
	if err := postgres.MigrateDown(ctx, databaseURL); err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, databaseURL)
	f := newFixture(t, pool)
	stored := map[string]*string{
		"object":       ptrTo(`{"name": "Jo", "n": 1, "list": ["a", null]}`),
		"empty object": ptrTo(`{}`),
		"array":        ptrTo(`["Jo"]`),
		"string":       ptrTo(`"Jo"`),
		"number":       ptrTo(`12`),
		"not json":     ptrTo(`name=Jo`),
		"nul escape":   ptrTo(`{"name": "\u0000"}`),
		"empty":        ptrTo(``),
		"null":         nil,
	}
	ids := map[string]uuid.UUID{}
	for name, value := range stored {
		id := uuid.New()
		ids[name] = id
		if _, err := pool.Exec(ctx, `
			INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
			    key_type, personalisation)
			VALUES ($1, $2, $3, 1, 'sms', '07700900001', 'normal', $4)`,
			id, f.service(0), f.templates[0].id, value); err != nil {
			t.Fatalf("insert %s: %v", name, err)
		}
	}
	if err := postgres.MigrateUp(ctx, databaseURL); err != nil {
		t.Fatal(err)
	}
	got := map[string]*string{}
	for name, id := range ids {
		var value *string
		if err := pool.QueryRow(ctx, `SELECT personalisation::text FROM notifications WHERE id = $1`, id).Scan(&value); err != nil {
			t.Fatal(err)
		}
		got[name] = value
	}
	want := map[string]*string{
		"object":       ptrTo(`{"n": 1, "list": ["a", null], "name": "Jo"}`),
		"empty object": ptrTo(`{}`),
		"array":        nil, "string": nil, "number": nil, "not json": nil, "nul escape": nil, "empty": nil, "null": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("personalisation after migrating (-want +got):\n%s", diff)
	}

	// From now on only objects may be stored.
	for _, value := range []string{`[]`, `"x"`, `1`} {
		_, err := pool.Exec(ctx, `UPDATE notifications SET personalisation = $1::jsonb WHERE id = $2`, value, ids["object"])
		if err == nil || !strings.Contains(err.Error(), "notifications_personalisation_object_check") {
			t.Errorf("storing %s: error %v, want the object check", value, err)
		}
	}
}

// TestRenderingMigrationChecks exercises the new constraints on templates.
func TestRenderingMigrationChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	var serviceID uuid.UUID
	if err := pool.QueryRow(ctx, `INSERT INTO services (name) VALUES ('Checks') RETURNING id`).Scan(&serviceID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sql, violates string
	}{
		{"a redacted sms template", `INSERT INTO templates (service_id, name, template_type, redact_personalisation)
			VALUES ($1, 'a', 'sms', true)`, ""},
		{"a redacted email template", `INSERT INTO templates (service_id, name, template_type, redact_personalisation)
			VALUES ($1, 'b', 'email', true)`, ""},
		{"a redacted letter template", `INSERT INTO templates (service_id, name, template_type, redact_personalisation)
			VALUES ($1, 'c', 'letter', true)`, "templates_redact_personalisation_check"},
		{"a Welsh letter", `INSERT INTO templates (service_id, name, template_type, letter_languages,
			letter_welsh_subject, letter_welsh_content) VALUES ($1, 'd', 'letter', 'welsh_then_english', 'Pwnc', 'Cynnwys')`, ""},
		{"an unknown language", `INSERT INTO templates (service_id, name, template_type, letter_languages)
			VALUES ($1, 'e', 'letter', 'welsh')`, "templates_letter_languages_check"},
		{"Welsh text on an English letter", `INSERT INTO templates (service_id, name, template_type, letter_welsh_content)
			VALUES ($1, 'f', 'letter', 'Cynnwys')`, "templates_letter_welsh_check"},
		{"a Welsh email", `INSERT INTO templates (service_id, name, template_type, letter_languages)
			VALUES ($1, 'g', 'email', 'welsh_then_english')`, "templates_letter_languages_letter_check"},
		{"Welsh text on an English letter version", `INSERT INTO templates_history (id, service_id, name, template_type,
			version, created_at, letter_welsh_subject) VALUES (gen_random_uuid(), $1, 'h', 'letter', 1, now(), 'Pwnc')`,
			"templates_history_letter_welsh_check"},
	}
	for _, tt := range tests {
		_, err := pool.Exec(ctx, tt.sql, serviceID)
		switch {
		case tt.violates == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.violates != "" && (err == nil || !strings.Contains(err.Error(), tt.violates)):
			t.Errorf("%s: error %v, want a violation of %s", tt.name, err, tt.violates)
		}
	}
	var languages string
	var redact bool
	if err := pool.QueryRow(ctx, `INSERT INTO templates (service_id, name, template_type) VALUES ($1, 'i', 'letter')
		RETURNING letter_languages, redact_personalisation`, serviceID).Scan(&languages, &redact); err != nil {
		t.Fatal(err)
	}
	if languages != "english" || redact {
		t.Errorf("defaults: letter_languages %q, redact_personalisation %v; want english, false", languages, redact)
	}
}

func ptrTo[T any](v T) *T { return &v }
