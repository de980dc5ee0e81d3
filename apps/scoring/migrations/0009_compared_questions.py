"""Like-for-like's compared questions (ComparedQuestion), and their answers' counts kept apart
in the area tallies (AreaTally.common_*), by the triggers of scoring 0008 rewritten here.

The answers' triggers count an answer to a compared question in both; adding or removing
compared questions adds or takes off their answers' counts (under a SHARE lock on the
answers, so no answer is written meanwhile under the old list); a question moved to another
area has its responses counted again, common counts included. No question is compared yet:
every common count starts at zero, right (scoring/tallies.py fills the list).
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

# The answers' counts and sums by response and area, all and of the compared questions:
# `{rows}` is a transition table, `sign` 1 to add them, -1 to take them off.
DELTAS = """
SELECT x.response_id, q.area_id, {sign} * count(x.value) AS answered,
       {sign} * count(*) FILTER (WHERE x.not_applicable) AS not_applicable,
       {sign} * coalesce(sum(x.value), 0) AS total,
       {sign} * count(x.value) FILTER (WHERE c.question_id IS NOT NULL) AS common_answered,
       {sign} * count(*) FILTER (WHERE x.not_applicable AND c.question_id IS NOT NULL)
           AS common_not_applicable,
       {sign} * coalesce(sum(x.value) FILTER (WHERE c.question_id IS NOT NULL), 0)
           AS common_total
  FROM {rows} x
  JOIN rubrics_question q ON q.id = x.question_id
  LEFT JOIN scoring_comparedquestion c ON c.question_id = x.question_id
 GROUP BY x.response_id, q.area_id
"""

COLUMNS = (
    "answered",
    "not_applicable",
    "total",
    "common_answered",
    "common_not_applicable",
    "common_total",
)

ADD = """
    INSERT INTO scoring_areatally AS t (response_id, area_id, {columns})
    SELECT d.response_id, d.area_id, {sums}
      FROM ({{deltas}}) d
     GROUP BY d.response_id, d.area_id
    -- an update of the evidence alone changes no tally: nothing is written
    HAVING {changed}
     ORDER BY d.response_id, d.area_id  -- one lock order: two writers never deadlock here
        ON CONFLICT (response_id, area_id) DO UPDATE
       SET {added};
""".format(
    columns=", ".join(COLUMNS),
    sums=", ".join(f"sum(d.{c})" for c in COLUMNS),
    changed=" OR ".join(f"sum(d.{c}) <> 0" for c in COLUMNS),
    added=", ".join(f"{c} = t.{c} + excluded.{c}" for c in COLUMNS),
)

# Deleted answers are taken off their tallies, which stay (at zero where nothing is left): only
# an existing row is updated. The rows are locked first in key order, as the upserts take them.
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
       SET {taken}
      FROM ({deltas}) d
     WHERE t.response_id = d.response_id AND t.area_id = d.area_id;
""".format(
    taken=", ".join(f"{c} = t.{c} - d.{c}" for c in COLUMNS),
    deltas=DELTAS.format(sign=1, rows="old_answers"),
)

# The responses that answered a question whose area changed in an update of questions.
MOVED = """
SELECT a.response_id
  FROM new_questions n
  JOIN old_questions o ON o.id = n.id
  JOIN surveys_answer a ON a.question_id = n.id
 WHERE n.area_id <> o.area_id
"""

QUESTION = """
CREATE OR REPLACE FUNCTION scoring_area_tally_question() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a question moved to another area: the responses that answered it are tallied again
    DELETE FROM scoring_areatally WHERE response_id IN ({moved});
    INSERT INTO scoring_areatally (response_id, area_id, {columns})
    SELECT a.response_id, q.area_id, count(a.value),
           count(*) FILTER (WHERE a.not_applicable), coalesce(sum(a.value), 0),
           count(a.value) FILTER (WHERE c.question_id IS NOT NULL),
           count(*) FILTER (WHERE a.not_applicable AND c.question_id IS NOT NULL),
           coalesce(sum(a.value) FILTER (WHERE c.question_id IS NOT NULL), 0)
      FROM surveys_answer a
      JOIN rubrics_question q ON q.id = a.question_id
      LEFT JOIN scoring_comparedquestion c ON c.question_id = a.question_id
     WHERE a.response_id IN ({moved})
     GROUP BY a.response_id, q.area_id;
    RETURN NULL;
END $$;
""".format(moved=MOVED, columns=", ".join(COLUMNS))

