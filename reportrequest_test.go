package notifyql

import (
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReportStatusFilterStatuses(t *testing.T) {
	all := ReportOfAll.Statuses()
	if slices.Contains(all, StatusCancelled) || len(all) != len(RequestedStatuses()) {
		t.Errorf("ALL = %v, want every requested status and never cancelled", all)
	}
	for _, f := range []ReportStatusFilter{ReportOfSending, ReportOfDelivered, ReportOfFailed} {
		if diff := cmp.Diff(StatusesInGroup(StatusGroup(f)), f.Statuses()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f, diff)
		}
	}
}

func TestReportRequestInputValidate(t *testing.T) {
	ok := ReportRequestInput{Type: TypeLetter, Status: ReportOfDelivered}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	for _, in := range []ReportRequestInput{{Type: "fax", Status: ReportOfAll}, {Type: TypeSMS, Status: "cancelled"}, {}} {
		if err := in.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("Validate(%+v) = %v, want EINVALID", in, err)
		}
	}
}

func TestCheckReportAccess(t *testing.T) {
	const svc, requester, other = "5e000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"
	facts := &ServiceFacts{ID: svc, Active: true}
	viewer := func(id string, perms ...Permission) *Principal {
		return &Principal{User: User{ID: id}, Services: map[string]ServiceAccess{svc: {Permissions: perms}}}
	}
	admin := &Principal{User: User{ID: other, PlatformAdmin: true}}
	request := func(status ReportRequestStatus) *ReportRequest {
		return &ReportRequest{ID: "2e000000-0000-4000-8000-000000000001", ServiceID: svc, UserID: requester, Status: status}
	}
	tests := []struct {
		name    string
		p       *Principal
		r       *ReportRequest
		s       *ServiceFacts
		want    string
		wantMsg string
	}{
		{"the requester with view_activity", viewer(requester, ViewActivity), request(ReportStored), facts, "", ""},
		{"deleted", viewer(requester, ViewActivity), request(ReportDeleted), facts, ENOTFOUND, "report request not found"},
		{"another member", viewer(other, ViewActivity), request(ReportStored), facts, EFORBIDDEN, "only the user who asked for a report can see it"},
		{"a platform admin who did not ask", admin, request(ReportStored), facts, EFORBIDDEN, "only the user who asked for a report can see it"},
		{"the requester without view_activity", viewer(requester, SendMessages), request(ReportStored), facts, EFORBIDDEN, "you need the view_activity permission for this service"},
		{"the requester, no longer a member", &Principal{User: User{ID: requester}}, request(ReportStored), facts, ENOTFOUND, "report request not found"},
		{"the service gone", viewer(requester, ViewActivity), request(ReportStored), nil, ENOTFOUND, "report request not found"},
		{"the service inactive", viewer(requester, ViewActivity), request(ReportStored), &ServiceFacts{ID: svc}, EFORBIDDEN, "this service is inactive"},
		{"signed out", nil, request(ReportStored), facts, EUNAUTHENTICATED, "you must sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckReportAccess(tt.p, tt.r, tt.s)
			if ErrorCode(err) != tt.want || (err != nil && ErrorMessage(err) != tt.wantMsg) {
				t.Errorf("CheckReportAccess = %v, want %q %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestCheckReportSize(t *testing.T) {
	user := &Principal{User: User{ID: "a"}}
	admin := &Principal{User: User{ID: "b", PlatformAdmin: true}}
	if err := CheckReportSize(user, ReportRequestLimit); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := CheckReportSize(user, ReportRequestLimit+1)
	if ErrorCode(err) != ETOOLARGE || ErrorMessage(err) != "this report would have about 800,001 rows, more than the 800,000 a report can have: contact support for it" {
		t.Errorf("over the limit: %v", err)
	}
	if err := CheckReportSize(admin, 10*ReportRequestLimit); err != nil {
		t.Errorf("platform admin over the limit: %v", err)
	}
}

func TestReportFilename(t *testing.T) {
	if got := ReportFilename("2E000000-0000-4000-8000-00000000000A"); got != "2e000000-0000-4000-8000-00000000000a.csv" {
		t.Errorf("ReportFilename = %q", got)
	}
	if got := ReportRequestPath("2e000000-0000-4000-8000-000000000001"); got != "/report-requests/2e000000-0000-4000-8000-000000000001.csv" {
		t.Errorf("ReportRequestPath = %q", got)
	}
}

func TestEncodeReportChunk(t *testing.T) {
	london, err := LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	rows := []ExportRow{{ID: "1", CreatedAt: time.Date(2025, 6, 2, 9, 15, 0, 0, time.UTC), Recipient: "ann@example.org",
		Reference: "=1+1", Template: "Payment, reminder", Type: TypeEmail, Status: StatusDelivered}}
	first, err := EncodeReportChunk(rows, true, london)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(NotificationCSVHeader, ",") + "\r\n" +
		"ann@example.org,'=1+1,\"Payment, reminder\",email,,,,Delivered,2025-06-02 10:15:00,\r\n"
	if string(first) != want {
		t.Errorf("first chunk = %q, want %q", first, want)
	}
	next, err := EncodeReportChunk(rows, false, london)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want, "Recipient") || string(next) != strings.SplitAfterN(want, "\r\n", 2)[1] {
		t.Errorf("later chunk = %q", next)
	}
	records, err := csv.NewReader(strings.NewReader(string(first) + string(next))).ReadAll()
	if err != nil || len(records) != 3 {
		t.Errorf("the chunks together parse as %d records, %v; want header and 2 rows", len(records), err)
	}
	if empty, err := EncodeReportChunk(nil, false, london); err != nil || len(empty) != 0 {
		t.Errorf("an empty later chunk = %q, %v", empty, err)
	}
}

// The refusal past the daily allowance says when the next request is possible, rounded up
// to the minute so that asking then works.
func TestReportQuotaExceeded(t *testing.T) {
	now := time.Date(2026, 7, 15, 12, 0, 20, 0, time.UTC)
	for _, tt := range []struct {
		next time.Time
		want string
	}{
		{now.Add(2*time.Hour + 4*time.Minute + 10*time.Second), "in 2 hours 5 minutes, at 2026-07-15 14:05 UTC"},
		{now.Add(time.Hour - 20*time.Second), "in 1 hour, at 2026-07-15 13:00 UTC"},
		{now.Add(40 * time.Second), "in 1 minute, at 2026-07-15 12:01 UTC"},
		{now.Add(23*time.Hour + 58*time.Minute), "in 23 hours 59 minutes, at 2026-07-16 11:59 UTC"},
		{now.Add(23*time.Hour + 59*time.Minute), "in 24 hours, at 2026-07-16 12:00 UTC"},
	} {
		err := ReportQuotaExceeded(20, tt.next, now)
		want := "you have asked for 20 reports in the last 24 hours, the most allowed: you can ask for another " + tt.want
		if err.Code != ERATELIMITED || err.Message != want {
			t.Errorf("next %s: %s %q, want %q", tt.next, err.Code, err.Message, want)
		}
	}
}
