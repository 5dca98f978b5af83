package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

// stalledLimiter stands for a backend the request waits on before its operation starts
// (the rate limiter here, the caller's lookup in the database in serve) that never answers:
// it returns only when the request's context ends, and records that context's deadline.
type stalledLimiter struct{ deadline chan time.Time }

func (l stalledLimiter) Allow(ctx context.Context, _ string, _, _ int) (bool, time.Duration, error) {
	deadline, _ := ctx.Deadline()
	l.deadline <- deadline
	<-ctx.Done()
	return false, 0, ctx.Err()
}

// A request that runs out of its RequestTimeout before its operation starts answers 503
// UNAVAILABLE, not gqlgen's bare null, and whatever it waited on saw the deadline.
func TestRequestTimeoutAnswersUnavailable(t *testing.T) {
	limits := server.DefaultLimits()
	limits.RequestTimeout = 200 * time.Millisecond
	limiter := stalledLimiter{deadline: make(chan time.Time, 1)}
	srv := server.New(server.Config{Limits: limits, RateLimiter: limiter, RateLimits: server.RateLimits{PerIP: 60}},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	sent := time.Now()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me }"}`))
	req.Header.Set("Content-Type", "application/json")
	srv.Handler().ServeHTTP(rec, req)

	// The deadline is RequestTimeout after the handler began, which is after sent.
	if deadline := <-limiter.deadline; deadline.Before(sent.Add(limits.RequestTimeout)) || deadline.After(time.Now()) {
		t.Errorf("the backend saw the deadline %v, want %s after the request began", deadline, limits.RequestTimeout)
	}
	var body struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	if rec.Code != http.StatusServiceUnavailable || len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != "UNAVAILABLE" ||
		body.Errors[0].Message != "the request could not be answered in time: try again shortly" {
		t.Errorf("answer %d %s, want 503 UNAVAILABLE", rec.Code, rec.Body)
	}
}

// Without a RequestTimeout, a request has no deadline of the server's making.
func TestNoRequestTimeoutSetsNoDeadline(t *testing.T) {
	limits := server.DefaultLimits()
	limits.RequestTimeout = 0
	seen := make(chan bool, 1)
	limiter := deadlineProbe(seen)
	srv := server.New(server.Config{Limits: limits, RateLimiter: limiter, RateLimits: server.RateLimits{PerIP: 60}},
		subscriptionSchema(), server.NewAuthenticator(wsSecret, nil))
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me }"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if <-seen {
		t.Error("the request had a deadline with RequestTimeout 0")
	}
	if rec.Code != http.StatusOK {
		t.Errorf("answer %d %s, want 200", rec.Code, rec.Body)
	}
}

// deadlineProbe admits every request and reports whether its context had a deadline.
type deadlineProbe chan bool

func (p deadlineProbe) Allow(ctx context.Context, _ string, _, _ int) (bool, time.Duration, error) {
	_, ok := ctx.Deadline()
	p <- ok
	return true, 0, nil
}
