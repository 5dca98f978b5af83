package main

import (
	"context"
	"errors"
	"time"

	"notifyql"
	"notifyql/postgres"
)

// rollup rebuilds the fact tables ft_notification_status and ft_billing for a range of
// London days (DOMAIN §4.1, §4.2). Running it again for the same days changes nothing.
func rollup(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("rollup", "rollup --from YYYY-MM-DD --to YYYY-MM-DD")
	fromFlag := fs.String("from", "", "first London `date` to build, YYYY-MM-DD")
	toFlag := fs.String("to", "", "last London `date` to build (included), YYYY-MM-DD")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *fromFlag == "" || *toFlag == "" {
		fs.Usage()
		return usagef("rollup: --from and --to are both required")
	}
	from, err := notifyql.ParseDate(*fromFlag)
	if err != nil {
		return usagef("rollup: --from %q is not a date written as YYYY-MM-DD", *fromFlag)
	}
	to, err := notifyql.ParseDate(*toFlag)
	if err != nil {
		return usagef("rollup: --to %q is not a date written as YYYY-MM-DD", *toFlag)
	}
	if to.Before(from) {
		return usagef("rollup: --from %s is after --to %s", from, to)
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
	started := time.Now()
	if err := postgres.NewRollup(pool, london, e.logger).BuildDays(ctx, from, to); err != nil {
		if notifyql.ErrorCode(err) == notifyql.EINVALID {
			return errors.New("rollup: " + notifyql.ErrorMessage(err))
		}
		return err
	}
	e.logger.Info("rolled up fact tables", "from", from.String(), "to", to.String(),
		"days", to.Sub(from)+1, "elapsed", time.Since(started).Round(time.Millisecond))
	return nil
}
