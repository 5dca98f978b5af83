package main

import (
	"strings"
	"testing"
)

func TestPageRowsAgreeAcrossTheTwoShapes(t *testing.T) {
	notifyql, err := notifyqlPageRows([]byte(`{"service":{"notifications":{"edges":[
		{"node":{"id":"a","template":{"name":"Password reset"}}},
		{"node":{"id":"b","template":null}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	postgraphile, err := postgraphilePageRows([]byte(`{"allNotifications":{"nodes":[
		{"rowId":"a","templatesHistoryByTemplateIdAndTemplateVersion":{"name":"Password reset"}},
		{"rowId":"b","templatesHistoryByTemplateIdAndTemplateVersion":null}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := compareRows(notifyql, postgraphile); err != nil {
		t.Errorf("the same rows compared unequal: %v", err)
	}
}

func TestNotificationRowsAgreeAcrossTheTwoShapes(t *testing.T) {
	notifyql, err := notifyqlNotificationRows([]byte(`{"notification":{"id":"a","template":{"name":"Reminder"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	postgraphile, err := postgraphileNotificationRows([]byte(`{"notificationByRowId":{"rowId":"a","templatesHistoryByTemplateIdAndTemplateVersion":{"name":"Reminder"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := compareRows(notifyql, postgraphile); err != nil {
		t.Errorf("the same row compared unequal: %v", err)
	}
	if _, err := postgraphileNotificationRows([]byte(`{"notificationByRowId":null}`)); err == nil {
		t.Error("a missing notification gave rows")
	}
}

func TestCompareRowsNamesTheFirstDifference(t *testing.T) {
	a := []row{{"1", "Reset"}, {"2", "Reset"}, {"3", "News"}}
	for _, c := range []struct {
		name         string
		postgraphile []row
		want         string // in the error; "" for none
	}{
		{"same", []row{{"1", "Reset"}, {"2", "Reset"}, {"3", "News"}}, ""},
		{"order", []row{{"1", "Reset"}, {"3", "News"}, {"2", "Reset"}}, "row 2 differs"},
		{"template", []row{{"1", "Reset"}, {"2", "News"}, {"3", "News"}}, `template "News"`},
		{"fewer", []row{{"1", "Reset"}, {"2", "Reset"}}, "notifyql returned 3 rows, PostGraphile 2"},
		{"more", append(append([]row{}, a...), row{"4", "News"}), "notifyql returned 3 rows, PostGraphile 4"},
	} {
		err := compareRows(a, c.postgraphile)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if err := compareRows(nil, nil); err == nil {
		t.Error("two empty answers compared equal: an empty page proves nothing")
	}
}

func TestDashboardRowsNeedTotals(t *testing.T) {
	rows, err := dashboardRows([]byte(`{"service":{"totals":{"email":{}},"templateStatistics":[{"template":{"name":"Reset"}}]}}`))
	if err != nil || len(rows) != 1 || rows[0].Template != "Reset" {
		t.Errorf("dashboardRows = %v, %v", rows, err)
	}
	if _, err := dashboardRows([]byte(`{"service":{"totals":null,"templateStatistics":[]}}`)); err == nil {
		t.Error("a dashboard without totals gave rows")
	}
}

func TestOperationsFlagChoosesInTheTablesOrder(t *testing.T) {
	names, err := parseOperations("dashboard, notification")
	if err != nil {
		t.Fatal(err)
	}
	ops := chosen(operations("s", "n", []int{1, 16}), names)
	if len(ops) != 2 || ops[0].name != opByID || ops[1].name != opDashboard {
		t.Errorf("--operations dashboard,notification ran %v", ops)
	}
	for _, bad := range []string{"", "pages", "page,page", "page,,dashboard", "PAGE"} {
		if _, err := parseOperations(bad); err == nil {
			t.Errorf("--operations %q was taken", bad)
		}
	}
}
