-- Change capture (ARCHITECTURE.md, "Live path"): every statement that writes notifications,
-- inbound_sms, jobs or report_requests leaves one hint per service it touched on the
-- notifyql_changes channel, whoever the writer is. A hint holds ids only, never personal
-- data, and at most 20 of them, so a statement writing 10,000 rows of one service costs one
-- notification of under 1 kB (NOTIFY payloads must stay below 8000 bytes):
--   {"s":"<service id>","t":"<table>","ids":["<id>",...],"more":false}
-- more is true when the statement touched more rows than ids lists. Listeners treat a hint
-- as a reason to recompute snapshots, never as the data itself.
--
-- The triggers are statement-level with transition tables, so their cost is one grouped
-- scan of the rows the statement wrote, not a trigger call per row. PostgreSQL allows
-- transition tables only on single-event triggers, hence three triggers per table.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notifyql_capture_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch names only the transition tables its event has: plpgsql plans a query
    -- the first time it runs, so a branch that never runs never looks for them.
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('notifyql_changes', format('{"s":"%s","t":"%s","ids":%s,"more":%s}',
                    service_id, TG_TABLE_NAME, array_to_json((array_agg(id))[1:20]), to_json(count(*) > 20)))
           FROM new_rows
          GROUP BY service_id;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A row moved to another service is news to both; UNION counts each row once.
        PERFORM pg_notify('notifyql_changes', format('{"s":"%s","t":"%s","ids":%s,"more":%s}',
                    service_id, TG_TABLE_NAME, array_to_json((array_agg(id))[1:20]), to_json(count(*) > 20)))
           FROM (SELECT service_id, id FROM old_rows UNION SELECT service_id, id FROM new_rows) AS changed
          GROUP BY service_id;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('notifyql_changes', format('{"s":"%s","t":"%s","ids":%s,"more":%s}',
                    service_id, TG_TABLE_NAME, array_to_json((array_agg(id))[1:20]), to_json(count(*) > 20)))
           FROM old_rows
          GROUP BY service_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER notifyql_changes_insert AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_update AFTER UPDATE ON notifications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_delete AFTER DELETE ON notifications
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();

CREATE TRIGGER notifyql_changes_insert AFTER INSERT ON inbound_sms
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_update AFTER UPDATE ON inbound_sms
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_delete AFTER DELETE ON inbound_sms
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();

CREATE TRIGGER notifyql_changes_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();

CREATE TRIGGER notifyql_changes_insert AFTER INSERT ON report_requests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_update AFTER UPDATE ON report_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();
CREATE TRIGGER notifyql_changes_delete AFTER DELETE ON report_requests
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_changes();

-- +goose Down
DROP TRIGGER notifyql_changes_delete ON report_requests;
DROP TRIGGER notifyql_changes_update ON report_requests;
DROP TRIGGER notifyql_changes_insert ON report_requests;
DROP TRIGGER notifyql_changes_delete ON jobs;
DROP TRIGGER notifyql_changes_update ON jobs;
DROP TRIGGER notifyql_changes_insert ON jobs;
DROP TRIGGER notifyql_changes_delete ON inbound_sms;
DROP TRIGGER notifyql_changes_update ON inbound_sms;
DROP TRIGGER notifyql_changes_insert ON inbound_sms;
DROP TRIGGER notifyql_changes_delete ON notifications;
DROP TRIGGER notifyql_changes_update ON notifications;
DROP TRIGGER notifyql_changes_insert ON notifications;
DROP FUNCTION notifyql_capture_changes();
