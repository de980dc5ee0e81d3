"""Benchmark the scoring engine against its floor: a hand-written SQL GROUP BY computing the
same per-area sums over the same tables, run in the same script.

    benchmarks/seed_demo.sh                      # once: 5000 products x 12 rounds on PostgreSQL
    .venv/bin/python benchmarks/scoring.py    # DATABASE_URL defaults to maturity_bench
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maturity_bench")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from apps.scoring import scores  # noqa: E402
from apps.surveys.models import Answer, SurveyRound  # noqa: E402

FLOOR = """
SELECT a.response_id, q.area_id, count(a.value), count(*) FILTER (WHERE a.not_applicable),
       sum(a.value)
  FROM surveys_answer a
  JOIN surveys_response r ON r.id = a.response_id
  JOIN rubrics_question q ON q.id = a.question_id
 WHERE r.status = 'submitted' {where}
 GROUP BY a.response_id, q.area_id
"""
REPEAT = 7


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def floor(round_id: int | None = None) -> int:
    where, params = ("AND r.round_id = %s", [round_id]) if round_id else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(FLOOR.format(where=where), params)
        return len(cursor.fetchall())


def main() -> None:
    answers = Answer.objects.filter(response__status="submitted").count()
    print(f"database: {connection.settings_dict['NAME']}, {answers:,} submitted answers")
    scores.score_all()  # warm caches once
    invalidate()
    full_rewrite = timed(scores.score_all)
    full = timed(scores.score_all)
    full_floor = timed(floor)
    print(f"full floor (one GROUP BY over every round): {full_floor:.2f} s")
    for label, seconds in (("every score rewritten", full_rewrite), ("scores current", full)):
        print(
            f"full recompute, {label}: {seconds:.2f} s, {answers / seconds:,.0f} answers/s, "
            f"ratio to floor {seconds / full_floor:.2f}"
        )

    biggest = (
        SurveyRound.objects.filter(responses__status="submitted")
        .annotate(n=Count("responses__answers"))
        .order_by("-n")
        .first()
    )
    print(f"round {biggest.key} ({biggest.n:,} answers), median of {REPEAT}:")
    round_floor = statistics.median(timed(lambda: floor(biggest.pk)) for _ in range(REPEAT))
    print(f"  floor {round_floor * 1000:.0f} ms")
    for label, before in (
        ("scores current (close, retry, on demand)", lambda: None),
        ("every score rewritten (after a rule fix)", lambda: invalidate(biggest.pk)),
    ):
        settle()
        recomputes, floors = [], []
        for _ in range(REPEAT):  # alternate, so both see the same machine
            floors.append(timed(lambda: floor(biggest.pk)))
            before()
            recomputes.append(timed(lambda: scores.score_round(round_id=biggest.pk)))
        recompute, round_floor = statistics.median(recomputes), statistics.median(floors)
        print(
            f"  recompute, {label}: {recompute * 1000:.0f} ms, floor {round_floor * 1000:.0f} ms,"
            f" ratio {recompute / round_floor:.2f} (target <= 2)"
        )


def invalidate(round_id: int | None = None) -> None:
    """Make stored scores differ from what the rules give, as a rule fix would."""
    where, params = ("WHERE round_id = %s", [round_id]) if round_id else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE scoring_responsescore SET area_scores = '{{}}' {where}", params)


def settle() -> None:
    """Vacuum the tables the recomputes churn, so each measurement starts alike."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_responsescore")
        cursor.execute("VACUUM ANALYZE scoring_roundaggregate")


if __name__ == "__main__":
    main()
