package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript has wrk POST the body in the file named by its first script argument, with
// the Authorization header of its second when given, and count the answers that are not a
// 200 without GraphQL errors: a server that answers fast with errors must not look fast.
// wrk runs the script in one Lua state per thread; done() sums the threads' counts.
const wrkScript = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.body = f:read("*a")
  f:close()
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  failed = 0
end

function request()
  return wrk.format()
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("failed")
  end
  io.write(string.format("failed answers: %d\n", n))
end
`

// measurement is one load run's figures.
type measurement struct {
	P50, P99 time.Duration
	RPS      float64
	Requests int64
	Failed   int64 // answers that were not a 200 without errors, and socket errors
}

// wrkRunner runs wrk with the script written to its folder.
type wrkRunner struct {
	script string
	dir    string
}

func newWrkRunner(dir string) (*wrkRunner, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, fmt.Errorf("wrk is not installed (apt-get install -y wrk): %w", err)
	}
	script := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	return &wrkRunner{script: script, dir: dir}, nil
}

// run loads url with body (a JSON request) from clients connections for d, and parses
// wrk's report.
func (w *wrkRunner) run(ctx context.Context, url string, body []byte, token string, clients int, d time.Duration) (measurement, error) {
	bodyFile, err := os.CreateTemp(w.dir, "body-*.json")
	if err != nil {
		return measurement{}, err
	}
	defer os.Remove(bodyFile.Name())
	if _, err := bodyFile.Write(body); err != nil {
		bodyFile.Close()
		return measurement{}, err
	}
	if err := bodyFile.Close(); err != nil {
		return measurement{}, err
	}
	// Two threads at most: the machine has two cores, which the server under test needs too.
	threads := min(clients, 2)
	cmd := exec.CommandContext(ctx, "wrk", "--latency",
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(clients),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), "--timeout", "10s",
		"-s", w.script, url, "--", bodyFile.Name(), token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return measurement{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	m, err := parseWrk(string(out))
	if err != nil {
		return measurement{}, fmt.Errorf("%w\nwrk printed:\n%s", err, out)
	}
	return m, nil
}

// parseWrk reads the figures from wrk --latency's report with the script's failed-answers
// line.
func parseWrk(out string) (measurement, error) {
	var m measurement
	var seen struct{ p50, p99, rps, requests, failed bool }
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		switch {
		case len(fields) == 2 && fields[0] == "50%":
			d, err := parseWrkDuration(fields[1])
			if err != nil {
				return m, err
			}
			m.P50, seen.p50 = d, true
		case len(fields) == 2 && fields[0] == "99%":
			d, err := parseWrkDuration(fields[1])
			if err != nil {
				return m, err
			}
			m.P99, seen.p99 = d, true
		case len(fields) == 2 && fields[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return m, fmt.Errorf("wrk's Requests/sec %q: %w", fields[1], err)
			}
			m.RPS, seen.rps = v, true
		case len(fields) >= 3 && fields[1] == "requests" && fields[2] == "in":
			v, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return m, fmt.Errorf("wrk's request count %q: %w", fields[0], err)
			}
			m.Requests, seen.requests = v, true
		case len(fields) == 3 && fields[0] == "failed" && fields[1] == "answers:":
			v, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				return m, fmt.Errorf("the script's failed count %q: %w", fields[2], err)
			}
			m.Failed += v
			seen.failed = true
		case len(fields) > 2 && fields[0] == "Socket" && fields[1] == "errors:":
			// "Socket errors: connect 0, read 0, write 0, timeout 5"
			for i := 2; i+1 < len(fields); i += 2 {
				v, err := strconv.ParseInt(strings.TrimSuffix(fields[i+1], ","), 10, 64)
				if err != nil {
					return m, fmt.Errorf("wrk's socket errors %q: %w", scanner.Text(), err)
				}
				m.Failed += v
			}
		}
	}
	if !seen.p50 || !seen.p99 || !seen.rps || !seen.requests || !seen.failed {
		return m, fmt.Errorf("wrk's report lacks a figure (p50 %t, p99 %t, requests/s %t, requests %t, failed answers %t)",
			seen.p50, seen.p99, seen.rps, seen.requests, seen.failed)
	}
	return m, nil
}

// parseWrkDuration reads wrk's durations: a number with us, ms, s, m or h.
func parseWrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk's duration %q: %w", s, err)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk's duration %q has no unit", s)
}
