-- Indexes for the reporting pages (DOMAIN.md §8–§10), measured on the bench profile's big
-- service (about 68,000 ft_notification_status and 18,500 ft_billing rows in a year).
--
-- Each is read by an index-only scan (once VACUUM has set the visibility map), in the
-- order its query groups by, so the per-day sums stream without a sort or a hash table.
-- That order also keeps a prepared statement's generic plan, which assumes a small
-- service, as fast as a custom one: with only (service_id, bst_date) it sorted the big
-- service's rows and took twice as long. The partial ones leave out the rows their query
-- filters away, test keys and (for template usage) cancelled, so each entry is small.

-- +goose Up
-- Monthly statistics: facts per day, type and status, test keys excluded (§8).
CREATE INDEX ft_notification_status_monthly_idx
    ON ft_notification_status (service_id, bst_date, notification_type, notification_status)
    INCLUDE (notification_count)
 WHERE key_type <> 'test';

-- Template usage: facts per day and template, test keys and cancelled excluded (§9).
CREATE INDEX ft_notification_status_template_usage_idx
    ON ft_notification_status (service_id, bst_date, template_id)
    INCLUDE (notification_count)
 WHERE key_type <> 'test' AND notification_status <> 'cancelled';

-- Usage: billing summed per day, type, multiplier, international, rate and postage (§10.3);
-- ft_billing had no index on (service_id, bst_date) at all.
CREATE INDEX ft_billing_usage_idx
    ON ft_billing (service_id, bst_date, notification_type, rate_multiplier, international, rate, postage)
    INCLUDE (billable_units, notifications_sent);

-- +goose Down
DROP INDEX ft_billing_usage_idx;
DROP INDEX ft_notification_status_template_usage_idx;
DROP INDEX ft_notification_status_monthly_idx;