FUNCTION = """
CREATE OR REPLACE FUNCTION scoring_area_tally_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$;
"""

# Questions compared or no longer: their answers' counts added to or taken off the common
# counts of their tallies (which exist: an answer has its tally). The answers are locked
# against writes first, so none is counted under the old list after this one's count.
COMPARED = """
CREATE FUNCTION scoring_compared_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE surveys_answer IN SHARE MODE;
    PERFORM 1
       FROM scoring_areatally t
       JOIN (SELECT DISTINCT a.response_id, q.area_id
               FROM {rows} x
               JOIN surveys_answer a ON a.question_id = x.question_id
               JOIN rubrics_question q ON q.id = a.question_id) d
         ON t.response_id = d.response_id AND t.area_id = d.area_id
      ORDER BY t.response_id, t.area_id
        FOR UPDATE OF t;
    UPDATE scoring_areatally t
       SET common_answered = t.common_answered {sign} d.answered,
           common_not_applicable = t.common_not_applicable {sign} d.not_applicable,
           common_total = t.common_total {sign} d.total
      FROM (SELECT a.response_id, q.area_id, count(a.value) AS answered,
                   count(*) FILTER (WHERE a.not_applicable) AS not_applicable,
                   coalesce(sum(a.value), 0) AS total
              FROM {rows} x
              JOIN surveys_answer a ON a.question_id = x.question_id
              JOIN rubrics_question q ON q.id = a.question_id
             GROUP BY a.response_id, q.area_id) d
     WHERE t.response_id = d.response_id AND t.area_id = d.area_id;
    RETURN NULL;
END $$;
CREATE TRIGGER scoring_compared_{name} AFTER {event} ON scoring_comparedquestion
    REFERENCING {table} AS {rows} FOR EACH STATEMENT EXECUTE FUNCTION scoring_compared_{name}();
"""

POSTGRES_FORWARD = (
    FUNCTION.format(
        name="insert", body=ADD.format(deltas=DELTAS.format(sign=1, rows="new_answers"))
    )
    + FUNCTION.format(
        name="update",
        body=ADD.format(
            deltas=DELTAS.format(sign=1, rows="new_answers")
            + " UNION ALL "
            + DELTAS.format(sign=-1, rows="old_answers")
        ),
    )
    + FUNCTION.format(name="delete", body=TAKE_OFF)
    + QUESTION
    + COMPARED.format(
        name="insert", event="INSERT", table="NEW TABLE", rows="new_compared", sign="+"
    )
    + COMPARED.format(
        name="delete", event="DELETE", table="OLD TABLE", rows="old_compared", sign="-"
    )
    + """
CREATE FUNCTION scoring_compared_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scoring_areatally
       SET common_answered = 0, common_not_applicable = 0, common_total = 0
     WHERE common_answered <> 0 OR common_not_applicable <> 0 OR common_total <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER scoring_compared_truncate AFTER TRUNCATE ON scoring_comparedquestion
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_compared_truncate();
"""
)

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS scoring_compared_insert ON scoring_comparedquestion;
DROP TRIGGER IF EXISTS scoring_compared_delete ON scoring_comparedquestion;
DROP TRIGGER IF EXISTS scoring_compared_truncate ON scoring_comparedquestion;
DROP FUNCTION IF EXISTS scoring_compared_insert();
DROP FUNCTION IF EXISTS scoring_compared_delete();
DROP FUNCTION IF EXISTS scoring_compared_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)


def backward(apps, schema_editor):
    """The triggers as scoring 0008 wrote them (its functions, without the common counts)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
        area_tally = importlib.import_module("apps.scoring.migrations.0008_area_tally")
        schema_editor.execute(area_tally.POSTGRES_BACKWARD + area_tally.TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("rubrics", "0002_question_capabilities"),
        ("scoring", "0008_area_tally"),
    ]

    operations = [
        migrations.CreateModel(
            name="ComparedQuestion",
            fields=[
                (
                    "question",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="rubrics.question",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="areatally",
            name="common_answered",
            field=models.IntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name="areatally",
            name="common_not_applicable",
            field=models.IntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name="areatally",
            name="common_total",
            field=models.DecimalField(db_default=0, decimal_places=4, max_digits=12),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
