"""The area tallies (AreaTally) checked against the answers, and put right.

The triggers of scoring migration 0008 keep each response's tallies the GROUP BY of its
answers, in the writing transaction. What they cannot see: a restore or a replica that
skipped triggers (`session_replication_role = replica`, `pg_restore --disable-triggers` of
the answers alone), or a trigger dropped by hand. Scores read the tallies, so such drift
would score wrongly without a sign; `manage.py recount_tallies --check` tells, and
`recount_tallies` counts every tally again from the answers.
"""

from __future__ import annotations

from django.db import connection, transaction

# Each response's tallies per area as the answers give them, beside the stored ones: the rows
# that differ, as they should be (a stored tally with no answer left stays, at zero, as the
# delete trigger leaves it).
DIFFERING = """
WITH counted AS (
    SELECT a.response_id, q.area_id, count(a.value) AS answered,
           count(*) FILTER (WHERE a.not_applicable) AS not_applicable,
           coalesce(sum(a.value), 0) AS total
      FROM surveys_answer a
      JOIN rubrics_question q ON q.id = a.question_id
     GROUP BY a.response_id, q.area_id
)
SELECT coalesce(c.response_id, t.response_id), coalesce(c.area_id, t.area_id),
       coalesce(c.answered, 0), coalesce(c.not_applicable, 0), coalesce(c.total, 0)
  FROM counted c
  FULL JOIN scoring_areatally t ON t.response_id = c.response_id AND t.area_id = c.area_id
 WHERE (coalesce(c.answered, 0), coalesce(c.not_applicable, 0), coalesce(c.total, 0))
       IS DISTINCT FROM (t.answered, t.not_applicable, t.total)
"""

PUT_RIGHT = f"""
INSERT INTO scoring_areatally (response_id, area_id, answered, not_applicable, total)
{DIFFERING}
    ON CONFLICT (response_id, area_id) DO UPDATE
   SET answered = excluded.answered, not_applicable = excluded.not_applicable,
       total = excluded.total
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
            "LOCK TABLE surveys_answer, rubrics_question IN SHARE MODE;"
            " SET LOCAL work_mem TO '64MB'; SET LOCAL jit TO OFF"
        )
        cursor.execute(PUT_RIGHT if fix else DIFFERING)
        return cursor.rowcount
