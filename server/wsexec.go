package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// This file runs what a socket's client asks for: connection_init, and each operation,
// with gqlgen's executor, as gqlgen's own WebSocket transport did (same messages, same
// order), but on the socket's goroutines: the reader signs in and prepares an operation;
// a goroutine of the operation's own runs it and writes its responses. A subscription
// with nothing to send parks (ResponseSender.Park) and lets that goroutine go; the live
// hub wakes it with a goroutine again when a snapshot comes.

// socketExecutor runs the operations of one of the server's sockets.
type socketExecutor struct {
	s    *Server
	exec graphql.GraphExecutor
}

// signIn authenticates connection_init's payload and acknowledges it, returning the
// socket's context as its operations see it (the principal, and the payload without the
// token). A refusal closes the socket (ok is false).
func (x socketExecutor) signIn(ctx context.Context, c *websocketConn, payload json.RawMessage) (_ context.Context, ok bool) {
	var initPayload transport.InitPayload
	if len(payload) > 0 {
		// admit has checked that it is an object (or null).
		_ = json.Unmarshal(payload, &initPayload)
	}
	signedIn, refusal := x.s.authenticateWebsocket(ctx, initPayload)
	if refusal != nil {
		if c.names.connectionErrors {
			message, _ := json.Marshal(&gqlerror.Error{Message: refusal.message})
			_ = c.writeEnvelope(message, "", "connection_error")
		}
		c.refuse(refusal.code, refusal.reason)
		return ctx, false
	}
	c.acknowledge()
	if c.writeEnvelope(nil, "", "connection_ack") != nil {
		return ctx, false
	}
	if c.names.keepAlive {
		_ = c.writeEnvelope(nil, "", "ka")
	}
	// A payload that held only the token (authenticateWebsocket took it out) carries
	// nothing for the operations: the socket keeps none.
	if len(initPayload) != 0 {
		signedIn = initPayloadContext{Context: signedIn, payload: initPayload}
	}
	return signedIn, true
}

// start prepares the operation admitted as id on the reader's goroutine (its document is
// parsed and validated, and the extensions see it, in the order the client sent it) and
// runs it on a goroutine of its own. One that cannot run gets its error message and
// complete at once.
func (x socketExecutor) start(ctx context.Context, c *websocketConn, id string, payload json.RawMessage, readStart time.Time) {
	op := c.operation(id)
	if op == nil {
		return
	}
	ctx = graphql.StartOperationTrace(ctx)
	params := &graphql.RawParams{}
	body := operationBody{RawParams: params}
	if err := decodeNumbers(payload, &body); err != nil {
		c.operationEnded(op)
		c.sendErrors(id, gqlerror.List{{Message: "invalid json"}})
		_ = c.writeEnvelope(nil, id, "complete")
		return
	}
	if err := useDocumentID(params, body.DocumentID); err != nil {
		c.operationEnded(op)
		c.sendErrors(id, gqlerror.List{{Message: err.Error(), Extensions: map[string]any{"code": "BAD_REQUEST"}}})
		_ = c.writeEnvelope(nil, id, "complete")
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: readStart, End: graphql.Now()}
	params.Headers = upgradeHeader
	rc, errs := x.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := x.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		c.operationEnded(op)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			c.sendErrors(id, resp.Errors)
		} else {
			c.sendResponse(op, &graphql.Response{Errors: errs})
		}
		_ = c.writeEnvelope(nil, id, "complete")
		return
	}
	// A subscription takes the operation context a running one of the same document and
	// variables shares (wssharedoperations.go), or offers its own once dispatched.
	own := rc
	rc, shareKey, shares := x.s.sharedOperations.take(rc)
	var offer func()
	if shares && rc == own {
		offer = func() { x.s.sharedOperations.offer(shareKey, own) }
	}
	op.socket, op.rc = ctx, rc
	ctx, cancel := context.WithCancel(context.WithValue(graphql.WithOperationContext(ctx, rc), socketOperationKey{}, op))
	op.setCancel(cancel)
	op.ctx = ctx
	c.running.Add(1)
	go op.run(x.exec, offer)
}

// run dispatches the operation and runs its response handler (step), on the goroutine
// start gave it. The operation is stepping from its admission: a Wake that comes first
// (a subscription's first snapshot) is left to this goroutine. offer, when set, shares the
// operation's context once it is dispatched, unless the operation was refused before the
// handler extensions had all seen it.
func (op *socketOperation) run(exec graphql.GraphExecutor, offer func()) {
	dispatched := false
	defer func() {
		if !dispatched {
			op.finish(recover())
		}
	}()
	op.responses, op.ctx = exec.DispatchOperation(op.ctx, op.rc)
	dispatched = true
	if offer != nil && len(op.refusal()) == 0 {
		offer()
	}
	op.step()
}

// step runs the operation's response handler, writing each response, until the handler
// ends the operation, or parks it (ResponseSender.Park) with no Wake since the step
// began: the goroutine is then let go, and the operation holds none until Wake starts
// another. One step runs at a time, so the operation's messages stay in order.
func (op *socketOperation) step() {
	parked := false
	defer func() {
		if !parked {
			op.finish(recover())
		}
	}()
	for {
		response := op.responses(op.ctx)
		if response == nil {
			return
		}
		if op.takeParked() {
			if parked = op.letGo(); parked {
				return
			}
			continue
		}
		op.conn.sendResponse(op, response)
	}
}

