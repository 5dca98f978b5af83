-- Message content and letter previews (RENDERING.md §1.3, §1.4): what a notification's
-- content is rebuilt from, and where an uploaded letter's PDF is kept.
--
-- templates.redact_personalisation is not versioned: it covers every notification of the
-- template, those sent before it was set included (§1.3), so it lives on templates only.
-- The letter's languages and Welsh text are part of what was sent, so they are versioned
-- like the rest of the content.
--
-- notifications.personalisation becomes a jsonb object. Rows written before held free
-- text that nothing read; a value that is a JSON object is kept, anything else (not JSON,
-- or JSON that is not an object) becomes NULL, which renders as "no values" rather than
-- failing the migration on data the renderer could not use anyway.
--
-- letter_files holds an uploaded letter's PDF as the sending pipeline stored it. It is
-- personal data, so it goes with its notification: the retention move deletes the
-- notification (DOMAIN §14) and the delete cascades here; notification_history never
-- gets it.

-- +goose Up
ALTER TABLE templates
    ADD COLUMN redact_personalisation boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT templates_redact_personalisation_check
        CHECK (NOT redact_personalisation OR template_type IN ('sms', 'email'));

ALTER TABLE templates
    ADD COLUMN letter_languages text NOT NULL DEFAULT 'english',
    ADD COLUMN letter_welsh_subject text,
    ADD COLUMN letter_welsh_content text,
    ADD CONSTRAINT templates_letter_languages_check
        CHECK (letter_languages IN ('english', 'welsh_then_english')),
    ADD CONSTRAINT templates_letter_languages_letter_check
        CHECK (letter_languages = 'english' OR template_type = 'letter'),
    ADD CONSTRAINT templates_letter_welsh_check
        CHECK (letter_languages = 'welsh_then_english'
               OR (letter_welsh_subject IS NULL AND letter_welsh_content IS NULL));

ALTER TABLE templates_history
    ADD COLUMN letter_languages text NOT NULL DEFAULT 'english',
    ADD COLUMN letter_welsh_subject text,
    ADD COLUMN letter_welsh_content text,
    ADD CONSTRAINT templates_history_letter_languages_check
        CHECK (letter_languages IN ('english', 'welsh_then_english')),
    ADD CONSTRAINT templates_history_letter_languages_letter_check
        CHECK (letter_languages = 'english' OR template_type = 'letter'),
    ADD CONSTRAINT templates_history_letter_welsh_check
        CHECK (letter_languages = 'welsh_then_english'
               OR (letter_welsh_subject IS NULL AND letter_welsh_content IS NULL));

-- A cast that fails is caught here, per value: PostgreSQL 15 has no pg_input_is_valid.
-- +goose StatementBegin
CREATE FUNCTION notifyql_personalisation_object(value text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parsed jsonb;
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        parsed := value::jsonb;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    IF jsonb_typeof(parsed) = 'object' THEN
        RETURN parsed;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

ALTER TABLE notifications
    ALTER COLUMN personalisation TYPE jsonb USING notifyql_personalisation_object(personalisation),
    ADD CONSTRAINT notifications_personalisation_object_check
        CHECK (jsonb_typeof(personalisation) = 'object');

DROP FUNCTION notifyql_personalisation_object(text);

CREATE TABLE letter_files (
    notification_id uuid PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    pdf             bytea NOT NULL,
    created_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

-- +goose Down
DROP TABLE letter_files;

ALTER TABLE notifications
    DROP CONSTRAINT notifications_personalisation_object_check,
    ALTER COLUMN personalisation TYPE text USING personalisation::text;

ALTER TABLE templates_history
    DROP CONSTRAINT templates_history_letter_welsh_check,
    DROP CONSTRAINT templates_history_letter_languages_letter_check,
    DROP CONSTRAINT templates_history_letter_languages_check,
    DROP COLUMN letter_welsh_content,
    DROP COLUMN letter_welsh_subject,
    DROP COLUMN letter_languages;

ALTER TABLE templates
    DROP CONSTRAINT templates_letter_welsh_check,
    DROP CONSTRAINT templates_letter_languages_letter_check,
    DROP CONSTRAINT templates_letter_languages_check,
    DROP COLUMN letter_welsh_content,
    DROP COLUMN letter_welsh_subject,
    DROP COLUMN letter_languages,
    DROP CONSTRAINT templates_redact_personalisation_check,
    DROP COLUMN redact_personalisation;
