package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// An operation whose client hangs up while it waits on the database is cancelled, not
// failed: it is logged at DEBUG, without an error code, and not counted as INTERNAL. Each
// such hang-up was logged at ERROR as "internal error … context canceled", which buried
// real errors under every closed browser tab.
func TestClientHangUpIsNotAnInternalError(t *testing.T) {
	// Its own in-process Redis: the machine's is shared with other packages' tests running
	// at the same time, whose keys the live bus would warn about, and every WARN line here
	// counts against the hang-up.
	api := startServe(t, map[string]string{"NOTIFYQL_ENV": "development", "REDIS_URL": ""})
	// The operation's read of the notifications waits for the lock until the client has
	// hung up.
	clientCtx, hangUp := context.WithCancel(context.Background())
	_, answered := postBehindNotificationsLock(t, clientCtx, api)
	hangUp()
	if answer := <-answered; answer.err == nil {
		t.Fatalf("the client that hung up got an answer: %s", answer.res.body)
	}

	deadline := time.Now().Add(connectionTestWait)
	for !strings.Contains(api.stderr.String(), `"msg":"client went away"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no client went away line logged within %s:\n%s", connectionTestWait, api.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for line := range strings.Lines(api.stderr.String()) {
		if strings.Contains(line, `"msg":"client went away"`) {
			if !strings.Contains(line, `"level":"DEBUG"`) || strings.Contains(line, "INTERNAL") || strings.Contains(line, `"code"`) {
				t.Errorf("the hang-up's line is not a DEBUG line without a code: %s", line)
			}
		}
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("a client's hang-up logged: %s", line)
		}
	}
	if got := scrapeMetrics(t, api.metricsURL)[`notifyql_graphql_errors_total{code="INTERNAL"}`]; got != 0 {
		t.Errorf("notifyql_graphql_errors_total{code=\"INTERNAL\"} = %v after a hang-up, want none", got)
	}
}
