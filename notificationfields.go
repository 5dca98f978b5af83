package notifyql

// The Notification fields below are worked out from the row alone. As methods without a
// context, gqlgen resolves them inline while it marshals the object, rather than starting a
// goroutine per field per row as it does for a resolver: a 50-row page selects several.

// StatusGroup is the group its status counts towards; nil for cancelled (see
// NotificationStatus.Group).
func (n *Notification) StatusGroup() *StatusGroup {
	if g, ok := n.Status.Group(); ok {
		return &g
	}
	return nil
}

// StatusLabel is the status as the screen shows it for the notification's type.
func (n *Notification) StatusLabel() string {
	return StatusScreenLabel(n.Type, n.Status)
}

// IsFinal reports whether its status is final.
func (n *Notification) IsFinal() bool {
	return n.Status.IsFinal()
}

// IsTestKey reports whether it was sent with a test key.
func (n *Notification) IsTestKey() bool {
	return n.KeyType == KeyTest
}
