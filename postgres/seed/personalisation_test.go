package seed

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSeedPlaceholders(t *testing.T) {
	got := seedPlaceholders("Dear ((First Name)), ((first_name)) (((ref)) ((a(b)) (()) ((x",
		"((needs interpreter??We booked one.)) ((code)) ((Payment-Date)) ((collection day))")
	want := []seedFill{
		{"first_name", fillFirstName}, {"ref", fillText}, {"needs_interpreter", fillFlag},
		{"code", fillCode}, {"payment-date", fillDate}, {"collection_day", fillWeekday},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seedFill{})); diff != "" {
		t.Errorf("seedPlaceholders (-want +got):\n%s", diff)
	}
}

func TestSeedPersonalisationIsAJSONObject(t *testing.T) {
	fills := seedPlaceholders("((name)) ((documents)) ((ok??yes)) ((minutes)) ((note))")
	address := []string{"Mr \"Quoted\" \\ Name", "Line\twith\ncontrols", "Café Straße", "SW1A 1AA"}
	for i := range 50 {
		b := seedPersonalisation(newSeedRand(int64(i), 1), time.UTC, fills, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			"ann.smith42@example.com", address, true)
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		// The addressee's last two words name them.
		if got["name"] != `\ Name` {
			t.Errorf("name %q, want the addressee's last two words", got["name"])
		}
		if got["address_line_2"] != "Line\twith\ncontrols" || got["postcode"] != "SW1A 1AA" || got["address_line_3"] != "Café Straße" {
			t.Errorf("address not kept exactly: %s", b)
		}
		if _, ok := got["documents"].([]any); !ok {
			t.Errorf("documents is not a list: %s", b)
		}
		if _, ok := got["minutes"].(float64); !ok {
			t.Errorf("minutes is not a number: %s", b)
		}
	}
	b := seedPersonalisation(newSeedRand(1, 1), time.UTC, seedPlaceholders("((first name)) ((last name))"), time.Now(),
		"ann.smith42@example.com", nil, false)
	if string(b) != `{"first_name":"Ann","last_name":"Smith"}` {
		t.Errorf("an email's names: %s, want its address's", b)
	}
}
