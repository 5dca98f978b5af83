package resolvers

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unique"
	"unsafe"
	"weak"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"notifyql"
	"notifyql/live"
)

// stream serves a topic's snapshots, decoded to S by the hub and converted for gqlgen, and
// re-checks the guard whenever an access change names the caller or the service. A
// refusal ends the subscription with that error.
//
// No goroutine waits on behalf of an idle subscription: the hub fills an outlet, and
// SubscriptionStreams moves each snapshot from it to the channel gqlgen reads when gqlgen
// asks for the next response. That step is where a response already rendered for the same
// snapshot, operation and variables is reused instead of rendered again. Where the
// transport parks operations (ResponseSender), the outlet wakes the operation when it
// has a snapshot, and the response handler parks it again once the outlet is empty: a
// subscription holds a goroutine only while it has something to send.
func stream[S, T any](ctx context.Context, r *Resolver, topic notifyql.Topic, g guard, convert func(S) T) (<-chan T, error) {
	st, ok := ctx.Value(streamKey{}).(*streamState)
	if !ok {
		return nil, notifyql.Errorf(notifyql.EINTERNAL, "subscriptions need the SubscriptionStreams extension")
	}
	c := &rechecker{r: r, ctx: ctx, g: g, ending: st}
	out := live.NewOutlet(convert)
	p := &pump[T]{in: out.C(), out: make(chan T, 1)}
	if st.sender != nil {
		out.Notify(st.sender.Wake)
		p.parks = true
	}
	detach, err := r.live.Attach(ctx, topic, out, live.AccessInterest{UserID: g.userID, OnChange: c.trigger})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.detach = detach
	c.mu.Unlock()
	st.mu.Lock()
	st.pump = p
	st.mu.Unlock()
	return p.out, nil
}

// rechecker re-checks one subscription's guard, one check at a time: a change that
// arrives during a check earns one more check after it.
type rechecker struct {
	r      *Resolver
	ctx    context.Context
	g      guard
	ending *streamState

	mu      sync.Mutex
	detach  func() // ends the subscription; nil until Attach returns
	running bool
	again   bool
}

func (c *rechecker) trigger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		c.again = true
		return
	}
	c.running = true
	go c.run()
}

func (c *rechecker) run() {
	for {
		err := c.r.recheck(c.ctx, c.g, time.Now())
		switch code := notifyql.ErrorCode(err); {
		case err == nil:
		case code == notifyql.EFORBIDDEN:
			// The subscription ends: the hub closes its outlet, and the response that
			// follows carries this error. running stays set, so no check starts again.
			// The path is the subscription field's, which ctx carries: worked out here
			// rather than kept by every subscription for the rare one refused.
			c.ending.end(gqlerror.WrapPath(graphql.GetFieldContext(c.ctx).Path(), err))
			c.mu.Lock()
			detach := c.detach
			c.mu.Unlock()
			if detach != nil {
				detach()
			}
			return
		case c.ctx.Err() == nil:
			// Not a refusal: the check could not be made. Try again shortly rather
			// than end subscriptions over a blip, or keep serving without a check.
			time.AfterFunc(recheckRetry, c.trigger)
		}
		c.mu.Lock()
		if !c.again || c.ctx.Err() != nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.again = false
		c.mu.Unlock()
	}
}

// pump moves one subscription's snapshots from the hub's outlet to gqlgen's channel, one
// at a time, when SubscriptionStreams asks.
type pump[T any] struct {
	in      <-chan live.Delivery[T]
	out     chan T // capacity one, filled only just before gqlgen reads it
	pending T
	ended   bool
	// parks says whether next returns at once when in is empty: the transport parks the
	// operation, and the outlet wakes it.
	parks bool
}

