package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Redis is a private redis-server on a free port, with nothing saved to disk: it keeps
// nothing across a restart (no RDB, no AOF), as a crashed Redis would not.
type Redis struct {
	URL  string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has ended
	out  SyncBuffer
}

// StartRedis starts redis-server with its working folder in dir and waits until it answers.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server is needed: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Redis{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), port: port, dir: dir}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Start runs redis-server again on the same port after Stop, and waits until it answers
// PING.
func (r *Redis) Start(ctx context.Context) error {
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--loglevel", "warning")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(r.cmd, r.done)
	client := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer client.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if client.Ping(ctx).Err() == nil {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("redis-server exited at start:\n%s", r.out.String())
		case <-ctx.Done():
			r.Stop()
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			r.Stop()
			return fmt.Errorf("redis-server did not answer within 10 s:\n%s", r.out.String())
		}
	}
}

// Flush empties the server: the watched-topic registry outlives a notifyql server in
// Redis, and a previous run's registrations would have the next relay recompute topics
// nobody watches.
func (r *Redis) Flush(ctx context.Context) error {
	opts, err := goredis.ParseURL(r.URL)
	if err != nil {
		return err
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	if err := client.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("empty the private redis: %w", err)
	}
	return nil
}

// Stop ends redis-server with SIGTERM (SIGKILL after 10 s) and waits for it. Stopping a
// stopped server does nothing.
func (r *Redis) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a frozen server cannot act on SIGTERM
	stopProcess(r.cmd.Process, r.done, syscall.SIGTERM, 10*time.Second)
	r.cmd = nil
}

// Freeze stops redis-server with SIGSTOP: the kernel still accepts connections on its
// port, and nothing answers them. Thaw, or Stop, ends it.
func (r *Redis) Freeze() error {
	if r.cmd == nil {
		return errors.New("freeze redis-server: it is not running")
	}
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP redis-server: %w", err)
	}
	return nil
}

// Thaw lets a frozen redis-server run again.
func (r *Redis) Thaw() {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// Server is one `notifyql serve` child process listening on a free port.
type Server struct {
	URL string // its GraphQL endpoint, http://127.0.0.1:port/graphql
	// MetricsURL is its GET /metrics, on a port of its own as production serves it.
	MetricsURL string
	LogPath    string // its stderr: the JSON log
	cmd        *exec.Cmd
	done       chan struct{} // closed once the process has ended; waitErr is then set
	waitErr    error
}

var (
	servingPattern = regexp.MustCompile(`serving GraphQL at (http://\S+/graphql)`)
	metricsPattern = regexp.MustCompile(`serving metrics at (http://\S+/metrics)`)
)

// StartServer runs `binary serve` on 127.0.0.1 with env (PATH is added), its log written
// to logPath, and returns once it prints the URLs it serves GraphQL and /metrics at. The
// metrics are on a free port of their own: production's default port cannot be shared by
// several servers at once.
func StartServer(ctx context.Context, binary, logPath string, env []string) (*Server, error) {
	s := &Server{LogPath: logPath, done: make(chan struct{})}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	var stdout SyncBuffer
	s.cmd = exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	s.cmd.Env = childEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = &stdout, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start serve: %w", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		printed := stdout.String()
		// Ready once its PDF reader is too: the background compilation of PDFium's module
		// would otherwise count in the baselines the programs measure.
		log, _ := os.ReadFile(logPath)
		if m, metrics := servingPattern.FindStringSubmatch(printed), metricsPattern.FindStringSubmatch(printed); m != nil && metrics != nil &&
			bytes.Contains(log, []byte(`"msg":"PDF reader`)) {
			s.URL, s.MetricsURL = m[1], metrics[1]
			return s, nil
		}
		select {
		case <-s.done:
			// The log goes with the program's temporary folder: its end is the explanation.
			return nil, fmt.Errorf("serve exited at start: %v; its log ends:\n%s", s.waitErr, s.LogTail(2000))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("serve printed no URL, or its PDF reader was not ready, within 60 s")
		}
	}
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports whether the server has ended, and how.
func (s *Server) Exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.waitErr
	default:
		return false, nil
	}
}

// Done is closed once the server has ended; Exited then says how.
func (s *Server) Done() <-chan struct{} { return s.done }

// Signal sends sig to the server, as an orchestrator would.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Log is what the server has logged so far: its JSON log lines.
func (s *Server) Log() string {
	log, _ := os.ReadFile(s.LogPath)
	return string(log)
}

// LogTail is the last n bytes of the server's log.
func (s *Server) LogTail(n int) string {
	log := s.Log()
	return log[max(0, len(log)-n):]
}

// Kill ends the server with SIGKILL, as a crash would, and waits until it has ended.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Stop ends the server with SIGTERM (SIGKILL after a minute) and returns the live stats it
// logged at shutdown (the `live updates stopped` line), nil without them. Exited then says
// whether it exited cleanly: a server that had to be killed did not.
func (s *Server) Stop() map[string]any {
	stopProcess(s.cmd.Process, s.done, syscall.SIGTERM, time.Minute)
	f, err := os.Open(s.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(nil, 1<<20)
	var stats map[string]any
	for scanner.Scan() {
		var line struct {
			Msg   string         `json:"msg"`
			Stats map[string]any `json:"stats"`
		}
		if json.Unmarshal(scanner.Bytes(), &line) == nil && line.Msg == "live updates stopped" {
			stats = line.Stats
		}
	}
	return stats
}

// Simulator is a `notifyql simulate` child process: the sending pipeline's writes.
type Simulator struct {
	cmd *exec.Cmd
	out SyncBuffer
}

// StartSimulator runs `binary simulate --rate rate` against databaseURL, on the given
// services (all active services with templates when none).
func StartSimulator(binary, databaseURL string, rate float64, services []string) (*Simulator, error) {
	s := &Simulator{}
	args := []string{"simulate", "--rate", strconv.FormatFloat(rate, 'f', -1, 64)}
	if len(services) > 0 {
		args = append(args, "--services", strings.Join(services, ","))
	}
	s.cmd = exec.Command(binary, args...)
	s.cmd.Env = childEnv("DATABASE_URL=" + databaseURL)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start simulate: %w", err)
	}
	return s, nil
}

// Stop interrupts the simulator (SIGKILL after 30 s) and returns its summary line
// ("simulated N notifications, ..."), empty without one.
func (s *Simulator) Stop() string {
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	stopProcess(s.cmd.Process, done, os.Interrupt, 30*time.Second)
	for line := range strings.Lines(s.out.String()) {
		if strings.HasPrefix(line, "simulated ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// stopProcess sends sig to p and waits until done is closed (p has been waited for),
// killing p when it is still running after within.
func stopProcess(p *os.Process, done <-chan struct{}, sig os.Signal, within time.Duration) {
	_ = p.Signal(sig)
	select {
	case <-done:
	case <-time.After(within):
		_ = p.Kill()
		<-done
	}
}
