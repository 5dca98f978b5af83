package server

import (
	"net/http"
	"sync"
	"time"

	"notifyql"
)

// DownloadLimits bound what the CSV downloads (the notifications CSV, the inbox, stored
// reports) may hold while a client takes its file. A download holds a goroutine, one
// batch of the file in memory and, while it reads the next batch, a database connection;
// a client that stops reading must not keep these for longer than the write timeout, nor
// one user hold more than a few at once.
type DownloadLimits struct {
	// WriteTimeout is how long a client has to take each batch of a file (at most
	// notifyql.DownloadBatchSize rows, or one stored report chunk) from the moment it is
	// sent; a client that has not taken it by then is dropped and the download let go.
	WriteTimeout time.Duration
	// MaxPerUser is how many downloads one user may have in progress on this instance; the
	// next answers 429 RATE_LIMITED until one of them finishes or is dropped.
	MaxPerUser int
}

// DefaultDownloadLimits are the limits used where configuration sets none. Thirty seconds
// for a batch (about 130 KB of a typical notifications CSV, 330 KB for a stored report's
// chunk) asks at most 11 KB/s of a client that is reading at all; three downloads at once is
// more than a person at a dashboard starts, and few enough that one account cannot pin
// much memory (about 280 KB a stalled download: BenchmarkStalledDownloads).
func DefaultDownloadLimits() DownloadLimits {
	return DownloadLimits{WriteTimeout: 30 * time.Second, MaxPerUser: 3}
}

// withDefaults fills each limit left at zero with its default.
func (l DownloadLimits) withDefaults() DownloadLimits {
	d := DefaultDownloadLimits()
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.MaxPerUser <= 0 {
		l.MaxPerUser = d.MaxPerUser
	}
	return l
}

// downloadRoutes returns what wraps each download's handler, in this order: the per-address
// allowance (before authentication, so that guessing tokens or links costs too), the check
// of the path's and query's text, the route's authentication, which puts the caller or the
// reason there is none in the request's context, the per-user allowance, and a place among
// the user's downloads in progress.
func (s *Server) downloadRoutes(rates *rateLimiting) func(authenticate func(http.Handler) http.Handler, download http.Handler) http.Handler {
	slots := &downloadSlots{max: s.cfg.DownloadLimits.MaxPerUser, held: tally{}}
	return func(authenticate func(http.Handler) http.Handler, download http.Handler) http.Handler {
		return rates.byIP(s.refuseUnreadableDownloadText(authenticate(rates.byUser(s.holdDownloadSlot(slots, download)))))
	}
}

// refuseUnreadableDownloadText answers a download whose path or query parameters are not
// text PostgreSQL can hold (checkRequestText) with 400 BAD_USER_INPUT, before anything
// reads them.
func (s *Server) refuseUnreadableDownloadText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequestText(r); err != nil {
			s.writeError(r.Context(), w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticateByLinkOrHeader authenticates a download by its signed link or its
// Authorization header (Authenticator.AuthenticateDownload) and carries the principal, or
// the reason there is none, in the request's context, as Authenticator.Middleware does for
// the header alone.
func (s *Server) authenticateByLinkOrHeader(links *LinkSigner) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			principal, err := s.auth.AuthenticateDownload(ctx, r, links)
			if err != nil {
				// The handler answers with the error (Authenticated returns it), after the
				// checks of the path that come first.
				next.ServeHTTP(w, r.WithContext(notifyql.NewContextWithAuthError(ctx, err)))
				return
			}
			next.ServeHTTP(w, r.WithContext(notifyql.NewContextWithPrincipal(ctx, principal)))
		})
	}
}

// holdDownloadSlot lets a signed-in user's download through while the user has fewer than
// the limit in progress, and holds the place until the handler returns, whether the file
// was sent whole, failed or its client was dropped. Requests without a user go through:
// their handler refuses them.
func (s *Server) holdDownloadSlot(slots *downloadSlots, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal := notifyql.PrincipalFromContext(r.Context())
		if principal == nil {
			next.ServeHTTP(w, r)
			return
		}
		if !slots.take(principal.User.ID) {
			s.cfg.RequestMetrics.countError("RATE_LIMITED")
			s.writeError(r.Context(), w, notifyql.Errorf(notifyql.ERATELIMITED,
				"too many downloads at once: you may have %d in progress; wait for one to finish, then try again", slots.max))
			return
		}
		defer slots.release(principal.User.ID)
		next.ServeHTTP(w, r)
	})
}

// downloadSlots counts each user's downloads in progress on this instance.
type downloadSlots struct {
	max  int
	mu   sync.Mutex
	held tally
}

// take reports whether userID had fewer than max downloads in progress, counting one more
// if so.
func (d *downloadSlots) take(userID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held.take(userID, d.max)
}

// release ends one of userID's downloads; a user with none left is forgotten, so that the
// map holds only users downloading now.
func (d *downloadSlots) release(userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.held.release(userID)
}