// snapshotPump is a pump of any type, as SubscriptionStreams sees it.
type snapshotPump interface {
	// next takes the next snapshot and returns what its subscribers share. ok is false
	// when the stream has ended (its context too): gqlgen's channel is then closed. A
	// pump that parks returns empty when no snapshot is there yet; the others wait.
	next() (shared *live.Shared, ok, empty bool)
	// newer replaces the snapshot next returned with one that has come since, if any,
	// without waiting; ok is false when none has (or the stream has ended: next says so).
	newer() (shared *live.Shared, ok bool)
	// hand gives gqlgen the snapshot next returned.
	hand()
}

func (p *pump[T]) next() (shared *live.Shared, ok, empty bool) {
	var d live.Delivery[T]
	if p.parks {
		select {
		case d, ok = <-p.in:
		default:
			return nil, false, true
		}
	} else {
		// A plain receive, not a select with ctx: the hub closes the outlet when the
		// subscription's context ends.
		d, ok = <-p.in
	}
	if !ok {
		if !p.ended {
			p.ended = true
			close(p.out)
		}
		return nil, false, false
	}
	p.pending = d.Value
	return d.Shared, true, false
}

func (p *pump[T]) newer() (*live.Shared, bool) {
	select {
	case d, ok := <-p.in:
		if !ok {
			// Left for next to report: the channel stays closed.
			return nil, false
		}
		p.pending = d.Value
		return d.Shared, true
	default:
		return nil, false
	}
}

func (p *pump[T]) hand() {
	p.out <- p.pending
	var zero T
	p.pending = zero
}

// streamState is one operation's subscription plumbing: the error that ends it, carried
// from the re-check to the response that reports it, and its pump.
type streamState struct {
	mu   sync.Mutex
	err  error
	pump snapshotPump

	key    unique.Handle[renderKey]
	hasKey bool

	// sender sends shared encodings (SubscriptionStreams.Senders).
	sender ResponseSender
	turns  Turns
	counts *RenderCounts
	// sent is the hash of the encoding last sent, once hasSent.
	sent    uint64
	hasSent bool

	// variables is the operation's variables, encoded; sharedVariables holds the copy of
	// them the operation shares (SharedVariables) for as long as it runs.
	variables       string
	sharedVariables *map[string]any

	// tracing, when set, traces each push; nil, as most are, it costs an idle
	// subscription one pointer.
	tracing *pushTracing
}

// pushTracing traces a subscription's pushes, each linked to subscription, the
// operation's span.
type pushTracing struct {
	tracer       trace.Tracer
	subscription trace.SpanContext
}

type streamKey struct{}

// renderKey names a rendering: responses with equal keys for one snapshot are equal.
// The snapshot names the topic; the key names the rest of what the response is made of.
type renderKey struct {
	// query is the operation's text. Not the parsed document: operations that arrive
	// together, before gqlgen's query cache holds their text, are parsed once each, and
	// would render apart.
	query     string
	operation string
	variables string
	// audience is empty when the response is the same for everyone (audienceOf), the
	// caller's accessKey when it depends on their access, "user:" and their id when it
	// depends on who they are.
	audience string
}

func (st *streamState) end(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.err = err
}

// take returns the ending error once.
func (st *streamState) take() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	err := st.err
	st.err = nil
	return err
}

// renderKey is computed once per operation, at its first response. It is a unique handle:
// equal keys are one pointer, cheap to compare and hash on every response, and a key
// nobody holds any more is let go.
func (st *streamState) renderKey(ctx context.Context) unique.Handle[renderKey] {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.hasKey {
		oc := graphql.GetOperationContext(ctx)
		st.key = unique.Make(renderKey{query: oc.RawQuery, operation: oc.OperationName, variables: st.variables, audience: audienceKey(ctx, oc.Operation)})
		st.hasKey = true
	}
	return st.key
}

