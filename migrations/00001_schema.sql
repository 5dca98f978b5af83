-- The notifyql schema (DOMAIN.md §3). Every timestamp column is `timestamp without time
-- zone` holding UTC (§1); money is numeric, never float.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Lookups --------------------------------------------------------------------------------

CREATE TABLE notification_types (name text PRIMARY KEY);
INSERT INTO notification_types (name) VALUES ('email'), ('sms'), ('letter');

CREATE TABLE key_types (name text PRIMARY KEY);
INSERT INTO key_types (name) VALUES ('normal'), ('team'), ('test');

CREATE TABLE postage_types (name text PRIMARY KEY);
INSERT INTO postage_types (name) VALUES ('first'), ('second'), ('economy'), ('europe'), ('rest-of-world');

-- §2.1: every stored status.
CREATE TABLE notification_status_types (name text PRIMARY KEY);
INSERT INTO notification_status_types (name) VALUES
    ('created'), ('sending'), ('pending'), ('sent'), ('delivered'), ('failed'),
    ('technical-failure'), ('temporary-failure'), ('permanent-failure'),
    ('pending-virus-check'), ('validation-failed'), ('virus-scan-failed'),
    ('returned-letter'), ('cancelled');

-- §3.1
CREATE TABLE organisation_types (
    name     text PRIMARY KEY,
    is_crown boolean
);
INSERT INTO organisation_types (name, is_crown) VALUES
    ('central', true),
    ('local', false),
    ('nhs_central', true),
    ('nhs_local', false),
    ('nhs_gp', false),
    ('nhs_notify', true),
    ('emergency_service', false),
    ('school_or_college', false),
    ('other', NULL);

-- §3.1: the features a service can have.
CREATE TABLE service_permission_types (name text PRIMARY KEY);
INSERT INTO service_permission_types (name) VALUES
    ('email'), ('sms'), ('letter'), ('international_sms'), ('inbound_sms'), ('email_auth'),
    ('edit_folder_permissions'), ('international_letters'), ('sms_to_uk_landlines');

-- Users, organisations and services ----------------------------------------------------------

-- §3.2
CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text NOT NULL,
    email_address  text NOT NULL UNIQUE,
    mobile_number  text,
    platform_admin boolean NOT NULL DEFAULT false,
    state          text NOT NULL DEFAULT 'active',
    auth_type      text NOT NULL DEFAULT 'sms_auth',
    created_at     timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at     timestamp
);

-- §3.1
CREATE TABLE organisation (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL UNIQUE,
    active            boolean NOT NULL DEFAULT true,
    organisation_type text REFERENCES organisation_types (name),
    created_at        timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at        timestamp
);

CREATE TABLE user_to_organisation (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisation (id) ON DELETE CASCADE,
    UNIQUE (user_id, organisation_id)
);
CREATE INDEX user_to_organisation_organisation_id_idx ON user_to_organisation (organisation_id);

CREATE TABLE services (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL UNIQUE,
    active            boolean NOT NULL DEFAULT true,
    restricted        boolean NOT NULL DEFAULT true,
    organisation_id   uuid REFERENCES organisation (id),
    organisation_type text REFERENCES organisation_types (name),
    crown             boolean,
    prefix_sms        boolean NOT NULL DEFAULT true,
    created_at        timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at        timestamp,
    go_live_at        timestamp,
    created_by_id     uuid REFERENCES users (id),
    version           integer NOT NULL DEFAULT 1
);
CREATE INDEX services_organisation_id_idx ON services (organisation_id);

-- One row per version of a service; the live row is in services.
CREATE TABLE services_history (
    id                uuid NOT NULL,
    name              text NOT NULL,
    active            boolean NOT NULL,
    restricted        boolean NOT NULL,
    organisation_id   uuid,
    organisation_type text REFERENCES organisation_types (name),
    crown             boolean,
    prefix_sms        boolean NOT NULL,
    created_at        timestamp NOT NULL,
    updated_at        timestamp,
    go_live_at        timestamp,
    created_by_id     uuid REFERENCES users (id),
    version           integer NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE service_permissions (
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    permission text NOT NULL REFERENCES service_permission_types (name),
    created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (service_id, permission)
);

CREATE TABLE user_to_service (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, service_id)
);
CREATE INDEX user_to_service_service_id_idx ON user_to_service (service_id);

