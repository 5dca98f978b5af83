package server

import (
	"context"
	"reflect"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"notifyql"
)

// A socket signs in once, at connection_init, and then carries any number of operations for
// as long as it stays open. Each of them is a request in its own right, and is treated as
// HTTP treats one: its user is loaded again (the user, their state, memberships and
// permissions as they are now, which is what the resolvers check), it is counted by the
// same per-user rate limiter, a query or mutation is bound by the same request timeout,
// and a subscription takes one of the socket's and the user's places. This costs one
// principal query and one rate limiter call per operation started, never per response a
// subscription pushes.

// socketOperations is the handler extension that applies the above to every operation
// started on one of the server's sockets; operations over HTTP pass through, the handler
// chain in front of them having done the same.
type socketOperations struct{ s *Server }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = socketOperations{}

func (socketOperations) ExtensionName() string                   { return "SocketOperations" }
func (socketOperations) Validate(graphql.ExecutableSchema) error { return nil }

func (o socketOperations) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	session := sessionFromContext(ctx)
	if session == nil {
		return next(ctx)
	}
	return o.s.runSocketOperation(ctx, session, next)
}

// runSocketOperation admits one operation on session and runs it as its user is now, or
// refuses it with an error message for that operation alone (the transport sends it as the
// operation's "error"). A user who no longer exists or is no longer active is refused with
// UNAUTHENTICATED, and then their sockets are closed with 4403.
func (s *Server) runSocketOperation(ctx context.Context, session *websocketSession, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	subscription := oc.Operation != nil && oc.Operation.Operation == ast.Subscription
	// As over HTTP, the timeout runs from before the caller is loaded to the answer; a
	// subscription's stream is not bound by it, only its admission.
	limited, cancel := ctx, context.CancelFunc(func() {})
	if timeout := s.cfg.Limits.RequestTimeout; timeout > 0 {
		limited, cancel = context.WithTimeout(ctx, timeout)
	}
	user := s.websockets.userOf(session)
	principal, err := s.admitSocketOperation(limited, user)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// The client completed the operation (or left) while it was admitted.
		cancel()
		return endOfOperation
	default:
		cancel()
		if notifyql.ErrorCode(err) == notifyql.EUNAUTHENTICATED {
			// The refusal reaches the client before the close does: the transport
			// writes an operation's error before it ends the operation's context.
			context.AfterFunc(ctx, func() { s.websockets.closeUser(user, closeForbidden, "Forbidden: "+userGone) })
		}
		return s.refuseOperation(ctx, err)
	}
	if !subscription {
		return endingWith(next(notifyql.NewContextWithPrincipal(limited, principal)), cancel)
	}
	cancel()
	release, refusal := s.websockets.holdSubscription(session, s.cfg.WebSocket.MaxSubscriptionsPerSocket, s.cfg.WebSocket.MaxSubscriptionsPerUser)
	if refusal != nil {
		return s.refuseOperation(ctx, refusal)
	}
	// The place is given back when the stream ends, before the transport says so to the
	// client (a complete message), so that a client that saw one end may start another;
	// and at the latest when the operation's context ends, however it ends.
	context.AfterFunc(ctx, release)
	return endingWith(next(notifyql.NewContextWithPrincipal(ctx, principal)), release)
}

// endingWith passes on responses and calls done once they end (the nil response).
func endingWith(responses graphql.ResponseHandler, done func()) graphql.ResponseHandler {
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp == nil {
			done()
		}
		return resp
	}
}

// admitSocketOperation loads user as they are now and counts one operation against their
// allowance, within ctx's time. It refuses with EUNAUTHENTICATED a user who no longer
// exists or is no longer active, with ERATELIMITED one past their allowance, and with
// EUNAVAILABLE an operation whose time ran out first (HTTP's answer to a request that ran
// out of time before its operation started).
func (s *Server) admitSocketOperation(ctx context.Context, user string) (*notifyql.Principal, error) {
	principal, err := s.auth.Reload(ctx, user)
	if err == nil {
		principal = sameAsSignedIn(ctx, principal)
		if refusal := s.rates.allowUser(ctx, user); refusal != nil {
			return nil, refusal
		}
	}
	if ctx.Err() != nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "the request could not be answered in time: try again shortly")
	}
	return principal, err
}

// sameAsSignedIn returns the principal the socket signed in with when fresh is equal to
// it, and fresh otherwise: a subscription holds its principal for as long as it runs, and
// the operations of a socket whose user's access has not changed share one.
func sameAsSignedIn(ctx context.Context, fresh *notifyql.Principal) *notifyql.Principal {
	if signedIn := notifyql.PrincipalFromContext(ctx); signedIn != nil && reflect.DeepEqual(signedIn, fresh) {
		return signedIn
	}
	return fresh
}

// endOfOperation ends an operation without a response.
func endOfOperation(context.Context) *graphql.Response { return nil }

// refuseOperation answers an operation that will not run with err, presented as GraphQL
// presents errors, as the operation's error message, and ends it.
func (s *Server) refuseOperation(ctx context.Context, err error) graphql.ResponseHandler {
	presented := s.presentError(ctx, err)
	op := operationFrom(ctx)
	if op == nil {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{presented}})
	}
	op.refuse(presented)
	return endOfOperation
}

// userOf is who signed in on session ("" before connection_init was accepted).
func (ss *websocketSessions) userOf(session *websocketSession) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return session.user
}

// holdSubscription takes a place for one more subscription on session, within perSocket
// for the socket and perUser for its user on this instance. It returns the function that
// gives the place back (once, however often it is called), or the ESUBSCRIPTIONLIMIT
// refusal when either cap is reached.
func (ss *websocketSessions) holdSubscription(session *websocketSession, perSocket, perUser int) (release func(), refusal *notifyql.Error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	user := session.user
	switch {
	case session.subscriptions >= perSocket:
		return nil, notifyql.Errorf(notifyql.ESUBSCRIPTIONLIMIT,
			"this connection holds the most subscriptions allowed (%d): complete one to start another", perSocket)
	case !ss.subscriptionsPerUser.take(user, perUser):
		return nil, notifyql.Errorf(notifyql.ESUBSCRIPTIONLIMIT,
			"you hold the most subscriptions allowed on this server (%d): complete one to start another", perUser)
	}
	session.subscriptions++
	var once sync.Once
	return func() {
		once.Do(func() {
			ss.mu.Lock()
			defer ss.mu.Unlock()
			session.subscriptions--
			ss.subscriptionsPerUser.release(user)
		})
	}, nil
}

// closeUser closes every socket user signed in on with code and reason.
func (ss *websocketSessions) closeUser(user string, code int, reason string) {
	for _, session := range ss.sessionsOf(func(u string) bool { return u == user }) {
		if conn := session.connection(); conn != nil {
			conn.closeWith(code, reason)
		}
	}
}

// sessionsOf returns the signed-in sessions whose user is chosen.
func (ss *websocketSessions) sessionsOf(chosen func(user string) bool) []*websocketSession {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var sessions []*websocketSession
	for session := range ss.live {
		if session.user != "" && chosen(session.user) {
			sessions = append(sessions, session)
		}
	}
	return sessions
}
