"""Benchmark the scoring engine against its peers, measured in the same run:

- full recompute against one hand-written SQL statement that scores every submitted response
  (area sums, N/A rescaled, overall minimum), writes the scores to a table and computes each
  round's n, median and quartiles; and against an analyst's pandas (`read_sql` of the answers,
  `groupby`, the same arithmetic);
- a round's recompute against its floor: the plain SQL GROUP BY of the round's answers into
  per-response, per-area sums.

Each with the scores current (a close, a retried job) and with every score row rewritten; the
full recompute also after a fix of the scoring code (its digest changed: every round's
like-for-like is scored again, as after a real fix), after a change of it that changes no
score (like-for-like alone is scored again), and the fix once more with the rounds
scored one after the other on one connection (scores.WORKERS = 1: what scoring two at once
saves; the peers use one core).

    benchmarks/seed_demo.sh                   # once: 5000 products x 12 rounds on PostgreSQL
    .venv/bin/pip install -e ".[bench]"       # pandas
    .venv/bin/python benchmarks/scoring.py    # DATABASE_URL defaults to maturity_bench
"""

import os
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maturity_bench")

import django

django.setup()

import pandas  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from apps.scoring import aggregates, scores  # noqa: E402
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

# The SQL peer: what a person fluent in SQL would write for the demo's rule (sum, N/A
# rescaled, overall minimum), in one statement, with the server's default settings.
PEER_TABLE = "bench_peer_score"
PEER_SQL = f"""
WITH tally AS (
    SELECT a.response_id, q.area_id, count(a.value) AS answered, coalesce(sum(a.value), 0) AS total
      FROM surveys_answer a
      JOIN surveys_response r ON r.id = a.response_id
      JOIN rubrics_question q ON q.id = a.question_id
     WHERE r.status = 'submitted'
     GROUP BY a.response_id, q.area_id
), size AS (
    SELECT area_id, count(*) AS questions FROM rubrics_question GROUP BY area_id
), area_score AS (
    SELECT t.response_id, area.key,
           CASE WHEN t.answered > 0 THEN round(t.total * size.questions / t.answered, 4) END
             AS score
      FROM tally t
      JOIN size USING (area_id)
      JOIN rubrics_area area ON area.id = t.area_id
), written AS (
    INSERT INTO {PEER_TABLE} (response_id, round_id, product_id, area_scores, overall)
    SELECT r.id, r.round_id, r.product_id, jsonb_object_agg(s.key, s.score), min(s.score)
      FROM area_score s
      JOIN surveys_response r ON r.id = s.response_id
     GROUP BY r.id
    RETURNING round_id, overall
)
SELECT round_id, count(overall),
       percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY overall)
  FROM written
 GROUP BY round_id
"""

# The pandas peer reads the answers (values as floats, as an analyst would) and does the rest.
PANDAS_ANSWERS = """
SELECT r.round_id, a.response_id, q.area_id, a.value::float8 AS value, a.not_applicable
  FROM surveys_answer a
  JOIN surveys_response r ON r.id = a.response_id
  JOIN rubrics_question q ON q.id = a.question_id
 WHERE r.status = 'submitted'
"""
PANDAS_SIZES = "SELECT area_id, count(*) AS questions FROM rubrics_question GROUP BY area_id"

REPEAT = 7  # per-round measurements
FULL_REPEAT = 3  # full measurements (each a few seconds)
# CPU seconds (this process + PostgreSQL's, read from /proc: the server is local) next to wall
# time: on a machine shared with other work they move much less. PostgreSQL's: every server
# process's, with those of the exited ones (a full recompute's worker connections close as it
# ends), which the postmaster collects as its children's.
CPU: dict[str, list[float]] = {"cpu": []}


def backend_cpu() -> float:
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().rsplit(")", 1)
        except OSError:  # the process exited
            continue
        if name.endswith("(postgres"):
            values = fields.split()
            ticks += sum(int(value) for value in values[11:15])  # own and children's
    return ticks / os.sysconf("SC_CLK_TCK")


