package seed

import (
	"context"
	"fmt"
	"time"

	"notifyql"
)

// The seed world is built in Go first (users, organisations, services, templates, keys)
// and then copied in; notifications and facts are generated from it afterwards.

type seedUser struct {
	id            seedID
	name          string
	email         string // personal data (fake)
	mobile        string // personal data (fake)
	platformAdmin bool
	createdAt     time.Time
}

type seedOrg struct {
	id        seedID
	name      string
	orgType   string
	createdAt time.Time
	users     []*seedUser
}

type seedMember struct {
	user        *seedUser
	permissions []string
}

type seedService struct {
	id         seedID
	name       string
	org        *seedOrg
	orgType    string
	crown      bool
	active     bool
	restricted bool
	prefixSMS  bool
	createdAt  time.Time
	goLiveAt   time.Time
	createdBy  *seedUser
	features   []string
	retention  map[notifyql.NotificationType]int // only explicit service_data_retention rows
	members    []seedMember
	templates  []*seedTemplate
	keys       []*seedAPIKey
	inbound    string // active inbound number, "" for none
	// historyDays is how many London days before each retention window have rows in
	// notification_history rather than only facts.
	historyDays int
	// volume is the average number of notifications a day of each type, for synthetic facts
	// on days older than any generated notification.
	volume map[notifyql.NotificationType]float64
}

// retentionDays is the retention of a type: the service's row or the default 7 (§14).
func (svc *seedService) retentionDays(t notifyql.NotificationType) int {
	if d, ok := svc.retention[t]; ok {
		return d
	}
	return 7
}

func (svc *seedService) hasFeature(f string) bool {
	for _, x := range svc.features {
		if x == f {
			return true
		}
	}
	return false
}

// senders are the members allowed to send from the UI; job and one-off sends name one.
func (svc *seedService) senders() []*seedUser {
	var users []*seedUser
	for _, m := range svc.members {
		for _, p := range m.permissions {
			if p == "send_texts" {
				users = append(users, m.user)
				break
			}
		}
	}
	return users
}

type seedTemplate struct {
	id        seedID
	service   *seedService
	name      string
	typ       notifyql.NotificationType
	version   int       // current version: 1 or 2
	updatedAt time.Time // when version 2 replaced version 1
	createdAt time.Time
	subject   string
	content   string
	postage   notifyql.Postage // letters only
	hidden    bool
	weight    float64 // share of the service's traffic of this type
	sheets    int     // templated letters: sheets per letter
	createdBy *seedUser
	// redact hides every value but the recipient's (RENDERING.md §1.3): sms and email only.
	redact bool
	// welshSubject and welshContent make a welsh_then_english letter when set.
	welshSubject, welshContent string
	// fills are the template's placeholders and how each is filled, read from its content
	// once (personalisation.go).
	fills []seedFill
}

// letterLanguages is the template's letter_languages (RENDERING.md §1.4).
func (t *seedTemplate) letterLanguages() string {
	if t.welshContent != "" {
		return "welsh_then_english"
	}
	return "english"
}

// versionAt is the version a notification created at t was sent with.
func (t *seedTemplate) versionAt(at time.Time) int {
	if t.version > 1 && at.Before(t.updatedAt) {
		return 1
	}
	return t.version
}

func (t *seedTemplate) precompiled() bool {
	return notifyql.IsPrecompiledLetter(t.hidden, t.name, t.typ)
}

type seedAPIKey struct {
	id        seedID
	service   *seedService
	name      string
	keyType   notifyql.KeyType
	expiry    time.Time // zero while the key is live
	createdAt time.Time
	createdBy *seedUser
}

type seedWorld struct {
	users    []*seedUser
	orgs     []*seedOrg
	services []*seedService
}

