"""The scoring rules of rules.py written in SQL, for PostgreSQL: a round is scored, compared
with its stored rows and its changed rows written in one statement, from the per-response,
per-area tallies of its answers that the triggers of scoring migrations 0008 and 0009 keep
(`AreaTally`), without reading an answer; like-for-like too, when asked, from the tallies'
counts of the compared questions' answers. Neither answers, tallies nor unchanged scores
travel to Python.

rules.py stays the reference: tests/scoring/test_sql_rules.py and
tests/scoring/test_like_for_like_rules.py check this statement against it over random
rubrics (and pairs of versions) and answers. Rules it cannot express (see `expresses`) and
SQLite use the Python path in scores.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

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
# GROUP BY of its answers, read without reading an answer (`{common}`: the counts of the
# compared questions' answers beside, kept by the triggers of scoring 0009), from the index of
# scoring 0010, which holds every column read here (an index-only scan).
STORED_TALLIES = """
    SELECT t.response_id, t.area_id, t.answered, t.not_applicable, t.total{common}
      FROM scoring_areatally t
     WHERE t.response_id = ANY(ARRAY(SELECT id FROM response))"""


# The tallies' counts of the compared questions' answers, read beside the others (`{common}`).
COMMON_TALLIES = ", t.common_answered, t.common_not_applicable AS common_na, t.common_total"

# `half_even(n, d)`, for whole n >= 0 and d > 0 (n in ten-thousandths): n / d rounded half to
# even to a whole number of ten-thousandths, as rules.quantize does (round() rounds half up).
HALF_EVEN = """round((div({n}, {d}) + CASE
    WHEN 2 * mod({n}, {d}) > {d} OR (2 * mod({n}, {d}) = {d} AND mod(div({n}, {d}), 2) = 1)
    THEN 1 ELSE 0 END) / 10000, 4)"""

# The statement, written for a version's number of areas and its rule (see `round_sql`).
# Steps, each a CTE: the round's submitted responses; their tallies per area (the stored
# AreaTally rows, with their counts of the compared questions' beside when asked), then side by
# side per response; each response's area scores (rules.area_score, computed once:
# MATERIALIZED); complete?, area scores and N/A counts as jsonb, overall, band and binding area
# (rules.combine: the first lowest area in area order); like-for-like's, when asked (LIKE);
# the stored rows that differ (one full join), then updated, inserted or deleted.
ROUND_SQL = """
WITH response AS (
    SELECT r.id, r.product_id
      FROM surveys_response r
     WHERE r.round_id = %(round_id)s AND r.status = 'submitted'
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
    SELECT o.*, {band} AS band_id
      FROM overall o{like}
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
       -- the version's compared questions, whose answers the common counts are of
       {compared} AS compared_ids,
       NULL::bigint AS product_id, NULL::numeric AS overall, NULL::bigint AS band_id,
       NULL::bigint AS binding_area_id{null_scores}{null_like}
  FROM counts c
 UNION ALL
-- when rows changed (or `every`), the round's scores (and like-for-like's) for its
-- aggregates, which are then rebuilt: nothing is read back
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, f.product_id, f.overall, f.band_id::bigint,
       f.binding_area_id::bigint,
       {fresh_scores}{like_columns}
  FROM fresh f{like_join}
 WHERE (SELECT changed FROM counts) > 0 OR %(every)s
"""


def _area_score(
    rule: tuple[str, str, str], answered: str, na: str, total: str, questions: str
) -> str:
    """rules.area_score of an area's tally (SQL expressions), NULL when nothing is answered."""
    aggregation, not_applicable, _overall = rule
    if aggregation == "mean":
        score = HALF_EVEN.format(n=f"{total} * 10000", d=answered)
    elif not_applicable == "rescale":
        rescaled = HALF_EVEN.format(n=f"{total} * 10000 * {questions}", d=answered)
        score = f"CASE WHEN {na} > 0 THEN {rescaled} ELSE {total} END"
    else:
        score = total
    return f"CASE WHEN {answered} > 0 THEN {score} END"


