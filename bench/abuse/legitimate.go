package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"notifyql/internal/harness"
)

// legitimateUse does once what a real user does besides the dashboard query, so that the
// baseline holds what normal use keeps: the whole notifications CSV downloaded, and a
// subscription's first update received over a socket.
func legitimateUse(ctx context.Context, graphqlURL, token string, w world) error {
	base := strings.TrimSuffix(graphqlURL, "/graphql")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+downloadPath(w.downloadService), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return fmt.Errorf("download: status %d after %d bytes: %v", res.StatusCode, n, err)
	}
	fmt.Printf("  the notifications CSV: %d KiB\n", n>>10)

	conn, err := harness.DialGraphQLWS(ctx, graphqlURL, token)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer conn.Close()
	if err := harness.Subscribe(conn, "1", `subscription($id: ID!) { dashboardTotals(serviceId: $id) { email { requested } } }`,
		map[string]any{"id": w.downloadService}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf bytes.Buffer
	data, err := harness.ReadMessage(conn, &buf)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	var msg struct{ Type string }
	if json.Unmarshal(data, &msg) != nil || msg.Type != "next" {
		return fmt.Errorf("subscribe: got %.200s, want next", data)
	}
	return nil
}
