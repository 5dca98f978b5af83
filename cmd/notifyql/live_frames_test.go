package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"notifyql/resolvers"
	"notifyql/server"
)

// frameSocket is one signed-in socket running several subscriptions, whose next
// payloads it keeps as the bytes the server wrote, by operation id.
type frameSocket struct {
	conn *websocket.Conn

	mu     sync.Mutex
	frames map[string]chan json.RawMessage
}

func openFrameSocket(t *testing.T, wsURL, userID string) *frameSocket {
	t.Helper()
	s := &frameSocket{conn: dialSignedIn(t, "graphql-transport-ws", wsURL, userID), frames: map[string]chan json.RawMessage{}}
	go func() {
		for {
			var msg wsMessage
			if err := s.conn.ReadJSON(&msg); err != nil {
				return
			}
			s.mu.Lock()
			ch := s.frames[msg.ID]
			s.mu.Unlock()
			if ch == nil {
				continue
			}
			switch msg.Type {
			case "next":
				ch <- msg.Payload
			default:
				ch <- json.RawMessage(fmt.Sprintf(`{"unexpected":%q}`, msg.Type+" "+string(msg.Payload)))
			}
		}
	}()
	return s
}

// subscribe starts query as id and returns its payloads.
func (s *frameSocket) subscribe(t *testing.T, id, query string, variables map[string]any) <-chan json.RawMessage {
	t.Helper()
	ch := make(chan json.RawMessage, 16)
	s.mu.Lock()
	s.frames[id] = ch
	s.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err := s.conn.WriteJSON(wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	return ch
}

func nextFrame(t *testing.T, frames <-chan json.RawMessage, within time.Duration) json.RawMessage {
	t.Helper()
	select {
	case f := <-frames:
		if bytes.Contains(f, []byte(`"unexpected"`)) {
			t.Fatalf("the subscription sent %s", f)
		}
		return f
	case <-time.After(within):
		t.Fatalf("no frame within %s", within)
	}
	return nil
}

// settle waits until no subscription has been sent anything for a while (the resyncs
// after the start), and empties every stream.
func settle(streams []<-chan json.RawMessage) {
	for quiet := false; !quiet; {
		time.Sleep(500 * time.Millisecond)
		quiet = true
		for _, s := range streams {
			for len(s) > 0 {
				<-s
				quiet = false
			}
		}
	}
}

// A thousand subscribers of one topic, document and variables, spread over users with
// different access and over sockets, cost one execution and one encoding of each
// snapshot, and each is sent the same bytes; subscribers with other variables get a
// rendering of their own.
func TestAThousandSubscribersOfOneDocumentCauseOneRenderingPerSnapshot(t *testing.T) {
	counts := &resolvers.RenderCounts{}
	api := startLiveAPIWith(t, liveAPIOptions{renderCounts: counts, webSocket: server.WebSocketConfig{
		MessageRate: 1000, MessageBurst: 200, MaxConnectionsPerUser: 20, MaxSubscriptionsPerSocket: 100, MaxSubscriptionsPerUser: 1000,
	}})
	const (
		subscribers = 1000
		perSocket   = 100
		query       = `subscription($id: ID!, $days: Int) { dashboardTotals(serviceId: $id, days: $days) { email { requested failed } sms { requested } } }`
	)
	users := []string{userAdmin, userViewer, userManager}
	var same, other []<-chan json.RawMessage
	var socket *frameSocket
	for i := range subscribers + 1 {
		if i%perSocket == 0 {
			socket = openFrameSocket(t, api.wsURL, users[(i/perSocket)%len(users)])
		}
		if i == subscribers {
			// One more, with other variables.
			other = append(other, socket.subscribe(t, "other", query, map[string]any{"id": serviceA, "days": 1}))
			break
		}
		same = append(same, socket.subscribe(t, fmt.Sprint(i), query, map[string]any{"id": serviceA, "days": 0}))
	}
	all := append(append([]<-chan json.RawMessage{}, same...), other...)
	for _, s := range all {
		nextFrame(t, s, 30*time.Second)
	}
	settle(all)
	renders, encodings := counts.Renders.Load(), counts.Encodings.Load()

	api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	first := nextFrame(t, same[0], 30*time.Second)
	for i, s := range same[1:] {
		if f := nextFrame(t, s, 30*time.Second); !bytes.Equal(f, first) {
			t.Fatalf("subscriber %d was sent %s, subscriber 0 %s", i+1, f, first)
		}
	}
	nextFrame(t, other[0], 30*time.Second)
	settle(all)
	if n := counts.Renders.Load() - renders; n != 2 {
		t.Errorf("%d renderings for one write to %d subscribers of one document and variables and 1 of others, want 2", n, subscribers)
	}
	if n := counts.Encodings.Load() - encodings; n != 2 {
		t.Errorf("%d encodings for one write to %d subscribers of one document and variables and 1 of others, want 2", n, subscribers)
	}
}

// Subscribers share a rendering only with those the fields they select answer alike:
// everyone when no field looks at the caller, callers with the same access when one
// decides by access, and no one else when one depends on who asks. Each frame is what the
// same selection asked over HTTP by that caller answers.
func TestSubscribersShareFramesOnlyWhereTheirSelectionAnswersAlike(t *testing.T) {
	const id = "a0000000-0000-0000-0000-0000000000f3"
	counts := &resolvers.RenderCounts{}
	api := startLiveAPIWith(t, liveAPIOptions{renderCounts: counts})
	api.exec(insertEmailSQL, serviceA, id)
	// A second viewer, with exactly the access of the first.
	const viewer2 = "00000000-0000-0000-0000-0000000000b2"
	api.exec(`INSERT INTO users (id, name, email_address, platform_admin) VALUES ($1, 'Val Viewer', 'viewer2@fixture.example', false)`, viewer2)
	api.exec(`INSERT INTO user_to_service (user_id, service_id) VALUES ($1, $2)`, viewer2, serviceA)
	api.exec(`INSERT INTO permissions (service_id, user_id, permission) VALUES ($2, $1, 'view_activity')`, viewer2, serviceA)

	const (
		plain   = `subscription($id: ID!) { notification(id: $id) { id status } }`
		byAdmin = `subscription($id: ID!) { notification(id: $id) { id status sentBy } }`
		byUser  = `subscription($id: ID!) { notification(id: $id) { id status createdBy { memberships { service { id } } } } }`
	)
	users := []string{userAdmin, userViewer, viewer2}
	sockets := map[string]*frameSocket{}
	for _, u := range users {
		sockets[u] = openFrameSocket(t, api.wsURL, u)
	}
	type key struct{ user, query string }
	streams := map[key]<-chan json.RawMessage{}
	var all []<-chan json.RawMessage
	for qi, q := range []string{plain, byAdmin, byUser} {
		for _, u := range users {
			s := sockets[u].subscribe(t, fmt.Sprint(qi), q, map[string]any{"id": id})
			streams[key{u, q}] = s
			all = append(all, s)
		}
	}
	for _, s := range all {
		nextFrame(t, s, 10*time.Second)
	}
	settle(all)

	// A write usually makes one snapshot of the topic; one that made two (a hint that
	// came a tick apart) is written again, so that the count is of one snapshot's work.
	var frames map[key]json.RawMessage
	statuses := [][2]string{{"delivered", "DELIVERED"}, {"sending", "SENDING"}, {"delivered", "DELIVERED"}, {"sending", "SENDING"}, {"delivered", "DELIVERED"}}
	for attempt, status := range statuses {
		renders, published := counts.Renders.Load(), api.updates.hub.Stats().Published
		api.exec(`UPDATE notifications SET notification_status = $2, sent_by = 'ses' WHERE id = $1`, id, status[0])
		frames = map[key]json.RawMessage{}
		for k, s := range streams {
			frames[k] = nextFrame(t, s, 10*time.Second)
			if !bytes.Contains(frames[k], []byte(`"`+status[1]+`"`)) {
				t.Fatalf("%s, %s: sent %s, want the status %s", k.user, k.query, frames[k], status[1])
			}
		}
		settle(all)
		if snapshots := api.updates.hub.Stats().Published - published; snapshots != 1 {
			if attempt == len(statuses)-1 {
				t.Fatalf("every write made more than one snapshot (the last %d)", snapshots)
			}
			continue
		}
		// plain: 1 for all three; byAdmin: the admin, and the two viewers together; byUser: 3.
		if n := counts.Renders.Load() - renders; n != 1+2+3 {
			t.Errorf("%d renderings for one snapshot, want 6: one for the plain selection, one per access for sentBy, one per user for memberships", n)
		}
		break
	}
	if !bytes.Contains(frames[key{userAdmin, byAdmin}], []byte(`"sentBy":"ses"`)) {
		t.Errorf("the platform admin was sent %s, want sentBy", frames[key{userAdmin, byAdmin}])
	}
	for _, u := range []string{userViewer, viewer2} {
		if bytes.Contains(frames[key{u, byAdmin}], []byte(`"ses"`)) {
			t.Errorf("%s, not a platform admin, was sent the provider: %s", u, frames[key{u, byAdmin}])
		}
	}

	// Each frame is what that caller is answered over HTTP for the same selection.
	for k, frame := range frames {
		// As long as "subscription", so that the errors' locations are the same.
		query := strings.Replace(k.query, "subscription", "query       ", 1)
		body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"id": id}})
		req, _ := http.NewRequest(http.MethodPost, api.httpURL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokenFor(t, k.user))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !sameJSON(t, frame, answer) {
			t.Errorf("%s, %s:\nframe %s\nHTTP  %s", k.user, k.query, frame, answer)
		}
	}
}

// sameJSON reports whether a subscription's response and a query's say the same,
// leaving out the per-request extensions an HTTP answer carries. gqlgen leaves the root
// field out of the paths of a subscription's errors (["sentBy"], where the query's say
// ["notification","sentBy"]): the query's are compared without it.
func sameJSON(t *testing.T, frame, answer []byte) bool {
	a, b := frame, answer
	t.Helper()
	var va, vb map[string]any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatal(err)
	}
	for i, v := range []map[string]any{va, vb} {
		errs, _ := v["errors"].([]any)
		for _, e := range errs {
			e := e.(map[string]any)
			if ext, ok := e["extensions"].(map[string]any); ok {
				delete(ext, "requestId")
			}
			if path, ok := e["path"].([]any); ok && i == 1 && len(path) > 1 {
				e["path"] = path[1:]
			}
		}
		delete(v, "extensions")
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}
