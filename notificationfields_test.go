package notifyql

import "testing"

func TestNotificationRowFields(t *testing.T) {
	for _, tt := range []struct {
		n       Notification
		group   *StatusGroup
		label   string
		final   bool
		testKey bool
	}{
		{Notification{Type: TypeEmail, Status: StatusDelivered, KeyType: KeyNormal}, ptr(GroupDelivered), "Delivered", true, false},
		{Notification{Type: TypeSMS, Status: StatusPending, KeyType: KeyTest}, ptr(GroupSending), "Delivering", false, true},
		{Notification{Type: TypeLetter, Status: StatusCancelled, KeyType: KeyTeam}, nil, "", true, false},
		{Notification{Type: TypeLetter, Status: StatusPermanentFailure}, ptr(GroupFailed), "Permanent failure", true, false},
	} {
		n := tt.n
		if got := n.StatusGroup(); (got == nil) != (tt.group == nil) || got != nil && *got != *tt.group {
			t.Errorf("%s %s: StatusGroup() = %v, want %v", n.Type, n.Status, got, tt.group)
		}
		if got := n.StatusLabel(); got != tt.label {
			t.Errorf("%s %s: StatusLabel() = %q, want %q", n.Type, n.Status, got, tt.label)
		}
		if got := n.IsFinal(); got != tt.final {
			t.Errorf("%s %s: IsFinal() = %t, want %t", n.Type, n.Status, got, tt.final)
		}
		if got := n.IsTestKey(); got != tt.testKey {
			t.Errorf("key %s: IsTestKey() = %t, want %t", n.KeyType, got, tt.testKey)
		}
	}
}