// SubscriptionStreams runs the subscriptions' side of each response.
//
//   - It lets a subscription end with an error: gqlgen ends a stream when its channel
//     closes, with no error of its own. When the stream ends because the resolver refused
//     to go on, one last response carries that error (through the error presenter, so it
//     has its extensions.code), and then the transport completes the operation.
//   - It renders each snapshot once per operation, variables and audience (audienceOf:
//     everyone, callers with the same access, or one user, as the selected fields need):
//     the subscribers of a topic that sent the same subscription share the response,
//     instead of executing it once each.
//
// Where the transport can write a response already encoded, each shared response is
// encoded once too.
type SubscriptionStreams struct {
	// Senders, when set, returns the sender of an operation's encoded responses, or nil
	// when its transport has none (server.ResponseSenderFor).
	Senders func(ctx context.Context) ResponseSender
	// Turns bounds how many subscriptions prepare a response at once (NewTurns); nil
	// leaves them unbounded.
	Turns Turns
	// Counts, when set, counts the renderings and encodings made for snapshots.
	Counts *RenderCounts
	// Variables, when set, lets subscriptions that sent equal variables hold one copy.
	Variables *SharedVariables
	// Tracing, when set, makes each push of a snapshot a trace of its own ("subscription
	// push"), linked to its subscription's span; nil traces nothing, at no cost.
	Tracing trace.TracerProvider
}

// SharedVariables lets subscriptions that sent equal variables hold one copy of them: a
// subscription holds its operation's variables for as long as it runs, and the
// subscribers of a dashboard send the same few. A copy is held weakly, and forgotten once
// no subscription holds it: the copies are as many as the distinct variables of the
// subscriptions running, which their per-user caps bound. NewSharedVariables makes one.
type SharedVariables struct {
	mu     sync.Mutex
	copies map[unique.Handle[string]]weak.Pointer[map[string]any]
}

// NewSharedVariables returns an empty SharedVariables.
func NewSharedVariables() *SharedVariables {
	return &SharedVariables{copies: make(map[unique.Handle[string]]weak.Pointer[map[string]any])}
}

// share returns the copy held of the variables encoded as encoded, holding v as that copy
// when none is held. The copy is kept for as long as the returned pointer is reachable.
func (s *SharedVariables) share(encoded string, v map[string]any) *map[string]any {
	key := unique.Make(encoded)
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.copies[key].Value(); held != nil {
		return held
	}
	held := &v
	s.copies[key] = weak.Make(held)
	runtime.AddCleanup(held, s.forget, key)
	return held
}

// forget drops the entry of a copy nobody holds any more, unless another has taken its
// place since.
func (s *SharedVariables) forget(key unique.Handle[string]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.copies[key].Value() == nil {
		delete(s.copies, key)
	}
}

// sameMap reports whether a and b are one map (not merely equal ones).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// size is how many copies are held.
func (s *SharedVariables) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.copies)
}

// RenderCounts counts the work a snapshot's subscribers cause: with sharing, one
// rendering and one encoding per snapshot and distinct operation, variables and audience,
// however many subscribers there are.
type RenderCounts struct {
	// Renders are the responses executed by gqlgen for a snapshot.
	Renders atomic.Int64
	// Encodings are the responses encoded for a transport that writes them as they are.
	Encodings atomic.Int64
}

func (c *RenderCounts) add(encoded bool) {
	if c == nil {
		return
	}
	c.Renders.Add(1)
	if encoded {
		c.Encodings.Add(1)
	}
}

// Turns are the turns subscriptions take to prepare their next response once a snapshot
// has woken them. A write to the relay's subscribers wakes thousands of goroutines at
// once; each would run in turn ahead of anything woken after them, so that the relay's
// next query, its publishing and the change hints all waited for the whole fan-out of
// the last tick, and took that much longer to reach it. Goroutines waiting for a turn
// are parked, in order, not queued to run: the runtime's queue stays short, and what
// the relay needs runs soon after it is ready. A turn covers taking the latest snapshot
// and rendering or sharing its response, not the write, so that a client that stops
// reading holds none.
type Turns chan struct{}

