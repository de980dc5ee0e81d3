"""Time of the CSV downloads against PostgreSQL's own `COPY ... TO STDOUT` of the same rows,
on the seeded benchmark database (benchmarks/seed_demo.sh), with their ratio (target ≤ 3×).

.venv/bin/python benchmarks/exports.py      # DATABASE_URL defaults to maturity_bench

The download is the whole view (a viewer's GET of /rounds/KEY/answers.csv or results.csv,
every byte of the streamed body read); the floor is a plain COPY of the same join (the same
columns, rows and order, unformatted) read through psycopg. Each figure is the best of
REPEAT runs. benchmarks/export_memory.sh prints the peak memory.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maturity_bench")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from apps.surveys.models import SurveyRound  # noqa: E402

REPEAT = 5

# The answers export's join, as an analyst would COPY it: the same rows in the same order.
ANSWERS = """
SELECT sr.key, p.slug, ar.key, q.key, a.value, a.not_applicable, a.evidence, a.evidence_url,
       p.name, t.slug
  FROM surveys_answer a
  JOIN surveys_response r ON r.id = a.response_id
  JOIN surveys_surveyround sr ON sr.id = r.round_id
  JOIN products_product p ON p.id = r.product_id
  JOIN accounts_team t ON t.id = p.team_id
  JOIN rubrics_question q ON q.id = a.question_id
  JOIN rubrics_area ar ON ar.id = q.area_id
 WHERE r.round_id = {round_id} AND r.status = 'submitted'
 ORDER BY p.slug, ar."order", q."order"
"""
# The results export's: every response with its scores, then the products active when the
# round opened (in the organisation's time zone) that have not started.
RESULTS = """
(SELECT sr.key, p.slug, p.name, t.name, r.status, r.submitted_at, s.area_scores, s.overall,
        b.label_en
   FROM surveys_response r
   JOIN surveys_surveyround sr ON sr.id = r.round_id
   JOIN products_product p ON p.id = r.product_id
   JOIN accounts_team t ON t.id = p.team_id
   LEFT JOIN scoring_responsescore s ON s.response_id = r.id
   LEFT JOIN rubrics_band b ON b.id = s.band_id
  WHERE r.round_id = {round_id}
  ORDER BY p.slug)
UNION ALL
(SELECT sr.key, p.slug, p.name, t.name, 'not_started', NULL, NULL, NULL, NULL
   FROM products_product p
   JOIN accounts_team t ON t.id = p.team_id
   JOIN surveys_surveyround sr ON sr.id = {round_id}
  WHERE p.active_from <= (sr.opens_at AT TIME ZONE '{zone}')::date
    AND (p.retired_at IS NULL OR p.retired_at > (sr.opens_at AT TIME ZONE '{zone}')::date)
    AND NOT EXISTS (SELECT FROM surveys_response r WHERE r.round_id = sr.id AND r.product_id = p.id)
  ORDER BY p.slug)
"""


def best(run):
    """The fastest of REPEAT runs in seconds, and what the last one returned."""
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        size = run()
        timings.append(time.perf_counter() - started)
    return min(timings), size


def copy_floor(sql: str) -> int:
    """Read a COPY of `sql` to the end; its rows."""
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy,
    ):
        return sum(1 for _row in copy)


def download(client: Client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def main() -> None:
    setup_test_environment()
    client = Client()
    client.force_login(get_user_model().objects.get(username="demo-viewer"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.round_id, count(*) FROM surveys_answer a JOIN surveys_response r"
            " ON r.id = a.response_id WHERE r.status = 'submitted' GROUP BY r.round_id"
            " ORDER BY count(*)"
        )
        counts = cursor.fetchall()
    print(f"database: {connection.settings_dict['NAME']}, best of {REPEAT}")
    zone = settings.TIME_ZONE
    for round_id, answers in (counts[0], counts[-1]):
        key = SurveyRound.objects.get(pk=round_id).key
        for kind, sql in (("answers", ANSWERS), ("results", RESULTS)):
            download(client, f"/rounds/{key}/{kind}.csv")  # warm up
            export, data = best(lambda: download(client, f"/rounds/{key}/{kind}.csv"))  # noqa: B023
            floor, rows = best(lambda: copy_floor(sql.format(round_id=round_id, zone=zone)))  # noqa: B023
            assert data.count(b"\r\n") >= rows + 1  # the same rows (cells may hold newlines)
            print(
                f"{key} {kind:8} ({answers:,} answers) {len(data) / 1048576:5.1f} MB: "
                f"export {export * 1000:6.0f} ms, COPY {floor * 1000:5.0f} ms, "
                f"ratio {export / floor:4.1f}x (target <= 3x)"
            )


if __name__ == "__main__":
    main()
