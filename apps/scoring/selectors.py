"""Read queries for scoring: a version's rule and shape, answer tallies, the cohort."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count

from apps.rubrics.models import Area, Band, RubricVersion, ScaleLevel
from apps.scoring.models import CohortMember, ResponseScore
from apps.scoring.rules import AreaTally, Rule
from apps.surveys.models import SurveyRound


@dataclass(frozen=True)
class VersionShape:
    """What scoring needs to know about a rubric version, read in three queries."""

    version_id: int
    rule: Rule
    area_ids: dict[str, int]  # key → id, in area order
    questions_per_area: dict[str, int]  # key → number of questions
    band_ids: tuple[int, ...]  # band index → id
    bands: tuple[Band, ...]
    top_value: Decimal = Decimal(1)  # the scale's highest level

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
        top_value=ScaleLevel.objects.filter(version_id=version_id)
        .order_by("-order")
        .values_list("value", flat=True)
        .first()
        or Decimal(1),
    )


# The same GROUP BY as a hand-written query would do: the scoring floor. Written in SQL that
# PostgreSQL and SQLite both run, and read with a plain cursor (no ORM row overhead). Values
# are summed as integer ten-thousandths: SQLite would sum decimals as floats.
TEN_THOUSAND = Decimal(10000)
TALLY_SQL = """
SELECT a.response_id, q.area_id, COUNT(a.value),
       SUM(CASE WHEN a.not_applicable THEN 1 ELSE 0 END),
       SUM(CAST(ROUND(a.value * 10000) AS BIGINT))
  FROM surveys_answer a
  JOIN surveys_response r ON r.id = a.response_id
  JOIN rubrics_question q ON q.id = a.question_id
 WHERE r.status = 'submitted' AND {where}
 GROUP BY a.response_id, q.area_id
"""


def answer_tallies(
    shape: VersionShape, *, round_id: int | None = None, response_id: int | None = None
) -> dict[int, dict[str, AreaTally]]:
    """Per submitted response and area: answered count, N/A count and sum of the values."""
    where, params = ("r.round_id = %s", [round_id]) if round_id else ("r.id = %s", [response_id])
    with connection.cursor() as cursor:
        cursor.execute(TALLY_SQL.format(where=where), params)
        rows = cursor.fetchall()
    keys = shape.area_keys_by_id
    questions = shape.questions_per_area
    tallies: dict[int, dict[str, AreaTally]] = defaultdict(dict)
    for response_id_, area_id, answered, not_applicable, total in rows:
        key = keys[area_id]
        tallies[response_id_][key] = AreaTally(
            questions[key], answered, int(not_applicable), Decimal(total or 0) / TEN_THOUSAND
        )
    # In the rubric's area order (SQL returns groups in any order): ties bind the first area.
    return {
        response: {key: found.get(key) or AreaTally(count) for key, count in questions.items()}
        for response, found in tallies.items()
    }


def rubric_rounds(rubric_id: int) -> list[SurveyRound]:
    """The rubric's rounds that have opened, oldest first."""
    return list(
        SurveyRound.objects.filter(rubric_version__rubric_id=rubric_id)
        .exclude(state=SurveyRound.State.PLANNED)
        .order_by("opens_at", "key")
    )


def defining_round_ids(rounds: list[SurveyRound]) -> list[int]:
    """The rounds that decide the cohort: the closed ones (or all, while none has closed)."""
    closed = [r.pk for r in rounds if r.state == SurveyRound.State.CLOSED]
    return closed or [r.pk for r in rounds]


def cohort_product_ids(defining: list[int]) -> set[int]:
    """Products with a scored response in every defining round, from the first on: the same
    products at every point, so the trend shows improvement and not membership change."""
    if not defining:
        return set()
    rows = (
        ResponseScore.objects.filter(round_id__in=defining, overall__isnull=False)
        .values("product_id")
        .annotate(n=Count("pk"))  # one score per product and round: no DISTINCT needed
        .filter(n=len(defining))
        .values_list("product_id", flat=True)
    )
    return set(rows)


def stored_cohort(rubric_id: int) -> set[int]:
    """The cohort as last stored for the rubric."""
    return set(
        CohortMember.objects.filter(rubric_id=rubric_id).values_list("product_id", flat=True)
    )
