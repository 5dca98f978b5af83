package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ReadinessCheck is one thing GET /readyz reports on. Probe returns the state to show
// (say "ok", or "this instance is the relay") and an error when the instance cannot serve
// without it.
type ReadinessCheck struct {
	Name  string
	Probe func(context.Context) (string, error)
}

// readinessTimeout bounds each probe: a dependency that hangs is as unready as one that
// refuses.
const readinessTimeout = 2 * time.Second

// healthz reports that the process is up: it needs nothing else to answer.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz reports whether this instance should be sent traffic: every check passes and it is
// not shutting down. A failing check shows as "unavailable"; its error, which may name
// hosts, is logged, not served.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	checks := make(map[string]string, len(s.cfg.Readiness))
	ready := !s.draining.Load()
	status := "ready"
	for _, c := range s.cfg.Readiness {
		ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
		state, err := c.Probe(ctx)
		cancel()
		if err != nil {
			s.cfg.Logger.WarnContext(r.Context(), "not ready", "check", c.Name, "error", err.Error())
			state, ready = "unavailable", false
		}
		checks[c.Name] = state
	}
	code := http.StatusOK
	switch {
	case s.draining.Load():
		status, code = "shutting down", http.StatusServiceUnavailable
	case !ready:
		status, code = "not ready", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": checks})
}
