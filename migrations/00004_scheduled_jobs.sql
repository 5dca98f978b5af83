-- Scheduled jobs (DOMAIN §4.3): the latest occurrence of each job that some instance
-- finished, so that the other instances skip it.

-- +goose Up
CREATE TABLE scheduled_jobs (
    name            text PRIMARY KEY,
    -- The scheduled instant (UTC) of the latest occurrence that finished.
    last_occurrence timestamp NOT NULL,
    started_at      timestamp NOT NULL,
    finished_at     timestamp NOT NULL
);

-- +goose Down
DROP TABLE scheduled_jobs;
