-- A small, fixed world for the API tests. The tests' clock is 2026-07-15 12:00:00 UTC
-- (13:00 BST), so London today is 2026-07-15 and began at 2026-07-14 23:00 UTC.

INSERT INTO organisation (id, name, organisation_type) VALUES
  ('0a000000-0000-0000-0000-000000000001', 'Department of Examples', 'central');

INSERT INTO services (id, name, active, restricted, organisation_id, organisation_type, crown, created_at) VALUES
  ('5a000000-0000-0000-0000-00000000000a', 'Service A', true, false, '0a000000-0000-0000-0000-000000000001', 'central', true, '2025-01-01 00:00'),
  ('5b000000-0000-0000-0000-00000000000b', 'Service B', true, false, NULL, 'local', false, '2025-01-01 00:00'),
  ('5c000000-0000-0000-0000-00000000000c', 'Service C (inactive)', false, false, '0a000000-0000-0000-0000-000000000001', 'central', true, '2025-01-01 00:00');

INSERT INTO service_permissions (service_id, permission) VALUES
  ('5a000000-0000-0000-0000-00000000000a', 'email'),
  ('5a000000-0000-0000-0000-00000000000a', 'sms'),
  ('5a000000-0000-0000-0000-00000000000a', 'letter'),
  ('5a000000-0000-0000-0000-00000000000a', 'inbound_sms'),
  ('5b000000-0000-0000-0000-00000000000b', 'email');

INSERT INTO service_data_retention (service_id, notification_type, days_of_retention) VALUES
  ('5a000000-0000-0000-0000-00000000000a', 'sms', 30);

INSERT INTO users (id, name, email_address, platform_admin) VALUES
  ('00000000-0000-0000-0000-0000000000ad', 'Ada Admin', 'admin@fixture.example', true),
  ('00000000-0000-0000-0000-0000000000aa', 'Manny Manager', 'manager@fixture.example', false),
  ('00000000-0000-0000-0000-0000000000bb', 'Vera Viewer', 'viewer@fixture.example', false),
  ('00000000-0000-0000-0000-0000000000cc', 'Sam Sender', 'sender@fixture.example', false),
  ('00000000-0000-0000-0000-0000000000dd', 'Mo Member', 'member@fixture.example', false),
  ('00000000-0000-0000-0000-0000000000ee', 'Olga Org', 'orguser@fixture.example', false),
  ('00000000-0000-0000-0000-0000000000ff', 'Otto Other', 'other@fixture.example', false);

INSERT INTO user_to_service (user_id, service_id) VALUES
  ('00000000-0000-0000-0000-0000000000aa', '5a000000-0000-0000-0000-00000000000a'),
  ('00000000-0000-0000-0000-0000000000aa', '5c000000-0000-0000-0000-00000000000c'),
  ('00000000-0000-0000-0000-0000000000bb', '5a000000-0000-0000-0000-00000000000a'),
  ('00000000-0000-0000-0000-0000000000cc', '5a000000-0000-0000-0000-00000000000a'),
  ('00000000-0000-0000-0000-0000000000dd', '5a000000-0000-0000-0000-00000000000a'),
  ('00000000-0000-0000-0000-0000000000ff', '5b000000-0000-0000-0000-00000000000b');

INSERT INTO permissions (service_id, user_id, permission)
SELECT '5a000000-0000-0000-0000-00000000000a'::uuid, '00000000-0000-0000-0000-0000000000aa'::uuid, p
  FROM unnest(ARRAY['manage_users', 'manage_settings', 'manage_templates', 'send_texts', 'send_emails',
                    'send_letters', 'manage_api_keys', 'view_activity']) AS p;
INSERT INTO permissions (service_id, user_id, permission)
SELECT '5c000000-0000-0000-0000-00000000000c'::uuid, '00000000-0000-0000-0000-0000000000aa'::uuid, p
  FROM unnest(ARRAY['manage_users', 'manage_settings', 'view_activity']) AS p;
INSERT INTO permissions (service_id, user_id, permission) VALUES
  ('5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000bb', 'view_activity'),
  ('5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000cc', 'send_texts'),
  ('5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000cc', 'send_emails'),
  ('5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000cc', 'send_letters'),
  ('5b000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-0000000000ff', 'view_activity');

INSERT INTO user_to_organisation (user_id, organisation_id) VALUES
  ('00000000-0000-0000-0000-0000000000ee', '0a000000-0000-0000-0000-000000000001');

