-- Billing reference data (DOMAIN.md §3.6): default free SMS allowances, SMS rates and letter
-- rates. Instants are UTC; 23:00 UTC on 31 March is London midnight in BST.

-- +goose Up
-- The row in force for financial year Y is the one with the greatest start year <= Y.
-- There is no 2025 row, so 2025 uses the 2024 values.
INSERT INTO default_annual_allowance (valid_from_financial_year_start, organisation_type, allowance, notification_type)
SELECT a.valid_from, g.organisation_type, a.allowance, 'sms'
  FROM (VALUES ('central', 'central'), ('central', 'nhs_central'),
               ('local', 'local'), ('local', 'nhs_local'), ('local', 'emergency_service'),
               ('school', 'school_or_college'), ('school', 'other'),
               ('gp', 'nhs_gp'),
               ('notify', 'nhs_notify')) AS g (allowance_group, organisation_type)
  JOIN (VALUES ('central', 2016, 250000), ('central', 2021, 150000), ('central', 2022, 40000),
               ('central', 2023, 40000), ('central', 2024, 30000), ('central', 2026, 20000),
               ('local', 2016, 25000), ('local', 2021, 25000), ('local', 2022, 20000),
               ('local', 2023, 20000), ('local', 2024, 10000), ('local', 2026, 10000),
               ('school', 2016, 25000), ('school', 2021, 10000), ('school', 2022, 10000),
               ('school', 2023, 10000), ('school', 2024, 5000), ('school', 2026, 5000),
               ('gp', 2016, 25000), ('gp', 2021, 10000), ('gp', 2022, 10000),
               ('gp', 2023, 10000), ('gp', 2024, 0), ('gp', 2026, 0),
               ('notify', 2016, 0)) AS a (allowance_group, valid_from, allowance)
    ON a.allowance_group = g.allowance_group;

-- SMS: pounds per fragment.
INSERT INTO rates (valid_from, rate, notification_type) VALUES
    ('2016-05-18 00:00', 0.0165, 'sms'),
    ('2017-03-31 23:00', 0.0158, 'sms'),
    ('2021-03-31 23:00', 0.0160, 'sms'),
    ('2022-03-31 23:00', 0.0161, 'sms'),
    ('2022-04-30 23:00', 0.0172, 'sms'),
    ('2023-03-31 23:00', 0.0197, 'sms'),
    ('2024-03-31 23:00', 0.0227, 'sms'),
    ('2025-03-31 23:00', 0.0233, 'sms'),
    ('2026-03-31 23:00', 0.0240, 'sms');

-- Letters: pounds per letter for 1 to 5 sheets. Each rate exists for crown and non-crown
-- services alike, and a row ends (end_date) where the next rate of its class starts.
-- Rates that started before 2024-06-30 are not known.
INSERT INTO letter_rates (start_date, end_date, sheet_count, rate, crown, post_class)
SELECT r.start_date,
       lead(r.start_date) OVER (PARTITION BY r.post_class, s.sheet_count, c.crown ORDER BY r.start_date),
       s.sheet_count, s.rate, c.crown, r.post_class
  FROM (VALUES
        ('first',         timestamp '2024-06-30 23:00', ARRAY[0.97, 1.01, 1.05, 1.11, 1.15]),
        ('first',         timestamp '2025-03-31 23:00', ARRAY[1.49, 1.53, 1.57, 1.63, 1.67]),
        ('first',         timestamp '2026-04-06 23:00', ARRAY[1.56, 1.61, 1.66, 1.71, 1.76]),
        ('second',        timestamp '2024-06-30 23:00', ARRAY[0.61, 0.65, 0.68, 0.75, 0.79]),
        ('second',        timestamp '2025-03-31 23:00', ARRAY[0.68, 0.72, 0.77, 0.82, 0.86]),
        ('second',        timestamp '2026-01-05 00:00', ARRAY[0.73, 0.77, 0.82, 0.87, 0.91]),
        ('economy',       timestamp '2025-03-31 23:00', ARRAY[0.59, 0.64, 0.68, 0.73, 0.78]),
        ('economy',       timestamp '2026-01-05 00:00', ARRAY[0.64, 0.69, 0.73, 0.78, 0.82]),
        ('economy',       timestamp '2026-06-30 23:00', ARRAY[0.638, 0.684, 0.724, 0.779, 0.823]),
        ('europe',        timestamp '2025-02-06 00:00', ARRAY[1.56, 1.61, 1.66, 1.71, 1.76]),
        ('europe',        timestamp '2026-01-05 00:00', ARRAY[1.72, 1.77, 1.82, 1.85, 1.90]),
        ('europe',        timestamp '2026-05-02 23:00', ARRAY[1.80, 1.84, 1.88, 1.92, 1.96]),
        ('rest-of-world', timestamp '2025-02-06 00:00', ARRAY[1.56, 1.61, 1.66, 1.71, 1.76]),
        ('rest-of-world', timestamp '2026-01-05 00:00', ARRAY[1.72, 1.77, 1.82, 1.85, 1.90]),
        ('rest-of-world', timestamp '2026-05-02 23:00', ARRAY[1.80, 1.84, 1.88, 1.92, 1.96])
       ) AS r (post_class, start_date, rates)
 CROSS JOIN LATERAL unnest(r.rates) WITH ORDINALITY AS s (rate, sheet_count)
 CROSS JOIN (VALUES (true), (false)) AS c (crown);

-- +goose Down
DELETE FROM letter_rates
 WHERE start_date IN ('2024-06-30 23:00', '2025-02-06 00:00', '2025-03-31 23:00',
                      '2026-01-05 00:00', '2026-04-06 23:00', '2026-05-02 23:00', '2026-06-30 23:00');
DELETE FROM rates
 WHERE notification_type = 'sms'
   AND valid_from IN ('2016-05-18 00:00', '2017-03-31 23:00', '2021-03-31 23:00', '2022-03-31 23:00',
                      '2022-04-30 23:00', '2023-03-31 23:00', '2024-03-31 23:00', '2025-03-31 23:00',
                      '2026-03-31 23:00');
DELETE FROM default_annual_allowance
 WHERE notification_type = 'sms' AND valid_from_financial_year_start IN (2016, 2021, 2022, 2023, 2024, 2026);
