package seed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/postgres/seed/internal/seedletters"
)

// seedPlaceholder finds placeholders as RENDERING.md §2.1 does: "((", a body without
// brackets, "))"; the name is what precedes "??".
var seedPlaceholder = regexp.MustCompile(`\(\(([^()]+)\)\)`)

// seedNormalName is §2.3's normal form for the names the seeds use.
func seedNormalName(name string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(name))
}

// testSeededContent checks what content is rebuilt from (RENDERING.md §1.1, §1.4) in a
// seeded database: personalisation objects that fill every placeholder, letter addresses,
// the templates the rendering rules need, and uploaded letters' files.
func testSeededContent(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()

	t.Run("every notification's personalisation is an object", func(t *testing.T) {
		if n := seedCount(t, pool, `SELECT count(*) FROM notifications
			WHERE personalisation IS NULL OR jsonb_typeof(personalisation) <> 'object'`); n != 0 {
			t.Errorf("%d notifications without an object", n)
		}
	})

	t.Run("every placeholder has a value, and letters their address", func(t *testing.T) {
		rows, err := pool.Query(ctx, `
			SELECT n.id::text, n.notification_type, n."to", n.personalisation::text,
			       concat_ws(' ', th.subject, th.content, th.letter_welsh_subject, th.letter_welsh_content)
			  FROM notifications n
			  JOIN templates_history th ON th.id = n.template_id AND th.version = n.template_version`)
		if err != nil {
			t.Fatal(err)
		}
		var id, typ, to, personalisation, text string
		checked := 0
		_, err = pgx.ForEachRow(rows, []any{&id, &typ, &to, &personalisation, &text}, func() error {
			checked++
			var values map[string]any
			if err := json.Unmarshal([]byte(personalisation), &values); err != nil {
				t.Errorf("%s: personalisation is not an object: %v", id, err)
				return nil
			}
			keys := map[string]bool{}
			for k := range values {
				keys[seedNormalName(k)] = true
			}
			for _, m := range seedPlaceholder.FindAllStringSubmatch(text, -1) {
				name, _, _ := strings.Cut(m[1], "??")
				if !keys[seedNormalName(name)] {
					t.Errorf("%s: no value for ((%s))", id, name)
				}
			}
			if typ == "letter" {
				var lines []string
				for i := 1; i <= 7; i++ {
					if v, ok := values["address_line_"+string(rune('0'+i))].(string); ok {
						lines = append(lines, v)
					}
				}
				if v, ok := values["postcode"].(string); ok {
					lines = append(lines, v)
				}
				if got := strings.Join(lines, "\n"); got != to {
					t.Errorf("%s: address lines %q, recipient %q", id, got, to)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if checked == 0 {
			t.Error("no notifications checked")
		}
	})

	t.Run("templates for every rendering case", func(t *testing.T) {
		for _, c := range []struct{ what, query string }{
			{"a redacted sms template", `SELECT count(*) FROM templates WHERE redact_personalisation AND template_type = 'sms'`},
			{"a redacted email template", `SELECT count(*) FROM templates WHERE redact_personalisation AND template_type = 'email'`},
			{"a Welsh letter sent", `SELECT count(*) FROM notifications n JOIN templates_history th
				ON th.id = n.template_id AND th.version = n.template_version
				WHERE th.letter_languages = 'welsh_then_english' AND th.letter_welsh_content LIKE '%((name))%'`},
			{"a conditional placeholder", `SELECT count(*) FROM templates WHERE content ~ '\(\([^()]+\?\?[^()]*\)\)'`},
			{"a nested list", `SELECT count(*) FROM templates WHERE content ~ '\n  \* '`},
			{"inset text", `SELECT count(*) FROM templates WHERE content ~ '\n\^ '`},
			{"a rule", `SELECT count(*) FROM templates WHERE content ~ '\n(---|\*\*\*)\n'`},
			{"a link", `SELECT count(*) FROM templates WHERE content ~ '\]\(https://'`},
			{"a QR code in a letter", `SELECT count(*) FROM templates WHERE template_type = 'letter' AND content ~ '\nQR: '`},
			{"a heading", `SELECT count(*) FROM templates WHERE content ~ '(^|\n)# '`},
			{"a second-level heading", `SELECT count(*) FROM templates WHERE content ~ '\n## '`},
			{"a numbered list", `SELECT count(*) FROM templates WHERE content ~ '\n1\. '`},
			{"a list value", `SELECT count(*) FROM notifications WHERE jsonb_typeof(personalisation -> 'documents') = 'array'`},
			{"a letter with seven address lines", `SELECT count(*) FROM notifications
				WHERE notification_type = 'letter' AND personalisation ? 'address_line_6' AND personalisation ? 'postcode'`},
			{"a BFPO letter", `SELECT count(*) FROM notifications WHERE notification_type = 'letter' AND "to" ~ '\nBFPO [0-9]+$'`},
			{"an international letter", `SELECT count(*) FROM notifications WHERE notification_type = 'letter' AND international
				AND NOT personalisation ? 'postcode'`},
		} {
			if n := seedCount(t, pool, c.query); n == 0 {
				t.Errorf("no %s", c.what)
			}
		}
		if n := seedCount(t, pool, `SELECT count(*) FROM templates
			WHERE letter_languages = 'english' AND (letter_welsh_subject IS NOT NULL OR letter_welsh_content IS NOT NULL)`); n != 0 {
			t.Errorf("%d English templates with Welsh text", n)
		}
	})

	t.Run("uploaded letters and only they have their file", func(t *testing.T) {
		if n := seedCount(t, pool, `SELECT count(*) FROM notifications n JOIN templates t ON t.id = n.template_id
			WHERE (t.hidden AND t.name = 'Pre-compiled PDF')
			      <> EXISTS (SELECT 1 FROM letter_files f WHERE f.notification_id = n.id)`); n != 0 {
			t.Errorf("%d notifications where having a file and being an uploaded letter disagree", n)
		}
		if n := seedCount(t, pool, `SELECT count(*) FROM letter_files`); n == 0 {
			t.Error("no letter files")
		}
	})

	t.Run("each file is stored, and an invalid one's letter_validation names its fault", func(t *testing.T) {
		rows, err := pool.Query(ctx, `
			SELECT f.pdf, n.notification_status, n.page_count, n.letter_validation::text, n.billable_units,
			       EXISTS (SELECT 1 FROM service_permissions p
			                WHERE p.service_id = n.service_id AND p.permission = 'international_letters')
			  FROM letter_files f JOIN notifications n ON n.id = f.notification_id`)
		if err != nil {
			t.Fatal(err)
		}
		var (
			pdf                   []byte
			status                string
			pageCount             *int
			validation            *string
			billable              int
			international         bool
			stored                = map[string]int{}
			unknown, wrongVerdict int
		)
		_, err = pgx.ForEachRow(rows, []any{&pdf, &status, &pageCount, &validation, &billable, &international}, func() error {
			i := slices.IndexFunc(seedletters.Letters, func(l seedletters.Letter) bool { return bytes.Equal(l.PDF(), pdf) })
			if i < 0 {
				unknown++
				return nil
			}
			l := seedletters.Letters[i]
			stored[l.File]++
			switch status {
			case "pending-virus-check", "virus-scan-failed":
				if pageCount != nil || validation != nil {
					wrongVerdict++
				}
			case "validation-failed":
				message := l.Message
				if message == "not-a-real-uk-postcode" && international {
					message = "not-a-real-uk-postcode-or-country"
				}
				var got struct {
					Message      string `json:"message"`
					PageCount    int    `json:"page_count"`
					InvalidPages []int  `json:"invalid_pages"`
				}
				if validation == nil || json.Unmarshal([]byte(*validation), &got) != nil || l.Valid() ||
					got.Message != message || got.PageCount != l.Pages || !slices.Equal(got.InvalidPages, l.InvalidPages) ||
					pageCount == nil || *pageCount != l.Pages {
					t.Errorf("%s: letter_validation %v, page count %v; want %s on pages %v of %d",
						l.File, validation, pageCount, message, l.InvalidPages, l.Pages)
				}
			default:
				if !l.Valid() || validation != nil || pageCount == nil || *pageCount != l.Pages || billable != (l.Pages+1)/2 {
					wrongVerdict++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if unknown > 0 || wrongVerdict > 0 {
			t.Errorf("%d files are not seed letters; %d letters' status, pages or billing disagree with their file", unknown, wrongVerdict)
		}
		for _, l := range seedletters.Letters {
			if stored[l.File] == 0 {
				t.Errorf("%s is never stored", l.File)
			}
		}
	})
}
