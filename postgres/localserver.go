package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// localDatabase is the database make run works in, created on first start.
const localDatabase = "notifyql"

// localReadyTimeout bounds how long a starting server may take to accept connections.
// Crash recovery after an unclean stop can take a while on a large data folder.
const localReadyTimeout = 30 * time.Second

// LocalServer is a private PostgreSQL server run from the locally installed server
// binaries, for make run when no DATABASE_URL is given. Its data folder persists across
// restarts; its port is chosen afresh at each start.
type LocalServer struct {
	logger  *slog.Logger
	dataDir string // the PostgreSQL data folder, dataDir/postgres
	logPath string
	// logStart is the log's size before this start, so a failure quotes only this run.
	logStart int64
	port     int
	process  *os.Process
	// binDir and credential are how the server was started, for StartAgain.
	binDir     string
	credential *syscall.Credential

	// exited is closed once the server process has exited and exitErr is set.
	exited  chan struct{}
	exitErr error
}

// localBinarySearch says where to look for initdb and postgres. Tests replace it to
// simulate a machine without PostgreSQL.
type localBinarySearch struct {
	path         string // a PATH-style list of directories, searched first
	versionsRoot string // holds one <version>/bin folder per installed major version
}

func systemBinarySearch() localBinarySearch {
	return localBinarySearch{path: os.Getenv("PATH"), versionsRoot: "/usr/lib/postgresql"}
}

// StartLocal starts a private PostgreSQL server whose data lives in dataDir/postgres
// (created with initdb on first use) and whose output goes to dataDir/postgres.log. It
// listens on 127.0.0.1 only, on a free port, and returns once the database "notifyql"
// exists and accepts connections. When the process runs as root, the server runs as the
// postgres user, which must be able to reach dataDir.
//
// The server stops when ctx is done; Stop is the ordered way to stop it.
func StartLocal(ctx context.Context, dataDir string, logger *slog.Logger) (*LocalServer, error) {
	return startLocal(ctx, dataDir, logger, systemBinarySearch())
}

func startLocal(ctx context.Context, dataDir string, logger *slog.Logger, search localBinarySearch) (*LocalServer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	binDir, err := findServerBinaries(search)
	if err != nil {
		return nil, err
	}
	dataDir, err = filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve local postgres folder: %w", err)
	}
	s := &LocalServer{
		logger:  logger,
		dataDir: filepath.Join(dataDir, "postgres"),
		logPath: filepath.Join(dataDir, "postgres.log"),
		exited:  make(chan struct{}),
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create local postgres folder: %w", err)
	}
	// PostgreSQL refuses a data folder that others can read.
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create local postgres data folder: %w", err)
	}
	credential, err := s.serverCredential()
	if err != nil {
		return nil, err
	}
	if err := s.refuseIfAlreadyRunning(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		logger.Info("initialising private PostgreSQL data folder", "folder", s.dataDir, "binaries", binDir)
		if err := s.initdb(ctx, binDir, credential); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("inspect local postgres data folder: %w", err)
	}

	if s.port, err = freeLocalPort(); err != nil {
		return nil, err
	}
	s.binDir, s.credential = binDir, credential
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	logger.Info("private PostgreSQL ready", "folder", s.dataDir, "log", s.logPath, "port", s.port)
	return s, nil
}

// StartAgain starts a server that has stopped (Stop, or a crash) on the same data folder
// and the same port, so that clients holding its URL reconnect to it: a restart as an
// operator or a fault-injecting test makes one. It returns once the server accepts
// connections; like StartLocal's, the server stops when ctx is done. It must not be called
// while the server runs, nor at once with Stop.
func (s *LocalServer) StartAgain(ctx context.Context) error {
	select {
	case <-s.exited:
	default:
		return fmt.Errorf("start local postgres again: pid %d is still running", s.process.Pid)
	}
	s.exited, s.exitErr = make(chan struct{}), nil
	return s.start(ctx)
}

// PID is the server's main process (the postmaster) while it runs. Its backends are its
// children, each in a session of its own.
func (s *LocalServer) PID() int { return s.process.Pid }

// start runs the server on s.port with its output appended to the log, and waits until it
// accepts connections.
func (s *LocalServer) start(ctx context.Context) error {
	logFile, err := s.openLog()
	if err != nil {
		return err
	}
	// The children hold their own descriptors for the log; ours is only needed to start them.
	defer logFile.Close()
	if err := s.startServer(ctx, s.binDir, s.credential, logFile); err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = s.Stop(stopCtx) // the readiness error is the one worth reporting
		return err
	}
	return nil
}

// openLog opens the server log for appending, and remembers where this run's lines begin.
func (s *LocalServer) openLog() (*os.File, error) {
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open local postgres log: %w", err)
	}
	if info, err := logFile.Stat(); err == nil {
		s.logStart = info.Size()
	}
	return logFile, nil
}

