package notifyql

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// Every enum value, known or not, marshals to its GraphQL name as a JSON string; the known
// ones from their names written once.
func TestEnumsMarshalAsTheirGraphQLNames(t *testing.T) {
	check := func(stored string, marshal func(*bytes.Buffer)) {
		t.Helper()
		var b bytes.Buffer
		marshal(&b)
		if want := strconv.Quote(EnumName(stored)); b.String() != want {
			t.Errorf("%q marshals to %s, want %s", stored, b.String(), want)
		}
	}
	for _, v := range NotificationTypes {
		check(string(v), func(b *bytes.Buffer) { v.MarshalGQL(b) })
	}
	for _, v := range NotificationStatuses {
		check(string(v), func(b *bytes.Buffer) { v.MarshalGQL(b) })
	}
	for _, v := range KeyTypes {
		check(string(v), func(b *bytes.Buffer) { v.MarshalGQL(b) })
	}
	for _, v := range Postages {
		check(string(v), func(b *bytes.Buffer) { v.MarshalGQL(b) })
	}
	check("pending-virus-check", func(b *bytes.Buffer) { NotificationStatus("pending-virus-check").MarshalGQL(b) })
	check("not-a-status", func(b *bytes.Buffer) { NotificationStatus("not-a-status").MarshalGQL(b) })
	if allocs := testing.AllocsPerRun(100, func() { StatusDelivered.MarshalGQL(io.Discard) }); allocs != 0 {
		t.Errorf("a known status costs %.0f allocations to write, want none", allocs)
	}
}