def timed(function) -> float:
    """Wall seconds of function(); its CPU seconds are appended to CPU["cpu"]."""
    cpu = backend_cpu() + time.process_time()
    started = time.perf_counter()
    function()
    seconds = time.perf_counter() - started
    CPU["cpu"].append(backend_cpu() + time.process_time() - cpu)
    return seconds


def cpu_of(function) -> tuple[float, float]:
    """(wall, CPU) seconds of function()."""
    wall = timed(function)
    return wall, CPU["cpu"][-1]


def floor(round_id: int | None = None) -> int:
    where, params = ("AND r.round_id = %s", [round_id]) if round_id else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(FLOOR.format(where=where), params)
        return len(cursor.fetchall())


def sql_peer() -> list[tuple]:
    """The SQL statement (its table emptied first, outside the timing)."""
    with connection.cursor() as cursor:
        cursor.execute(PEER_SQL)
        return cursor.fetchall()


def pandas_peer() -> pandas.DataFrame:
    with warnings.catch_warnings():  # pandas prefers SQLAlchemy; a DBAPI connection works
        warnings.simplefilter("ignore", UserWarning)
        answers = pandas.read_sql(PANDAS_ANSWERS, connection.connection)
        sizes = pandas.read_sql(PANDAS_SIZES, connection.connection)
    tally = answers.groupby(["response_id", "area_id"], sort=False).agg(
        round_id=("round_id", "first"), answered=("value", "count"), total=("value", "sum")
    )
    tally = tally.join(sizes.set_index("area_id"), on="area_id")
    tally["score"] = (tally["total"] * tally["questions"] / tally["answered"]).round(4)
    tally.loc[tally["answered"] == 0, "score"] = float("nan")
    overall = tally.groupby(level="response_id", sort=False).agg(
        round_id=("round_id", "first"), overall=("score", "min")
    )
    return overall.groupby("round_id")["overall"].describe()


