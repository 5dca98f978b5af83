package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"notifyql"
	"notifyql/postgres"
)

// retention moves notifications and inbound SMS past their service's retention into the
// history tables once, as the nightly jobs do (DOMAIN.md §14, §11), and prints how many
// rows moved; with --dry-run it prints how many would and moves nothing.
func retention(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("retention", "retention [--dry-run]")
	dryRun := fs.Bool("dry-run", false, "count the rows that would move, and move nothing")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
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

	mover := postgres.NewRetentionMover(pool, london, e.logger)
	now := time.Now()
	if *dryRun {
		notifications, err := mover.NotificationsDue(ctx, now)
		if err != nil {
			return err
		}
		inbound, err := mover.InboundSMSDue(ctx, now)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "dry run: would move %d notifications and %d inbound text messages to history\n",
			notifications, inbound)
		return err
	}
	// Each mover reports what it did before an error, so an interrupted run still says how
	// far it got; rerunning carries on from there.
	notifications, err := mover.MoveNotifications(ctx, now)
	if err != nil {
		fmt.Fprintf(e.stdout, "moved %d notifications to history before stopping\n", notifications)
		return err
	}
	inbound, err := mover.MoveInboundSMS(ctx, now)
	if err != nil {
		fmt.Fprintf(e.stdout, "moved %d notifications and %d inbound text messages to history before stopping\n",
			notifications, inbound)
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "moved %d notifications and %d inbound text messages to history\n", notifications, inbound)
	return err
}
