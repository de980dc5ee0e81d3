"""Round aggregates: per round and population (all products, the continuous cohort from each
possible start round) the statistics the dashboards draw, the N/A counts per area and the
churn, rebuilt from the stored scores whenever they change."""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from collections.abc import Collection
from decimal import Decimal
from itertools import repeat
from operator import attrgetter
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from apps.products.models import Product
from apps.rubrics.models import Area, Criterion, Question, RubricVersion
from apps.scoring import cohort, rules, selectors
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.rules import quantize
from apps.scoring.signals import aggregates_changed
from apps.scoring.statistics import describe
from apps.surveys.models import SurveyRound


class ScoredProduct(NamedTuple):
    """One product's stored score in a round, as the aggregates read it."""

    product_id: int
    overall: Decimal | None
    area_scores: dict[str, str | None]  # area key → decimal string, or None
    band_id: int | None
    binding_area_id: int | None


SCORED_PRODUCT_FIELDS = ("product_id", "overall", "area_scores", "band_id", "binding_area_id")
BAND_ID, BINDING_AREA_ID = attrgetter("band_id"), attrgetter("binding_area_id")


def refresh_aggregates(
    *,
    rubric_id: int,
    round_ids: list[int] | None = None,
    known: selectors.VersionShape | None = None,
    fresh: dict[int, list[ScoredProduct]] | None = None,
    scores_changed: bool = True,
    cohort_may_change: bool = True,
    same_scored: Collection[int] = (),
    fresh_like: dict[int, LikeScores] | None = None,
) -> int:
    """Rebuild the `all` aggregates and the cohort aggregates of every start round of a
    rubric's rounds (or of some of them).

    When the cohort has changed (a round closed, a closed round was rescored), every round's
    cohort points change, so every round is rebuilt; when neither the cohort nor the rounds'
    scores changed (`scores_changed=False`), existing aggregates are kept. A round's churn
    compares it with the defining round before it, so rescoring a round rebuilds the rounds
    after it too. `fresh` holds scores just computed, to save reading them back.

    `same_scored` names rounds rescored with the same scored responses as before, whose
    stored aggregates matched their scores before (only the scores may differ now, e.g.
    after a rule fix): while the cohort stands, the rounds after them
    keep their aggregates (churn and cohorts are unchanged), and their question means and N/A
    counts, which count answers only, are kept from their stored aggregates instead of being
    counted again (answers of a scored response only change through a reopen, which rescores
    it alone and rebuilds everything). So are their like-for-like statistics, when the stored
    ones compared the same questions on the same basis (Comparison.stored["basis"]): they
    depend on those answers, the newest version's rule and the scoring code, not on the
    round's own scores.

    `fresh_like` holds, for rounds just scored, their scored responses' like-for-like scores
    (sql_rules.score_round), used if they compared the questions compared now, on the same
    basis, instead of reading the answers again.
    """
    with transaction.atomic():
        runs, defining, checked, changed, rounds = cohort.update_cohort(
            rubric_id=rubric_id, force=cohort_may_change
        )
        if changed:
            round_ids, scores_changed, same_scored = None, True, ()
        elif not checked and not scores_changed and round_ids is not None:
            kept = RoundAggregate.objects.filter(
                round_id__in=round_ids, population=RoundAggregate.Population.ALL
            ).count()
            if kept == 2 * len(round_ids):  # scored and like-for-like: both still current
                return 0
        if runs is None:
            runs = cohort.stored_runs(rubric_id)
        comparison, rule_shape = compared(
            list(dict.fromkeys(r.rubric_version_id for r in rounds)), known
        )
        population = Populations(rounds, defining, runs)
        kept = _kept_fields(
            [r for r in rounds if r.pk in same_scored and (round_ids is None or r.pk in round_ids)],
            population,
            fresh or {},
            comparison,
        )
        if round_ids is not None:
            # the rounds after one whose scored products changed (or whose stored aggregates
            # could not be kept from): their churn and cohorts may change
            same = {round_id for round_id, _start, _like in kept}
            positions = [i for i, r in enumerate(rounds) if r.pk in round_ids and r.pk not in same]
            first = min(positions, default=len(rounds))
            round_ids = {*round_ids, *(r.pk for r in rounds[first:])}
        if round_ids is not None and _comparison_changed(rubric_id, round_ids, comparison):
            round_ids = None  # a version came or went: every round's like-for-like changes
        targets = [r for r in rounds if round_ids is None or r.pk in round_ids]
        liked = {
            round_id: like.rows
            for round_id, like in (fresh_like or {}).items()
            if like.areas == list(comparison.areas)
            and like.basis == comparison.stored.get("basis")
            and sorted(like.question_ids)
            == sorted(comparison.ids_by_version.get(like.version_id, []))
        }
        shapes = {shape.version_id: shape for shape in (known, rule_shape) if shape}
        aggregates = _build(
            rubric_id, targets, population, shapes, fresh or {}, comparison, kept, liked
        )
        RoundAggregate.objects.filter(round__in=targets).delete()
        insert_aggregates(aggregates)
        transaction.on_commit(
            lambda: aggregates_changed.send(sender=RoundAggregate, rubric_id=rubric_id)
        )
    return len(aggregates)


