package harness

import (
	"context"
	"fmt"
	"os"
)

// Stage is what a load program runs on: notifyql built into a temporary folder, a demo
// database of its own and a private redis-server.
type Stage struct {
	Tmp    string // the temporary folder: the binary, logs, the server's data folder
	Binary string
	DB     *Database
	Redis  *Redis
}

// SetUp raises the file limit, builds notifyql, creates <name>_<random> on the PostgreSQL
// of the URL in postgresURLVar (the machine's when it is unset) with the demo data, and
// starts a private redis-server. Close undoes it.
func SetUp(ctx context.Context, name, postgresURLVar string) (*Stage, error) {
	postgresURL := os.Getenv(postgresURLVar)
	if postgresURL == "" {
		postgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if _, err := RaiseFileLimit(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, err
	}
	s := &Stage{Tmp: tmp}
	fmt.Println("building notifyql ...")
	if s.Binary, err = Build(ctx, tmp); err != nil {
		s.Close(ctx)
		return nil, err
	}
	if s.DB, err = CreateDatabase(ctx, postgresURL, "notifyql_"+name+"_", s.Binary); err != nil {
		s.Close(ctx)
		return nil, fmt.Errorf("%s: %w", postgresURLVar, err)
	}
	fmt.Printf("database %s: migrated, demo data loaded\n", s.DB.Name)
	if s.Redis, err = StartRedis(ctx, tmp); err != nil {
		s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// Close stops the redis-server, drops the database and removes the folder; a failure to
// drop is printed, as the run's own result matters more.
func (s *Stage) Close(ctx context.Context) {
	if s.Redis != nil {
		s.Redis.Stop()
	}
	if s.DB != nil {
		if err := s.DB.Drop(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	_ = os.RemoveAll(s.Tmp)
}
