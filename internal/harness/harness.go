// Package harness runs notifyql as a deployment does, in child processes, for the
// end-to-end tests of cmd/notifyql and the load programs under bench/: building the
// binary, a private redis-server, `notifyql serve` and `notifyql simulate`, signing in,
// graphql-transport-ws and HTTP clients, and the figures a run is judged by (/metrics,
// /proc, pg_stat counters). It returns errors rather than failing a test, so that both
// can use it.
package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Build compiles notifyql into dir and returns the binary's path. It builds from the
// module's root, wherever the caller runs (a test runs in its package's folder).
func Build(ctx context.Context, dir string) (string, error) {
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root (the go tool is needed to build notifyql): %w", err)
	}
	binary := filepath.Join(dir, "notifyql")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/notifyql")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return binary, nil
}

// RaiseFileLimit lifts the soft descriptor limit to the hard one, which it returns: a
// load program holds one socket per client, and the server it starts inherits the limit
// for its side.
func RaiseFileLimit() (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read the file limit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("raise the file limit: %w", err)
	}
	return int(min(lim.Cur, 1<<30)), nil
}

// FreePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment of a child process: PATH and the given variables, nothing
// else of this process's, so that a developer's own DATABASE_URL or NOTIFYQL_* settings
// cannot leak into a run.
func childEnv(vars ...string) []string {
	// HOME gives serve the user's cache folder, where PDFium's compiled module is kept.
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, vars...)
}

// SyncBuffer is a bytes.Buffer that a child process may write to while it is read.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *SyncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *SyncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// VmRSS is a process's resident set size in bytes, 0 when it cannot be read.
func VmRSS(pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ClockTicks is USER_HZ, the unit of CPUTicks: 100 a second on Linux.
const ClockTicks = 100

// CPUTicks is a process's user+system time in clock ticks.
func CPUTicks(pid int) int64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after its closing parenthesis do not.
	rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
	fields := strings.Fields(rest)
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime
}

// OpenFiles counts a process's open file descriptors, -1 when they cannot be listed.
func OpenFiles(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// LoadAverage is the machine's 1, 5 and 15 minute load averages.
func LoadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// Main runs a benchmark program's run with its arguments until it returns or the program is
// interrupted (SIGINT or SIGTERM cancel its context), and exits 1 with name and the error
// when it fails.
func Main(name string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		stop()
		os.Exit(1)
	}
}
