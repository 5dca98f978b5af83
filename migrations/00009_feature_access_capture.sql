-- Feature capture (issue 4): a service's features decide who may watch some views (the
-- inbox needs inbound_sms), so switching one on or off is an access change too. Every
-- statement that writes service_permissions leaves one hint on notifyql_access in the
-- format of 00008, naming the services whose features changed:
--   {"t":"service_permissions","u":[],"s":["<service id>",...],"more":false}

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notifyql_capture_feature_access() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    service_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT service_id) INTO service_ids FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(service_id)
          INTO service_ids
          FROM (SELECT service_id FROM old_rows UNION SELECT service_id FROM new_rows) AS changed;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT service_id) INTO service_ids FROM old_rows;
    END IF;
    IF TG_OP <> 'TRUNCATE' AND service_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('notifyql_access', json_build_object(
        't', TG_TABLE_NAME,
        'u', '[]'::json,
        's', COALESCE(to_json(service_ids[1:20]), '[]'::json),
        'more', TG_OP = 'TRUNCATE' OR COALESCE(cardinality(service_ids), 0) > 20)::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER notifyql_access_insert AFTER INSERT ON service_permissions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_feature_access();
CREATE TRIGGER notifyql_access_update AFTER UPDATE ON service_permissions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_feature_access();
CREATE TRIGGER notifyql_access_delete AFTER DELETE ON service_permissions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_feature_access();
CREATE TRIGGER notifyql_access_truncate AFTER TRUNCATE ON service_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_feature_access();

-- +goose Down
DROP TRIGGER notifyql_access_truncate ON service_permissions;
DROP TRIGGER notifyql_access_delete ON service_permissions;
DROP TRIGGER notifyql_access_update ON service_permissions;
DROP TRIGGER notifyql_access_insert ON service_permissions;
DROP FUNCTION notifyql_capture_feature_access();
