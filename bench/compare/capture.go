package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
)

// roundTrip is what a client sent PostgreSQL before waiting for the answer: the statements
// bound before one Sync (a batch's are sent together), or one simple query.
type roundTrip struct {
	statements []capturedStatement
}

// capturedStatement is one statement as it went over the wire, with its parameters'
// values, types and formats exactly as bound, so that replaying it costs the database what
// the server's request did.
type capturedStatement struct {
	sql           string
	simple        bool // a simple-protocol Query: no parameters
	prepared      bool // bound to a named prepared statement, planned as its plan cache decides
	paramOIDs     []uint32
	params        [][]byte
	paramFormats  []int16
	resultFormats []int16
}

// sqlCapture is a TCP proxy between one notifyql server and PostgreSQL: it forwards both
// directions untouched and reads the server's side of the wire protocol to record, while
// recording, each round trip it sends. The server under test does not go through it; a
// second server does, whose requests are recorded one at a time and whose SQL is then
// replayed as the floor: the SQL alone.
type sqlCapture struct {
	listener net.Listener
	upstream string

	mu        sync.Mutex
	prepared  map[string]parsed // named statements: pgx prepares each once per connection
	recording bool
	trips     []roundTrip
}

type parsed struct {
	sql  string
	oids []uint32
}

// startCapture listens on a free port of 127.0.0.1 and proxies to the PostgreSQL of
// databaseURL; URL is databaseURL through the proxy.
func startCapture(databaseURL string) (*sqlCapture, string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, "", fmt.Errorf("the database URL: %w", err)
	}
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	c := &sqlCapture{listener: l, upstream: upstream, prepared: map[string]parsed{}}
	through := *u
	through.Host = l.Addr().String()
	q := through.Query()
	// The proxy reads the protocol, so the session must not be encrypted.
	q.Set("sslmode", "disable")
	through.RawQuery = q.Encode()
	go c.accept()
	return c, through.String(), nil
}

func (c *sqlCapture) accept() {
	for {
		client, err := c.listener.Accept()
		if err != nil {
			return
		}
		go c.proxy(client)
	}
}

// proxy forwards one connection, reading what the client sends as it passes. Each
// message is read whole and recorded before it is forwarded, so that a round trip the
// client has had its answer to is recorded, or not, by then: recording starts and stops
// between round trips, never behind them.
func (c *sqlCapture) proxy(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", c.upstream)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		_ = client.Close()
	}()
	// The startup exchange passes as it is read: the client waits for the server's answer
	// after each of its messages, so nothing of what follows is read ahead here.
	startup := pgproto3.NewBackend(io.TeeReader(client, server), io.Discard)
	if err := c.readStartup(startup); err != nil {
		return
	}
	var (
		unnamed parsed
		pending []capturedStatement
		header  [5]byte
		body    []byte
	)
	for {
		if _, err := io.ReadFull(client, header[:]); err != nil {
			return
		}
		size := int(binary.BigEndian.Uint32(header[1:])) - 4
		if size < 0 {
			return
		}
		body = slices.Grow(body[:0], size)[:size]
		if _, err := io.ReadFull(client, body); err != nil {
			return
		}
		switch header[0] {
		case 'P':
			var m pgproto3.Parse
			if m.Decode(body) == nil {
				p := parsed{sql: m.Query, oids: append([]uint32(nil), m.ParameterOIDs...)}
				if m.Name == "" {
					unnamed = p
				} else {
					c.mu.Lock()
					c.prepared[m.Name] = p
					c.mu.Unlock()
				}
			}
		case 'B':
			var m pgproto3.Bind
			if m.Decode(body) == nil {
				p := unnamed
				if m.PreparedStatement != "" {
					c.mu.Lock()
					p = c.prepared[m.PreparedStatement]
					c.mu.Unlock()
				}
				pending = append(pending, captured(p, &m))
			}
		case 'S':
			c.record(pending)
			pending = nil
		case 'Q':
			var m pgproto3.Query
			if m.Decode(body) == nil {
				c.record([]capturedStatement{{sql: m.String, simple: true}})
			}
		}
		if _, err := server.Write(header[:]); err != nil {
			return
		}
		if _, err := server.Write(body); err != nil {
			return
		}
		if header[0] == 'X' {
			return
		}
	}
}

// captured is the statement a Bind of p runs, with its parameters copied out of the
// message.
func captured(p parsed, m *pgproto3.Bind) capturedStatement {
	s := capturedStatement{sql: p.sql, paramOIDs: p.oids, prepared: m.PreparedStatement != "",
		paramFormats:  append([]int16(nil), m.ParameterFormatCodes...),
		resultFormats: append([]int16(nil), m.ResultFormatCodes...)}
	for _, v := range m.Parameters {
		if v == nil {
			s.params = append(s.params, nil)
		} else {
			s.params = append(s.params, append([]byte{}, v...))
		}
	}
	return s
}

// readStartup passes the startup exchange: an SSL or GSS encryption request, which the
// server refuses under sslmode=disable, is followed by the startup message proper.
func (c *sqlCapture) readStartup(backend *pgproto3.Backend) error {
	for {
		msg, err := backend.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch msg.(type) {
		case *pgproto3.StartupMessage:
			return nil
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			continue
		default:
			return errors.New("a connection began with neither a startup nor an encryption request")
		}
	}
}

func (c *sqlCapture) record(statements []capturedStatement) {
	if len(statements) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recording {
		c.trips = append(c.trips, roundTrip{statements: statements})
	}
}

// start begins recording afresh.
func (c *sqlCapture) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording, c.trips = true, nil
}

// stop ends recording and returns the round trips seen since start, in the order they
// were sent.
func (c *sqlCapture) stop() []roundTrip {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	return c.trips
}

func (c *sqlCapture) close() { _ = c.listener.Close() }