def main() -> None:
    answers = Answer.objects.filter(response__status="submitted").count()
    rules = set(
        SurveyRound.objects.exclude(state="planned").values_list(
            "rubric_version__area_aggregation",
            "rubric_version__not_applicable_policy",
            "rubric_version__overall_rule",
        )
    )
    assert rules == {("sum", "rescale", "min")}, f"the peers are written for one rule: {rules}"
    print(f"database: {connection.settings_dict['NAME']}, {answers:,} submitted answers")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {PEER_TABLE} (response_id bigint, round_id bigint,"
            " product_id bigint, area_scores jsonb, overall numeric(9, 4))"
        )
    scores.score_all()  # warm caches once
    full: dict[str, list[tuple[float, float]]] = {
        "sql": [],
        "pandas": [],
        "current": [],
        "rewritten": [],
        "fixed": [],
        "like-for-like only": [],
        "fixed, one at a time": [],
    }
    for _ in range(FULL_REPEAT):  # alternate, so each sees the same machine
        settle()
        full["sql"].append(cpu_of(sql_peer))
        full["pandas"].append(cpu_of(pandas_peer))
        full["current"].append(cpu_of(scores.score_all))
        invalidate()
        settle()
        full["rewritten"].append(cpu_of(scores.score_all))
        invalidate()
        settle()
        with code_fixed():
            full["fixed"].append(cpu_of(scores.score_all))
        settle()
        # back to the real code's like-for-like: a change of the scoring code that changes
        # no score (every round's like-for-like is scored again, nothing else)
        full["like-for-like only"].append(cpu_of(scores.score_all))
        invalidate()
        settle()
        with code_fixed(), one_round_at_a_time():
            full["fixed, one at a time"].append(cpu_of(scores.score_all))
        scores.score_all()
    wall = {key: statistics.median(w for w, _ in values) for key, values in full.items()}
    cpu = {key: statistics.median(c for _, c in values) for key, values in full.items()}
    print(f"full recompute, median of {FULL_REPEAT} (wall; CPU of this process + PostgreSQL):")
    print(
        f"  SQL statement (scores written, per-round quartiles): {wall['sql']:.2f} s;"
        f" CPU {cpu['sql']:.2f} s"
    )
    print(f"  pandas read_sql + groupby: {wall['pandas']:.2f} s; CPU {cpu['pandas']:.2f} s")
    for label, key in (
        ("scores current", "current"),
        ("every score row rewritten, the code unchanged (spoilt rows)", "rewritten"),
        ("after a fix of the scoring code (every row rewritten, like-for-like too)", "fixed"),
        # the same on one connection: what the two rounds scored at once save
        ("the same, one round at a time (one core)", "fixed, one at a time"),
        (
            "after a change of the scoring code that changes no score (like-for-like only)",
            "like-for-like only",
        ),
    ):
        # the last two for information: the cases are the first three
        targeted = key in ("current", "rewritten", "fixed")
        print(
            f"  recompute, {label}: {wall[key]:.2f} s, {answers / wall[key]:,.0f} answers/s,"
            f" ratio to SQL {wall[key] / wall['sql']:.2f}{' (target <= 1.2)' * targeted},"
            f" to pandas {wall[key] / wall['pandas']:.2f}{' (target < 1)' * targeted};"
            f" CPU {cpu[key]:.2f} s, ratios {cpu[key] / cpu['sql']:.2f},"
            f" {cpu[key] / cpu['pandas']:.2f}"
        )

    biggest = (
        SurveyRound.objects.filter(responses__status="submitted")
        .annotate(n=Count("responses__answers"))
        .order_by("-n")
        .first()
    )
    print(f"round {biggest.key} ({biggest.n:,} answers), median of {REPEAT}:")
    for label, before in (
        ("scores current (close, retry, on demand)", lambda: None),
        # a round's own rows only: a fix of the scoring code makes every round's
        # like-for-like stale, and its first recompute rebuilds them all (the full case)
        ("every score row rewritten, the code unchanged", lambda: invalidate(biggest.pk)),
    ):
        settle()
        recomputes, floors = [], []
        for _ in range(REPEAT):  # alternate, so both see the same machine
            floors.append(cpu_of(lambda: floor(biggest.pk)))
            before()
            recomputes.append(cpu_of(lambda: scores.score_round(round_id=biggest.pk)))
        recompute = statistics.median(w for w, _ in recomputes)
        round_floor = statistics.median(w for w, _ in floors)
        recompute_cpu = statistics.median(c for _, c in recomputes)
        floor_cpu = statistics.median(c for _, c in floors)
        print(
            f"  recompute, {label}: {recompute * 1000:.0f} ms, GROUP BY floor"
            f" {round_floor * 1000:.0f} ms, ratio {recompute / round_floor:.2f} (target <= 1.5);"
            f" CPU {recompute_cpu * 1000:.0f} ms, floor {floor_cpu * 1000:.0f} ms,"
            f" ratio {recompute_cpu / floor_cpu:.2f}"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {PEER_TABLE}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


@contextmanager
def code_fixed():
    """As after a deploy that changed the scoring code: its digest (the like-for-like basis)
    differs from the one the stored aggregates were built with."""
    code_fixed.runs = getattr(code_fixed, "runs", 0) + 1
    real = aggregates._code_digest
    aggregates._code_digest = lambda: f"a fixed scoring code, {code_fixed.runs}"
    try:
        yield
    finally:
        aggregates._code_digest = real


@contextmanager
def one_round_at_a_time():
    """score_all scoring one round after the other, on one connection."""
    workers = scores.WORKERS
    scores.WORKERS = 1
    try:
        yield
    finally:
        scores.WORKERS = workers


def invalidate(round_id: int | None = None) -> None:
    """Make stored scores differ from what the rules give, as a rule fix would."""
    where, params = ("WHERE round_id = %s", [round_id]) if round_id else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE scoring_responsescore SET area_scores = '{{}}' {where}", params)


def settle() -> None:
    """Vacuum the tables the recomputes churn, so each measurement starts alike."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {PEER_TABLE}")
        cursor.execute("VACUUM ANALYZE scoring_responsescore")
        cursor.execute("VACUUM ANALYZE scoring_roundaggregate")


if __name__ == "__main__":
    main()
