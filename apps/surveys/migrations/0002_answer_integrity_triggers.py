"""Database triggers for the answer invariants that span tables.

CHECK constraints cannot look at other rows, so triggers refuse an answer whose question is not
in its round's rubric version, whose value is not a level of that version's scale, or that is
N/A where the question does not allow it; and a round whose rubric version would change under
existing responses. PostgreSQL checks whole statements at once (bulk imports stay fast);
SQLite, the embedded default, checks row by row.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE FUNCTION surveys_answer_integrity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.id, n.question_id, n.value, n.not_applicable,
           q.version_id <> sr.rubric_version_id AS wrong_version,
           n.not_applicable AND NOT q.na_allowed AS na_refused
      INTO bad
      FROM new_answers n
      JOIN rubrics_question q ON q.id = n.question_id
      JOIN surveys_response r ON r.id = n.response_id
      JOIN surveys_surveyround sr ON sr.id = r.round_id
     WHERE q.version_id <> sr.rubric_version_id
        OR (n.not_applicable AND NOT q.na_allowed)
        OR (n.value IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM rubrics_scalelevel s
                WHERE s.version_id = q.version_id AND s.value = n.value))
     LIMIT 1;
    IF FOUND THEN
        IF bad.wrong_version THEN
            RAISE EXCEPTION 'answer to question % is not in its round''s rubric version',
                bad.question_id USING ERRCODE = 'check_violation';
        ELSIF bad.na_refused THEN
            RAISE EXCEPTION 'question % does not allow N/A', bad.question_id
                USING ERRCODE = 'check_violation';
        ELSE
            RAISE EXCEPTION 'value % is not on the scale of question %', bad.value,
                bad.question_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER surveys_answer_integrity_insert AFTER INSERT ON surveys_answer
    REFERENCING NEW TABLE AS new_answers
    FOR EACH STATEMENT EXECUTE FUNCTION surveys_answer_integrity();
CREATE TRIGGER surveys_answer_integrity_update AFTER UPDATE ON surveys_answer
    REFERENCING NEW TABLE AS new_answers
    FOR EACH STATEMENT EXECUTE FUNCTION surveys_answer_integrity();

CREATE FUNCTION surveys_round_version_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rubric_version_id <> OLD.rubric_version_id
       AND EXISTS (SELECT 1 FROM surveys_response WHERE round_id = NEW.id) THEN
        RAISE EXCEPTION 'round % has responses: its rubric version cannot change', NEW.key
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER surveys_round_version_fixed BEFORE UPDATE ON surveys_surveyround
    FOR EACH ROW EXECUTE FUNCTION surveys_round_version_fixed();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS surveys_answer_integrity_insert ON surveys_answer;
DROP TRIGGER IF EXISTS surveys_answer_integrity_update ON surveys_answer;
DROP FUNCTION IF EXISTS surveys_answer_integrity();
DROP TRIGGER IF EXISTS surveys_round_version_fixed ON surveys_surveyround;
DROP FUNCTION IF EXISTS surveys_round_version_fixed();
"""

SQLITE_ANSWER_CHECK = """
CREATE TRIGGER surveys_answer_integrity_{event} BEFORE {event} ON surveys_answer
BEGIN
    SELECT RAISE(ABORT, 'answer to a question that is not in its round''s rubric version')
     WHERE (SELECT version_id FROM rubrics_question WHERE id = NEW.question_id)
           IS NOT (SELECT sr.rubric_version_id FROM surveys_response r
                     JOIN surveys_surveyround sr ON sr.id = r.round_id
                    WHERE r.id = NEW.response_id);
    SELECT RAISE(ABORT, 'this question does not allow N/A')
     WHERE NEW.not_applicable
       AND NOT (SELECT na_allowed FROM rubrics_question WHERE id = NEW.question_id);
    SELECT RAISE(ABORT, 'value is not on the scale of the question''s rubric version')
     WHERE NEW.value IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM rubrics_scalelevel s
             JOIN rubrics_question q ON q.version_id = s.version_id
            WHERE q.id = NEW.question_id AND s.value = NEW.value);
END;
"""

SQLITE_FORWARD = [
    SQLITE_ANSWER_CHECK.format(event="INSERT"),
    SQLITE_ANSWER_CHECK.format(event="UPDATE"),
    """
CREATE TRIGGER surveys_round_version_fixed BEFORE UPDATE OF rubric_version_id
ON surveys_surveyround
WHEN NEW.rubric_version_id <> OLD.rubric_version_id
     AND EXISTS (SELECT 1 FROM surveys_response WHERE round_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'this round has responses: its rubric version cannot change');
END;
""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS surveys_answer_integrity_INSERT",
    "DROP TRIGGER IF EXISTS surveys_answer_integrity_UPDATE",
    "DROP TRIGGER IF EXISTS surveys_round_version_fixed",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(f"No answer integrity triggers for {vendor}")


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [POSTGRES_BACKWARD] if vendor == "postgresql" else SQLITE_BACKWARD
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial"), ("rubrics", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