// NewTurns returns Turns that n subscriptions may hold at once.
func NewTurns(n int) Turns { return make(Turns, max(n, 1)) }

func (t Turns) take() {
	if t != nil {
		t <- struct{}{}
	}
}

func (t Turns) give() {
	if t != nil {
		<-t
	}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = SubscriptionStreams{}

func (SubscriptionStreams) ExtensionName() string                   { return "SubscriptionStreams" }
func (SubscriptionStreams) Validate(graphql.ExecutableSchema) error { return nil }

func (streams SubscriptionStreams) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	// A subscription holds its query text for as long as it runs, and dashboards send
	// the same text: one copy serves them all. The operation context is written only
	// where this changes it: a transport may share one context between subscriptions
	// (server's sockets do), and the first of them has made these writes already.
	if query := unique.Make(oc.RawQuery).Value(); unsafe.StringData(query) != unsafe.StringData(oc.RawQuery) {
		oc.RawQuery = query
	}
	st := &streamState{}
	// encoding/json writes map keys sorted, so equal variables encode equally.
	if variables, err := json.Marshal(oc.Variables); err == nil {
		st.variables = unique.Make(string(variables)).Value()
		if streams.Variables != nil {
			st.sharedVariables = streams.Variables.share(st.variables, oc.Variables)
			if !sameMap(*st.sharedVariables, oc.Variables) {
				oc.Variables = *st.sharedVariables
			}
		}
	}
	ctx = context.WithValue(ctx, streamKey{}, st)
	// The sender is known before the resolver runs: its outlet wakes the operation
	// through it.
	if streams.Senders != nil {
		st.sender = streams.Senders(ctx)
	}
	if streams.Tracing != nil {
		st.tracing = &pushTracing{tracer: streams.Tracing.Tracer("notifyql/resolvers"), subscription: trace.SpanContextFromContext(ctx)}
	}
	responses := next(ctx)
	st.turns = streams.Turns
	st.counts = streams.Counts
	// The shared responses are handed out here, outside gqlgen's response handling:
	// a subscriber served a response rendered for another costs gqlgen nothing.
	return func(ctx context.Context) *graphql.Response { return st.respond(ctx, responses) }
}

// respond returns the operation's next response for gqlgen to send. Each is the one
// rendered for its snapshot and shared with the other subscribers that may share it,
// rendered by responses (gqlgen's handler) when none has been yet. Where the operation
// has a sender, respond sends the responses itself and returns only to hand gqlgen a
// stand-in (see ResponseSender) or the end of the stream, which goes through responses.
func (st *streamState) respond(ctx context.Context, responses graphql.ResponseHandler) *graphql.Response {
	st.mu.Lock()
	p := st.pump
	st.mu.Unlock()
	if p == nil {
		// Not a stream of snapshots: refused at once.
		return responses(ctx)
	}
	for {
		shared, ok, empty := p.next()
		if empty {
			// Nothing to send until the outlet wakes the operation.
			return st.sender.Park()
		}
		if !ok {
			// gqlgen's channel is closed (or ctx done): responses reports the end.
			return responses(ctx)
		}
		pushCtx, push := st.startPush(ctx)
		r := st.prepare(pushCtx, p, shared, responses)
		if r == nil {
			// The stream ended while the response was rendered, or ctx is done.
			endPush(push, "ended")
			return nil
		}
		if r.encoded == nil || st.sender == nil {
			// Subscribers share the response whole: gqlgen's websocket transport only
			// encodes the response it is handed, and no interceptor outside this one
			// changes it.
			endPush(push, "handed")
			return r.response
		}
		if st.hasSent && r.hash == st.sent {
			// The snapshot changed where this operation does not look (another
			// notification type, say): its response did not, and is not sent again.
			endPush(push, "unchanged")
			continue
		}
		st.sent, st.hasSent = r.hash, true
		sent, err := st.sender.Send(r.encoded)
		if err != nil {
			// The socket is being dropped: its end reaches the outlet, and so p.next.
			endPush(push, "dropped")
			continue
		}
		if !sent {
			// The first response: gqlgen writes it, and the sender learns the
			// operation's id from it.
			endPush(push, "handed")
			return &graphql.Response{Data: st.sender.StandIn(r.encoded)}
		}
		endPush(push, "sent")
	}
}

