"""Round aggregates: per round and population (all products, the continuous cohort from each
possible start round) the statistics the dashboards draw, the N/A counts per area and the
churn, rebuilt from the stored scores whenever they change."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from apps.products.models import Product
from apps.rubrics.models import Question
from apps.scoring import cohort, selectors
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


def refresh_aggregates(
    *,
    rubric_id: int,
    round_ids: list[int] | None = None,
    known: selectors.VersionShape | None = None,
    fresh: dict[int, list[ScoredProduct]] | None = None,
    scores_changed: bool = True,
    cohort_may_change: bool = True,
) -> int:
    """Rebuild the `all` aggregates and the cohort aggregates of every start round of a
    rubric's rounds (or of some of them).

    When the cohort has changed (a round closed, a closed round was rescored), every round's
    cohort points change, so every round is rebuilt; when neither the cohort nor the rounds'
    scores changed (`scores_changed=False`), existing aggregates are kept. A round's churn
    compares it with the defining round before it, so rescoring a round rebuilds the rounds
    after it too. `fresh` holds scores just computed, to save reading them back.
    """
    rounds = cohort.rubric_rounds(rubric_id)
    with transaction.atomic():
        runs, defining, checked, changed = cohort.update_cohort(
            rubric_id=rubric_id, rounds=rounds, force=cohort_may_change
        )
        if changed:
            round_ids, scores_changed = None, True
        elif not checked and not scores_changed and round_ids is not None:
            kept = RoundAggregate.objects.filter(
                round_id__in=round_ids, population=RoundAggregate.Population.ALL
            ).count()
            if kept == len(round_ids):
                return 0
        if round_ids is not None:
            positions = [i for i, r in enumerate(rounds) if r.pk in round_ids]
            first = min(positions, default=len(rounds))
            round_ids = [r.pk for r in rounds[first:]]
        targets = [r for r in rounds if round_ids is None or r.pk in round_ids]
        population = Populations(rounds, defining, runs)
        aggregates = _build(rubric_id, targets, population, known, fresh or {})
        RoundAggregate.objects.filter(round__in=targets).delete()
        RoundAggregate.objects.bulk_create(aggregates)
        transaction.on_commit(
            lambda: aggregates_changed.send(sender=RoundAggregate, rubric_id=rubric_id)
        )
    return len(aggregates)


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


def _build(
    rubric_id: int,
    targets: list[SurveyRound],
    population: Populations,
    known: selectors.VersionShape | None,
    fresh: dict[int, list[ScoredProduct]],
) -> list[RoundAggregate]:
    """The aggregates of each target round (unsaved): all products, and the cohort from each
    start round at or before it."""
    shapes = {known.version_id: known} if known else {}
    for version_id in {r.rubric_version_id for r in targets} - shapes.keys():
        shapes[version_id] = selectors.version_shape(version_id)
    scores = scored_products(targets, fresh)
    answers = answer_counts(rubric_id, [r.pk for r in targets])
    churns = _churns(targets, population, scores)
    now = timezone.now()
    aggregates = []
    runs = population.runs
    for survey_round in targets:
        shape, rows = shapes[survey_round.rubric_version_id], scores[survey_round.pk]
        groups = answers.get(survey_round.pk, {})
        aggregates.append(
            RoundAggregate(
                round=survey_round,
                rubric_id=rubric_id,
                population=RoundAggregate.Population.ALL,
                computed_at=now,
                churn=churns.get(survey_round.pk, {}),
                **_answer_fields(groups, lambda since: True),
                **summarize(shape, rows),
            )
        )
        starts = population.starts(survey_round)
        rank = {start: i for i, start in enumerate(starts)}
        groups_by_start: list[list[ScoredProduct]] = [[] for _start in starts]
        for row in rows:
            since = runs.get(row.product_id)
            if since in rank:
                groups_by_start[rank[since]].append(row)
        summaries = cumulative_summaries(shape, groups_by_start)
        for start, summary in zip(starts, summaries, strict=True):
            aggregates.append(
                RoundAggregate(
                    round=survey_round,
                    rubric_id=rubric_id,
                    population=RoundAggregate.Population.COHORT,
                    cohort_from_id=start,
                    computed_at=now,
                    **_answer_fields(
                        groups,
                        lambda since, start=start: population.in_cohort(since, start),
                    ),
                    **summary,
                )
            )
    return aggregates


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
    area_values: dict[str, list] = {key: [0, Decimal(0)] for key in shape.area_ids}
    bands: Counter[int] = Counter()
    binding: Counter[int] = Counter()
    keys = shape.area_keys_by_id
    summaries = []
    for rows in groups:
        for row in rows:
            if row.overall is not None:
                overall.append(row.overall)
            for key, value in row.area_scores.items():
                if value is not None and key in area_values:
                    tally = area_values[key]
                    tally[0] += 1
                    tally[1] += Decimal(value)
            if row.band_id is not None:
                bands[row.band_id] += 1
            if row.binding_area_id is not None:
                binding[row.binding_area_id] += 1
        summaries.append(
            {
                **describe(overall),
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
