-- Live billing counters (DOMAIN §4.2, §10.5): notifications per London day and every value
-- that building ft_billing groups by, kept by triggers like notification_status_counts, so
-- that usage's on-demand rebuild of today's ft_billing reads a few hundred counters instead
-- of aggregating the day's notifications (the bench big service: 250,000 a day).
--
-- The counters always equal a GROUP BY over notifications; a counter that reaches zero is
-- deleted. They hold the notification's own values, NULLs replaced, and every key type and
-- status: which rows are billable and how each type is grouped stay written once, in the
-- billing build (postgres/rollup.go), which reads this table or notifications_all_time.
-- Rows moved to notification_history by retention leave the counters, so a day can be built
-- from them only while none of its rows has moved (today and yesterday: retention ≥ 3 days).

-- +goose Up
CREATE TABLE notification_billing_counts (
    service_id          uuid NOT NULL,
    bst_date            date NOT NULL,    -- London date of created_at
    template_id         uuid NOT NULL,
    notification_type   text NOT NULL,
    key_type            text NOT NULL,
    notification_status text NOT NULL,
    provider            text NOT NULL,    -- coalesce(sent_by, 'unknown')
    rate_multiplier     integer NOT NULL, -- coalesce(rate_multiplier, 1)::int, as ft_billing stores it
    international       boolean NOT NULL,
    postage             text NOT NULL,    -- coalesce(postage, 'none'); 'none' is no postage_types value
    billable_units      integer NOT NULL,
    notification_count  bigint NOT NULL,
    PRIMARY KEY (service_id, bst_date, template_id, notification_type, key_type, notification_status,
                 provider, rate_multiplier, international, postage, billable_units)
);

-- Statement-level triggers with transition tables, so a COPY of millions of rows runs each
-- once; deltas are applied in key order so that concurrent writers lock counters in the
-- same order and cannot deadlock each other.

-- +goose StatementBegin
CREATE FUNCTION notification_billing_counts_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_billing_counts AS c (service_id, bst_date, template_id, notification_type,
        key_type, notification_status, provider, rate_multiplier, international, postage, billable_units,
        notification_count)
    SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date, template_id,
           notification_type, key_type, notification_status, coalesce(sent_by, 'unknown'),
           coalesce(rate_multiplier, 1)::int, international, coalesce(postage, 'none'), billable_units, count(*)
      FROM inserted_notifications
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
     ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ON CONFLICT (service_id, bst_date, template_id, notification_type, key_type, notification_status,
                 provider, rate_multiplier, international, postage, billable_units)
    DO UPDATE SET notification_count = c.notification_count + EXCLUDED.notification_count;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- An update counts -1 for the old key and +1 for the new one; keys whose delta nets to zero
