package server

// tally counts what each user holds (sockets, subscriptions, downloads) against a cap, and
// forgets a user who holds nothing, so that it grows only with the users holding something
// now. It is not safe for concurrent use: its owner guards it.
type tally map[string]int

// take counts one more for key when it holds fewer than max, reporting whether it did.
func (t tally) take(key string, max int) bool {
	if t[key] >= max {
		return false
	}
	t[key]++
	return true
}

// release counts one fewer for key.
func (t tally) release(key string) {
	if t[key] <= 1 {
		delete(t, key)
		return
	}
	t[key]--
}