-- Templates: T1 email, T2 sms, T3 the precompiled letter, TB email on service B.
INSERT INTO templates (id, service_id, name, template_type, version, hidden, created_at) VALUES
  ('7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', 'Payment reminder (renamed)', 'email', 2, false, '2025-01-01 00:00'),
  ('7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', 'Appointment text', 'sms', 1, false, '2025-01-01 00:00'),
  ('7e000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', 'Pre-compiled PDF', 'letter', 1, true, '2025-01-01 00:00'),
  ('7e000000-0000-0000-0000-0000000000b1', '5b000000-0000-0000-0000-00000000000b', 'B email', 'email', 1, false, '2025-01-01 00:00');
INSERT INTO templates_history (id, service_id, name, template_type, version, hidden, created_at) VALUES
  ('7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', 'Payment reminder', 'email', 1, false, '2025-01-01 00:00'),
  ('7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', 'Payment reminder (renamed)', 'email', 2, false, '2026-01-01 00:00'),
  ('7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', 'Appointment text', 'sms', 1, false, '2025-01-01 00:00'),
  ('7e000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', 'Pre-compiled PDF', 'letter', 1, true, '2025-01-01 00:00'),
  ('7e000000-0000-0000-0000-0000000000b1', '5b000000-0000-0000-0000-00000000000b', 'B email', 'email', 1, false, '2025-01-01 00:00');

INSERT INTO api_keys (id, service_id, name, key_type, secret, created_at) VALUES
  ('ae000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', 'Live key', 'normal', 'fixture-secret-1', '2025-01-01 00:00');

INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, notification_count, job_status, created_by_id, created_at) VALUES
  ('10b00000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 1, 'reminders.csv', 1, 'finished', '00000000-0000-0000-0000-0000000000aa', '2026-07-15 09:29');

INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to, client_reference, key_type, notification_status, billable_units, postage, page_count, created_at, updated_at, sent_at, sent_by, job_id, job_row_number, api_key_id, created_by_id) VALUES
  ('a0000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 1, 'email', 'ann@example.org', 'ann@example.org', 'INV-1', 'normal', 'delivered', 0, NULL, NULL, '2026-07-15 09:00', '2026-07-15 09:01', '2026-07-15 09:00:30', 'ses', NULL, NULL, 'ae000000-0000-0000-0000-000000000001', NULL),
  ('a0000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 1, 'email', 'bob@example.org', 'bob@example.org', NULL, 'normal', 'permanent-failure', 0, NULL, NULL, '2026-07-15 09:30', '2026-07-15 09:31', '2026-07-15 09:30:30', 'ses', '10b00000-0000-0000-0000-000000000001', 0, NULL, '00000000-0000-0000-0000-0000000000aa'),
  ('a0000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000002', 1, 'sms', '07700900123', '447700900123', NULL, 'normal', 'delivered', 1, NULL, NULL, '2026-07-15 10:00', '2026-07-15 10:01', '2026-07-15 10:00:30', 'mmg', NULL, NULL, NULL, '00000000-0000-0000-0000-0000000000cc'),
  ('a0000000-0000-0000-0000-000000000004', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000002', 1, 'sms', '07700900124', '447700900124', NULL, 'test', 'sending', 1, NULL, NULL, '2026-07-15 10:30', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  ('a0000000-0000-0000-0000-000000000005', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000003', 1, 'letter', E'Ann Smith\n10 Downing Street\nLondon\nSW1A 2AA', '10downingstreetlondonsw1a2aa', 'letter.pdf', 'normal', 'created', 2, 'second', 3, '2026-07-15 11:00', NULL, NULL, NULL, NULL, NULL, NULL, '00000000-0000-0000-0000-0000000000cc'),
  ('a0000000-0000-0000-0000-000000000006', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000003', 1, 'letter', E'Bob Jones\n1 High Street\nLeeds\nLS1 1AA', '1highstreetleedsls11aa', NULL, 'normal', 'cancelled', 1, 'first', 1, '2026-07-15 11:30', '2026-07-15 11:40', NULL, NULL, NULL, NULL, NULL, NULL),
  ('a0000000-0000-0000-0000-000000000007', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 2, 'email', 'cat@example.org', 'cat@example.org', NULL, 'team', 'delivered', 0, NULL, NULL, '2026-07-14 23:30', '2026-07-14 23:31', '2026-07-14 23:30:30', 'ses', NULL, NULL, NULL, NULL),
  ('a0000000-0000-0000-0000-000000000008', '5a000000-0000-0000-0000-00000000000a', '7e000000-0000-0000-0000-000000000001', 2, 'email', 'dan@example.org', 'dan@example.org', NULL, 'normal', 'delivered', 0, NULL, NULL, '2026-07-14 22:30', '2026-07-14 22:31', '2026-07-14 22:30:30', 'ses', NULL, NULL, NULL, NULL),
  ('b0000000-0000-0000-0000-000000000001', '5b000000-0000-0000-0000-00000000000b', '7e000000-0000-0000-0000-0000000000b1', 1, 'email', 'eve@example.org', 'eve@example.org', NULL, 'normal', 'delivered', 0, NULL, NULL, '2026-07-15 09:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL);

UPDATE notifications SET notification_status = 'sending' WHERE id = 'a0000000-0000-0000-0000-000000000005';
UPDATE notifications SET notification_status = 'created' WHERE id = 'a0000000-0000-0000-0000-000000000005';

-- Facts for past London days (the nightly rollup's output).
INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type, key_type, notification_status, notification_count) VALUES
  ('2026-07-14', '7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'delivered', 5),
  ('2026-07-10', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'delivered', 10),
  ('2026-07-10', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'permanent-failure', 2),
  ('2026-07-10', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'cancelled', 4),
  ('2026-07-07', '7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'failed', 100),
  ('2026-07-14', '7e000000-0000-0000-0000-0000000000b1', '5b000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-000000000000', 'email', 'normal', 'delivered', 3);

-- Texts received by service A: two inside the dashboard's 7 days (from London midnight on
-- 8 July, 23:00 UTC on the 7th), one just before, and service B has no inbox feature.
INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider, created_at) VALUES
  ('1a000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', '07700900500', '447700900111', 'Yes please', 'mmg', '2026-07-15 08:00'),
  ('1a000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '07700900500', '447700900112', 'Stop', 'mmg', '2026-07-07 23:00'),
  ('1a000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', '07700900500', '447700900113', 'Old', 'mmg', '2026-07-07 22:59:59');

-- Reporting (issue 3). Facts on other days of the financial years 2025 and 2026.
INSERT INTO ft_notification_status (bst_date, template_id, service_id, job_id, notification_type, key_type, notification_status, notification_count) VALUES
  ('2026-04-01', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'delivered', 7),
  ('2026-03-31', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'sms', 'normal', 'delivered', 3),
  ('2026-05-20', '7e000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000000', 'letter', 'normal', 'delivered', 2);

-- Billing facts of service A in FY 2026 (SMS at £0.0240 from 1 April 2026, London time).
-- May's 500 fragments went abroad at ×2. Letters on 20 May: 4 second class at 73p and 2
-- first class at £1.56, one sheet each. Emails are free.
INSERT INTO ft_billing (bst_date, template_id, service_id, notification_type, provider, rate_multiplier, international, rate, postage, billable_units, notifications_sent) VALUES
  ('2026-04-10', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', 'sms', 'mmg', 1, false, 0.0240, 'none', 400, 400),
  ('2026-05-12', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', 'sms', 'mmg', 2, true, 0.0240, 'none', 500, 500),
  ('2026-06-02', '7e000000-0000-0000-0000-000000000002', '5a000000-0000-0000-0000-00000000000a', 'sms', 'firetext', 1, false, 0.0240, 'none', 300, 300),
  ('2026-05-20', '7e000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', 'letter', 'dvla', 1, false, 0.73, 'second', 4, 4),
  ('2026-05-20', '7e000000-0000-0000-0000-000000000003', '5a000000-0000-0000-0000-00000000000a', 'letter', 'dvla', 1, false, 1.56, 'first', 2, 2),
  ('2026-04-10', '7e000000-0000-0000-0000-000000000001', '5a000000-0000-0000-0000-00000000000a', 'email', 'ses', 0, false, 0, 'none', 0, 50);

-- Report requests (issue 4): the viewer's pending and deleted ones on service A, and one of
-- service B's.
INSERT INTO report_requests (id, user_id, service_id, status, parameter, created_at, updated_at) VALUES
  ('e0000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000bb', '5a000000-0000-0000-0000-00000000000a', 'pending', '{"notification_type": "sms", "notification_status": "all"}', '2026-07-15 11:00', NULL),
  ('e0000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-0000000000bb', '5a000000-0000-0000-0000-00000000000a', 'deleted', '{"notification_type": "email", "notification_status": "failed"}', '2026-07-09 11:00', '2026-07-14 02:00'),
  ('e0000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-0000000000ff', '5b000000-0000-0000-0000-00000000000b', 'pending', '{"notification_type": "email", "notification_status": "all"}', '2026-07-15 11:00', NULL);
