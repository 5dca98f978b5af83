-- Access capture (issue 4): when a write changes who may see what, live subscriptions must
-- re-check their permission and end with FORBIDDEN within 2 s. Every statement that writes
-- permissions, user_to_service or user_to_organisation, changes a user's state or
-- platform_admin, or changes a service's active flag or organisation, leaves one hint on
-- the notifyql_access channel, whoever the writer is:
--   {"t":"<table>","u":["<user id>",...],"s":["<service id>",...],"more":false}
-- u lists the users whose own access changed, s the services whose facts changed (which
-- concerns everyone watching them); each at most 20 ids, ids only, never personal data.
-- more is true when either list was cut short, or for a TRUNCATE: then every subscription
-- re-checks. Listeners treat a hint as a reason to reload a principal, never as the data.
--
-- Like the change capture of 00007 the triggers are statement-level with transition tables
-- (one grouped scan per statement), hence one trigger per event. Statements on users and
-- services that leave the watched columns alone send nothing.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notifyql_capture_access() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    user_ids    uuid[];
    service_ids uuid[];
    truncated   boolean := TG_OP = 'TRUNCATE';
BEGIN
    -- Each branch names only the transition tables (and columns) its trigger has: plpgsql
    -- plans a query the first time it runs, so a branch that never runs never looks.
    IF truncated THEN
        NULL;
    ELSIF TG_TABLE_NAME = 'users' THEN
        IF TG_OP = 'UPDATE' THEN
            SELECT array_agg(new_rows.id) INTO user_ids
              FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
             WHERE new_rows.state IS DISTINCT FROM old_rows.state
                OR new_rows.platform_admin IS DISTINCT FROM old_rows.platform_admin;
        ELSE
            SELECT array_agg(id) INTO user_ids FROM old_rows;
        END IF;
    ELSIF TG_TABLE_NAME = 'services' THEN
        IF TG_OP = 'UPDATE' THEN
            SELECT array_agg(new_rows.id) INTO service_ids
              FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
             WHERE new_rows.active IS DISTINCT FROM old_rows.active
                OR new_rows.organisation_id IS DISTINCT FROM old_rows.organisation_id;
        ELSE
            SELECT array_agg(id) INTO service_ids FROM old_rows;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT user_id) INTO user_ids FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A row moved to another user is news to both.
        SELECT array_agg(user_id) INTO user_ids
          FROM (SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows) AS changed;
    ELSE
        SELECT array_agg(DISTINCT user_id) INTO user_ids FROM old_rows;
    END IF;

    IF NOT truncated AND user_ids IS NULL AND service_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('notifyql_access', json_build_object(
        't', TG_TABLE_NAME,
        'u', COALESCE(to_json(user_ids[1:20]), '[]'::json),
        's', COALESCE(to_json(service_ids[1:20]), '[]'::json),
        'more', truncated OR COALESCE(cardinality(user_ids), 0) > 20 OR COALESCE(cardinality(service_ids), 0) > 20)::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER notifyql_access_insert AFTER INSERT ON permissions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_update AFTER UPDATE ON permissions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_delete AFTER DELETE ON permissions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_truncate AFTER TRUNCATE ON permissions
    FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();

CREATE TRIGGER notifyql_access_insert AFTER INSERT ON user_to_service
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_update AFTER UPDATE ON user_to_service
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_delete AFTER DELETE ON user_to_service
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_truncate AFTER TRUNCATE ON user_to_service
    FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();

CREATE TRIGGER notifyql_access_insert AFTER INSERT ON user_to_organisation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_update AFTER UPDATE ON user_to_organisation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_delete AFTER DELETE ON user_to_organisation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_truncate AFTER TRUNCATE ON user_to_organisation
    FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();

CREATE TRIGGER notifyql_access_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();

CREATE TRIGGER notifyql_access_update AFTER UPDATE ON services
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();
CREATE TRIGGER notifyql_access_delete AFTER DELETE ON services
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION notifyql_capture_access();

-- +goose Down
DROP TRIGGER notifyql_access_delete ON services;
DROP TRIGGER notifyql_access_update ON services;
DROP TRIGGER notifyql_access_delete ON users;
DROP TRIGGER notifyql_access_update ON users;
DROP TRIGGER notifyql_access_truncate ON user_to_organisation;
DROP TRIGGER notifyql_access_delete ON user_to_organisation;
DROP TRIGGER notifyql_access_update ON user_to_organisation;
DROP TRIGGER notifyql_access_insert ON user_to_organisation;
DROP TRIGGER notifyql_access_truncate ON user_to_service;
DROP TRIGGER notifyql_access_delete ON user_to_service;
DROP TRIGGER notifyql_access_update ON user_to_service;
DROP TRIGGER notifyql_access_insert ON user_to_service;
DROP TRIGGER notifyql_access_truncate ON permissions;
DROP TRIGGER notifyql_access_delete ON permissions;
DROP TRIGGER notifyql_access_update ON permissions;
DROP TRIGGER notifyql_access_insert ON permissions;
DROP FUNCTION notifyql_capture_access();