-- §3.2: database permissions; the API combines them into UI permissions.
CREATE TABLE permissions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id uuid REFERENCES services (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission text NOT NULL CHECK (permission IN (
        'manage_users', 'manage_settings', 'manage_templates', 'send_texts', 'send_emails',
        'send_letters', 'manage_api_keys', 'platform_admin', 'view_activity')),
    created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    UNIQUE (service_id, user_id, permission)
);
CREATE INDEX permissions_user_id_idx ON permissions (user_id);

CREATE TABLE inbound_numbers (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number     text NOT NULL UNIQUE,
    provider   text NOT NULL DEFAULT 'mmg',
    service_id uuid REFERENCES services (id) ON DELETE SET NULL,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at timestamp
);
CREATE INDEX inbound_numbers_service_id_idx ON inbound_numbers (service_id);

-- §14
CREATE TABLE service_data_retention (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id        uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    notification_type text NOT NULL REFERENCES notification_types (name),
    days_of_retention integer NOT NULL CHECK (days_of_retention BETWEEN 3 AND 90),
    created_at        timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at        timestamp,
    UNIQUE (service_id, notification_type)
);

-- Templates, API keys and jobs -------------------------------------------------------------

-- §3.3
CREATE TABLE templates (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id    uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name          text NOT NULL,
    template_type text NOT NULL REFERENCES notification_types (name),
    version       integer NOT NULL DEFAULT 1,
    content       text NOT NULL DEFAULT '',
    subject       text,
    postage       text REFERENCES postage_types (name),
    archived      boolean NOT NULL DEFAULT false,
    hidden        boolean NOT NULL DEFAULT false,
    created_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at    timestamp,
    created_by_id uuid REFERENCES users (id)
);
CREATE INDEX templates_service_id_idx ON templates (service_id);

-- Every version a notification may have been sent with; notifications reference these rows.
CREATE TABLE templates_history (
    id            uuid NOT NULL,
    service_id    uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name          text NOT NULL,
    template_type text NOT NULL REFERENCES notification_types (name),
    version       integer NOT NULL,
    content       text NOT NULL DEFAULT '',
    subject       text,
    postage       text REFERENCES postage_types (name),
    archived      boolean NOT NULL DEFAULT false,
    hidden        boolean NOT NULL DEFAULT false,
    created_at    timestamp NOT NULL,
    updated_at    timestamp,
    created_by_id uuid REFERENCES users (id),
    PRIMARY KEY (id, version)
);
CREATE INDEX templates_history_service_id_idx ON templates_history (service_id);

-- §3.7
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id    uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name          text NOT NULL,
    key_type      text NOT NULL REFERENCES key_types (name),
    secret        text NOT NULL UNIQUE,
    expiry_date   timestamp,
    created_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at    timestamp,
    created_by_id uuid REFERENCES users (id)
);
CREATE INDEX api_keys_service_id_idx ON api_keys (service_id);
-- A name is unique per service among keys that have not been revoked.
CREATE UNIQUE INDEX api_keys_service_id_name_unrevoked_key ON api_keys (service_id, name)
    WHERE expiry_date IS NULL;

CREATE TABLE jobs (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id         uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    template_id        uuid NOT NULL,
    template_version   integer NOT NULL,
    original_file_name text NOT NULL,
    notification_count integer NOT NULL DEFAULT 0,
    job_status         text NOT NULL DEFAULT 'pending',
    scheduled_for      timestamp,
    created_by_id      uuid REFERENCES users (id),
    created_at         timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at         timestamp,
    processing_started timestamp,
    processing_finished timestamp,
    archived           boolean NOT NULL DEFAULT false,
    FOREIGN KEY (template_id, template_version) REFERENCES templates_history (id, version)
);
CREATE INDEX jobs_service_id_created_at_idx ON jobs (service_id, created_at);
CREATE INDEX jobs_scheduled_for_idx ON jobs (scheduled_for) WHERE scheduled_for IS NOT NULL;

-- Notifications ------------------------------------------------------------------------------