// insertWorld copies the world into its tables, in foreign key order.
func (s *seeder) insertWorld(ctx context.Context, r seedRand, w *seedWorld) error {
	var users, orgs, orgUsers, services, servicesHistory, features, members, permissions,
		inbound, retention, billing, templates, templatesHistory, keys [][]any

	for _, u := range w.users {
		users = append(users, []any{u.id, u.name, u.email, u.mobile, u.platformAdmin, "active", "sms_auth", u.createdAt})
	}
	for _, o := range w.orgs {
		orgs = append(orgs, []any{o.id, o.name, true, o.orgType, o.createdAt})
		for _, u := range o.users {
			orgUsers = append(orgUsers, []any{u.id, o.id})
		}
	}
	currentFY := int(notifyql.FinancialYearOf(s.now, s.london))
	for _, svc := range w.services {
		var orgID, orgType any
		if svc.org != nil {
			orgID = svc.org.id
		}
		if svc.orgType != "" {
			orgType = svc.orgType
		}
		row := []any{svc.id, svc.name, svc.active, svc.restricted, orgID, orgType, svc.crown, svc.prefixSMS,
			svc.createdAt, seedTime(svc.goLiveAt), svc.createdBy.id, 1}
		services = append(services, row)
		servicesHistory = append(servicesHistory, row)
		for _, f := range svc.features {
			features = append(features, []any{svc.id, f, svc.createdAt})
		}
		for _, m := range svc.members {
			members = append(members, []any{m.user.id, svc.id})
			for _, p := range m.permissions {
				permissions = append(permissions, []any{r.id(), svc.id, m.user.id, p, svc.createdAt})
			}
		}
		if svc.inbound != "" {
			inbound = append(inbound, []any{r.id(), svc.inbound, "mmg", svc.id, true, svc.createdAt})
		}
		for _, t := range notifyql.NotificationTypes {
			if days, ok := svc.retention[t]; ok {
				retention = append(retention, []any{r.id(), svc.id, string(t), days, svc.createdAt})
			}
		}
		for year := int(notifyql.FinancialYearOf(svc.createdAt, s.london)); year <= currentFY; year++ {
			billing = append(billing, []any{r.id(), svc.id, year, s.defaultAllowance(svc.orgType, year), false, false,
				notifyql.FinancialYear(year).Start(s.london)})
		}
		for _, t := range svc.templates {
			var postage, subject any
			if t.postage != "" {
				postage = string(t.postage)
			}
			if t.subject != "" {
				subject = t.subject
			}
			welshSubject, welshContent := seedText(t.welshSubject), seedText(t.welshContent)
			templates = append(templates, []any{t.id, svc.id, t.name, string(t.typ), t.version, t.content, subject,
				postage, false, t.hidden, t.createdAt, seedTime(t.updatedAt), t.createdBy.id,
				t.letterLanguages(), welshSubject, welshContent, t.redact})
			for v := 1; v <= t.version; v++ {
				at, updated, content := t.createdAt, any(nil), t.content
				if v < t.version {
					content = t.content + " (first draft)"
				} else if v > 1 {
					at, updated = t.updatedAt, t.updatedAt
				}
				templatesHistory = append(templatesHistory, []any{t.id, svc.id, t.name, string(t.typ), v, content, subject,
					postage, false, t.hidden, at, updated, t.createdBy.id, t.letterLanguages(), welshSubject, welshContent})
			}
		}
		for _, k := range svc.keys {
			keys = append(keys, []any{k.id, svc.id, k.name, string(k.keyType), r.hex(64), seedTime(k.expiry), k.createdAt, k.createdBy.id})
		}
	}

	historyColumns := []string{"id", "service_id", "name", "template_type", "version", "content", "subject",
		"postage", "archived", "hidden", "created_at", "updated_at", "created_by_id", "letter_languages",
		"letter_welsh_subject", "letter_welsh_content"}
	// The redaction flag is not versioned (RENDERING.md §1.3).
	templateColumns := append(historyColumns[:len(historyColumns):len(historyColumns)], "redact_personalisation")
	serviceColumns := []string{"id", "name", "active", "restricted", "organisation_id", "organisation_type", "crown",
		"prefix_sms", "created_at", "go_live_at", "created_by_id", "version"}
	loads := []struct {
		table   string
		columns []string
		rows    [][]any
	}{
		{"users", []string{"id", "name", "email_address", "mobile_number", "platform_admin", "state", "auth_type", "created_at"}, users},
		{"organisation", []string{"id", "name", "active", "organisation_type", "created_at"}, orgs},
		{"user_to_organisation", []string{"user_id", "organisation_id"}, orgUsers},
		{"services", serviceColumns, services},
		{"services_history", serviceColumns, servicesHistory},
		{"service_permissions", []string{"service_id", "permission", "created_at"}, features},
		{"user_to_service", []string{"user_id", "service_id"}, members},
		{"permissions", []string{"id", "service_id", "user_id", "permission", "created_at"}, permissions},
		{"inbound_numbers", []string{"id", "number", "provider", "service_id", "active", "created_at"}, inbound},
		{"service_data_retention", []string{"id", "service_id", "notification_type", "days_of_retention", "created_at"}, retention},
		{"annual_billing", []string{"id", "service_id", "financial_year_start", "free_sms_fragment_limit",
			"high_volume_service_last_year", "has_custom_allowance", "created_at"}, billing},
		{"templates", templateColumns, templates},
		{"templates_history", historyColumns, templatesHistory},
		{"api_keys", []string{"id", "service_id", "name", "key_type", "secret", "expiry_date", "created_at", "created_by_id"}, keys},
	}
	for _, l := range loads {
		if err := s.copyRows(ctx, l.table, l.columns, l.rows); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "seed loaded services", "services", len(w.services), "users", len(w.users))
	return nil
}

