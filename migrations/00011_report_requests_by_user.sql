-- Each user's report requests by when they were made: the daily allowance of report
-- requests (postgres/reports.go) counts a user's requests over the last 24 hours, across
-- every service, which report_requests_service_id_user_id_status_idx cannot find without
-- reading every service's.

-- +goose Up
CREATE INDEX report_requests_user_id_created_at_idx ON report_requests (user_id, created_at);

-- +goose Down
DROP INDEX report_requests_user_id_created_at_idx;
