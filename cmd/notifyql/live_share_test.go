package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// renderCounter counts the responses gqlgen renders, by root field, user and variables.
// Added after the schema's extensions, it sits inside SubscriptionStreams, so it sees
// the renders and not the responses shared from them.
type renderCounter struct {
	mu      sync.Mutex
	renders map[string]int
}

func (c *renderCounter) ExtensionName() string                   { return "renderCounter" }
func (c *renderCounter) Validate(graphql.ExecutableSchema) error { return nil }

func (c *renderCounter) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	oc := graphql.GetOperationContext(ctx)
	key := fmt.Sprintf("%s days=%v", oc.Operation.SelectionSet[0].(*ast.Field).Name, oc.Variables["days"])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.renders[key]++
	return resp
}

func (c *renderCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.renders
	c.renders = map[string]int{}
	return old
}

// Subscribers of one snapshot that sent the same operation and variables share one
// rendering of it, across users: neither dashboard totals nor template statistics select
// a field that looks at the caller.
func TestSubscribersShareTheRenderingOfASnapshot(t *testing.T) {
	counter := &renderCounter{renders: map[string]int{}}
	wsURL, exec := newLiveAPIWith(t, counter)
	const (
		totals    = `subscription($id: ID!, $days: Int) { dashboardTotals(serviceId: $id, days: $days) { email { requested } } }`
		templates = `subscription($id: ID!, $days: Int) { templateStatistics(serviceId: $id, days: $days) { templateId count } }`
	)
	type subscriber struct {
		name   string
		stream <-chan map[string]any
	}
	var subs []subscriber
	for _, s := range []struct {
		user, query string
		days        int
	}{
		{userAdmin, totals, 0}, {userAdmin, totals, 0}, {userViewer, totals, 0}, {userViewer, totals, 0},
		{userViewer, totals, 1},
		{userAdmin, templates, 0}, {userAdmin, templates, 0}, {userViewer, templates, 0}, {userViewer, templates, 0},
	} {
		stream := subscribeOverWebSocket(t, wsURL, s.user, s.query, map[string]any{"id": serviceA, "days": s.days})
		next(t, stream, 10*time.Second)
		subs = append(subs, subscriber{fmt.Sprintf("%s %d", s.user, s.days), stream})
	}
	// Resyncs after the start may still be under way; once they settle, count afresh.
	time.Sleep(500 * time.Millisecond)
	for _, s := range subs {
		for len(s.stream) > 0 {
			<-s.stream
		}
	}
	counter.reset()

	exec(`INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'created', $2)`,
		serviceA, time.Now().UTC())
	for _, s := range subs {
		next(t, s.stream, 10*time.Second)
	}
	renders := counter.reset()
	want := map[string]int{
		"dashboardTotals days=0":    1, // four subscribers, two users
		"dashboardTotals days=1":    1,
		"templateStatistics days=0": 1, // four subscribers, two users
	}
	for key, n := range want {
		if renders[key] != n {
			t.Errorf("%s rendered %d times for one write, want %d (all renders: %v)", key, renders[key], n, renders)
		}
	}
}