-- §3.4: rows still within retention. to, normalised_to, personalisation, reply_to_text and
-- letter_validation are personal data.
CREATE TABLE notifications (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id          uuid NOT NULL REFERENCES services (id),
    template_id         uuid NOT NULL,
    template_version    integer NOT NULL,
    notification_type   text NOT NULL REFERENCES notification_types (name),
    "to"                text NOT NULL,
    normalised_to       text,
    client_reference    text,
    key_type            text NOT NULL REFERENCES key_types (name),
    notification_status text NOT NULL DEFAULT 'created' REFERENCES notification_status_types (name),
    billable_units      integer NOT NULL DEFAULT 0,
    rate_multiplier     numeric,
    international       boolean NOT NULL DEFAULT false,
    phone_prefix        text,
    postage             text REFERENCES postage_types (name),
    created_at          timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at          timestamp,
    sent_at             timestamp,
    sent_by             text,
    job_id              uuid REFERENCES jobs (id),
    job_row_number      integer,
    api_key_id          uuid REFERENCES api_keys (id),
    created_by_id       uuid REFERENCES users (id),
    reply_to_text       text,
    personalisation     text,
    letter_validation   jsonb,
    page_count          integer CHECK (page_count >= 0),
    FOREIGN KEY (template_id, template_version) REFERENCES templates_history (id, version),
    UNIQUE (job_id, job_row_number)
);
CREATE INDEX notifications_service_id_created_at_id_idx
    ON notifications (service_id, created_at, id);
CREATE INDEX notifications_service_id_type_created_at_id_idx
    ON notifications (service_id, notification_type, created_at, id);
CREATE INDEX notifications_service_id_type_created_at_not_delivered_idx
    ON notifications (service_id, notification_type, created_at)
    WHERE notification_status <> 'delivered';
CREATE INDEX notifications_normalised_to_trgm_idx
    ON notifications USING gin (normalised_to gin_trgm_ops);
CREATE INDEX notifications_client_reference_trgm_idx
    ON notifications USING gin (client_reference gin_trgm_ops);
CREATE INDEX notifications_created_at_idx ON notifications (created_at);
CREATE INDEX notifications_job_id_idx ON notifications (job_id);
CREATE INDEX notifications_template_id_idx ON notifications (template_id);
CREATE INDEX notifications_api_key_id_idx ON notifications (api_key_id);

-- Rows moved out of notifications by the retention job (§14), without personal data.
CREATE TABLE notification_history (
    id                  uuid PRIMARY KEY,
    service_id          uuid NOT NULL REFERENCES services (id),
    template_id         uuid NOT NULL,
    template_version    integer NOT NULL,
    notification_type   text NOT NULL REFERENCES notification_types (name),
    client_reference    text,
    key_type            text NOT NULL REFERENCES key_types (name),
    notification_status text NOT NULL REFERENCES notification_status_types (name),
    billable_units      integer NOT NULL DEFAULT 0,
    rate_multiplier     numeric,
    international       boolean NOT NULL DEFAULT false,
    phone_prefix        text,
    postage             text REFERENCES postage_types (name),
    created_at          timestamp NOT NULL,
    updated_at          timestamp,
    sent_at             timestamp,
    sent_by             text,
    job_id              uuid REFERENCES jobs (id),
    job_row_number      integer,
    api_key_id          uuid REFERENCES api_keys (id),
    created_by_id       uuid REFERENCES users (id),
    page_count          integer,
    FOREIGN KEY (template_id, template_version) REFERENCES templates_history (id, version)
);
CREATE INDEX notification_history_service_key_type_created_at_idx
    ON notification_history (service_id, key_type, notification_type, created_at);

-- The fact builders read both tables through this view (§3.4, §4).
CREATE VIEW notifications_all_time AS
    SELECT id, service_id, template_id, template_version, notification_type, client_reference,
           key_type, notification_status, billable_units, rate_multiplier, international,
           phone_prefix, postage, created_at, updated_at, sent_at, sent_by, job_id,
           job_row_number, api_key_id, created_by_id, page_count
      FROM notifications
    UNION ALL
    SELECT id, service_id, template_id, template_version, notification_type, client_reference,
           key_type, notification_status, billable_units, rate_multiplier, international,
           phone_prefix, postage, created_at, updated_at, sent_at, sent_by, job_id,
           job_row_number, api_key_id, created_by_id, page_count
      FROM notification_history;

-- §2.5: written only by the triggers below.
CREATE TABLE notification_status_history (
    id              bigserial PRIMARY KEY,
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    -- Copied from notifications.notification_status, which is already checked: a second
    -- foreign key check per row would only slow bulk loads.
    status          text NOT NULL,
    at              timestamp NOT NULL
);
CREATE INDEX notification_status_history_notification_id_at_id_idx
    ON notification_status_history (notification_id, at, id);

