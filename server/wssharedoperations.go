package server

import (
	"encoding/json"
	"runtime"
	"sync"
	"unique"
	"weak"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// A subscription holds gqlgen's operation context for as long as it runs: the document's
// text, its variables, and the fields gqlgen has collected from its selection (a cache of
// its own, filled when the subscription starts). The subscribers of a dashboard send the
// same few subscriptions, so the sockets' subscriptions that sent the same document,
// operation name, variables and extensions share one operation context instead of holding
// one each.
//
// Sharing is safe because nothing writes an operation context once its first operation
// has been dispatched: gqlgen and the extensions write it (its timings, what the handler
// extensions note in its Stats) while it is created and dispatched, and only read it while
// the subscription streams; its field cache takes a lock of its own. So a context is
// offered for sharing only once the operation that made it has been dispatched, and an
// operation that takes a shared one keeps the timings of the one that made it, whose
// document, parse and validation it repeats.

// sharedOperationKey is what makes two subscriptions' operation contexts interchangeable.
type sharedOperationKey struct {
	query, operationName, variables, extensions string
}

// sharedOperationContexts holds, weakly, the operation context shared by the running
// subscriptions of each key: one is forgotten once no subscription holds it, so the
// contexts held are as many as the distinct subscriptions running.
type sharedOperationContexts struct {
	mu     sync.Mutex
	shared map[unique.Handle[sharedOperationKey]]weak.Pointer[graphql.OperationContext]
}

func newSharedOperationContexts() *sharedOperationContexts {
	return &sharedOperationContexts{shared: make(map[unique.Handle[sharedOperationKey]]weak.Pointer[graphql.OperationContext])}
}

// take returns the context a running subscription shares for rc's key, or rc itself when
// none is shared yet: the caller then offers rc once dispatched, with offer(key, rc). ok
// is false for an operation that is not a subscription, or whose key cannot be made:
// it keeps rc.
func (s *sharedOperationContexts) take(rc *graphql.OperationContext) (_ *graphql.OperationContext, key unique.Handle[sharedOperationKey], ok bool) {
	if rc.Operation == nil || rc.Operation.Operation != ast.Subscription {
		return rc, key, false
	}
	variables, err := json.Marshal(rc.Variables)
	if err != nil {
		return rc, key, false
	}
	extensions, err := json.Marshal(rc.Extensions)
	if err != nil {
		return rc, key, false
	}
	key = unique.Make(sharedOperationKey{query: rc.RawQuery, operationName: rc.OperationName, variables: string(variables), extensions: string(extensions)})
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.shared[key].Value(); held != nil {
		return held, key, true
	}
	return rc, key, true
}

// offer shares rc, dispatched, as key's context, unless another has been offered since.
func (s *sharedOperationContexts) offer(key unique.Handle[sharedOperationKey], rc *graphql.OperationContext) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared[key].Value() != nil {
		return
	}
	s.shared[key] = weak.Make(rc)
	runtime.AddCleanup(rc, s.forget, key)
}

// forget drops the entry of a context nobody holds any more, unless another has taken its
// place since.
func (s *sharedOperationContexts) forget(key unique.Handle[sharedOperationKey]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared[key].Value() == nil {
		delete(s.shared, key)
	}
}

// size is how many contexts are shared.
func (s *sharedOperationContexts) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shared)
}
