package main

import (
	"context"
	"testing"
	"time"

	"notifyql"
	"notifyql/pgtest"
	"notifyql/postgres"
	"notifyql/postgres/seed"
	"notifyql/typeset"
)

// Every notification the demo seeds renders: what `make run` shows on a notification's
// page is its content, and a templated letter composes and typesets into pages. An error
// here would be an "internal error" on a demo notification.
func TestDemoSeedRendersEveryNotification(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := seed.Load(ctx, pool, seed.Options{Profile: seed.Demo, Seed: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT n.id, n.service_id, n.notification_type, t.hidden AND t.name = $1
		FROM notifications n JOIN templates_history t ON (t.id, t.version) = (n.template_id, n.template_version)`, notifyql.PrecompiledLetterName)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id, service, kind string
		precompiled       bool
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.service, &r.kind, &r.precompiled); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	setter, err := typeset.New()
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewContentStore(pool)
	rendered, typesetLetters := map[string]int{}, 0
	for _, r := range all {
		if r.precompiled {
			continue
		}
		in, err := store.ContentInputs(ctx, r.service, r.id)
		if err != nil || in == nil {
			t.Fatalf("%s: inputs %v, %v", r.id, in, err)
		}
		content, err := notifyql.RenderContent(*in)
		if err != nil {
			t.Fatalf("%s (%s): %v", r.id, r.kind, err)
		}
		if content.Body == "" {
			t.Errorf("%s (%s): empty body", r.id, r.kind)
		}
		rendered[r.kind]++
		// Typesetting costs tens of milliseconds: one letter in twenty is enough to meet
		// every letter template many times.
		if r.kind == "letter" && rendered[r.kind]%20 == 1 {
			doc, err := notifyql.ComposeLetter(*in)
			if err != nil {
				t.Fatalf("%s: compose: %v", r.id, err)
			}
			if _, pages, err := setter.Typeset(ctx, doc); err != nil || pages < 1 {
				t.Fatalf("%s: typeset: %d pages, %v", r.id, pages, err)
			}
			typesetLetters++
		}
	}
	for _, kind := range []string{"email", "sms", "letter"} {
		if rendered[kind] == 0 {
			t.Errorf("no %s rendered", kind)
		}
	}
	t.Logf("rendered %v, typeset %d letters", rendered, typesetLetters)
}
