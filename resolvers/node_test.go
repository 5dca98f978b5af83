package resolvers

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"notifyql"
	"notifyql/graph"
)

// node(id) checks each type with the @hasPermission of the field that shows it, as the
// schema declares it.
func TestNodeRequirementsAreReadFromTheSchema(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	got, err := readNodeRequirements(schema)
	if err != nil {
		t.Fatal(err)
	}
	want := nodeRequirements{
		notification: notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity, notifyql.SendMessages}},
		template:     notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}},
		job:          notifyql.Requirement{AnyOf: []notifyql.Permission{}},
		inboxMessage: notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}, Feature: "inbound_sms"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(nodeRequirements{})); diff != "" {
		t.Errorf("requirements (-want +got):\n%s", diff)
	}
	for _, f := range [][2]string{{"Query", "services"}, {"Service", "noSuchField"}, {"NoSuchType", "id"}} {
		if _, err := fieldRequirement(schema, f[0], f[1]); err == nil {
			t.Errorf("%s.%s: no error for a field without @hasPermission", f[0], f[1])
		}
	}
}