// startPush starts the span of one snapshot's push, when pushes are traced: a trace of its
// own, since a subscription lives for hours and its pushes would make one endless trace,
// linked to the subscription's span, which names the operation. Its context carries the
// span to the rendering's statements and loaders. push is nil when pushes are not traced.
func (st *streamState) startPush(ctx context.Context) (_ context.Context, push trace.Span) {
	if st.tracing == nil {
		return ctx, nil
	}
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithAttributes(attribute.String("graphql.operation.type", "subscription"))}
	if st.tracing.subscription.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: st.tracing.subscription}))
	}
	return st.tracing.tracer.Start(ctx, "subscription push", opts...)
}

// endPush ends a push's span, saying what became of the push: sent on the socket,
// handed to gqlgen to send, unchanged (not sent again), dropped with its socket, or ended
// with the stream.
func endPush(push trace.Span, outcome string) {
	if push == nil {
		return
	}
	push.SetAttributes(attribute.String("notifyql.push.outcome", outcome))
	push.End()
}

// prepare returns the response for the snapshot p.next returned, or for a newer one if
// one has come, rendered (by responses) or shared, in a turn. It returns nil when the
// stream ended while the response was rendered, or ctx is done.
func (st *streamState) prepare(ctx context.Context, p snapshotPump, shared *live.Shared, responses graphql.ResponseHandler) *rendering {
	// The write is left out of the turn: a client that stops reading blocks only its
	// own goroutine.
	st.turns.take()
	defer st.turns.give()
	if newer, ok := p.newer(); ok {
		// It came while this one waited for its turn: the reader needs only the latest.
		shared = newer
	}
	r, _ := shared.Do(ctx, st.renderKey(ctx), func() any {
		p.hand()
		resp := responses(ctx)
		if resp == nil {
			return nil // not a typed nil: Do keeps no nil
		}
		r := &rendering{response: resp}
		if st.sender != nil {
			// A response that will not encode is handed to gqlgen as it is, to fail there.
			r.encoded, _ = json.Marshal(resp)
			r.hash = maphash.Bytes(renderingSeed, r.encoded)
		}
		st.counts.add(r.encoded != nil)
		return r
	}).(*rendering)
	return r
}

var renderingSeed = maphash.MakeSeed()

// ResponseSender sends a subscription's responses, encoded, on its socket (see
// server.ResponseSender, which is this).
type ResponseSender interface {
	StandIn(encoded []byte) json.RawMessage
	Send(encoded []byte) (sent bool, err error)
	Park() *graphql.Response
	Wake()
}

// InterceptResponse lets a stream that ended with an error say so (see orEnding).
func (SubscriptionStreams) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if st, ok := ctx.Value(streamKey{}).(*streamState); ok {
		return st.orEnding(ctx, resp)
	}
	return resp
}

// rendering is a response rendered for the subscribers of a snapshot that share it, and
// its encoding when the transport can send that (SubscriptionStreams.Senders).
type rendering struct {
	response *graphql.Response
	encoded  []byte
	hash     uint64 // of encoded
}

// orEnding returns resp, or when the stream has ended, the error it ended with if any.
func (st *streamState) orEnding(ctx context.Context, resp *graphql.Response) *graphql.Response {
	if resp != nil {
		return resp
	}
	err := st.take()
	if err == nil {
		return nil
	}
	graphql.AddError(ctx, err)
	return &graphql.Response{Errors: graphql.GetErrors(ctx)}
}
