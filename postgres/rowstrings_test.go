package postgres

import (
	"testing"
	"unsafe"

	"notifyql"
)

// TestRowStringsShareWhatRowsRepeat scans rows that repeat text and ids, with NULLs among
// them, from PostgreSQL: the values are what the rows hold, the same value is one string
// (and one pointer) however many rows hold it, and a NULL where none may be is an error.
func TestRowStringsShareWhatRowsRepeat(t *testing.T) {
	pool := newFixturePool(t)
	rows, err := pool.Query(t.Context(), `
SELECT v.status, v.postage, v.service_id::uuid, v.job_id::uuid
  FROM (VALUES ('delivered', 'first',  '6cff9626-e2ed-4c83-9536-460f9483d890', '11111111-2222-3333-4444-555555555555'),
               ('delivered', NULL,     '6cff9626-e2ed-4c83-9536-460f9483d890', NULL),
               ('failed',    'first',  '6cff9626-e2ed-4c83-9536-460f9483d890', '11111111-2222-3333-4444-555555555555')
       ) AS v(status, postage, service_id, job_id)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		status    notifyql.NotificationStatus
		postage   *notifyql.Postage
		serviceID string
		jobID     *string
	}
	var (
		r       row
		strings = newRowStrings()
		dest    = []any{sharedText[notifyql.NotificationStatus]{strings, &r.status}, newSharedNullText(strings, &r.postage),
			sharedUUID{strings, &r.serviceID}, newSharedNullUUID(strings, &r.jobID)}
		got []row
	)
	for rows.Next() {
		r = row{}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d rows, want 3", len(got))
	}
	for i, want := range []struct {
		status, postage, serviceID, jobID string
	}{
		{"delivered", "first", "6cff9626-e2ed-4c83-9536-460f9483d890", "11111111-2222-3333-4444-555555555555"},
		{"delivered", "", "6cff9626-e2ed-4c83-9536-460f9483d890", ""},
		{"failed", "first", "6cff9626-e2ed-4c83-9536-460f9483d890", "11111111-2222-3333-4444-555555555555"},
	} {
		g := got[i]
		if string(g.status) != want.status || g.serviceID != want.serviceID ||
			deref(g.postage) != want.postage || deref(g.jobID) != want.jobID {
			t.Errorf("row %d: %+v (postage %q, job %q), want %+v", i, g, deref(g.postage), deref(g.jobID), want)
		}
	}
	if unsafe.StringData(string(got[0].status)) != unsafe.StringData(string(got[1].status)) ||
		unsafe.StringData(got[0].serviceID) != unsafe.StringData(got[2].serviceID) {
		t.Error("rows repeating a value hold copies of it, not one string")
	}
	if got[0].postage != got[2].postage || got[0].jobID != got[2].jobID {
		t.Error("rows repeating a nullable value hold pointers of their own, not one")
	}

	var status notifyql.NotificationStatus
	var id string
	err = pool.QueryRow(t.Context(), "SELECT NULL::text, NULL::uuid").Scan(
		sharedText[notifyql.NotificationStatus]{strings, &status}, sharedUUID{strings, &id})
	if err == nil {
		t.Error("a NULL scanned into a NOT NULL destination did not fail")
	}
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
