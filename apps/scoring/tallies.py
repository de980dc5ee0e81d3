"""The area tallies (AreaTally) checked against the answers, and put right; and the questions
they count apart for like-for-like (ComparedQuestion), kept the comparison.

The triggers of scoring migrations 0008 and 0009 keep each response's tallies the GROUP BY of
its answers (and of its answers to the compared questions), in the writing transaction.
What they cannot see: a restore or a replica that skipped triggers
(`session_replication_role = replica`, `pg_restore --disable-triggers` of the answers
alone), or a trigger dropped by hand. Scores read the tallies, so such drift
would score wrongly without a sign; `manage.py recount_tallies --check` tells, and
`recount_tallies` counts every tally again from the answers.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import connection, transaction

from apps.scoring.models import ComparedQuestion

COLUMNS = (
    "answered",
    "not_applicable",
    "total",
    "common_answered",
    "common_not_applicable",
    "common_total",
)

# Each response's tallies per area as the answers give them (all, and those to the compared
# questions), beside the stored ones: the rows that differ, as they should be (a stored tally
# with no answer left stays, at zero, as the delete trigger leaves it).
DIFFERING = """
WITH counted AS (
    SELECT a.response_id, q.area_id, count(a.value) AS answered,
           count(*) FILTER (WHERE a.not_applicable) AS not_applicable,
           coalesce(sum(a.value), 0) AS total,
           count(a.value) FILTER (WHERE c.question_id IS NOT NULL) AS common_answered,
           count(*) FILTER (WHERE a.not_applicable AND c.question_id IS NOT NULL)
               AS common_not_applicable,
           coalesce(sum(a.value) FILTER (WHERE c.question_id IS NOT NULL), 0) AS common_total
      FROM surveys_answer a
      JOIN rubrics_question q ON q.id = a.question_id
      LEFT JOIN scoring_comparedquestion c ON c.question_id = a.question_id
     GROUP BY a.response_id, q.area_id
)
SELECT coalesce(c.response_id, t.response_id), coalesce(c.area_id, t.area_id),
       {counted}
  FROM counted c
  FULL JOIN scoring_areatally t ON t.response_id = c.response_id AND t.area_id = c.area_id
 WHERE ({counted}) IS DISTINCT FROM ({stored})
""".format(
    counted=", ".join(f"coalesce(c.{column}, 0)" for column in COLUMNS),
    stored=", ".join(f"t.{column}" for column in COLUMNS),
)

PUT_RIGHT = f"""
INSERT INTO scoring_areatally (response_id, area_id, {", ".join(COLUMNS)})
{DIFFERING}
    ON CONFLICT (response_id, area_id) DO UPDATE
   SET {", ".join(f"{column} = excluded.{column}" for column in COLUMNS)}
"""


def recount_tallies(*, fix: bool) -> int | None:
    """How many area tallies differ from the answers (None on a database that keeps none:
    SQLite scores from the answers); with `fix`, those are counted again from the answers.
    Writes of answers and moves of questions wait meanwhile (about a second per million
    answers), so no write falls between the count and the tallies."""
    if connection.vendor != "postgresql":
        return None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "LOCK TABLE surveys_answer, rubrics_question, scoring_comparedquestion"
            " IN SHARE MODE;"
            " SET LOCAL work_mem TO '64MB'; SET LOCAL jit TO OFF"
        )
        cursor.execute(PUT_RIGHT if fix else DIFFERING)
        return cursor.rowcount


def keep_compared(rubric_id: int, question_ids: Collection[int]) -> bool:
    """Make `question_ids` (like-for-like's common questions, in every version in view) the
    rubric's compared questions, whose answers the area tallies count apart; whether any
    changed. A change has the triggers count those questions' answers in or out (writes of
    answers wait meanwhile: about 5 s for the first list at 1.3 million answers, and as much
    when a round of a new version opens or criteria are edited; otherwise one query).
    Nothing on SQLite, which keeps no tallies."""
    if connection.vendor != "postgresql":
        return False
    wanted = set(question_ids)
    rubric_questions = ComparedQuestion.objects.filter(question__version__rubric_id=rubric_id)
    if set(rubric_questions.values_list("question_id", flat=True)) == wanted:
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        # one change at a time (another recompute may be keeping them too), and no answer
        # written under the old list after it is counted
        cursor.execute(
            "LOCK TABLE scoring_comparedquestion IN SHARE ROW EXCLUSIVE MODE;"
            " LOCK TABLE surveys_answer IN SHARE MODE;"
            " SET LOCAL work_mem TO '64MB'; SET LOCAL jit TO OFF"
        )
        current = set(rubric_questions.values_list("question_id", flat=True))
        rubric_questions.filter(question_id__in=current - wanted).delete()
        ComparedQuestion.objects.bulk_create(
            ComparedQuestion(question_id=question_id) for question_id in sorted(wanted - current)
        )
    return current != wanted