def insert_aggregates(aggregates: list[RoundAggregate]) -> None:
    """Insert unsaved aggregates: by COPY on PostgreSQL (bulk_create's UNNEST quotes every
    JSON value into an array literal, about 0.7 ms a row), by bulk_create elsewhere."""
    if connection.vendor != "postgresql" or not aggregates:
        RoundAggregate.objects.bulk_create(aggregates)
        return
    fields = [field for field in RoundAggregate._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(RoundAggregate._meta.db_table)
    # errors come out as Django's (IntegrityError...), as from any other query
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for aggregate in aggregates:
            copy.write_row(
                [
                    field.get_db_prep_save(getattr(aggregate, field.attname), connection)
                    for field in fields
                ]
            )


class Comparison(NamedTuple):
    """What like-for-like compares: the questions common to every version in view (ids per
    version, keys by area), what each version leaves out, and the rule that scores them."""

    question_ids: list[int]  # the common questions' ids, in every version
    areas: dict[str, list[str]]  # area key → common question keys (areas without any: none)
    area_of: dict[int, str]  # common question id → area key
    stored: dict  # RoundAggregate.comparison
    rule_version_id: int | None  # the newest version in view: its rule and bands score
    ids_by_version: dict[int, list[int]]  # version → its common questions' ids


def common_questions(version_ids: list[int]) -> Comparison:
    """The questions common to every version (oldest first): a question is common when every
    version has a question with the same key, in an area with the same key, whose criteria
    give the same English text at the same scale values (the same levels, worded the same;
    Japanese wording, guidance and question text may differ). In three queries, or one for
    published versions compared before (a published version cannot change: see
    rubrics.models, so what it has in common with others is remembered)."""
    versions = {
        pk: rest
        for pk, *rest in RubricVersion.objects.filter(pk__in=version_ids).values_list(
            "pk", "label", "area_aggregation", "state", "published_at"
        )
    }
    published = [
        (v, versions[v][3])
        for v in version_ids
        if v in versions and versions[v][2] == RubricVersion.State.PUBLISHED
    ]
    if not version_ids or len(published) < len(version_ids):
        return _common_questions(version_ids, versions)
    return selectors.remembered(
        _PUBLISHED_COMPARISONS, tuple(published), lambda: _common_questions(version_ids, versions)
    )


_PUBLISHED_COMPARISONS: dict[tuple, Comparison] = {}


def _common_questions(version_ids: list[int], versions: dict[int, list]) -> Comparison:
    """common_questions, given the versions' label and area aggregation (first), in two
    queries."""
    by_version: dict[int, dict[str, tuple]] = {v: {} for v in version_ids}
    numbers: dict[int, dict[str, int]] = {v: {} for v in version_ids}
    criteria: dict[int, list] = {}
    for question_id, value, text in Criterion.objects.filter(
        question__version_id__in=version_ids
    ).values_list("question_id", "level__value", "text_en"):
        criteria.setdefault(question_id, []).append((value.normalize(), text.strip()))
    rows = Question.objects.filter(version_id__in=version_ids).order_by(
        "version_id", "area__order", "order"
    )
    for question_id, version_id, key, area in rows.values_list(
        "pk", "version_id", "key", "area__key"
    ):
        signature = (area, tuple(sorted(criteria.get(question_id, []))))
        by_version[version_id][key] = (question_id, signature)
        numbers[version_id][key] = len(numbers[version_id]) + 1  # questionnaire order
    newest = version_ids[-1] if version_ids else None
    common: list[str] = []
    if newest is not None:
        common = [
            key
            for key, (_id, signature) in by_version[newest].items()
            if all(by_version[v].get(key, (None, None))[1] == signature for v in version_ids)
        ]
    areas: dict[str, list[str]] = {}
    area_of: dict[int, str] = {}
    ids_by_version: dict[int, list[int]] = {v: [] for v in version_ids}
    for key in common:
        area = by_version[newest][key][1][0]
        areas.setdefault(area, []).append(key)
        for version_id in version_ids:
            area_of[by_version[version_id][key][0]] = area
            ids_by_version[version_id].append(by_version[version_id][key][0])
    labels = {pk: label for pk, (label, *_rest) in versions.items()}
    every_area = dict.fromkeys(
        signature[0] for v in version_ids for _id, signature in by_version[v].values()
    )
    stored = {
        "questions": common,
        "left_out": [
            {
                "version": labels.get(v, ""),
                "questions": [
                    {"number": numbers[v][key], "key": key}
                    for key in by_version[v]
                    if key not in common
                ],
            }
            for v in version_ids
        ],
        "dropped_areas": [area for area in every_area if area not in areas],
        "rule_version": labels.get(newest, "") if newest else "",
        # an area's sum over its common questions is scaled to the whole area
        "scaled": bool(newest)
        and versions.get(newest, ("", ""))[1] == RubricVersion.AreaAggregation.SUM,
    }
    return Comparison(list(area_of), areas, area_of, stored, newest, ids_by_version)


# The code whose output the stored like-for-like statistics are: a change to it (a fix) is a
# change of basis, and rebuilds them all, as a change of the newest version's rule does.
SCORING_CODE = ("rules.py", "aggregates.py", "statistics.py", "sql_rules.py")


@functools.cache
def _code_digest() -> str:
    return cohort.source_digest(*SCORING_CODE)


def scoring_basis(shape: selectors.VersionShape) -> str:
    """A digest of what like-for-like scores depend on besides the answers: the rule, areas,
    question counts, bands and scale of the version that scores them, and the scoring code."""
    rule = shape.rule
    facts = [
        rule.area_aggregation,
        rule.not_applicable,
        rule.overall,
        [str(maximum) for maximum in rule.band_maxima],
        list(shape.area_ids.items()),
        list(shape.questions_per_area.items()),
        [(band.pk, band.order, band.label_en, band.label_ja) for band in shape.bands],
        str(shape.top_value),
        _code_digest(),
    ]
    return hashlib.sha256(json.dumps(facts, ensure_ascii=False).encode()).hexdigest()[:32]


def compared(
    version_ids: list[int], known: selectors.VersionShape | None = None
) -> tuple[Comparison, selectors.VersionShape | None]:
    """common_questions() with its basis (scoring_basis of the newest version, `known` if it
    is that one) in `stored`, and that version's shape."""
    comparison = common_questions(version_ids)
    if comparison.rule_version_id is None:
        return comparison, None
    shape = known
    if shape is None or shape.version_id != comparison.rule_version_id:
        shape = selectors.version_shape(comparison.rule_version_id)
    stored = {**comparison.stored, "basis": scoring_basis(shape)}
    return comparison._replace(stored=stored), shape


def like_for_like_state(
    rubric_id: int,
) -> tuple[Comparison, selectors.VersionShape | None, bool]:
    """What the rubric's like-for-like compares now, the shape of the version whose rule
    scores it, and whether its stored aggregates all compared that, on the same basis: then
    those of a round rescored with the same scored responses are kept."""
    rounds = cohort.rubric_rounds(rubric_id)
    comparison, shape = compared(list(dict.fromkeys(r.rubric_version_id for r in rounds)))
    return comparison, shape, not _comparison_changed(rubric_id, [], comparison)


def _comparison_changed(rubric_id: int, round_ids: list[int], comparison: Comparison) -> bool:
    """Whether the like-for-like aggregates of the rounds not rebuilt compared other
    questions (a round of a new version opened, or a version's criteria were edited) or on
    another basis (a fix of the scoring code)."""
    kept = (
        RoundAggregate.objects.filter(rubric_id=rubric_id, like_for_like=True)
        .exclude(round_id__in=round_ids)
        .values_list("comparison", flat=True)
        .distinct()
        .order_by()
    )
    return any(stored != comparison.stored for stored in kept)


class Populations:
    """Who is counted in a round's aggregates: everyone scored, and for each start round at
    or before it the cohort from that start (the products whose run began at or before it)."""

    def __init__(self, rounds: list[SurveyRound], defining: list[int], runs: dict[int, int]):
        self.rounds, self.defining, self.runs = rounds, defining, runs
        position = {r.pk: i for i, r in enumerate(rounds)}
        self.position = position
        self.rank = {round_id: i for i, round_id in enumerate(defining)}  # start round → order

    def starts(self, survey_round: SurveyRound) -> list[int]:
        """The start rounds whose cohort has a point in this round (at or before it)."""
        here = self.position[survey_round.pk]
        return [start for start in self.defining if self.position[start] <= here]

    def previous(self, survey_round: SurveyRound) -> int | None:
        """The defining round before this one (what its churn compares with)."""
        here = self.position[survey_round.pk]
        before = [start for start in self.defining if self.position[start] < here]
        return before[-1] if before else None

    def in_cohort(self, since: int | None, start: int) -> bool:
        """Whether a product whose run began in `since` belongs to the cohort from `start`."""
        return since is not None and self.rank[since] <= self.rank[start]


# A stored aggregate's place: (round, cohort start or None for `all`, like-for-like).
AggregateKey = tuple[int, int | None, bool]


# A stored like-for-like aggregate's statistics, kept as they are with its answer counts.
STATISTICS = ("n", "mean", "median", "p25", "p75", "minimum", "maximum")
KEPT_LIKE_FOR_LIKE = (*STATISTICS, "area_means", "band_counts", "binding_counts")


def _kept_fields(
    rounds: list[SurveyRound],
    population: Populations,
    fresh: dict[int, list[ScoredProduct]],
    comparison: Comparison,
) -> dict[AggregateKey, dict]:
    """The stored fields of rounds rescored with the same scored responses that need not be
    computed again, by aggregate, in one query: question means and N/A counts (which count
    answers only), and of like-for-like aggregates on the same basis their statistics too. A
    round is left out (and computed again) unless its stored aggregates are exactly the ones
    it needs now, count the same products as its fresh scores and, like-for-like, compared the
    same questions."""
    if not rounds:
        return {}
    stored: dict[int, dict[AggregateKey, dict]] = {r.pk: {} for r in rounds}
    for row in RoundAggregate.objects.filter(round__in=rounds).values(
        "round_id",
        "cohort_from_id",
        "like_for_like",
        "comparison",
        "question_means",
        "area_not_applicable",
        *KEPT_LIKE_FOR_LIKE,
    ):
        key = (row["round_id"], row["cohort_from_id"], row["like_for_like"])
        stored[row["round_id"]][key] = row
    questions = _without_basis(comparison.stored)
    kept: dict[AggregateKey, dict] = {}
    for survey_round in rounds:
        rows = stored[survey_round.pk]
        starts = [None, *population.starts(survey_round)]
        wanted = {(survey_round.pk, start, like) for start in starts for like in (False, True)}
        scored = sum(row.overall is not None for row in fresh.get(survey_round.pk, ()))
        everyone = rows.get((survey_round.pk, None, False))
        likes = [rows[key]["comparison"] for key in wanted if key[2] and key in rows]
        if (
            survey_round.pk not in fresh
            or rows.keys() != wanted
            or everyone is None
            or everyone["n"] != scored
            # like-for-like counted other questions: its answer counts are counted again
            or any(_without_basis(like) != questions for like in likes)
        ):
            continue
        # on another basis (a fix of the scoring code), like-for-like is scored again
        same_basis = all(like == comparison.stored for like in likes)
        for key, row in rows.items():
            fields = ("question_means", "area_not_applicable")
            if key[2] and same_basis:
                fields += KEPT_LIKE_FOR_LIKE
            kept[key] = {field: row[field] for field in fields}
    return kept


def _without_basis(stored: dict) -> dict:
    """A stored comparison less its basis: what was compared, not what scored it."""
    return {key: value for key, value in stored.items() if key != "basis"}


def _build(
    rubric_id: int,
    targets: list[SurveyRound],
    population: Populations,
    known: dict[int, selectors.VersionShape],
    fresh: dict[int, list[ScoredProduct]],
    comparison: Comparison,
    kept: dict[AggregateKey, dict],
    liked: dict[int, list[ScoredProduct]],
) -> list[RoundAggregate]:
    """The aggregates of each target round (unsaved): all products, and the cohort from each
    start round at or before it; each as scored and like-for-like (see like_for_like_scores).
    The fields in `kept` are used as they are; the others are computed (`known`: shapes of
    versions already read)."""
    shapes = dict(known)
    wanted = {r.rubric_version_id for r in targets}
    if comparison.rule_version_id is not None and targets:
        wanted.add(comparison.rule_version_id)
    for version_id in wanted - shapes.keys():
        shapes[version_id] = selectors.version_shape(version_id)
    scores = scored_products(targets, fresh)
    counted = {round_id for round_id, _start, _like in kept}
    answers = answer_counts(rubric_id, [r.pk for r in targets if r.pk not in counted])
    churns = _churns(targets, population, scores)
    now = timezone.now()
    aggregates = _round_aggregates(
        rubric_id,
        targets,
        population,
        lambda r: shapes[r.rubric_version_id],
        scores,
        answers,
        churns,
        now=now,
        kept=kept,
    )
    if comparison.rule_version_id is not None and targets:
        rule_shape = shapes[comparison.rule_version_id]
        # rounds whose like-for-like statistics are kept are not scored again, nor those
        # scored as they were scored (`liked`)
        rescored = [r.pk for r in targets if "n" not in kept.get((r.pk, None, True), {})]
        aggregates += _round_aggregates(
            rubric_id,
            targets,
            population,
            lambda r: rule_shape,
            {
                **like_for_like_scores(
                    rule_shape, comparison, [pk for pk in rescored if pk not in liked]
                ),
                **{round_id: rows for round_id, rows in liked.items() if round_id in rescored},
            },
            _common_answers(answers, comparison),
            churns,
            now=now,
            comparison=comparison,
            kept=kept,
        )
    return aggregates


def _round_aggregates(
    rubric_id: int,
    targets: list[SurveyRound],
    population: Populations,
    shape_of,
    scores: dict[int, list[ScoredProduct]],
    answers: dict[int, dict],
    churns: dict[int, dict],
    *,
    now,
    comparison: Comparison | None = None,
    kept: dict[AggregateKey, dict],
) -> list[RoundAggregate]:
    """One kind of aggregates (scored, or like-for-like with `comparison`) of the rounds."""
    extra = {}
    if comparison is not None:
        extra = {"like_for_like": True, "comparison": comparison.stored}
    like = comparison is not None
    aggregates = []
    runs = population.runs
    for survey_round in targets:
        shape, rows = shape_of(survey_round), scores.get(survey_round.pk, [])
        groups = answers.get(survey_round.pk, {})

        def answer_fields(
            start: int | None, counted, round_id=survey_round.pk, groups=groups
        ) -> dict:
            known = kept.get((round_id, start, like))
            if known is None:
                return _answer_fields(groups, counted)
            return {name: known[name] for name in ("question_means", "area_not_applicable")}

        starts = population.starts(survey_round)
        stored = [kept.get((survey_round.pk, start, like), {}) for start in (*starts, None)]
        if all("n" in fields for fields in stored):  # kept statistics (like-for-like)
            *summaries, everyone = [
                {name: fields[name] for name in KEPT_LIKE_FOR_LIKE} for fields in stored
            ]
        else:
            rank = {start: i for i, start in enumerate(starts)}
            # the cohort from each start, oldest first, each containing the one before; then
            # the products in none of them: all products is the last cumulative summary
            groups_by_start: list[list[ScoredProduct]] = [[] for _ in range(len(starts) + 1)]
            for row in rows:
                groups_by_start[rank.get(runs.get(row.product_id), len(starts))].append(row)
            *summaries, everyone = cumulative_summaries(shape, groups_by_start)
        aggregates.append(
            RoundAggregate(
                round=survey_round,
                rubric_id=rubric_id,
                population=RoundAggregate.Population.ALL,
                computed_at=now,
                churn=churns.get(survey_round.pk, {}),
                **answer_fields(None, lambda since: True),
                **_kept_areas(everyone, comparison),
                **extra,
            )
        )
        for start, summary in zip(starts, summaries, strict=True):
            aggregates.append(
                RoundAggregate(
                    round=survey_round,
                    rubric_id=rubric_id,
                    population=RoundAggregate.Population.COHORT,
                    cohort_from_id=start,
                    computed_at=now,
                    **answer_fields(
                        start, lambda since, start=start: population.in_cohort(since, start)
                    ),
                    **_kept_areas(summary, comparison),
                    **extra,
                )
            )
    return aggregates


def _kept_areas(summary: dict, comparison: Comparison | None) -> dict:
    """A like-for-like summary without the areas that have no common question."""
    if comparison is None:
        return summary
    return {
        **summary,
        "area_means": {k: v for k, v in summary["area_means"].items() if k in comparison.areas},
        "binding_counts": {
            k: v for k, v in summary["binding_counts"].items() if k in comparison.areas
        },
    }


def _common_answers(answers: dict[int, dict], comparison: Comparison) -> dict[int, dict]:
    """answer_counts() restricted to the common questions (areas recounted from them)."""
    area_of = {key: area for area, keys in comparison.areas.items() for key in keys}
    restricted: dict[int, dict] = {}
    for round_id, by_since in answers.items():
        for since, (by_question, _by_area) in by_since.items():
            questions = {k: v for k, v in by_question.items() if k in area_of}
            areas: dict[str, list[int]] = {}
            for key, (answered, not_applicable, _total) in questions.items():
                tally = areas.setdefault(area_of[key], [0, 0])
                tally[0] += answered
                tally[1] += not_applicable
            restricted.setdefault(round_id, {})[since] = (questions, areas)
    return restricted


# Per round and scored response, the answers to the common questions of each area (answered,
# N/A, sum; three columns per area, filtered by the area's question ids): what like-for-like
# scores, one row per response in one pass over the answers of the rounds.
LIKE_FOR_LIKE_SQL = """
SELECT s.round_id, s.product_id, {columns}
  FROM scoring_responsescore s
  JOIN surveys_answer a ON a.response_id = s.response_id
 WHERE s.overall IS NOT NULL AND s.round_id IN ({rounds}) AND a.question_id IN ({questions})
 GROUP BY s.round_id, s.response_id, s.product_id
"""


# The same per round and scored response, from the counts of the compared questions'
# answers that the area tallies keep (PostgreSQL, while the compared questions are those of
# the comparison): a row per response and area rather than per answer.
KEPT_COMMON_SQL = """
SELECT s.round_id, s.product_id, {columns}
  FROM scoring_responsescore s
  JOIN scoring_areatally t ON t.response_id = s.response_id
 WHERE s.overall IS NOT NULL AND s.round_id IN ({rounds}) AND t.area_id = ANY(%s)
 GROUP BY s.round_id, s.response_id, s.product_id
"""
COMPARED_SQL = """
SELECT c.question_id
  FROM scoring_comparedquestion c
  JOIN rubrics_question q ON q.id = c.question_id
 WHERE q.version_id = ANY(%s)
"""


def _kept_common_tallies(
    comparison: Comparison, round_ids: list[int]
) -> dict[int, list[tuple]] | None:
    """Each round's rows for score_common_tallies, read from the area tallies, when they
    count the compared questions of `comparison` (ComparedQuestion, kept by
    tallies.keep_compared); None otherwise (SQLite, or the list not kept yet)."""
    if connection.vendor != "postgresql":
        return None
    with transaction.atomic(), connection.cursor() as cursor:
        # the list cannot change before this transaction ends (keep_compared waits)
        cursor.execute("LOCK TABLE scoring_comparedquestion IN SHARE MODE")
        cursor.execute(COMPARED_SQL, [list(comparison.ids_by_version)])
        if {question_id for (question_id,) in cursor.fetchall()} != set(comparison.question_ids):
            return None
        # each comparison area's ids in the versions (an area key names one per version)
        area_ids: dict[str, list[int]] = {area: [] for area in comparison.areas}
        for area_id, key in Area.objects.filter(
            version_id__in=comparison.ids_by_version, key__in=area_ids
        ).values_list("pk", "key"):
            area_ids[key].append(area_id)
        columns, params = [], []
        for area in comparison.areas:
            for column in ("common_answered", "common_not_applicable", "common_total"):
                columns.append(f"coalesce(max(t.{column}) FILTER (WHERE t.area_id = ANY(%s)), 0)")
                params.append(area_ids[area])
        cursor.execute(
            KEPT_COMMON_SQL.format(
                columns=", ".join(columns), rounds=", ".join(["%s"] * len(round_ids))
            ),
            [*params, *round_ids, [i for ids in area_ids.values() for i in ids]],
        )
        rows = cursor.fetchall()
    by_round: dict[int, list[tuple]] = {round_id: [] for round_id in round_ids}
    for round_id, *row in rows:
        by_round[round_id].append(row)
    return by_round


def like_for_like_scores(
    shape: selectors.VersionShape, comparison: Comparison, round_ids: list[int]
) -> dict[int, list[ScoredProduct]]:
    """Each round's scored responses rescored on the common questions only, with the rule of
    `shape` (the newest version in view): each area scored by rules.py on the tally of its
    common questions (N/A policy included) and, for a sum, scaled to the area's question count
    in that version (rules.scaled_area_score), then combined by the overall rule; areas
    without a common question are left out. One query (of the area tallies' counts of the
    compared questions on PostgreSQL, when those are this comparison's; else of the answers);
    each distinct set of tallies is scored once."""
    scores: dict[int, list[ScoredProduct]] = {round_id: [] for round_id in round_ids}
    if not round_ids or not comparison.question_ids:
        return scores
    kept = _kept_common_tallies(comparison, round_ids)
    if kept is not None:
        known = TallyScores([{} for _area in comparison.areas], {})
        return {
            round_id: score_common_tallies(shape, comparison, rows, known)
            for round_id, rows in kept.items()
        }
    exact = connection.vendor == "postgresql"
    total = selectors.EXACT_SUM if exact else selectors.INTEGER_SUM
    ids_of: dict[str, list[int]] = {area: [] for area in comparison.areas}
    for question_id, area in comparison.area_of.items():
        ids_of[area].append(int(question_id))
    columns = []
    for area in comparison.areas:
        where = f"FILTER (WHERE a.question_id IN ({', '.join(map(str, ids_of[area]))}))"
        columns += [
            f"COUNT(a.value) {where}",
            f"COUNT(*) FILTER (WHERE a.not_applicable AND a.question_id IN "
            f"({', '.join(map(str, ids_of[area]))}))",
            f"{total} {where}",
        ]
    sql = LIKE_FOR_LIKE_SQL.format(
        columns=", ".join(columns),
        rounds=", ".join(["%s"] * len(round_ids)),
        questions=", ".join(["%s"] * len(comparison.question_ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*round_ids, *comparison.question_ids])
        rows = cursor.fetchall()
    by_round: dict[int, list[tuple]] = {round_id: [] for round_id in round_ids}
    for round_id, *row in rows:
        by_round[round_id].append(row)
    known = TallyScores([{} for _area in comparison.areas], {})
    return {
        round_id: score_common_tallies(shape, comparison, rows, known)
        for round_id, rows in by_round.items()
    }


class LikeScores(NamedTuple):
    """A round's scored responses' like-for-like scores, taken as it was scored."""

    version_id: int  # the round's version
    question_ids: list[int]  # its questions compared
    areas: list[str]  # the comparison's areas
    basis: str  # the comparison's basis (scoring_basis of the version whose rule scored)
    rows: list[ScoredProduct]


class TallyScores(NamedTuple):
    """What score_common_tallies has scored, to share between the rounds of one comparison
    and rule: each area's distinct tallies, and the distinct combinations of their scores."""

    areas: list[dict[tuple, tuple[bool, Decimal | None]]]
    combined: dict[tuple, tuple | None]


def score_common_tallies(
    shape: selectors.VersionShape,
    comparison: Comparison,
    rows: list[tuple],
    known: TallyScores | None = None,
) -> list[ScoredProduct]:
    """Like-for-like scores of (product id, answered, N/A, sum of each common area) rows
    (see like_for_like_scores); each distinct area tally is scored once, each distinct
    combination combined once (`known`: those of other rounds of the same comparison and
    rule)."""
    scores: list[ScoredProduct] = []
    exact = connection.vendor == "postgresql"
    areas = list(comparison.areas)
    sizes = [len(comparison.areas[area]) for area in areas]
    rule, band_ids, area_ids = shape.rule, shape.band_ids, shape.area_ids
    full = {area: shape.questions_per_area.get(area, 0) or 1 for area in areas}
    # An area's tally has few distinct values in a round, a response's combination of them
    # many: each distinct area tally is scored once, each distinct combination combined once.
    if known is None:
        known = TallyScores([{} for _area in areas], {})
    area_scores_of, combined = known
    for product_id, *counts in rows:
        slots = []
        for i, area in enumerate(areas):
            signature = tuple(counts[3 * i : 3 * i + 3])
            scored_area = area_scores_of[i].get(signature)
            if scored_area is None:
                answered, not_applicable, summed = signature
                summed = Decimal(summed or 0)
                tally = rules.AreaTally(
                    sizes[i],
                    answered,
                    not_applicable,
                    summed if exact else summed / selectors.TEN_THOUSAND,
                )
                scored_area = area_scores_of[i][signature] = (
                    rules.is_area_complete(tally),
                    rules.scaled_area_score(rule, tally, full[area]),
                )
            slots.append(scored_area)
        signature = tuple(slots)
        if signature not in combined:
            result = None
            if all(complete for complete, _score in slots):
                result = rules.combine(
                    rule, {area: score for area, (_c, score) in zip(areas, slots, strict=True)}
                )
            combined[signature] = (
                None
                if result is None
                else (
                    result.overall,
                    {k: None if v is None else str(v) for k, v in result.areas.items()},
                    None if result.band is None else band_ids[result.band],
                    area_ids.get(result.binding_area),
                )
            )
        found = combined[signature]
        if found is None:  # cannot happen for a scored response; never guess
            continue
        overall, area_scores, band_id, binding_id = found
        scores.append(ScoredProduct(product_id, overall, area_scores, band_id, binding_id))
    return scores


def _churns(
    targets: list[SurveyRound], population: Populations, scores: dict[int, list[ScoredProduct]]
) -> dict[int, dict]:
    """Each target round's churn against the defining round before it (none for the first),
    reading the scored products of the rounds compared that are not targets (one query) and
    the retired products (one query)."""
    previous = {r.pk: population.previous(r) for r in targets}
    wanted = {p for p in previous.values() if p is not None}
    if not wanted:
        return {}
    scored = {
        round_id: {row.product_id for row in rows if row.overall is not None}
        for round_id, rows in scores.items()
    }
    missing = wanted - scored.keys()
    if missing:
        for round_id in missing:
            scored[round_id] = set()
        for round_id, product_id in ResponseScore.objects.filter(
            round_id__in=missing, overall__isnull=False
        ).values_list("round_id", "product_id"):
            scored[round_id].add(product_id)
    retired_on = dict(
        Product.objects.filter(retired_at__isnull=False).values_list("pk", "retired_at")
    )
    keys = {r.pk: r.key for r in population.rounds}
    churns = {}
    for survey_round in targets:
        before = previous[survey_round.pk]
        if before is None:
            continue
        opened = timezone.localdate(survey_round.opens_at)
        retired = {p for p, day in retired_on.items() if day <= opened}
        churns[survey_round.pk] = {
            "previous": keys[before],
            **cohort.churn(scored[before], scored[survey_round.pk], retired),
        }
    return churns


def _answer_fields(groups: dict, counted) -> dict:
    """The question means and area N/A counts of the answers of the products `counted` (by
    the start of their cohort run) from a round's answer counts."""
    questions: dict[str, list] = {}
    areas: dict[str, list[int]] = {}
    for since, (by_question, by_area) in groups.items():
        if not counted(since):
            continue
        for key, (answered, not_applicable, total) in by_question.items():
            tally = questions.setdefault(key, [0, 0, Decimal(0)])
            tally[0] += answered
            tally[1] += not_applicable
            tally[2] += total
        for key, (answered, not_applicable) in by_area.items():
            tally = areas.setdefault(key, [0, 0])
            tally[0] += answered
            tally[1] += not_applicable
    return {
        "question_means": {
            key: {
                "mean": str(quantize(total / answered)) if answered else None,
                "answered": answered,
                "na": not_applicable,
            }
            for key, (answered, not_applicable, total) in questions.items()
        },
        "area_not_applicable": {
            key: {"answered": answered, "na": not_applicable}
            for key, (answered, not_applicable) in areas.items()
        },
    }


# Per round, question and start of the product's cohort run (NULL: in no cohort), over the
# scored responses: answered and N/A counts and the sum of the values, for the question
# heatmap and the N/A shares of every population in one pass over the answers. Grouped by
# the question's id, not its key and area: two joins fewer on the largest table.
ANSWER_COUNTS_SQL = """
SELECT s.round_id, a.question_id, cm.since_id, COUNT(a.value),
       COUNT(*) FILTER (WHERE a.not_applicable), {total}
  FROM scoring_responsescore s
  JOIN surveys_answer a ON a.response_id = s.response_id
  LEFT JOIN scoring_cohortmember cm ON cm.product_id = s.product_id AND cm.rubric_id = %s
 WHERE s.overall IS NOT NULL AND s.round_id IN ({rounds})
 GROUP BY s.round_id, a.question_id, cm.since_id
"""


def answer_counts(rubric_id: int, round_ids: list[int]) -> dict[int, dict]:
    """round → start of the cohort run (None: in no cohort) → (question key → [answered,
    N/A, sum], area key → [answered, N/A]), over the scored responses, in two queries. Run
    after the cohort is settled, in the transaction that stores the aggregates."""
    if not round_ids:
        return {}
    exact = connection.vendor == "postgresql"
    sql = ANSWER_COUNTS_SQL.format(
        total=selectors.EXACT_SUM if exact else selectors.INTEGER_SUM,
        rounds=", ".join(["%s"] * len(round_ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [rubric_id, *round_ids])
        rows = cursor.fetchall()
    keys = {
        pk: (key, area)
        for pk, key, area in Question.objects.filter(version__rubric_id=rubric_id).values_list(
            "pk", "key", "area__key"
        )
    }
    counts: dict[int, dict] = {}
    for round_id, question_id, since, answered, not_applicable, total in rows:
        total = Decimal(total or 0) if exact else Decimal(total or 0) / selectors.TEN_THOUSAND
        question, area = keys[question_id]
        by_question, by_area = counts.setdefault(round_id, {}).setdefault(since, ({}, {}))
        tally = by_question.setdefault(question, [0, 0, Decimal(0)])
        tally[0] += answered
        tally[1] += not_applicable
        tally[2] += total
        tally = by_area.setdefault(area, [0, 0])
        tally[0] += answered
        tally[1] += not_applicable
    return counts


def scored_products(
    rounds: list[SurveyRound], fresh: dict[int, list[ScoredProduct]]
) -> dict[int, list[ScoredProduct]]:
    """Each round's stored scores (those in `fresh` are not read again), in one query."""
    scores: dict[int, list[ScoredProduct]] = {r.pk: list(fresh.get(r.pk, ())) for r in rounds}
    to_read = [r.pk for r in rounds if r.pk not in fresh]
    if to_read:
        for round_id, *row in ResponseScore.objects.filter(round_id__in=to_read).values_list(
            "round_id", *SCORED_PRODUCT_FIELDS
        ):
            scores[round_id].append(ScoredProduct(*row))
    return scores


def summarize(shape: selectors.VersionShape, rows: list[ScoredProduct]) -> dict:
    """Statistics of a population's scores: n, mean, quartiles, area means, band and
    binding-area counts (the fields of a RoundAggregate)."""
    return cumulative_summaries(shape, [rows])[0]


def cumulative_summaries(
    shape: selectors.VersionShape, groups: list[list[ScoredProduct]]
) -> list[dict]:
    """summarize() of groups[0], of groups[0] + groups[1], and so on: the cohorts from each
    start round of a round, oldest start first, each containing the next (a later start
    admits the products whose run began later). Sums and counts carry over from one to the
    next, so each row is read once."""
    overall: list[Decimal] = []
    overall_sum = Decimal(0)
    # area key → score text → responses: a round has few distinct area scores, so each is
    # parsed once per summary rather than once per response (Counter counts in C)
    area_scores: dict[str, Counter[str | None]] = {key: Counter() for key in shape.area_ids}
    bands: Counter[int | None] = Counter()
    binding: Counter[int | None] = Counter()
    keys = shape.area_keys_by_id
    decimals: dict[str, Decimal] = {}
    summaries = []
    for rows in groups:
        scored = [row.overall for row in rows if row.overall is not None]
        overall.extend(scored)
        overall.sort()  # sorted runs merge in linear time
        overall_sum += sum(scored, Decimal(0))
        scores = [row.area_scores for row in rows]
        for key, counted in area_scores.items():
            counted.update(map(dict.get, scores, repeat(key)))
        bands.update(map(BAND_ID, rows))
        binding.update(map(BINDING_AREA_ID, rows))
        area_values: dict[str, list] = {key: [0, Decimal(0)] for key in shape.area_ids}
        for key, counted in area_scores.items():
            tally = area_values[key]
            for value, count in counted.items():
                if value is not None:
                    if value not in decimals:
                        decimals[value] = Decimal(value)
                    tally[0] += count
                    tally[1] += count * decimals[value]
        summaries.append(
            {
                **describe(overall, total=overall_sum, presorted=True),
                "area_means": {
                    key: str(quantize(total / n)) if n else None
                    for key, (n, total) in area_values.items()
                },
                "band_counts": [
                    {
                        "order": band.order,
                        "label_en": band.label_en,
                        "label_ja": band.label_ja,
                        "count": bands.get(band.pk, 0),
                    }
                    for band in shape.bands
                ],
                "binding_counts": {keys[area_id]: binding.get(area_id, 0) for area_id in keys},
            }
        )
    return summaries


def not_applicable_share(counts: dict | None) -> Decimal | None:
    """The share of N/A among an area's answers (stored counts: {"answered", "na"}), to 4
    places; None without answers."""
    if not counts:
        return None
    total = counts["answered"] + counts["na"]
    return quantize(Decimal(counts["na"]) / total) if total else None