// URL returns a postgres:// URL for the notifyql database as user postgres.
func (s *LocalServer) URL() string {
	return s.urlFor(localDatabase)
}

func (s *LocalServer) urlFor(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// Stop asks the server for a fast shutdown (open sessions are ended, data is flushed)
// and waits for it to exit. If ctx ends first, it requests an immediate shutdown, which
// PostgreSQL recovers from at the next start, and returns the context's error. Stopping
// a server that has already exited returns how it exited.
func (s *LocalServer) Stop(ctx context.Context) error {
	select {
	case <-s.exited:
		return s.exitErr
	default:
	}
	// SIGINT is PostgreSQL's fast shutdown. The process may exit between the check
	// above and the signal; then the signal fails harmlessly.
	_ = s.process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return s.exitErr
	case <-ctx.Done():
		_ = s.process.Signal(syscall.SIGQUIT)
		return fmt.Errorf("stop local postgres: %w", ctx.Err())
	}
}

// serverCredential returns who the server must run as: nil for ourselves, or the
// postgres user when we are root, since PostgreSQL refuses to run as root. In that case
// it also hands the data folder to that user.
func (s *LocalServer) serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	account, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the private PostgreSQL must run as user postgres, "+
			"but that user cannot be found (%w): install the server with `apt-get install postgresql`, "+
			"which creates it, or run notifyql as an ordinary user", err)
	}
	uid, err := strconv.ParseUint(account.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of user postgres: %w", err)
	}
	gid, err := strconv.ParseUint(account.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of user postgres: %w", err)
	}
	if err := chownTree(s.dataDir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	if err := checkTraversable(filepath.Dir(s.dataDir), uint32(uid), uint32(gid)); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chownTree gives root to uid:gid with everything below it. Everything below is created
// by the server running as that user, so when root already belongs to it the walk is
// skipped.
func chownTree(root string, uid, gid int) error {
	info, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("inspect local postgres data folder: %w", err)
	}
	if stat, ok := info.Sys().(*syscall.Stat_t); ok && int(stat.Uid) == uid && int(stat.Gid) == gid {
		return nil
	}
	err = filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("hand local postgres data folder to user postgres: %w", err)
	}
	return nil
}

// checkTraversable reports, in words a person can act on, a folder on the way to dir
// that the given user may not enter. Without this check the server fails with a bare
// "permission denied" in its log.
func checkTraversable(dir string, uid, gid uint32) error {
	for current := dir; ; current = filepath.Dir(current) {
		info, err := os.Stat(current)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", current, err)
		}
		stat, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := info.Mode().Perm()
		enterable := mode&0o001 != 0 ||
			(stat.Gid == gid && mode&0o010 != 0) ||
			(stat.Uid == uid && mode&0o100 != 0)
		if !enterable {
			return fmt.Errorf("user postgres cannot enter %s (mode %v) on the way to the local postgres "+
				"data folder: run `chmod o+x %s` or choose a data folder elsewhere", current, mode, current)
		}
		if parent := filepath.Dir(current); parent == current {
			return nil
		}
	}
}

// refuseIfAlreadyRunning fails clearly when a server from an earlier run still owns the
// data folder, say because that run was killed before it could stop it. A postmaster.pid
// left by a server that is gone is PostgreSQL's to handle: it checks the process and
// the shared memory itself, which is safer than removing the file here.
func (s *LocalServer) refuseIfAlreadyRunning() error {
	content, err := os.ReadFile(filepath.Join(s.dataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read local postgres lock file: %w", err)
	}
	firstLine, _, _ := strings.Cut(string(content), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(firstLine))
	if err != nil || pid <= 0 {
		return nil
	}
	// The command line of a live process tells a server of ours from an unrelated
	// process that happens to reuse the recorded pid.
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil
	}
	if bytes.Contains(cmdline, []byte(s.dataDir)) {
		return fmt.Errorf("a PostgreSQL server (pid %d) is already running on %s, probably left by an "+
			"earlier notifyql that was killed: stop it with `kill -INT %d`, or set DATABASE_URL to use it",
			pid, s.dataDir, pid)
	}
	return nil
}

// initdb creates the data folder: superuser postgres, trust authentication (the server
// only listens on 127.0.0.1), UTF8 and the C locale so sorting does not depend on the
// machine.
func (s *LocalServer) initdb(ctx context.Context, binDir string, credential *syscall.Credential) error {
	logFile, err := s.openLog()
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"--pgdata", s.dataDir,
		"--username", "postgres",
		"--auth", "trust",
		"--encoding", "UTF8",
		"--locale", "C",
		// A development folder: skipping the final fsync saves seconds per fresh folder.
		"--no-sync",
	)
	cmd.Dir = s.dataDir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential, Setpgid: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb local postgres data folder: %w%s", err, s.logTail())
	}
	return nil
}

