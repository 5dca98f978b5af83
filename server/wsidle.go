package server

import (
	"bufio"
	"net"
	"net/http"
	"syscall"

	"github.com/gorilla/websocket"
)

// An idle socket's goroutine waits for the client's next message. Waiting in gorilla's
// read, it would wait under gorilla's frames, the buffered reader's and net's, deep
// enough that the runtime cannot shrink its stack below 8 KiB (a stack is halved only
// while less than a quarter of it is in use). So the read loop first waits for the socket
// to be readable, just above the runtime's poller, and only then lets gorilla read: the
// stack of a waiting socket shrinks to 4 KiB. The pings and pongs that come between
// messages (a client's answers to the server's pings, every PingInterval) are read there
// too, as gorilla would read them: handed to gorilla, they would leave its read waiting
// for the next frame, deep again.
//
// That needs the buffered reader gorilla reads through, to know what is buffered already,
// and the connection's file descriptor to wait on; without either (a TLS connection, a
// platform without it), the loop waits in gorilla's read.

// readBufferBytes sizes a connection's read buffer. Client messages are small (a
// subscribe is a query and its variables), and a longer one is read in several fills: a
// small buffer keeps an idle connection small. gorilla reads through the one the hijack
// hands it only when it holds more than 256 bytes: this is the allocator's next size
// class above that (a control frame, 131 bytes at most, still fits for takeControlFrame).
const readBufferBytes = 288

// readerHijacker hands gorilla a buffered reader of its own when it hijacks the connection,
// and the connection wrapped to skip write deadlines already set (steadyWriteDeadline), and
// keeps both for the read loop.
type readerHijacker struct {
	http.ResponseWriter
	reader *bufio.Reader
	conn   net.Conn
}

func (h *readerHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		// gorilla refuses a client that sent data before the handshake was answered.
		return conn, brw, err
	}
	h.reader = bufio.NewReaderSize(conn, readBufferBytes)
	h.conn = &steadyWriteDeadline{Conn: conn}
	return h.conn, bufio.NewReadWriter(h.reader, brw.Writer), nil
}

// readiness returns what the read loop waits on for conn to be readable, nil when it
// cannot wait on conn (it reads in gorilla).
func readiness(conn net.Conn) syscall.RawConn {
	if !canAwaitReadable {
		return nil
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// awaitMessage waits, with a shallow stack, until what comes next is for gorilla to read:
// a data frame, a close, a frame it must refuse, or an error. Pings and pongs before it
// are answered and noted here, as gorilla would (answerPing, takePong).
func (c *websocketConn) awaitMessage() {
	if c.readiness == nil {
		return
	}
	for {
		if c.reader.Buffered() == 0 {
			awaitReadable(c.readiness)
		}
		if !c.takeControlFrame() {
			return
		}
	}
}

// The bits of a frame's first two bytes (RFC 6455 section 5.2).
const (
	frameFinal    = 0x80
	frameReserved = 0x70
	frameOpcode   = 0x0f
	frameMasked   = 0x80
	frameLength   = 0x7f
	// maxControlPayload is the most a control frame may carry.
	maxControlPayload = 125
)

// takeControlFrame reads the ping or pong at the head of the buffer, if a well-formed one
// is, and acts on it, reporting whether it did. Anything else, or a frame that breaks the
// protocol, is left to gorilla, which refuses it.
func (c *websocketConn) takeControlFrame() bool {
	head, err := c.reader.Peek(2)
	if err != nil {
		return false
	}
	opcode := int(head[0] & frameOpcode)
	n := int(head[1] & frameLength)
	if head[0]&frameReserved != 0 || head[0]&frameFinal == 0 || head[1]&frameMasked == 0 || n > maxControlPayload ||
		(opcode != websocket.PingMessage && opcode != websocket.PongMessage) {
		return false
	}
	frame, err := c.reader.Peek(2 + 4 + n)
	if err != nil {
		return false
	}
	var payload [maxControlPayload]byte
	mask := frame[2:6]
	for i, b := range frame[6:] {
		payload[i] = b ^ mask[i%4]
	}
	_, _ = c.reader.Discard(len(frame))
	if opcode == websocket.PingMessage {
		_ = c.answerPing(string(payload[:n]))
	} else {
		_ = c.takePong(string(payload[:n]))
	}
	return true
}
