package server

import (
	"context"
	"encoding/json"
)

// ResponseSender sends one subscription's responses on its socket, each encoded once for
// all the subscribers that share it: the socket writes the encoding as it is, with only
// the operation's id and the message type around it (writeEnvelope), so that a snapshot
// pushed to thousands of subscribers is not encoded again for each.
//
// Send may be called only from the goroutine the operation's response handler runs on, so
// that its responses stay in order with the operation's other messages (the last,
// complete or error, is written when the handler returns).
type ResponseSender interface {
	// StandIn returns the data of a stand-in response for encoded (a whole response, as
	// encoding/json writes it): the socket writes encoded where the response handed back
	// with this data would go. A sender whose Send has never reported false needs none.
	StandIn(encoded []byte) json.RawMessage
	// Send writes encoded as the operation's next response. It reports false, having
	// written nothing, only where the sender cannot write yet; this transport's always
	// can, knowing the operation's id from its start.
	Send(encoded []byte) (sent bool, err error)
}

// ResponseSenderFor returns the sender of an operation on one of this server's sockets,
// or nil when ctx is not one's: the response handler returns its responses to gqlgen.
func ResponseSenderFor(ctx context.Context) ResponseSender {
	if op := operationFrom(ctx); op != nil && op.conn != nil {
		return op
	}
	return nil
}

var _ ResponseSender = (*socketOperation)(nil)

// Send writes encoded as the operation's next response.
func (op *socketOperation) Send(encoded []byte) (bool, error) {
	c := op.conn
	return true, c.writeEnvelope(encoded, op.id, c.names.next)
}

// StandIn keeps encoded for the operation's next response, which it replaces whatever
// that response holds.
func (op *socketOperation) StandIn(encoded []byte) json.RawMessage {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.standIn = encoded
	return json.RawMessage("null")
}