def _combined(overall: str, scores: list[str]) -> tuple[str, str]:
    """rules.combine's overall of area scores (SQL expressions), and their lowest."""
    lowest = f"least({', '.join(scores)})"  # least() leaves NULLs out, as rules.combine
    if overall == "min":
        return lowest, lowest
    total = " + ".join(f"coalesce({score}, 0)" for score in scores)
    count = " + ".join(f"({score} IS NOT NULL)::int" for score in scores)
    mean = HALF_EVEN.format(n=f"({total}) * 10000", d=f"({count})")
    return f"CASE WHEN {count} > 0 THEN {mean} END", lowest


def _band(open_bands: tuple[bool, ...], overall: str, prefix: str = "") -> str:
    """rules.band_of: the first band whose upper bound is at least the overall, else the
    last (`prefix`: of the parameters that name the bands)."""
    band = []
    for i, unbounded in enumerate(open_bands):
        if unbounded:
            band.append(f"ELSE %({prefix}band_{i})s")
            break
        band.append(f"WHEN {overall} <= %({prefix}band_maximum_{i})s THEN %({prefix}band_{i})s")
    else:
        band.append(f"ELSE %({prefix}band_{len(open_bands) - 1})s")
    return f"CASE WHEN {overall} IS NULL THEN NULL {' '.join(band)} END"


# `half_even_int(n, d)`, for whole n >= 0 and d > 0 as bigint: n / d rounded half to even to a
# whole number (bigint arithmetic: several times cheaper than numeric's).
HALF_EVEN_INT = """(({n}) / ({d}) + CASE
    WHEN 2 * mod({n}, {d}) > ({d}) OR (2 * mod({n}, {d}) = ({d}) AND mod(({n}) / ({d}), 2) = 1)
    THEN 1 ELSE 0 END)"""

# Like-for-like, of the scored responses (`fresh`): each comparison area scored on the
# counts of its compared questions' answers by the newest version's rule, a sum scaled to
# that version's whole area (rules.scaled_area_score), then combined (rules.combine); in
# whole ten-thousandths (every stored value has four decimal places), each rounding half to
# even as rules.quantize.
LIKE = """
), like_area AS MATERIALIZED (
    SELECT f.response_id, {scores}
      FROM fresh f
     WHERE f.overall IS NOT NULL AND {complete}
), like_combined AS (
    SELECT l.*, {overall} AS overall, CASE {binding} END AS binding_area_id
      FROM like_area l
), like_scored AS (
    SELECT l.response_id, round(l.overall::numeric / 10000, 4) AS overall,
           l.binding_area_id{decimals}
      FROM like_combined l"""


def _like_sql(
    count: int, rule: tuple[str, str, str], open_bands: tuple[bool, ...]
) -> tuple[str, str]:
    """LIKE for `count` comparison areas, and the columns of a row it adds to a score's."""
    aggregation, not_applicable, overall_rule = rule
    complete, scores = [], []
    for j in range(count):
        answered, na = f"f.common_answered_{j}", f"f.common_na_{j}"
        total = f"(f.common_total_{j} * 10000)::bigint"  # in ten-thousandths
        questions, full = f"%(like_questions_{j})s::bigint", f"%(like_full_{j})s::bigint"
        complete.append(f"{answered} + {na} = {questions}")
        # rules.area_score
        if aggregation == "mean":
            score = HALF_EVEN_INT.format(n=total, d=answered)
        else:
            if not_applicable == "rescale":
                rescaled = HALF_EVEN_INT.format(n=f"{total} * {questions}", d=answered)
                score = f"CASE WHEN {na} > 0 THEN {rescaled} ELSE {total} END"
            else:
                score = total
            # ...scaled from the compared questions to the whole area
            score = HALF_EVEN_INT.format(n=f"({score}) * {full}", d=questions)
        scores.append(f"CASE WHEN {answered} > 0 THEN {score} END AS score_{j}")
    names = [f"l.score_{j}" for j in range(count)]
    lowest = f"least({', '.join(names)})"  # least() leaves NULLs out, as rules.combine
    overall = lowest
    if overall_rule == "mean":
        total = " + ".join(f"coalesce({name}, 0)" for name in names)
        counted = " + ".join(f"({name} IS NOT NULL)::int" for name in names)
        mean = HALF_EVEN_INT.format(n=total, d=counted)
        overall = f"CASE WHEN {counted} > 0 THEN {mean} END"
    binding = " ".join(f"WHEN l.score_{j} = {lowest} THEN %(like_area_{j})s" for j in range(count))
    columns = (
        ", l.overall, "
        + _band(open_bands, "l.overall", "like_")
        + "::bigint, l.binding_area_id::bigint"
        + "".join(f", l.score_{j}::text" for j in range(count))
    )
    decimals = "".join(
        f", round(l.score_{j}::numeric / 10000, 4) AS score_{j}" for j in range(count)
    )
    return (
        LIKE.format(
            scores=", ".join(scores),
            complete=" AND ".join(complete),
            overall=overall,
            binding=binding,
            decimals=decimals,
        ),
        columns,
    )


