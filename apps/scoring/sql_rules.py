"""The scoring rules of rules.py written in SQL, for PostgreSQL: a round is scored, compared
with its stored rows and its changed rows written in one statement, from the per-response,
per-area tallies of its answers that the triggers of scoring migration 0008 keep
(`AreaTally`), without reading an answer (like-for-like's common questions read the answers
of the fewer side); neither answers, tallies nor unchanged scores travel to Python.

rules.py stays the reference: tests/scoring/test_sql_rules.py checks this statement against
it over random rubrics and answers. Rules it cannot express (see `expresses`) and SQLite use
the Python path in scores.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from apps.scoring.aggregates import ScoredProduct
from apps.scoring.selectors import VersionShape

AREA_AGGREGATIONS = {"sum", "mean"}
NOT_APPLICABLE_POLICIES = {"exclude", "rescale"}
OVERALL_RULES = {"min", "mean"}


def expresses(shape: VersionShape) -> bool:
    """Whether the statement below scores this version exactly as rules.py does."""
    rule = shape.rule
    return (
        connection.vendor == "postgresql"
        and rule.area_aggregation in AREA_AGGREGATIONS
        and rule.not_applicable in NOT_APPLICABLE_POLICIES
        and rule.overall in OVERALL_RULES
        and bool(shape.band_ids)
        and all(shape.questions_per_area.values())
    )


# The round's tallies per response and area, as the triggers of scoring 0008 keep them: the
# GROUP BY of its answers, read without reading an answer (`{common}`: the common questions'
# counts beside, from `picked`).
STORED_TALLIES = """
    SELECT t.response_id, t.area_id, t.answered, t.not_applicable, t.total{common}
      FROM scoring_areatally t{picked}
     WHERE t.response_id = ANY(ARRAY(SELECT id FROM response))"""

# Like-for-like's tallies of the common questions need their answers: only those of the
# fewer side are counted (each response's answers found through its index): the common
# questions' own, or the others', taken off the area's tally (see `round_sql`).
PICKED = """
), picked AS (
    SELECT a.response_id, q.area_id, count(a.value) AS answered,
           count(*) FILTER (WHERE a.not_applicable) AS not_applicable,
           coalesce(sum(a.value), 0) AS total
      FROM response r
      JOIN surveys_answer a
        ON a.response_id = r.id
       AND a.question_id = ANY(ARRAY(SELECT id FROM question WHERE common = {read_common}))
      JOIN question q ON q.id = a.question_id
     GROUP BY a.response_id, q.area_id"""
PICKED_JOIN = """
      LEFT JOIN picked p ON p.response_id = t.response_id AND p.area_id = t.area_id"""


# `half_even(n, d)`, for whole n >= 0 and d > 0 (n in ten-thousandths): n / d rounded half to
# even to a whole number of ten-thousandths, as rules.quantize does (round() rounds half up).
HALF_EVEN = """round((div({n}, {d}) + CASE
    WHEN 2 * mod({n}, {d}) > {d} OR (2 * mod({n}, {d}) = {d} AND mod(div({n}, {d}), 2) = 1)
    THEN 1 ELSE 0 END) / 10000, 4)"""

# The statement, written for a version's number of areas and its rule (see `round_sql`).
# Steps, each a CTE: the round's submitted responses; their tallies per area (the stored
# AreaTally rows, with like-for-like's common questions' beside when asked), then side by
# side per response; each response's area scores (rules.area_score, computed once:
# MATERIALIZED); complete?, area scores and N/A counts as jsonb, overall, band and binding area
# (rules.combine: the first lowest area in area order); the stored rows that differ (one full
# join), then updated, inserted or deleted.
ROUND_SQL = """
WITH response AS (
    SELECT r.id, r.product_id
      FROM surveys_response r
     WHERE r.round_id = %(round_id)s AND r.status = 'submitted'
), question AS MATERIALIZED (
    -- the version's questions, each marked once (not once per answer) if it is common
    SELECT q.id, q.area_id, {common_flag} AS common
      FROM rubrics_question q
     WHERE q.version_id = %(version_id)s{picked}
), grouped AS ({grouped}
), tally AS (
    SELECT response_id, {area_tallies}
      FROM grouped
     GROUP BY response_id
), area_score AS MATERIALIZED (
    SELECT g.response_id, {complete} AS complete, {area_scores}{common_columns}
      FROM tally g
), overall AS (
    SELECT s.response_id, r.product_id,
           {overall} AS overall,
           CASE {binding} END AS binding_area_id,
           {score_columns}{common_columns}
      FROM area_score s
      JOIN response r ON r.id = s.response_id
     WHERE s.complete
), fresh AS (
    SELECT o.*, CASE WHEN o.overall IS NULL THEN NULL {band} END AS band_id
      FROM overall o
), stored AS (
    SELECT id, response_id, product_id, area_scores, area_not_applicable, overall, band_id,
           binding_area_id, rubric_version_id, area_aggregation, not_applicable_policy,
           overall_rule, computed_at
      FROM scoring_responsescore
     WHERE round_id = %(round_id)s
), differing AS (
    -- fresh rows new or unlike their stored row, and stored rows no longer scored (gone)
    SELECT f.*, s.id AS stored_id, s.product_id AS stored_product_id,
           s.overall AS stored_overall
      FROM fresh f
      FULL JOIN stored s ON s.response_id = f.response_id
     WHERE s.id IS NULL
        OR f.response_id IS NULL
        OR s.product_id <> f.product_id
        -- area by area, so that JSON is built only for the rows written (a row of the same
        -- version has exactly these keys: only this statement writes them)
        OR {differ_areas}
        OR s.overall IS DISTINCT FROM f.overall
        OR s.band_id IS DISTINCT FROM f.band_id
        OR s.binding_area_id IS DISTINCT FROM f.binding_area_id
        OR s.rubric_version_id <> %(version_id)s
        OR s.area_aggregation <> %(area_aggregation)s
        OR s.not_applicable_policy <> %(not_applicable)s
        OR s.overall_rule <> %(overall)s
), updated AS (
    UPDATE scoring_responsescore s
       SET product_id = d.product_id, area_scores = jsonb_build_object({area_json}),
           area_not_applicable = jsonb_build_object({na_json}), overall = d.overall,
           band_id = d.band_id, binding_area_id = d.binding_area_id,
           rubric_version_id = %(version_id)s, area_aggregation = %(area_aggregation)s,
           not_applicable_policy = %(not_applicable)s, overall_rule = %(overall)s,
           computed_at = %(now)s
      FROM differing d
     WHERE s.id = d.stored_id AND d.response_id IS NOT NULL
       AND s.round_id = %(round_id)s  -- the round's rows only: not a hash of the whole table
    RETURNING s.id
), added AS (
    INSERT INTO scoring_responsescore (
        response_id, product_id, area_scores, area_not_applicable, overall, band_id,
        binding_area_id, round_id, rubric_version_id, area_aggregation, not_applicable_policy,
        overall_rule, computed_at)
    SELECT d.response_id, d.product_id, jsonb_build_object({area_json}),
           jsonb_build_object({na_json}), d.overall, d.band_id, d.binding_area_id,
           %(round_id)s, %(version_id)s, %(area_aggregation)s, %(not_applicable)s, %(overall)s,
           %(now)s
      FROM differing d
     WHERE d.stored_id IS NULL
    RETURNING id
), gone AS (
    DELETE FROM scoring_responsescore s
     USING differing d
     WHERE s.id = d.stored_id AND d.response_id IS NULL AND s.round_id = %(round_id)s
    RETURNING s.id
), counts AS (
    SELECT (SELECT count(*) FROM fresh) AS scored,
           (SELECT count(*) FROM response) - (SELECT count(*) FROM fresh) AS incomplete,
           (SELECT count(*) FROM updated) + (SELECT count(*) FROM added)
               + (SELECT count(*) FROM gone) AS changed
)
SELECT c.scored, c.incomplete, c.changed,
       -- the products with a score before and after may differ (the cohort may change): a
       -- changed row gained or lost its score, or its product (a response is its round's
       -- only one of its product, so the unchanged rows score the same products)
       EXISTS (
           SELECT FROM differing d
            WHERE (d.overall IS NOT NULL) <> (d.stored_overall IS NOT NULL)
               OR (d.overall IS NOT NULL AND d.stored_overall IS NOT NULL
                   AND d.product_id <> d.stored_product_id)
       ) AS scored_products_differ,
       -- what the stored rows were: do the round's stored aggregates match them?
       (SELECT count(overall) FROM stored) AS stored_scored,
       (SELECT max(computed_at) FROM stored) AS stored_latest,
       NULL::bigint AS product_id, NULL::numeric AS overall, NULL::bigint AS band_id,
       NULL::bigint AS binding_area_id{null_scores}{null_common}
  FROM counts c
 UNION ALL
-- when rows changed, the round's scores (and tallies of the common questions) for its
-- aggregates, which are then rebuilt: nothing is read back
SELECT NULL, NULL, NULL, NULL, NULL, NULL, f.product_id, f.overall, f.band_id::bigint,
       f.binding_area_id::bigint,
       {fresh_scores}{fresh_common}
  FROM fresh f
 WHERE (SELECT changed FROM counts) > 0
"""


@functools.lru_cache
def round_sql(
    areas: int,
    rule: tuple[str, str, str],
    open_bands: tuple[bool, ...],
    common_areas: tuple[int, ...] = (),
    read_common: bool = True,
) -> str:
    """ROUND_SQL for a version of `areas` areas under `rule` (aggregation, N/A, overall) and
    bands with (True) or without an upper bound; `common_areas`: the positions of the areas
    whose common questions (`%(common)s`, like-for-like) are tallied too, in the order of
    the comparison's areas, counted from the answers to the common questions (`read_common`)
    or, when they are fewer, from the answers to the others, taken off the area's tally.

    Only placeholders and positions are written into the text; every value (area, band and
    question ids, area keys, question counts, band bounds) is a parameter.
    """
    aggregation, not_applicable, overall = rule
    tallies, complete, area_scores, area_json, na_json, differ_areas = [], [], [], [], [], []
    for i in range(areas):
        area = f"FILTER (WHERE area_id = %(area_{i})s)"
        tallies.append(
            f"coalesce(max(answered) {area}, 0) AS answered_{i},"
            f" coalesce(max(not_applicable) {area}, 0) AS na_{i},"
            f" coalesce(max(total) {area}, 0) AS total_{i}"
        )
        complete.append(f"g.answered_{i} + g.na_{i} = %(questions_{i})s")
        if aggregation == "mean":
            score = HALF_EVEN.format(n=f"g.total_{i} * 10000", d=f"g.answered_{i}")
        elif not_applicable == "rescale":
            rescaled = HALF_EVEN.format(
                n=f"g.total_{i} * 10000 * %(questions_{i})s", d=f"g.answered_{i}"
            )
            score = f"CASE WHEN g.na_{i} > 0 THEN {rescaled} ELSE g.total_{i} END"
        else:
            score = f"g.total_{i}"
        area_scores.append(
            f"CASE WHEN g.answered_{i} > 0 THEN {score} END AS score_{i}, g.na_{i} AS na_{i}"
        )
        area_json.append(f"%(key_{i})s::text, d.score_{i}::text")
        na_json.append(f"%(key_{i})s::text, d.na_{i}")
        differ_areas.append(
            f"NOT s.area_scores ? %(key_{i})s"
            f" OR s.area_scores ->> %(key_{i})s IS DISTINCT FROM f.score_{i}::text"
            f" OR s.area_not_applicable ->> %(key_{i})s IS DISTINCT FROM f.na_{i}::text"
        )
    scores = [f"s.score_{i}" for i in range(areas)]
    lowest = f"least({', '.join(scores)})"  # least() leaves NULLs out, as rules.combine
    if overall == "min":
        overall_sql = lowest
    else:
        total = " + ".join(f"coalesce({score}, 0)" for score in scores)
        count = " + ".join(f"({score} IS NOT NULL)::int" for score in scores)
        overall_sql = (
            f"CASE WHEN {count} > 0 THEN "
            + HALF_EVEN.format(n=f"({total}) * 10000", d=f"({count})")
            + " END"
        )
    # rules.band_of: the first band whose upper bound is at least the overall, else the last
    band = []
    for i, unbounded in enumerate(open_bands):
        if unbounded:
            band.append(f"ELSE %(band_{i})s")
            break
        band.append(f"WHEN o.overall <= %(band_maximum_{i})s THEN %(band_{i})s")
    else:
        band.append(f"ELSE %(band_{len(open_bands) - 1})s")
    binding = " ".join(f"WHEN s.score_{i} = {lowest} THEN %(area_{i})s" for i in range(areas))
    common_grouped = common_columns = null_common = fresh_common = picked = picked_join = ""
    if common_areas:
        # the common questions' counts: those read, or the area's less the others' read
        for column, name in (
            ("answered", "answered"),
            ("not_applicable", "na"),
            ("total", "total"),
        ):
            read = f"coalesce(p.{column}, 0)"
            counts = read if read_common else f"t.{column} - {read}"
            common_grouped += f", {counts} AS common_{name}"
        picked = PICKED.format(read_common="true" if read_common else "false")
        picked_join = PICKED_JOIN
        names = [
            f"common_{part}_{j}"
            for j in range(len(common_areas))
            for part in ("answered", "na", "total")
        ]
        for j, i in enumerate(common_areas):
            area = f"FILTER (WHERE area_id = %(area_{i})s)"
            tallies.append(
                f"coalesce(max(common_answered) {area}, 0) AS common_answered_{j},"
                f" coalesce(max(common_na) {area}, 0) AS common_na_{j},"
                f" coalesce(max(common_total) {area}, 0) AS common_total_{j}"
            )
        common_columns = "".join(f", {name}" for name in names)
        null_common = "".join(
            f", NULL::{'numeric' if name.startswith('common_total') else 'bigint'} AS {name}"
            for name in names
        )
        fresh_common = "".join(f", f.{name}" for name in names)
    return ROUND_SQL.format(
        common_flag="q.id = ANY(%(common)s)" if common_areas else "false",
        picked=picked,
        grouped=STORED_TALLIES.format(common=common_grouped, picked=picked_join),
        common_columns=common_columns,
        score_columns=", ".join(f"s.score_{i}, s.na_{i}" for i in range(areas)),
        differ_areas="\n        OR ".join(differ_areas),
        null_scores="".join(f", NULL::text AS score_{i}" for i in range(areas)),
        fresh_scores=", ".join(f"f.score_{i}::text" for i in range(areas)),
        null_common=null_common,
        fresh_common=fresh_common,
        area_tallies=",\n           ".join(tallies),
        complete=" AND ".join(complete),
        area_scores=", ".join(area_scores),
        area_json=", ".join(area_json),
        na_json=", ".join(na_json),
        overall=overall_sql,
        binding=binding,
        band=" ".join(band),
    )


COUNTS = 6  # the statement's columns before a score row's: RoundResult's first six fields


@dataclass(frozen=True)
class RoundResult:
    scored: int
    incomplete: int
    changed: int
    scored_products_differ: bool  # products with a score before and after may differ
    stored_scored: int  # the stored rows before: how many had an overall score
    stored_latest: datetime | None  # ...and the newest computed_at
    # when rows changed: the round's scores, as the aggregates read them
    scores: list[ScoredProduct] | None = None
    # ...and, with `common`, (product id, answered, N/A, sum of each common area) per scored
    # response: what like_for_like_scores reads (aggregates.score_common_tallies)
    common_tallies: list[tuple] | None = None


def reads_common_answers(common: int, questions: int) -> bool:
    """Whether the statement reads the answers to the `common` questions of a version's
    `questions` (then their tallies are those answers'), or, when they are the more, the
    answers to the others (then they are the area's tally less those)."""
    return 2 * common <= questions


def score_round(
    shape: VersionShape,
    *,
    round_id: int,
    now: datetime,
    common: tuple[list[int], list[str]] | None = None,
) -> RoundResult:
    """Score a round's submitted responses in the database and write the rows that differ
    from the stored ones (inside the caller's transaction). When rows changed, the round's
    scores come back for its aggregates, with, given `common` (the ids of the version's
    questions common to every version in view, and the keys of their areas in the
    comparison's order), each scored response's tallies of those questions by area."""
    rule = shape.rule
    areas = list(shape.area_ids.items())
    params = {
        "round_id": round_id,
        "version_id": shape.version_id,
        **{f"area_{i}": area_id for i, (_key, area_id) in enumerate(areas)},
        **{f"key_{i}": key for i, (key, _area_id) in enumerate(areas)},
        **{f"questions_{i}": shape.questions_per_area[key] for i, (key, _id) in enumerate(areas)},
        **{f"band_{i}": band_id for i, band_id in enumerate(shape.band_ids)},
        **{f"band_maximum_{i}": maximum for i, maximum in enumerate(rule.band_maxima)},
        "area_aggregation": rule.area_aggregation,
        "not_applicable": rule.not_applicable,
        "overall": rule.overall,
        "now": now,
    }
    keys = [key for key, _area_id in areas]
    common_areas: tuple[int, ...] = ()
    if common is not None and common[0]:
        common_areas = tuple(keys.index(key) for key in common[1])
        params["common"] = common[0]
    sql = round_sql(
        len(areas),
        (rule.area_aggregation, rule.not_applicable, rule.overall),
        tuple(maximum is None for maximum in rule.band_maxima),
        common_areas,
        read_common=reads_common_answers(
            len(params.get("common", ())), sum(shape.questions_per_area.values())
        ),
    )
    with connection.cursor() as cursor:
        # The round's tallies fit in memory (no spill to disk); scores can always be
        # recomputed, so their commit need not wait for the disk: a later synchronous commit
        # (the job's state) still flushes them first, WAL being sequential. JIT compiling
        # never pays for itself on a statement this short (a misestimate crossing
        # jit_above_cost made one cost two seconds).
        cursor.execute(
            "SET LOCAL work_mem TO '64MB'; SET LOCAL synchronous_commit TO OFF;"
            " SET LOCAL jit TO OFF"
        )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # the counts' row (its product is NULL), then the scores when rows changed
    counts = next(row for row in rows if row[COUNTS] is None)
    result = RoundResult(*counts[:COUNTS])
    if not result.changed:
        return result
    n, first = len(keys), COUNTS + 4  # the area scores' first column
    scored, tallies = [], []
    for row in rows:
        product_id, overall, band_id, binding_id = row[COUNTS:first]
        if product_id is None:
            continue
        scored.append(
            ScoredProduct(
                product_id,
                overall,
                dict(zip(keys, row[first : first + n], strict=True)),
                band_id,
                binding_id,
            )
        )
        if common_areas and overall is not None:
            tallies.append((product_id, *row[first + n :]))
    return RoundResult(
        *counts[:COUNTS], scores=scored, common_tallies=tallies if common_areas else None
    )


# The questions of a version that its round's stored like-for-like aggregate compared, in the
# comparison's order, with their area keys.
STORED_COMMON_SQL = """
SELECT q.id, area.key
  FROM scoring_roundaggregate aggregate
 CROSS JOIN jsonb_array_elements_text(aggregate.comparison -> 'questions')
       WITH ORDINALITY AS compared (key, position)
  JOIN rubrics_question q ON q.key = compared.key AND q.version_id = %s
  JOIN rubrics_area area ON area.id = q.area_id
 WHERE aggregate.round_id = %s AND aggregate.population = 'all' AND aggregate.like_for_like
 ORDER BY compared.position
"""


def stored_common_questions(round_id: int, version_id: int) -> tuple[list[int], list[str]] | None:
    """The common questions the round's like-for-like aggregates last compared (their ids in
    the round's version) and the keys of their areas, in the comparison's order; None when
    there are none. What score_round tallies alongside the scores, in one query: if the
    comparison has changed since, refresh_aggregates does not use the tallies."""
    with connection.cursor() as cursor:
        cursor.execute(STORED_COMMON_SQL, [version_id, round_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    return [question_id for question_id, _area in rows], list(dict.fromkeys(a for _q, a in rows))