// seedJob is a CSV upload. Its rows are generated with the service's other traffic.
type seedJob struct {
	id           seedID
	service      *seedService
	template     *seedTemplate
	fileName     string
	rows         int
	status       string
	scheduledFor time.Time
	createdAt    time.Time
	startedAt    time.Time // when rows began to be sent; zero for jobs not yet started
	createdBy    *seedUser
}

func (s *seeder) insertJobs(ctx context.Context, jobs []*seedJob) error {
	rows := make([][]any, 0, len(jobs))
	for _, j := range jobs {
		finished := time.Time{}
		if j.status == "finished" {
			finished = j.startedAt.Add(time.Duration(j.rows)*seedJobRowGap + time.Second)
		}
		rows = append(rows, []any{j.id, j.service.id, j.template.id, j.template.versionAt(j.createdAt), j.fileName, j.rows,
			j.status, seedTime(j.scheduledFor), j.createdBy.id, j.createdAt, seedTime(j.startedAt), seedTime(finished)})
	}
	return s.copyRows(ctx, "jobs", []string{"id", "service_id", "template_id", "template_version", "original_file_name",
		"notification_count", "job_status", "scheduled_for", "created_by_id", "created_at", "processing_started",
		"processing_finished"}, rows)
}

// seedJobRowGap is the time between two rows of a job being sent.
const seedJobRowGap = 20 * time.Millisecond

// seedAllPermissions are every service-level database permission (DOMAIN §3.2).
var seedAllPermissions = []string{"manage_users", "manage_settings", "manage_templates", "send_texts",
	"send_emails", "send_letters", "manage_api_keys", "view_activity"}

// seedDescribeUsers turns users and their memberships into the report's User list.
func seedDescribeUsers(w *seedWorld, users []*seedUser, summaries map[*seedUser]string) []User {
	out := make([]User, 0, len(users))
	for _, u := range users {
		su := User{Name: u.name, Email: u.email, PlatformAdmin: u.platformAdmin, Summary: summaries[u]}
		for _, svc := range w.services {
			for _, m := range svc.members {
				if m.user == u {
					su.Services = append(su.Services, Membership{Service: svc.name, Permissions: append([]string{}, m.permissions...)})
				}
			}
		}
		for _, o := range w.orgs {
			for _, ou := range o.users {
				if ou == u {
					su.Organisations = append(su.Organisations, o.name)
				}
			}
		}
		out = append(out, su)
	}
	return out
}

// String is a compact, log-safe description of a report: counts only, no personal data.
func (r *Report) String() string {
	s := fmt.Sprintf("seeded profile %s (seed %d) in %s:", r.Profile, r.Seed, r.Elapsed.Round(time.Millisecond))
	for _, c := range r.Counts {
		s += fmt.Sprintf(" %s=%d", c.Table, c.Rows)
	}
	return s
}