-- Live counts of notifications per London day and key, kept by triggers so that today's
-- dashboard totals need not scan notifications. It always equals a GROUP BY over
-- notifications; a counter that reaches zero is deleted.
CREATE TABLE notification_status_counts (
    service_id          uuid NOT NULL,
    bst_date            date NOT NULL,
    template_id         uuid NOT NULL,
    notification_type   text NOT NULL,
    key_type            text NOT NULL,
    notification_status text NOT NULL,
    notification_count  bigint NOT NULL,
    PRIMARY KEY (service_id, bst_date, template_id, notification_type, key_type, notification_status)
);

-- Triggers are statement level with transition tables so that a COPY of millions of rows
-- runs each once, not once per row. A trigger with transition tables handles one event only.

-- +goose StatementBegin
CREATE FUNCTION notification_status_history_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_status_history (notification_id, status, at)
    SELECT id, notification_status, created_at FROM inserted_notifications;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notification_status_history_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_status_history (notification_id, status, at)
    SELECT n.id, n.notification_status, (now() AT TIME ZONE 'utc')
      FROM new_notifications n
      JOIN old_notifications o ON o.id = n.id
     WHERE n.notification_status IS DISTINCT FROM o.notification_status;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Deltas are applied in key order so that concurrent writers lock counter rows in the same
-- order and cannot deadlock each other.
-- +goose StatementBegin
CREATE FUNCTION notification_status_counts_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_status_counts AS c (service_id, bst_date, template_id,
        notification_type, key_type, notification_status, notification_count)
    SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date,
           template_id, notification_type, key_type, notification_status, count(*)
      FROM inserted_notifications
     GROUP BY 1, 2, 3, 4, 5, 6
     ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (service_id, bst_date, template_id, notification_type, key_type, notification_status)
    DO UPDATE SET notification_count = c.notification_count + EXCLUDED.notification_count;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- An update counts -1 for the old key and +1 for the new one; keys whose delta nets to zero
