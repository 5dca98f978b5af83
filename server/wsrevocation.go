package server

import (
	"context"
	"sync"
	"time"

	"notifyql"
)

// A socket whose user is deleted or deactivated must not wait for its next operation (or
// its token's expiry) to end: the access changes that the live path carries to every
// instance (the triggers' hints, relayed within the same bound as a subscription's
// re-check) name the users whose access changed, and the server re-checks the users of
// its sockets that a change names.

// Re-checks that fail for a reason other than a refusal (the database is away) are tried
// again after revocationRetry while the user still has a socket here; one re-check takes at
// most revocationTimeout; at most revocationWorkers run at once, so that a change naming
// everyone (an election, a gap) does not take the API's database connections from its
// requests.
const (
	revocationRetry   = time.Second
	revocationTimeout = 5 * time.Second
	revocationWorkers = 4
)

// AccessChanged is told of each access change that reaches this instance (cmd wires it to
// the live hub). The cached principals c names are dropped; the users of the server's
// sockets that c names, or all of them when c says All, are loaded again, and every socket
// of a user who no longer exists or is no longer active is closed with 4403. It returns at
// once: the checks run in the background.
func (s *Server) AccessChanged(c notifyql.AccessChange) {
	// First the cached principals, so that no request or operation from here on is
	// authorised as the user was.
	s.auth.forget(c)
	users := c.UserIDs
	if c.All {
		users = s.websockets.signedInUsers()
	}
	for _, user := range users {
		if s.websockets.holdsUser(user) {
			s.revocations.check(user)
		}
	}
}

// revocationChecks re-check socket users, one check per user at a time: a change that
// arrives during a user's check earns one more check after it.
type revocationChecks struct {
	s  *Server
	mu sync.Mutex
	// again holds the users being checked now, true for those to check once more.
	again map[string]bool
	// workers bounds the checks that run at once.
	workers chan struct{}
}

func newRevocationChecks(s *Server) *revocationChecks {
	return &revocationChecks{s: s, again: map[string]bool{}, workers: make(chan struct{}, revocationWorkers)}
}

// check re-checks user in the background.
func (r *revocationChecks) check(user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, running := r.again[user]; running {
		r.again[user] = true
		return
	}
	r.again[user] = false
	go r.run(user)
}

func (r *revocationChecks) run(user string) {
	for {
		r.workers <- struct{}{}
		retry := r.checkOnce(user)
		<-r.workers
		r.mu.Lock()
		if !r.again[user] {
			delete(r.again, user)
			r.mu.Unlock()
			if retry {
				time.AfterFunc(revocationRetry, func() {
					if r.s.websockets.holdsUser(user) {
						r.check(user)
					}
				})
			}
			return
		}
		r.again[user] = false
		r.mu.Unlock()
	}
}

// checkOnce loads user and closes their sockets if they are gone, reporting whether the
// check could not be made and should be tried again.
func (r *revocationChecks) checkOnce(user string) (retry bool) {
	if !r.s.websockets.holdsUser(user) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), revocationTimeout)
	defer cancel()
	_, err := r.s.auth.Reload(ctx, user)
	switch notifyql.ErrorCode(err) {
	case "":
		return false
	case notifyql.EUNAUTHENTICATED:
		r.s.cfg.Logger.Info("websockets closed: their user does not exist or is not active", "user_id", user)
		r.s.websockets.closeUser(user, closeForbidden, "Forbidden: "+userGone)
		return false
	default:
		r.s.cfg.Logger.Warn("re-check a websocket user after an access change", "user_id", user, "error", err)
		return true
	}
}

// signedInUsers are the users signed in on the server's sockets, each once.
func (ss *websocketSessions) signedInUsers() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	users := make([]string, 0, len(ss.perUser))
	for user := range ss.perUser {
		users = append(users, user)
	}
	return users
}

// holdsUser reports whether user is signed in on any of the server's sockets.
func (ss *websocketSessions) holdsUser(user string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.perUser[user] > 0
}
