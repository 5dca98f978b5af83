-- Report request files (DOMAIN.md §13): the CSV a background worker builds for a report
-- request, kept in PostgreSQL as chunks of bytea, one chunk per batch of rows, so that a
-- big report is neither one huge value nor read whole into memory to be served.
--
-- report_builds is the worker's book-keeping, one row per request it has claimed: who holds
-- it and until when (the lease, renewed with every chunk), how many times it was claimed,
-- and where the next batch starts (the keyset of the last row written and the next chunk's
-- number), so that a request whose worker died is picked up again and carries on where the
-- last committed chunk ended. It lives beside report_requests, not in it, so that a
-- heartbeat does not fire report_requests' change triggers: subscribers hear of status
-- changes only.

-- +goose Up
CREATE TABLE report_builds (
    report_request_id uuid PRIMARY KEY REFERENCES report_requests (id) ON DELETE CASCADE,
    -- How many times a worker claimed the request; also the fencing token that a worker's
    -- writes must still match, so that a worker whose lease was taken over writes nothing.
    attempts          int NOT NULL,
    worker            text NOT NULL,
    -- Until when the claiming worker holds it; NULL once released.
    lease_until       timestamp,
    -- The report's window (DOMAIN.md §7.2: created_at >= windowStart(retention)), fixed at
    -- the first claim so that a resumed build reads the same rows.
    rows_since        timestamp NOT NULL,
    next_chunk        int NOT NULL DEFAULT 0,
    -- The (created_at, id) of the last row written; NULL before the first batch.
    after_created_at  timestamp,
    after_id          uuid,
    rows_written      bigint NOT NULL DEFAULT 0
);

CREATE TABLE report_chunks (
    report_request_id uuid NOT NULL REFERENCES report_requests (id) ON DELETE CASCADE,
    seq               int NOT NULL,
    data              bytea NOT NULL,
    PRIMARY KEY (report_request_id, seq)
);

-- The worker's queue and the nightly cleanup's window.
CREATE INDEX report_requests_queue_idx ON report_requests (created_at, id)
    WHERE status IN ('pending', 'in progress');
CREATE INDEX report_requests_created_at_idx ON report_requests (created_at)
    WHERE status <> 'deleted';

-- +goose Down
DROP INDEX report_requests_created_at_idx;
DROP INDEX report_requests_queue_idx;
DROP TABLE report_chunks;
DROP TABLE report_builds;
