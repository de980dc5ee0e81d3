"""Round aggregates: per round and population (all products, the continuous cohort) the
statistics the dashboards draw, rebuilt from the stored scores whenever they change."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from apps.scoring import cohort, selectors
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.signals import aggregates_changed
from apps.scoring.statistics import describe, mean
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
    """Rebuild the `all` and `cohort` aggregates of a rubric's rounds (or of some of them).

    When the cohort has changed (a round closed, a closed round was rescored), every round's
    cohort point changes, so every round is rebuilt; when neither the cohort nor the rounds'
    scores changed (`scores_changed=False`), existing aggregates are kept. `fresh` holds
    scores just computed, to save reading them back.
    """
    rounds = cohort.rubric_rounds(rubric_id)
    with transaction.atomic():
        members, checked, changed = cohort.update_cohort(
            rubric_id=rubric_id, rounds=rounds, force=cohort_may_change
        )
        if changed:
            round_ids, scores_changed = None, True
        elif not checked and not scores_changed and round_ids is not None:
            kept = RoundAggregate.objects.filter(round_id__in=round_ids).count()
            if kept == len(round_ids) * len(RoundAggregate.Population):
                return 0
        targets = [r for r in rounds if round_ids is None or r.pk in round_ids]
        aggregates = _build(rubric_id, targets, members, known, fresh or {})
        RoundAggregate.objects.filter(round__in=targets).delete()
        RoundAggregate.objects.bulk_create(aggregates)
        transaction.on_commit(
            lambda: aggregates_changed.send(sender=RoundAggregate, rubric_id=rubric_id)
        )
    return len(aggregates)


def _build(
    rubric_id: int,
    targets: list[SurveyRound],
    members: set[int],
    known: selectors.VersionShape | None,
    fresh: dict[int, list[ScoredProduct]],
) -> list[RoundAggregate]:
    """Both populations' aggregates of each target round (unsaved)."""
    shapes = {known.version_id: known} if known else {}
    for version_id in {r.rubric_version_id for r in targets} - shapes.keys():
        shapes[version_id] = selectors.version_shape(version_id)
    scores = scored_products(targets, fresh)
    questions = selectors.question_means(rubric_id, [r.pk for r in targets])
    now = timezone.now()
    aggregates = []
    for survey_round in targets:
        shape, rows = shapes[survey_round.rubric_version_id], scores[survey_round.pk]
        for population, scored in (
            (RoundAggregate.Population.ALL, rows),
            (RoundAggregate.Population.COHORT, [r for r in rows if r.product_id in members]),
        ):
            aggregates.append(
                RoundAggregate(
                    round=survey_round,
                    rubric_id=rubric_id,
                    population=population,
                    computed_at=now,
                    question_means=questions.get((survey_round.pk, population), {}),
                    **summarize(shape, scored),
                )
            )
    return aggregates


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
    overall = [row.overall for row in rows if row.overall is not None]
    area_values: dict[str, list[Decimal]] = {key: [] for key in shape.area_ids}
    for row in rows:
        for key, value in row.area_scores.items():
            if value is not None and key in area_values:
                area_values[key].append(Decimal(value))
    bands = Counter(row.band_id for row in rows if row.band_id is not None)
    binding = Counter(row.binding_area_id for row in rows if row.binding_area_id is not None)
    keys = shape.area_keys_by_id
    return {
        **describe(overall),
        "area_means": {key: str(mean(v)) if v else None for key, v in area_values.items()},
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
