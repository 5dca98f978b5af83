package postgres

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// mustStartLocal starts a private server on dataDir and stops it when the test ends.
func mustStartLocal(tb testing.TB, dataDir string) *LocalServer {
	tb.Helper()
	server, err := StartLocal(tb.Context(), dataDir, nil)
	if err != nil {
		tb.Fatalf("StartLocal: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := server.Stop(ctx); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return server
}

// mustLocalDataDir returns an empty folder that the postgres user can reach even when
// the tests run as root: t.TempDir's folders are private to their owner.
func mustLocalDataDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatalf("chmod %s: %v", d, err)
		}
	}
	return dir
}

func mustConnect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), url)
	if err != nil {
		tb.Fatalf("connect to %s: %v", url, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestLocalServerKeepsDataAcrossRestarts(t *testing.T) {
	dataDir := mustLocalDataDir(t)

	first := mustStartLocal(t, dataDir)
	if !strings.HasPrefix(first.URL(), "postgres://postgres@127.0.0.1:") || !strings.Contains(first.URL(), "/notifyql?") {
		t.Errorf("URL() = %q, want user postgres at 127.0.0.1, database notifyql", first.URL())
	}
	conn := mustConnect(t, first.URL())
	var one int
	if err := conn.QueryRow(t.Context(), `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if _, err := conn.Exec(t.Context(), `CREATE TABLE kept (word text); INSERT INTO kept VALUES ('persisted')`); err != nil {
		t.Fatalf("create table: %v", err)
	}

	// A second server on the same folder while the first runs must be refused clearly.
	if _, err := StartLocal(t.Context(), dataDir, nil); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("StartLocal on a folder in use: error = %v, want one saying a server is already running", err)
	}

	if err := conn.Close(t.Context()); err != nil {
		t.Fatalf("close connection: %v", err)
	}
	if err := first.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	second := mustStartLocal(t, dataDir)
	var word string
	if err := mustConnect(t, second.URL()).QueryRow(t.Context(), `SELECT word FROM kept`).Scan(&word); err != nil {
		t.Fatalf("read table created before the restart: %v", err)
	}
	if word != "persisted" {
		t.Errorf("kept.word = %q, want %q", word, "persisted")
	}
	if info, err := os.Stat(filepath.Join(dataDir, "postgres.log")); err != nil || info.Size() == 0 {
		t.Errorf("server log: %v, want a non-empty dataDir/postgres.log", err)
	}
}

// StartAgain brings a stopped server back on the same port, so that a URL (a pool's)
// taken before the stop reaches it again, with its data.
func TestLocalServerStartsAgainOnTheSamePort(t *testing.T) {
	server := mustStartLocal(t, mustLocalDataDir(t))
	url, firstPID := server.URL(), server.PID()
	if _, err := mustConnect(t, url).Exec(t.Context(), `CREATE TABLE kept (word text); INSERT INTO kept VALUES ('persisted')`); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if err := server.StartAgain(t.Context()); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("StartAgain while running: error = %v, want one saying it is still running", err)
	}
	if err := server.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := server.StartAgain(t.Context()); err != nil {
		t.Fatalf("StartAgain: %v", err)
	}
	if server.URL() != url {
		t.Errorf("URL after StartAgain = %q, want the same %q", server.URL(), url)
	}
	if server.PID() == firstPID {
		t.Errorf("PID after StartAgain = %d, want a new process", server.PID())
	}
	var word string
	if err := mustConnect(t, url).QueryRow(t.Context(), `SELECT word FROM kept`).Scan(&word); err != nil || word != "persisted" {
		t.Errorf("read after StartAgain: %q, %v; want %q", word, err, "persisted")
	}
}

func TestStartLocalWithoutBinariesSaysWhatToInstall(t *testing.T) {
	empty := t.TempDir()
	_, err := startLocal(t.Context(), t.TempDir(), nil, localBinarySearch{path: empty, versionsRoot: filepath.Join(empty, "none")})
	if err == nil {
		t.Fatal("startLocal without binaries succeeded")
	}
	for _, want := range []string{"initdb", "apt-get install postgresql", "postgresql-15"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindServerBinaries(t *testing.T) {
	root := t.TempDir()
	// mustBinaries creates a folder under root holding the named executables.
	mustBinaries := func(dir string, names ...string) string {
		t.Helper()
		dir = filepath.Join(root, dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	onPath := mustBinaries("path/full", "initdb", "postgres")
	halfOnPath := mustBinaries("path/half", "initdb")
	mustBinaries("versions/9.6/bin", "initdb", "postgres")
	mustBinaries("versions/15/bin", "initdb", "postgres")
	mustBinaries("versions/16/bin", "initdb") // incomplete: no server
	mustBinaries("versions/notes")
	versions := filepath.Join(root, "versions")

	tests := []struct {
		name    string
		search  localBinarySearch
		want    string
		wantErr bool
	}{
		{
			name:   "PATH comes first",
			search: localBinarySearch{path: halfOnPath + string(os.PathListSeparator) + onPath, versionsRoot: versions},
			want:   onPath,
		},
		{
			name:   "newest complete version when PATH has none",
			search: localBinarySearch{path: halfOnPath, versionsRoot: versions},
			want:   filepath.Join(versions, "15", "bin"),
		},
		{
			name:    "nothing installed",
			search:  localBinarySearch{path: "", versionsRoot: filepath.Join(root, "missing")},
			wantErr: true,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := findServerBinaries(test.search)
			if (err != nil) != test.wantErr {
				t.Fatalf("findServerBinaries error = %v, want error: %v", err, test.wantErr)
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("findServerBinaries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckTraversableNamesTheBlockingFolder(t *testing.T) {
	private := filepath.Join(mustLocalDataDir(t), "private")
	inside := filepath.Join(private, "inside")
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	const stranger = 54321 // a uid and gid that own nothing here
	err := checkTraversable(inside, stranger, stranger)
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+private) {
		t.Errorf("checkTraversable = %v, want an error naming %s", err, private)
	}

	if err := os.Chmod(private, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := checkTraversable(inside, stranger, stranger); err != nil {
		t.Errorf("checkTraversable after chmod o+x: %v", err)
	}
}

func TestLocalServerStopsWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	server, err := StartLocal(ctx, mustLocalDataDir(t), nil)
	if err != nil {
		t.Fatalf("StartLocal: %v", err)
	}
	cancel()
	select {
	case <-server.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("server still running 20 s after its context ended")
	}
	if err := server.Stop(t.Context()); err != nil {
		t.Errorf("Stop after the server exited by itself: %v", err)
	}
}

func TestStartLocalFailureQuotesTheServerLog(t *testing.T) {
	dataDir := mustLocalDataDir(t)
	server := mustStartLocal(t, dataDir)
	if err := server.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	config, err := os.OpenFile(filepath.Join(dataDir, "postgres", "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.WriteString("\nno_such_setting_for_this_test = 1\n"); err != nil {
		t.Fatal(err)
	}
	if err := config.Close(); err != nil {
		t.Fatal(err)
	}

	_, err = StartLocal(t.Context(), dataDir, nil)
	if err == nil || !strings.Contains(err.Error(), "no_such_setting_for_this_test") {
		t.Errorf("StartLocal with a broken configuration: error = %v, want the server log's complaint in it", err)
	}
}
