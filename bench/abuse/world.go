package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
)

// world is what the run found in the demo data: the services each user works on.
type world struct {
	// victimService is a service the victim may view; floodService one the flooder may.
	victimService, floodService string
	// downloadService is the service whose notifications CSV the downloader asks for, grown
	// by --download-rows emails; another than the victim's, as an attacker's would be.
	downloadService string
}

// prepareWorld picks the services and adds rows emails to the downloaded one.
func prepareWorld(ctx context.Context, pool *pgxpool.Pool, rows int) (world, error) {
	viewers, err := harness.Viewers(ctx, pool)
	if err != nil {
		return world{}, err
	}
	var w world
	for _, v := range viewers {
		switch {
		case v.Email == victimEmail && w.victimService == "":
			w.victimService = v.ServiceID
		case v.Email == flooderEmail && w.floodService == "":
			w.floodService = v.ServiceID
		}
	}
	for _, v := range viewers {
		if v.Email == downloaderEmail && v.ServiceID != w.victimService {
			w.downloadService = v.ServiceID
			break
		}
	}
	if w.victimService == "" || w.floodService == "" || w.downloadService == "" {
		return world{}, fmt.Errorf("the demo data lacks a service for %s, %s or %s", victimEmail, flooderEmail, downloaderEmail)
	}
	if rows > 0 {
		if err := addEmails(ctx, pool, w.downloadService, rows); err != nil {
			return world{}, err
		}
	}
	return w, nil
}

// addEmails copies the service's newest email rows times, a second apart going back from
// now, so that its notifications CSV has that many more rows within retention.
func addEmails(ctx context.Context, pool *pgxpool.Pool, serviceID string, rows int) error {
	found, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'notifications' ORDER BY ordinal_position`)
	if err != nil {
		return fmt.Errorf("read the notifications columns: %w", err)
	}
	columns, err := pgx.CollectRows(found, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read the notifications columns: %w", err)
	}
	var names, values []string
	for _, c := range columns {
		value := "n." + pgx.Identifier{c}.Sanitize()
		switch c {
		case "id":
			continue
		case "created_at":
			value = "(now() AT TIME ZONE 'utc') - g * interval '1 second'"
		case "job_id", "job_row_number":
			value = "NULL"
		}
		names = append(names, pgx.Identifier{c}.Sanitize())
		values = append(values, value)
	}
	sql := `INSERT INTO notifications (` + strings.Join(names, ", ") + `)
		SELECT ` + strings.Join(values, ", ") + `
		FROM notifications n, generate_series(1, $2) AS g
		WHERE n.id = (SELECT id FROM notifications WHERE service_id = $1 AND notification_type = 'email'
		              ORDER BY created_at DESC LIMIT 1)`
	started := time.Now()
	tag, err := pool.Exec(ctx, sql, serviceID, rows)
	if err != nil {
		return fmt.Errorf("add emails to the downloaded service: %w", err)
	}
	if tag.RowsAffected() != int64(rows) {
		return fmt.Errorf("added %d emails to the downloaded service, want %d (has it no email?)", tag.RowsAffected(), rows)
	}
	fmt.Printf("added %d emails to the downloaded service in %s\n", rows, time.Since(started).Round(time.Millisecond))
	return nil
}

// tokens mints a token for each user the run signs in as.
func (w world) tokens(ctx context.Context, pool *pgxpool.Pool) (map[string]string, error) {
	tokens := map[string]string{}
	for _, email := range []string{victimEmail, downloaderEmail, flooderEmail, pingerEmail} {
		token, err := harness.TokenFor(ctx, pool, abuseSecret, email, 12*time.Hour)
		if err != nil {
			return nil, err
		}
		tokens[email] = token
	}
	return tokens, nil
}
