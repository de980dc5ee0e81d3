"""Per-response, per-area tallies of the answers, kept by PostgreSQL triggers (AreaTally).

Each statement that writes answers adds its rows' counts and sums to their tallies (an update
takes the old rows' off and adds the new ones'; a delete takes them off), in the writing
transaction: additive upserts, so concurrent writers to one response commute under the
tally rows' locks. A question moved to another area has its responses' tallies counted
again. Existing answers are tallied once here. SQLite keeps the table empty (see
AreaTally).
"""

import django.db.models.deletion
from django.db import migrations, models

# The answers' counts and sums by response and area: `{rows}` is a transition table, `sign`
# 1 to add them, -1 to take them off.
DELTAS = """
SELECT x.response_id, q.area_id, {sign} * count(x.value) AS answered,
       {sign} * count(*) FILTER (WHERE x.not_applicable) AS not_applicable,
       {sign} * coalesce(sum(x.value), 0) AS total
  FROM {rows} x
  JOIN rubrics_question q ON q.id = x.question_id
 GROUP BY x.response_id, q.area_id
"""

ADD = """
    INSERT INTO scoring_areatally AS t (response_id, area_id, answered, not_applicable, total)
    SELECT d.response_id, d.area_id, sum(d.answered), sum(d.not_applicable), sum(d.total)
      FROM ({deltas}) d
     GROUP BY d.response_id, d.area_id
    -- an update of the evidence alone changes no tally: nothing is written
    HAVING sum(d.answered) <> 0 OR sum(d.not_applicable) <> 0 OR sum(d.total) <> 0
     ORDER BY d.response_id, d.area_id  -- one lock order: two writers never deadlock here
        ON CONFLICT (response_id, area_id) DO UPDATE
       SET answered = t.answered + excluded.answered,
           not_applicable = t.not_applicable + excluded.not_applicable,
           total = t.total + excluded.total;
"""

# Deleted answers are taken off their tallies, which stay (at zero where nothing is left): only
# an existing row is updated, so a response deleted with its tallies leaves none behind. The
# rows are locked first in key order, as the upserts take them: two statements never deadlock
# over the tallies.
TAKE_OFF = """
    PERFORM 1
       FROM scoring_areatally t
       JOIN (SELECT DISTINCT x.response_id, q.area_id
               FROM old_answers x
               JOIN rubrics_question q ON q.id = x.question_id) d
         ON t.response_id = d.response_id AND t.area_id = d.area_id
      ORDER BY t.response_id, t.area_id
        FOR UPDATE OF t;
    UPDATE scoring_areatally t
       SET answered = t.answered - d.answered,
           not_applicable = t.not_applicable - d.not_applicable,
           total = t.total - d.total
      FROM ({deltas}) d
     WHERE t.response_id = d.response_id AND t.area_id = d.area_id;
""".format(deltas=DELTAS.format(sign=1, rows="old_answers"))

# The responses that answered a question whose area changed in an update of questions.
MOVED = """
SELECT a.response_id
  FROM new_questions n
  JOIN old_questions o ON o.id = n.id
  JOIN surveys_answer a ON a.question_id = n.id
 WHERE n.area_id <> o.area_id
"""

QUESTION = """
CREATE FUNCTION scoring_area_tally_question() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a question moved to another area: the responses that answered it are tallied again
    DELETE FROM scoring_areatally WHERE response_id IN ({moved});
    INSERT INTO scoring_areatally (response_id, area_id, answered, not_applicable, total)
    SELECT a.response_id, q.area_id, count(a.value),
           count(*) FILTER (WHERE a.not_applicable), coalesce(sum(a.value), 0)
      FROM surveys_answer a
      JOIN rubrics_question q ON q.id = a.question_id
     WHERE a.response_id IN ({moved})
     GROUP BY a.response_id, q.area_id;
    RETURN NULL;
END $$;
"""

FUNCTION = """
CREATE FUNCTION scoring_area_tally_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$;
CREATE TRIGGER scoring_area_tally_{name} AFTER {event} ON surveys_answer
    REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION scoring_area_tally_{name}();
"""

TRIGGERS = (
    FUNCTION.format(
        name="insert",
        event="INSERT",
        tables="NEW TABLE AS new_answers",
        body=ADD.format(deltas=DELTAS.format(sign=1, rows="new_answers")),
    )
    + FUNCTION.format(
        name="update",
        event="UPDATE",
        tables="OLD TABLE AS old_answers NEW TABLE AS new_answers",
        body=ADD.format(
            deltas=DELTAS.format(sign=1, rows="new_answers")
            + " UNION ALL "
            + DELTAS.format(sign=-1, rows="old_answers")
        ),
    )
    + FUNCTION.format(
        name="delete",
        event="DELETE",
        tables="OLD TABLE AS old_answers",
        body=TAKE_OFF,
    )
    + QUESTION.format(moved=MOVED)
    + """
CREATE TRIGGER scoring_area_tally_question AFTER UPDATE ON rubrics_question
    REFERENCING OLD TABLE AS old_questions NEW TABLE AS new_questions
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_area_tally_question();

CREATE FUNCTION scoring_area_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- not TRUNCATE: a TRUNCATE of both tables at once (Django's flush) has this one in use
    DELETE FROM scoring_areatally;
    RETURN NULL;
END $$;
CREATE TRIGGER scoring_area_tally_truncate AFTER TRUNCATE ON surveys_answer
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_area_tally_truncate();
"""
)

# The existing answers, tallied once.
POPULATE = """
INSERT INTO scoring_areatally (response_id, area_id, answered, not_applicable, total)
SELECT a.response_id, q.area_id, count(a.value), count(*) FILTER (WHERE a.not_applicable),
       coalesce(sum(a.value), 0)
  FROM surveys_answer a
  JOIN rubrics_question q ON q.id = a.question_id
 GROUP BY a.response_id, q.area_id;
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS scoring_area_tally_insert ON surveys_answer;
DROP TRIGGER IF EXISTS scoring_area_tally_update ON surveys_answer;
DROP TRIGGER IF EXISTS scoring_area_tally_delete ON surveys_answer;
DROP TRIGGER IF EXISTS scoring_area_tally_truncate ON surveys_answer;
DROP TRIGGER IF EXISTS scoring_area_tally_question ON rubrics_question;
DROP FUNCTION IF EXISTS scoring_area_tally_insert();
DROP FUNCTION IF EXISTS scoring_area_tally_update();
DROP FUNCTION IF EXISTS scoring_area_tally_delete();
DROP FUNCTION IF EXISTS scoring_area_tally_truncate();
DROP FUNCTION IF EXISTS scoring_area_tally_question();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS + POPULATE, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("rubrics", "0002_question_capabilities"),
        ("scoring", "0007_cohortstate_basis"),
        ("surveys", "0005_carried_over_and_na_reason"),
    ]

    operations = [
        migrations.CreateModel(
            name="AreaTally",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "response",
                        "area",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("answered", models.IntegerField()),
                ("not_applicable", models.IntegerField()),
                ("total", models.DecimalField(decimal_places=4, max_digits=12)),
                (
                    "area",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="rubrics.area",
                    ),
                ),
                (
                    "response",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="surveys.response",
                    ),
                ),
            ],
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