func (s *LocalServer) startServer(ctx context.Context, binDir string, credential *syscall.Credential, logFile *os.File) error {
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		// No Unix socket: the system server's socket folder is not ours to write in, and
		// everything connects over TCP anyway.
		"-c", "unix_socket_directories=",
	)
	cmd.Dir = s.dataDir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: credential,
		// Its own process group keeps a terminal's Ctrl-C from reaching the server
		// directly: the API drains its requests first and then calls Stop.
		Setpgid: true,
		// If this process dies without calling Stop (kill -9, a crash), the kernel asks
		// the server for a fast shutdown instead of leaving it running. The signal is
		// tied to the starting OS thread, which the Go runtime keeps alive unless a
		// goroutine locked to it exits.
		Pdeathsig: syscall.SIGINT,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start local postgres: %w", err)
	}
	s.process = cmd.Process
	s.logger.Info("starting private PostgreSQL", "pid", cmd.Process.Pid, "port", s.port)

	// This run's channel, not the field: StartAgain gives the next run a new one.
	exited := s.exited
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("local postgres exited: %w", err)
		}
		s.exitErr = err
		close(exited)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGINT)
		case <-exited:
		}
	}()
	return nil
}

// waitReady connects until the server accepts connections, then creates the notifyql
// database if this is the folder's first start.
func (s *LocalServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, localReadyTimeout)
	defer cancel()
	config, err := pgx.ParseConfig(s.urlFor("postgres"))
	if err != nil {
		return fmt.Errorf("parse local postgres URL: %w", err)
	}
	config.ConnectTimeout = 2 * time.Second

	var lastErr error
	for {
		conn, err := pgx.ConnectConfig(ctx, config)
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
			return s.createDatabase(ctx, conn)
		}
		lastErr = err
		select {
		case <-s.exited:
			return fmt.Errorf("start local postgres: %w%s", s.exitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("wait for local postgres to accept connections (at most %v): %w; last attempt: %w%s",
				localReadyTimeout, ctx.Err(), lastErr, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *LocalServer) createDatabase(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, localDatabase).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look for database %s: %w", localDatabase, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{localDatabase}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", localDatabase, err)
	}
	s.logger.Info("created database in private PostgreSQL", "database", localDatabase)
	return nil
}

// logTail returns the end of the server log, formatted to follow an error message, so
// a failed start explains itself without a trip to the log file.
func (s *LocalServer) logTail() string {
	const maxTail = 2048
	file, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return ""
	}
	offset := max(info.Size()-maxTail, s.logStart, 0)
	tail, err := io.ReadAll(io.NewSectionReader(file, offset, maxTail))
	if err != nil {
		return ""
	}
	text := string(tail)
	if offset > s.logStart {
		// Drop the partial first line.
		if _, rest, found := strings.Cut(text, "\n"); found {
			text = rest
		}
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	return fmt.Sprintf("\nlast lines of %s:\n%s", s.logPath, text)
}

// freeLocalPort asks the kernel for a TCP port that is free on 127.0.0.1 right now. The
// server binds it moments later; losing that race shows up as a failed start.
func freeLocalPort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for local postgres: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	if err := listener.Close(); err != nil {
		return 0, fmt.Errorf("find a free port for local postgres: %w", err)
	}
	return port, nil
}

// findServerBinaries returns the folder holding both initdb and postgres: the first
// such folder on the PATH, else the newest version under the versions root (the Debian
// and Ubuntu layout, /usr/lib/postgresql/<version>/bin, which is not on the PATH).
func findServerBinaries(search localBinarySearch) (string, error) {
	for _, dir := range filepath.SplitList(search.path) {
		if dir != "" && hasServerBinaries(dir) {
			return dir, nil
		}
	}
	entries, err := os.ReadDir(search.versionsRoot)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("look for PostgreSQL server binaries: %w", err)
	}
	var versions []string
	for _, entry := range entries {
		if _, ok := parseMajorMinor(entry.Name()); ok {
			versions = append(versions, entry.Name())
		}
	}
	// Newest first, comparing numbers: 16 is newer than 9.6.
	slices.SortFunc(versions, func(a, b string) int {
		va, _ := parseMajorMinor(a)
		vb, _ := parseMajorMinor(b)
		return slices.Compare(vb, va)
	})
	for _, version := range versions {
		dir := filepath.Join(search.versionsRoot, version, "bin")
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found on the PATH or under " +
		search.versionsRoot + ": install them with `apt-get install postgresql` (Debian package postgresql-15), " +
		"or set DATABASE_URL to use an existing server")
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// parseMajorMinor reads a version folder name such as "15" or "9.6".
func parseMajorMinor(name string) ([]int, bool) {
	var numbers []int
	for part := range strings.SplitSeq(name, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		numbers = append(numbers, n)
	}
	return numbers, len(numbers) > 0
}
