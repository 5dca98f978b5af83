package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"notifyql"
	"notifyql/postgres/seed"
)

// simulate plays the sending pipeline against the database until interrupted: it creates
// notifications and moves them through their statuses, receives inbound text messages, and
// schedules and runs jobs, all with plain SQL, so that a running serve's live views move.
// At the end it prints what it wrote.
func simulate(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("simulate", "simulate --rate N [--services ID,ID] [--seed N]")
	rate := fs.Float64("rate", 0, "new notifications per `second` (job rows come on top); required, positive")
	services := fs.String("services", "", "comma-separated service `ids` to simulate (default: every active service with templates)")
	seedValue := fs.Int64("seed", 0, "random seed for the simulator's choices (default: from the clock)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if !(*rate > 0) {
		fs.Usage()
		return usagef("%s: --rate must be a positive number of notifications per second", fs.Name())
	}
	var serviceIDs []string
	for _, id := range strings.Split(*services, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !notifyql.IsUUID(id) {
			return usagef("%s: --services: %q is not a service id (a UUID)", fs.Name(), id)
		}
		serviceIDs = append(serviceIDs, notifyql.NormaliseID(id))
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if !seedSet {
		*seedValue = time.Now().UnixNano()
	}
	london, err := notifyql.LoadLondon()
	if err != nil {
		return err
	}
	pool, closeDatabase, err := openCommandPool(ctx, e)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeDatabase()) }()

	sim := seed.NewSimulator(pool, london, e.logger, seed.SimulatorOptions{
		Rate: *rate, Services: serviceIDs, Seed: *seedValue,
	})
	if err := sim.Run(ctx); err != nil {
		if notifyql.ErrorCode(err) == notifyql.ENOTFOUND || notifyql.ErrorCode(err) == notifyql.EINVALID {
			return errors.New(notifyql.ErrorMessage(err))
		}
		return err
	}
	st := sim.Stats()
	_, err = fmt.Fprintf(e.stdout, "simulated %d notifications, %d status changes, %d inbound text messages, "+
		"%d jobs scheduled, %d started and %d finished\n",
		st.Notifications, st.StatusChanges, st.InboundSMS, st.JobsScheduled, st.JobsStarted, st.JobsFinished)
	return err
}
