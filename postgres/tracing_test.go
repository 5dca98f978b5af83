package postgres

import "testing"

// A statement's span is named by its outermost operation and table; nothing it carries as
// data (literals, dollar-quoted text, quoted identifiers, comments, parameters) can become
// part of the name.
func TestSummarizeStatement(t *testing.T) {
	tests := []struct {
		sql, operation, table string
	}{
		{`SELECT id FROM notifications WHERE id = $1`, "SELECT", "notifications"},
		{"\n  select n.id\n  from public.notifications n join templates t on t.id = n.template_id", "SELECT", "public.notifications"},
		{`SELECT (SELECT count(*) FROM service_permissions p WHERE p.service_id = s.id) FROM services s`, "SELECT", "services"},
		{`WITH gone AS (DELETE FROM report_chunks WHERE id = $1 RETURNING id) INSERT INTO report_builds SELECT id FROM gone`, "INSERT", "report_builds"},
		{`UPDATE jobs SET status = 'done' WHERE id = $1`, "UPDATE", "jobs"},
		{`DELETE FROM ONLY inbound_sms WHERE created_at < $1`, "DELETE", "inbound_sms"},
		{`SELECT * FROM unnest($1::uuid[]) AS u(id) JOIN services s ON s.id = u.id`, "SELECT", "services"},
		{`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`, "SELECT", ""},
		{`begin`, "BEGIN", ""},
		{`-- SELECT FROM secrets` + "\n" + `/* DELETE FROM x */ COMMIT`, "COMMIT", ""},
		{`SELECT 'FROM canary_person' FROM "Nightingale Lane" WHERE x = $$FROM canary$$ AND y = $tag$ FROM z $tag$`, "SELECT", ""},
		{`INSERT INTO notifications ("to") VALUES ('07700 900482'), (E'Ms Canary\nPerson')`, "INSERT", "notifications"},
		{`'unterminated FROM canary`, "STATEMENT", ""},
		{`/* unterminated FROM canary`, "STATEMENT", ""},
		{``, "STATEMENT", ""},
	}
	for _, tt := range tests {
		operation, table := summarizeStatement(tt.sql)
		if operation != tt.operation || table != tt.table {
			t.Errorf("summarizeStatement(%q) = %q, %q; want %q, %q", tt.sql, operation, table, tt.operation, tt.table)
		}
	}
}
