package graph

import (
	"bytes"
	"sync/atomic"
)

// maxResponseSizeHint bounds the buffer an answer starts in: a rare huge answer grows its
// own, and must not make every answer after it start that large.
const maxResponseSizeHint = 64 << 10

// responseSizeHint is a little more than the size of the last query's or mutation's answer.
// Answers in a stream of requests tend to be alike (a dashboard's pages, a client's
// polls), so starting the next one there spares it the copies of growing from nothing;
// an answer of another size costs what it did before, or a short-lived larger buffer.
var responseSizeHint atomic.Int32

// responseBuffer returns the buffer a query's or a mutation's answer is marshalled into.
func responseBuffer() *bytes.Buffer {
	return bytes.NewBuffer(make([]byte, 0, responseSizeHint.Load()))
}

// rememberResponseSize notes an answer's size for the next one's buffer.
func rememberResponseSize(n int) {
	n += n / 8
	if n > maxResponseSizeHint {
		n = maxResponseSizeHint
	}
	if int(responseSizeHint.Load()) != n {
		responseSizeHint.Store(int32(n))
	}
}