// finish writes the operation's end, the errors that refused it or complete, after the
// error of a panic (recovered, nil when none), and ends it. The socket's context ends
// with the socket.
func (op *socketOperation) finish(recovered any) {
	c := op.conn
	defer c.running.Done()
	if recovered != nil {
		err := op.rc.Recover(op.ctx, recovered)
		var gqlErr *gqlerror.Error
		if !errors.As(err, &gqlErr) {
			gqlErr = &gqlerror.Error{}
			if err != nil {
				gqlErr.Message = err.Error()
			}
		}
		c.sendErrors(op.id, gqlerror.List{gqlErr})
	}
	// The id is free once the client can learn the operation has ended.
	c.operationEnded(op)
	if errs := op.refusal(); len(errs) != 0 {
		c.sendErrors(op.id, errs)
	} else if op.socket.Err() == nil {
		// A socket that is closing says no more.
		_ = c.writeEnvelope(nil, op.id, "complete")
	}
	op.end()
	// What the operation held goes with it, though a late Wake still finds it.
	op.responses, op.ctx, op.rc = nil, nil, nil
}

// sendResponse writes response as op's next one (or what a stand-in stands for, see
// ResponseSender).
func (c *websocketConn) sendResponse(op *socketOperation, response *graphql.Response) {
	payload := op.takeStandIn()
	if payload == nil {
		var err error
		if payload, err = json.Marshal(response); err != nil {
			c.logger.ErrorContext(c.logCtx, "encode a response", "error", err)
			c.sendErrors(op.id, gqlerror.List{{Message: "internal error"}})
			return
		}
	}
	_ = c.writeEnvelope(payload, op.id, c.names.next)
}

// sendErrors writes an operation's error message.
func (c *websocketConn) sendErrors(id string, errs gqlerror.List) {
	payload, err := json.Marshal(errs)
	if err != nil {
		payload = []byte(`[{"message":"internal error"}]`)
	}
	_ = c.writeEnvelope(payload, id, "error")
}

// decodeNumbers decodes an operation's parameters as gqlgen's transports do: numbers in
// its variables stay json.Number.
func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// socketOperation is one operation a client started on a socket, from its admission to
// its end.
type socketOperation struct {
	id   string
	conn *websocketConn

	mu     sync.Mutex
	cancel context.CancelFunc
	ended  bool
	// refused holds the errors that end the operation without a complete (refuseOperation).
	refused gqlerror.List
	// standIn is what the next response written stands in for (ResponseSender).
	standIn []byte
	// stepping is set while a goroutine runs the response handler (step), and for good
	// once the operation has ended; woken when Wake came during a step; parked when the
	// handler's last response was Park's.
	stepping, woken, parked bool

	// What the response handler runs with, kept while the operation is parked: the
	// socket's context, the operation's context and gqlgen's handler of its responses.
	// Written before the first step and read by one step at a time.
	socket, ctx context.Context
	rc          *graphql.OperationContext
	responses   graphql.ResponseHandler
}

type socketOperationKey struct{}

// operationFrom returns the socket operation ctx belongs to, nil outside one.
func operationFrom(ctx context.Context) *socketOperation {
	op, _ := ctx.Value(socketOperationKey{}).(*socketOperation)
	return op
}

func (op *socketOperation) setCancel(cancel context.CancelFunc) {
	op.mu.Lock()
	if op.ended {
		op.mu.Unlock()
		cancel()
		return
	}
	op.cancel = cancel
	op.mu.Unlock()
}

// end ends the operation's context (the client completed it, or it is over).
func (op *socketOperation) end() {
	op.mu.Lock()
	op.ended = true
	cancel := op.cancel
	op.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// refuse ends the operation with err as its error message.
func (op *socketOperation) refuse(err *gqlerror.Error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.refused = append(op.refused, err)
}

func (op *socketOperation) refusal() gqlerror.List {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.refused
}

// takeParked reports whether the handler's last response was Park's, clearing the mark.
func (op *socketOperation) takeParked() bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	parked := op.parked
	op.parked = false
	return parked
}

// letGo ends a step that parked, unless Wake came during it: the step then runs the
// handler again (false).
func (op *socketOperation) letGo() bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.woken {
		op.woken = false
		return false
	}
	op.stepping = false
	return true
}

func (op *socketOperation) takeStandIn() []byte {
	op.mu.Lock()
	defer op.mu.Unlock()
	standIn := op.standIn
	op.standIn = nil
	return standIn
}

// initPayloadContext carries the connection_init payload where gqlgen's
// transport.GetInitPayload finds it, so that operations read it as they did under gqlgen's
// transport (the key it is stored under is gqlgen's own and unexported: it is learnt from
// GetInitPayload itself, below).
type initPayloadContext struct {
	context.Context
	payload transport.InitPayload
}

func (c initPayloadContext) Value(key any) any {
	if key == gqlgenInitPayloadKey {
		return c.payload
	}
	return c.Context.Value(key)
}

// gqlgenInitPayloadKey is the context key transport.GetInitPayload looks up.
var gqlgenInitPayloadKey = func() any {
	var key keyRecorder
	transport.GetInitPayload(&key)
	return key.key
}()

// keyRecorder is a context that records the key it is asked for.
type keyRecorder struct {
	context.Context
	key any
}

func (k *keyRecorder) Value(key any) any {
	k.key = key
	return nil
}

// upgradeHeader is the header every operation on a socket is given as its request's
// headers (gqlgen's transport gave the upgrade request's, which this is), shared rather
// than one per socket.
var upgradeHeader = http.Header{"Upgrade": {"websocket"}}