-- (nothing in the key changed) are left alone.
-- +goose StatementBegin
CREATE FUNCTION notification_status_counts_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_status_counts AS c (service_id, bst_date, template_id,
        notification_type, key_type, notification_status, notification_count)
    SELECT service_id, bst_date, template_id, notification_type, key_type, notification_status, sum(n)
      FROM (SELECT service_id,
                   (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
                   template_id, notification_type, key_type, notification_status, 1 AS n
              FROM new_notifications
            UNION ALL
            SELECT service_id,
                   (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date,
                   template_id, notification_type, key_type, notification_status, -1
              FROM old_notifications) delta
     GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(n) <> 0
     ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (service_id, bst_date, template_id, notification_type, key_type, notification_status)
    DO UPDATE SET notification_count = c.notification_count + EXCLUDED.notification_count;
    -- Counters brought to zero by this statement go; only this transaction can see a zero.
    DELETE FROM notification_status_counts c
     USING (SELECT DISTINCT service_id,
                   (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
                   template_id, notification_type, key_type, notification_status
              FROM old_notifications) o
     WHERE c.notification_count = 0
       AND (c.service_id, c.bst_date, c.template_id, c.notification_type, c.key_type, c.notification_status)
         = (o.service_id, o.bst_date, o.template_id, o.notification_type, o.key_type, o.notification_status);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notification_status_counts_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_status_counts AS c (service_id, bst_date, template_id,
        notification_type, key_type, notification_status, notification_count)
    SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date,
           template_id, notification_type, key_type, notification_status, -count(*)
      FROM deleted_notifications
     GROUP BY 1, 2, 3, 4, 5, 6
     ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (service_id, bst_date, template_id, notification_type, key_type, notification_status)
    DO UPDATE SET notification_count = c.notification_count + EXCLUDED.notification_count;
    -- Counters brought to zero by this statement go; only this transaction can see a zero.
    DELETE FROM notification_status_counts c
     USING (SELECT DISTINCT service_id,
                   (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
                   template_id, notification_type, key_type, notification_status
              FROM deleted_notifications) o
     WHERE c.notification_count = 0
       AND (c.service_id, c.bst_date, c.template_id, c.notification_type, c.key_type, c.notification_status)
         = (o.service_id, o.bst_date, o.template_id, o.notification_type, o.key_type, o.notification_status);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- TRUNCATE fires no row triggers, so the counters are cleared with it.
-- +goose StatementBegin
CREATE FUNCTION notification_status_counts_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notification_status_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER notification_status_history_insert
    AFTER INSERT ON notifications REFERENCING NEW TABLE AS inserted_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_status_history_on_insert();
CREATE TRIGGER notification_status_history_update
    AFTER UPDATE ON notifications REFERENCING OLD TABLE AS old_notifications NEW TABLE AS new_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_status_history_on_update();
CREATE TRIGGER notification_status_counts_insert
    AFTER INSERT ON notifications REFERENCING NEW TABLE AS inserted_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_status_counts_on_insert();
CREATE TRIGGER notification_status_counts_update
    AFTER UPDATE ON notifications REFERENCING OLD TABLE AS old_notifications NEW TABLE AS new_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_status_counts_on_update();
CREATE TRIGGER notification_status_counts_delete
    AFTER DELETE ON notifications REFERENCING OLD TABLE AS deleted_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_status_counts_on_delete();
CREATE TRIGGER notification_status_counts_truncate
    AFTER TRUNCATE ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_status_counts_on_truncate();

-- Fact tables (§3.5), kept for ever ------------------------------------------------------------

CREATE TABLE ft_notification_status (
    bst_date            date NOT NULL,
    template_id         uuid NOT NULL,
    service_id          uuid NOT NULL,
    -- A notification without a job is stored under the nil uuid.
    job_id              uuid NOT NULL,
    notification_type   text NOT NULL,
    key_type            text NOT NULL,
    notification_status text NOT NULL,
    notification_count  integer NOT NULL,
    created_at          timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at          timestamp,
    PRIMARY KEY (bst_date, template_id, service_id, job_id, notification_type, key_type, notification_status)
);
CREATE INDEX ft_notification_status_bst_date_idx ON ft_notification_status (bst_date);
CREATE INDEX ft_notification_status_service_id_idx ON ft_notification_status (service_id);
CREATE INDEX ft_notification_status_template_id_idx ON ft_notification_status (template_id);
CREATE INDEX ft_notification_status_job_id_idx ON ft_notification_status (job_id);
CREATE INDEX ft_notification_status_service_id_bst_date_idx ON ft_notification_status (service_id, bst_date);

CREATE TABLE ft_billing (
    bst_date           date NOT NULL,
    template_id        uuid NOT NULL,
    service_id         uuid NOT NULL,
    notification_type  text NOT NULL,
    provider           text NOT NULL,
    rate_multiplier    integer NOT NULL,
    international      boolean NOT NULL,
    rate               numeric NOT NULL,
    -- 'none' for sms and email.
    postage            text NOT NULL,
    billable_units     integer NOT NULL,
    notifications_sent integer NOT NULL,
    created_at         timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at         timestamp,
    PRIMARY KEY (bst_date, template_id, service_id, notification_type, provider, rate_multiplier,
                 international, rate, postage)
);
CREATE INDEX ft_billing_bst_date_idx ON ft_billing (bst_date);
CREATE INDEX ft_billing_service_id_idx ON ft_billing (service_id);
CREATE INDEX ft_billing_template_id_idx ON ft_billing (template_id);

-- Billing reference (§3.6) -------------------------------------------------------------------

CREATE TABLE annual_billing (
    id                            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id                    uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    financial_year_start          integer NOT NULL,
    free_sms_fragment_limit       integer NOT NULL,
    high_volume_service_last_year boolean NOT NULL DEFAULT false,
    has_custom_allowance          boolean NOT NULL DEFAULT false,
    created_at                    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at                    timestamp,
    UNIQUE (service_id, financial_year_start)
);

CREATE TABLE default_annual_allowance (
    id                              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    valid_from_financial_year_start integer NOT NULL,
    organisation_type               text NOT NULL REFERENCES organisation_types (name),
    allowance                       integer NOT NULL,
    notification_type               text NOT NULL DEFAULT 'sms' REFERENCES notification_types (name),
    UNIQUE (valid_from_financial_year_start, organisation_type, notification_type)
);

-- SMS rates in pounds per fragment.
CREATE TABLE rates (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    valid_from        timestamp NOT NULL,
    rate              numeric(10, 4) NOT NULL,
    notification_type text NOT NULL DEFAULT 'sms' REFERENCES notification_types (name),
    UNIQUE (notification_type, valid_from)
);

-- Letter rates in pounds per letter.
CREATE TABLE letter_rates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    start_date  timestamp NOT NULL,
    end_date    timestamp,
    sheet_count integer NOT NULL CHECK (sheet_count BETWEEN 1 AND 5),
    rate        numeric(10, 4) NOT NULL,
    crown       boolean NOT NULL,
    post_class  text NOT NULL REFERENCES postage_types (name),
    UNIQUE (post_class, sheet_count, crown, start_date)
);

-- Inbound SMS (§3.7, §11) ------------------------------------------------------------------

CREATE TABLE inbound_sms (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id         uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    notify_number      text NOT NULL,
    user_number        text NOT NULL,
    content            text NOT NULL,
    provider           text NOT NULL,
    provider_reference text,
    provider_date      timestamp,
    created_at         timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX inbound_sms_service_id_user_number_created_at_idx
    ON inbound_sms (service_id, user_number, created_at DESC);
CREATE INDEX inbound_sms_service_id_created_at_idx ON inbound_sms (service_id, created_at);

CREATE TABLE inbound_sms_history (
    id                 uuid PRIMARY KEY,
    service_id         uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    notify_number      text NOT NULL,
    provider           text NOT NULL,
    provider_reference text,
    provider_date      timestamp,
    created_at         timestamp NOT NULL
);
CREATE INDEX inbound_sms_history_service_id_created_at_idx ON inbound_sms_history (service_id, created_at);

-- Report requests (§13) --------------------------------------------------------------------

CREATE TABLE report_requests (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id),
    service_id  uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    report_type text NOT NULL DEFAULT 'notifications' CHECK (report_type = 'notifications'),
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'in progress', 'stored', 'failed', 'deleted')),
    parameter   jsonb NOT NULL CHECK (
        jsonb_typeof(parameter) = 'object'
        AND parameter - 'notification_type' - 'notification_status' = '{}'::jsonb
        AND parameter ->> 'notification_type' IN ('email', 'sms', 'letter')
        AND parameter ->> 'notification_status' IN ('all', 'sending', 'delivered', 'failed')),
    created_at  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at  timestamp
);
CREATE INDEX report_requests_service_id_user_id_status_idx ON report_requests (service_id, user_id, status);

-- +goose Down
DROP TABLE report_requests;
DROP TABLE inbound_sms_history;
DROP TABLE inbound_sms;
DROP TABLE letter_rates;
DROP TABLE rates;
DROP TABLE default_annual_allowance;
DROP TABLE annual_billing;
DROP TABLE ft_billing;
DROP TABLE ft_notification_status;
DROP TRIGGER notification_status_counts_truncate ON notifications;
DROP TRIGGER notification_status_counts_delete ON notifications;
DROP TRIGGER notification_status_counts_update ON notifications;
DROP TRIGGER notification_status_counts_insert ON notifications;
DROP TRIGGER notification_status_history_update ON notifications;
DROP TRIGGER notification_status_history_insert ON notifications;
DROP FUNCTION notification_status_counts_on_truncate();
DROP FUNCTION notification_status_counts_on_delete();
DROP FUNCTION notification_status_counts_on_update();
DROP FUNCTION notification_status_counts_on_insert();
DROP FUNCTION notification_status_history_on_update();
DROP FUNCTION notification_status_history_on_insert();
DROP TABLE notification_status_counts;
DROP TABLE notification_status_history;
DROP VIEW notifications_all_time;
DROP TABLE notification_history;
DROP TABLE notifications;
DROP TABLE jobs;
DROP TABLE api_keys;
DROP TABLE templates_history;
DROP TABLE templates;
DROP TABLE service_data_retention;
DROP TABLE inbound_numbers;
DROP TABLE permissions;
DROP TABLE user_to_service;
DROP TABLE service_permissions;
DROP TABLE services_history;
DROP TABLE services;
DROP TABLE user_to_organisation;
DROP TABLE organisation;
DROP TABLE users;
DROP TABLE service_permission_types;
DROP TABLE organisation_types;
DROP TABLE notification_status_types;
DROP TABLE postage_types;
DROP TABLE key_types;
DROP TABLE notification_types;
DROP EXTENSION IF EXISTS pg_trgm;
