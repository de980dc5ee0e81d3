"""Read queries for scoring: a version's rule and shape, answer tallies, the cohort."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from apps.rubrics.models import Area, Band, RubricVersion
from apps.scoring.models import ResponseScore
from apps.scoring.rules import AreaTally, Rule
from apps.surveys.models import Answer, SurveyRound


@dataclass(frozen=True)
class VersionShape:
    """What scoring needs to know about a rubric version, read in three queries."""

    version_id: int
    rule: Rule
    area_ids: dict[str, int]  # key → id, in area order
    questions_per_area: dict[str, int]  # key → number of questions
    band_ids: tuple[int, ...]  # band index → id
    bands: tuple[Band, ...]

    @property
    def area_keys_by_id(self) -> dict[int, str]:
        return {area_id: key for key, area_id in self.area_ids.items()}


def version_shape(version_id: int) -> VersionShape:
    """The rule, areas (with question counts) and bands of a version."""
    version = RubricVersion.objects.get(pk=version_id)
    areas = list(
        Area.objects.filter(version_id=version_id)
        .annotate(n_questions=Count("questions"))
        .order_by("order")
    )
    bands = tuple(Band.objects.filter(version_id=version_id).order_by("order"))
    return VersionShape(
        version_id=version_id,
        rule=Rule(
            area_aggregation=version.area_aggregation,
            not_applicable=version.not_applicable_policy,
            overall=version.overall_rule,
            band_maxima=tuple(band.upper_bound for band in bands),
        ),
        area_ids={area.key: area.pk for area in areas},
        questions_per_area={area.key: area.n_questions for area in areas},
        band_ids=tuple(band.pk for band in bands),
        bands=bands,
    )


def answer_tallies(shape: VersionShape, **response_filter) -> dict[int, dict[str, AreaTally]]:
    """Per response and area: answered count, N/A count and sum of values, grouped in SQL."""
    rows = (
        Answer.objects.filter(**{f"response__{k}": v for k, v in response_filter.items()})
        .values_list("response_id", "question__area_id")
        .annotate(
            answered=Count("value"),
            not_applicable=Count("pk", filter=Q(not_applicable=True)),
            total=Sum("value"),
        )
        .order_by()
    )
    keys = shape.area_keys_by_id
    tallies: dict[int, dict[str, AreaTally]] = defaultdict(dict)
    for response_id, area_id, answered, not_applicable, total in rows:
        tallies[response_id][keys[area_id]] = AreaTally(
            questions=shape.questions_per_area[keys[area_id]],
            answered=answered,
            not_applicable=not_applicable,
            total=total or Decimal(0),
        )
    for per_area in tallies.values():
        for key, questions in shape.questions_per_area.items():
            per_area.setdefault(key, AreaTally(questions=questions))
    return tallies


def rubric_rounds(rubric_id: int) -> list[SurveyRound]:
    """The rubric's rounds that have opened, oldest first."""
    return list(
        SurveyRound.objects.filter(rubric_version__rubric_id=rubric_id)
        .exclude(state=SurveyRound.State.PLANNED)
        .order_by("opens_at", "key")
    )


def cohort_product_ids(rounds: list[SurveyRound]) -> set[int]:
    """Products with a scored response in every closed round of the list (or in every round,
    while none has closed yet), from the first on: the same products at every point."""
    closed = [r.pk for r in rounds if r.state == SurveyRound.State.CLOSED]
    defining = closed or [r.pk for r in rounds]
    if not defining:
        return set()
    rows = (
        ResponseScore.objects.filter(round_id__in=defining, overall__isnull=False)
        .values("product_id")
        .annotate(n=Count("round_id", distinct=True))
        .filter(n=len(defining))
        .values_list("product_id", flat=True)
    )
    return set(rows)
