package notifyql

import "testing"

func TestAccessChangeAffects(t *testing.T) {
	const user, other, service, otherService = "u1", "u2", "s1", "s2"
	for _, tt := range []struct {
		name   string
		change AccessChange
		want   bool
	}{
		{"the user's own change", AccessChange{UserIDs: []string{other, user}}, true},
		{"another user's change", AccessChange{UserIDs: []string{other}}, false},
		{"the service's facts", AccessChange{ServiceIDs: []string{service}}, true},
		{"another service's facts", AccessChange{ServiceIDs: []string{otherService}}, false},
		{"too many to list", AccessChange{All: true}, true},
		{"nothing", AccessChange{}, false},
	} {
		if got := tt.change.Affects(user, service); got != tt.want {
			t.Errorf("%s: Affects = %v, want %v", tt.name, got, tt.want)
		}
	}
}