@functools.lru_cache
def round_sql(
    areas: int,
    rule: tuple[str, str, str],
    open_bands: tuple[bool, ...],
    common_areas: tuple[int, ...] = (),
    like: tuple[tuple[str, str, str], tuple[bool, ...]] | None = None,
) -> str:
    """ROUND_SQL for a version of `areas` areas under `rule` (aggregation, N/A, overall) and
    bands with (True) or without an upper bound; `common_areas`: the positions of the areas
    of like-for-like's comparison, in its order, whose scores come back too, by `like`'s
    rule and bands (the newest version's).

    Only placeholders and positions are written into the text; every value (area, band and
    question ids, area keys, question counts, band bounds) is a parameter.
    """
    tallies, complete, area_scores, area_json, na_json, differ_areas = [], [], [], [], [], []
    for i in range(areas):
        area = f"FILTER (WHERE area_id = %(area_{i})s)"
        tallies.append(
            f"coalesce(max(answered) {area}, 0) AS answered_{i},"
            f" coalesce(max(not_applicable) {area}, 0) AS na_{i},"
            f" coalesce(max(total) {area}, 0) AS total_{i}"
        )
        complete.append(f"g.answered_{i} + g.na_{i} = %(questions_{i})s")
        score = _area_score(
            rule, f"g.answered_{i}", f"g.na_{i}", f"g.total_{i}", f"%(questions_{i})s"
        )
        area_scores.append(f"{score} AS score_{i}, g.na_{i} AS na_{i}")
        area_json.append(f"%(key_{i})s::text, d.score_{i}::text")
        na_json.append(f"%(key_{i})s::text, d.na_{i}")
        differ_areas.append(
            f"NOT s.area_scores ? %(key_{i})s"
            f" OR s.area_scores ->> %(key_{i})s IS DISTINCT FROM f.score_{i}::text"
            f" OR s.area_not_applicable ->> %(key_{i})s IS DISTINCT FROM f.na_{i}::text"
        )
    scores = [f"s.score_{i}" for i in range(areas)]
    overall_sql, lowest = _combined(rule[2], scores)
    binding = " ".join(f"WHEN s.score_{i} = {lowest} THEN %(area_{i})s" for i in range(areas))
    common_grouped = common_columns = null_like = like_columns = like_sql = like_join = ""
    compared = "NULL::bigint[]"
    if common_areas and like is not None:
        common_grouped = COMMON_TALLIES
        compared = COMPARED_IDS
        for j, i in enumerate(common_areas):
            area = f"FILTER (WHERE area_id = %(area_{i})s)"
            tallies.append(
                f"coalesce(max(common_answered) {area}, 0) AS common_answered_{j},"
                f" coalesce(max(common_na) {area}, 0) AS common_na_{j},"
                f" coalesce(max(common_total) {area}, 0) AS common_total_{j}"
            )
        common_columns = "".join(
            f", common_{part}_{j}"
            for j in range(len(common_areas))
            for part in ("answered", "na", "total")
        )
        like_sql, like_columns = _like_sql(len(common_areas), *like)
        like_join = "\n  LEFT JOIN like_scored l ON l.response_id = f.response_id"
        null_like = ", NULL::numeric, NULL::bigint, NULL::bigint" + "".join(
            ", NULL::text" for _ in common_areas
        )
    return ROUND_SQL.format(
        grouped=STORED_TALLIES.format(common=common_grouped),
        compared=compared,
        common_columns=common_columns,
        like=like_sql,
        like_join=like_join,
        score_columns=", ".join(f"s.score_{i}, s.na_{i}" for i in range(areas)),
        differ_areas="\n        OR ".join(differ_areas),
        null_scores="".join(f", NULL::text AS score_{i}" for i in range(areas)),
        fresh_scores=", ".join(f"f.score_{i}::text" for i in range(areas)),
        null_like=null_like,
        like_columns=like_columns,
        area_tallies=",\n           ".join(tallies),
        complete=" AND ".join(complete),
        area_scores=", ".join(area_scores),
        area_json=", ".join(area_json),
        na_json=", ".join(na_json),
        overall=overall_sql,
        binding=binding,
        band=_band(open_bands, "o.overall"),
    )


