package server_test

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"notifyql/server"
)

// maskedFrame is a client frame (RFC 6455 section 5.2): first the byte of FIN, RSV and
// opcode, then the masked length, the mask and the masked payload.
func maskedFrame(first byte, payload []byte) []byte {
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame := []byte{first, 0x80 | byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	return frame
}

// The pings and pongs that come between messages are read by the server's read loop, not
// gorilla (server/wsidle.go): they are answered and counted as gorilla would answer them,
// however they arrive, and a control frame that breaks the protocol is refused as gorilla
// refuses it (1002).
func TestControlFramesBetweenMessages(t *testing.T) {
	f := newWSFixture(t, nil)

	t.Run("a ping in pieces is answered", func(t *testing.T) {
		conn := f.connect(t, transportWS)
		pongs := make(chan string, 1)
		conn.SetPongHandler(func(data string) error { pongs <- data; return nil })
		frame := maskedFrame(0x80|websocket.PingMessage, []byte("piecemeal"))
		raw := conn.UnderlyingConn()
		for _, piece := range [][]byte{frame[:1], frame[1:4], frame[4:]} {
			if _, err := raw.Write(piece); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Millisecond)
		}
		// A message after it is read as usual, and reading it handles the pong first.
		transportWSNames.startAnswered(t, conn, "1", "subscription { me }")
		select {
		case data := <-pongs:
			if data != "piecemeal" {
				t.Errorf("pong %q, want the ping's payload", data)
			}
		default:
			t.Error("no pong for the ping")
		}
	})

	t.Run("two pings and a message in one write", func(t *testing.T) {
		conn := f.connect(t, transportWS)
		pongs := make(chan string, 2)
		conn.SetPongHandler(func(data string) error { pongs <- data; return nil })
		var burst []byte
		burst = append(burst, maskedFrame(0x80|websocket.PingMessage, []byte("one"))...)
		burst = append(burst, maskedFrame(0x80|websocket.PingMessage, nil)...)
		burst = append(burst, maskedFrame(0x80|websocket.TextMessage, []byte(`{"type":"subscribe","id":"1","payload":{"query":"subscription { me }"}}`))...)
		if _, err := conn.UnderlyingConn().Write(burst); err != nil {
			t.Fatal(err)
		}
		if msg := next(t, conn); msg.Type != "next" || msg.ID != "1" {
			t.Fatalf("got %+v, want next for 1", msg)
		}
		if len(pongs) != 2 || <-pongs != "one" || <-pongs != "" {
			t.Error("the two pings were not answered in order")
		}
	})

	for _, tt := range []struct {
		name  string
		frame []byte
	}{
		{"unmasked ping", []byte{0x80 | websocket.PingMessage, 1, 'x'}},
		{"ping without FIN", maskedFrame(websocket.PingMessage, []byte("x"))},
		{"ping with a reserved bit", maskedFrame(0x80|0x40|websocket.PingMessage, []byte("x"))},
		{"ping longer than 125 bytes", append([]byte{0x80 | websocket.PingMessage, 0x80 | 126, 0, 126, 1, 2, 3, 4}, make([]byte, 126)...)},
		{"unknown opcode", maskedFrame(0x80|0x0b, []byte("x"))},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			conn := f.connect(t, transportWS)
			if _, err := conn.UnderlyingConn().Write(tt.frame); err != nil {
				t.Fatal(err)
			}
			expectClose(t, conn, websocket.CloseProtocolError, 5*time.Second)
		})
	}
}

// A legacy graphql-ws client is sent "ka" messages, which its library expects, right after
// the acknowledgement and then every PingInterval, as gqlgen's transport sent them;
// graphql-transport-ws clients are sent none (they have control-frame pings).
func TestLegacyClientsGetKeepAlives(t *testing.T) {
	f := newWSFixture(t, func(cfg *server.WebSocketConfig) { cfg.PingInterval = 100 * time.Millisecond })
	keepAlives := func(conn *websocket.Conn, within time.Duration) (n int) {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(within))
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return n
			}
			if string(data) != `{"type":"ka"}` {
				t.Fatalf("got %s, want only keep-alives", data)
			}
			n++
		}
	}
	legacy := dial(t, f.url, legacyWS, nil)
	send(t, legacy, initMessage(mustToken(t, wsUserID, time.Hour)))
	_ = legacy.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := legacy.ReadMessage(); err != nil || string(data) != `{"type":"connection_ack"}` {
		t.Fatalf("got %s %v, want connection_ack", data, err)
	}
	if n := keepAlives(legacy, time.Second); n < 5 {
		t.Errorf("%d keep-alives in a second at a 100ms interval, want about 10", n)
	}
	modern := f.connect(t, transportWS)
	if n := keepAlives(modern, 500*time.Millisecond); n != 0 {
		t.Errorf("a graphql-transport-ws client got %d keep-alives", n)
	}
}