-- (nothing in the key changed, as when only updated_at or sent_at is set) are left alone.
-- +goose StatementBegin
CREATE FUNCTION notification_billing_counts_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_billing_counts AS c (service_id, bst_date, template_id, notification_type,
        key_type, notification_status, provider, rate_multiplier, international, postage, billable_units,
        notification_count)
    SELECT service_id, bst_date, template_id, notification_type, key_type, notification_status, provider,
           rate_multiplier, international, postage, billable_units, sum(n)
      FROM (SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
                   template_id, notification_type, key_type, notification_status,
                   coalesce(sent_by, 'unknown') AS provider, coalesce(rate_multiplier, 1)::int AS rate_multiplier,
                   international, coalesce(postage, 'none') AS postage, billable_units, 1 AS n
              FROM new_notifications
            UNION ALL
            SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date,
                   template_id, notification_type, key_type, notification_status,
                   coalesce(sent_by, 'unknown'), coalesce(rate_multiplier, 1)::int,
                   international, coalesce(postage, 'none'), billable_units, -1
              FROM old_notifications) delta
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    HAVING sum(n) <> 0
     ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ON CONFLICT (service_id, bst_date, template_id, notification_type, key_type, notification_status,
                 provider, rate_multiplier, international, postage, billable_units)
    DO UPDATE SET notification_count = c.notification_count + EXCLUDED.notification_count;
    -- Counters brought to zero by this statement go; only this transaction can see a zero.
    DELETE FROM notification_billing_counts c
     USING (SELECT DISTINCT service_id,
                   (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
                   template_id, notification_type, key_type, notification_status,
                   coalesce(sent_by, 'unknown') AS provider, coalesce(rate_multiplier, 1)::int AS rate_multiplier,
                   international, coalesce(postage, 'none') AS postage, billable_units
              FROM old_notifications) o
     WHERE c.notification_count = 0
       AND (c.service_id, c.bst_date, c.template_id, c.notification_type, c.key_type, c.notification_status,
            c.provider, c.rate_multiplier, c.international, c.postage, c.billable_units)
         = (o.service_id, o.bst_date, o.template_id, o.notification_type, o.key_type, o.notification_status,
            o.provider, o.rate_multiplier, o.international, o.postage, o.billable_units);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notification_billing_counts_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_billing_counts AS c (service_id, bst_date, template_id, notification_type,
        key_type, notification_status, provider, rate_multiplier, international, postage, billable_units,
        notification_count)
    SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date, template_id,
           notification_type, key_type, notification_status, coalesce(sent_by, 'unknown'),
           coalesce(rate_multiplier, 1)::int, international, coalesce(postage, 'none'), billable_units, -count(*)
      FROM deleted_notifications
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
     ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ON CONFLICT (service_id, bst_date, template_id, notification_type, key_type, notification_status,
                 provider, rate_multiplier, international, postage, billable_units)
    DO UPDATE SET notification_count = c.notification_count + EXCLUDED.notification_count;
    -- Counters brought to zero by this statement go; only this transaction can see a zero.
    DELETE FROM notification_billing_counts c
     USING (SELECT DISTINCT service_id,
                   (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date AS bst_date,
                   template_id, notification_type, key_type, notification_status,
                   coalesce(sent_by, 'unknown') AS provider, coalesce(rate_multiplier, 1)::int AS rate_multiplier,
                   international, coalesce(postage, 'none') AS postage, billable_units
              FROM deleted_notifications) o
     WHERE c.notification_count = 0
       AND (c.service_id, c.bst_date, c.template_id, c.notification_type, c.key_type, c.notification_status,
            c.provider, c.rate_multiplier, c.international, c.postage, c.billable_units)
         = (o.service_id, o.bst_date, o.template_id, o.notification_type, o.key_type, o.notification_status,
            o.provider, o.rate_multiplier, o.international, o.postage, o.billable_units);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- TRUNCATE fires no row triggers, so the counters are cleared with it.
-- +goose StatementBegin
CREATE FUNCTION notification_billing_counts_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notification_billing_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The existing rows are counted in the same transaction that adds the triggers: the
-- ALTER-level lock CREATE TRIGGER takes keeps writers out until it commits, so no row is
-- counted twice or missed.
CREATE TRIGGER notification_billing_counts_insert
    AFTER INSERT ON notifications REFERENCING NEW TABLE AS inserted_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_billing_counts_on_insert();
CREATE TRIGGER notification_billing_counts_update
    AFTER UPDATE ON notifications REFERENCING OLD TABLE AS old_notifications NEW TABLE AS new_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_billing_counts_on_update();
CREATE TRIGGER notification_billing_counts_delete
    AFTER DELETE ON notifications REFERENCING OLD TABLE AS deleted_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_billing_counts_on_delete();
CREATE TRIGGER notification_billing_counts_truncate
    AFTER TRUNCATE ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notification_billing_counts_on_truncate();

INSERT INTO notification_billing_counts (service_id, bst_date, template_id, notification_type, key_type,
    notification_status, provider, rate_multiplier, international, postage, billable_units, notification_count)
SELECT service_id, (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London')::date, template_id,
       notification_type, key_type, notification_status, coalesce(sent_by, 'unknown'),
       coalesce(rate_multiplier, 1)::int, international, coalesce(postage, 'none'), billable_units, count(*)
  FROM notifications
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

ANALYZE notification_billing_counts;

-- +goose Down
DROP TRIGGER notification_billing_counts_truncate ON notifications;
DROP TRIGGER notification_billing_counts_delete ON notifications;
DROP TRIGGER notification_billing_counts_update ON notifications;
DROP TRIGGER notification_billing_counts_insert ON notifications;
DROP FUNCTION notification_billing_counts_on_truncate();
DROP FUNCTION notification_billing_counts_on_delete();
DROP FUNCTION notification_billing_counts_on_update();
DROP FUNCTION notification_billing_counts_on_insert();
DROP TABLE notification_billing_counts;