# The version's compared questions (ComparedQuestion), in one snapshot with the counts read.
COMPARED_IDS = """ARRAY(
           SELECT c.question_id
             FROM scoring_comparedquestion c
             JOIN rubrics_question q ON q.id = c.question_id
            WHERE q.version_id = %(version_id)s
            ORDER BY c.question_id)"""

COUNTS = 7  # the statement's columns before a score row's: RoundResult's first seven fields


class Like(NamedTuple):
    """What like-for-like compares, for the statement to score it too: the comparison's
    areas (in its order) with their numbers of compared questions, and the shape of the
    newest version in view, whose rule and bands score it (expresses() holds for it)."""

    questions: dict[str, int]
    shape: VersionShape


@dataclass(frozen=True)
class RoundResult:
    scored: int
    incomplete: int
    changed: int
    scored_products_differ: bool  # products with a score before and after may differ
    stored_scored: int  # the stored rows before: how many had an overall score
    stored_latest: datetime | None  # ...and the newest computed_at
    # with `like`: the version's compared questions whose answers like-for-like scored
    compared_ids: list[int] | None
    # when rows changed: the round's scores, as the aggregates read them
    scores: list[ScoredProduct] | None = None
    # ...and, with `like`, its scored responses' like-for-like scores
    like_scores: list[ScoredProduct] | None = None


def score_round(
    shape: VersionShape,
    *,
    round_id: int,
    now: datetime,
    like: Like | None = None,
    every: bool = False,
) -> RoundResult:
    """Score a round's submitted responses in the database and write the rows that differ
    from the stored ones (inside the caller's transaction). When rows changed, the round's
    scores come back for its aggregates, with, given `like`, its scored responses'
    like-for-like scores, from the counts of their answers to the compared questions
    (ComparedQuestion) that the area tallies keep, and the ids of those questions. With
    `every`, they come back even when no row changed (like-for-like is scored again)."""
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
        "every": every,
    }
    keys = [key for key, _area_id in areas]
    common_areas: tuple[int, ...] = ()
    like_rule = None
    if like is not None and like.questions:
        common_areas = tuple(keys.index(key) for key in like.questions)
        newest = like.shape
        like_rule = (
            (
                newest.rule.area_aggregation,
                newest.rule.not_applicable,
                newest.rule.overall,
            ),
            tuple(maximum is None for maximum in newest.rule.band_maxima),
        )
        for j, (key, count) in enumerate(like.questions.items()):
            params[f"like_questions_{j}"] = count
            params[f"like_full_{j}"] = newest.questions_per_area[key]
            params[f"like_area_{j}"] = newest.area_ids[key]
        for i, band_id in enumerate(newest.band_ids):
            params[f"like_band_{i}"] = band_id
            params[f"like_band_maximum_{i}"] = newest.rule.band_maxima[i]
    sql = round_sql(
        len(areas),
        (rule.area_aggregation, rule.not_applicable, rule.overall),
        tuple(maximum is None for maximum in rule.band_maxima),
        common_areas,
        like_rule,
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
    if not result.changed and not every:
        return result
    n, first = len(keys), COUNTS + 4  # the area scores' first column
    liked = first + n  # like-for-like's overall, band, binding area, then area scores
    like_keys = list(like.questions) if like is not None else []  # [] when none compared
    scored, like_scores = [], []
    for row in rows:
        product_id, overall, band_id, binding_id = row[COUNTS:first]
        if product_id is None:
            continue
        scored.append(
            ScoredProduct(
                product_id,
                overall,
                dict(zip(keys, row[first:liked], strict=True)),
                band_id,
                binding_id,
            )
        )
        if like_keys and overall is not None:
            like_overall, like_band, like_binding, *like_areas = row[liked:]
            like_scores.append(
                ScoredProduct(
                    product_id,
                    like_overall,
                    dict(zip(like_keys, like_areas, strict=True)),
                    like_band,
                    like_binding,
                )
            )
    return RoundResult(
        *counts[:COUNTS], scores=scored, like_scores=like_scores if like_keys else None
    )
