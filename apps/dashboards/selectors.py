"""Read the stored round aggregates for the dashboards (never the answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from apps.rubrics.models import Rubric
from apps.scoring.models import RoundAggregate


@dataclass(frozen=True)
class Point:
    """One round's statistics for one population."""

    round: str
    version: str
    n: int
    mean: Decimal | None
    median: Decimal | None
    p25: Decimal | None
    p75: Decimal | None
    area_means: dict[str, Decimal | None] = field(default_factory=dict)
    bands: list[dict] = field(default_factory=list)
    binding: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Trend:
    rubric: Rubric
    all: list[Point]
    cohort: list[Point]

    @property
    def area_keys(self) -> list[str]:
        """Areas in the order they first appear over the rounds."""
        return list(dict.fromkeys(key for point in self.all for key in point.area_means))


def rubrics_with_rounds() -> list[Rubric]:
    """Rubrics that have aggregates to show, for the selector."""
    return list(
        Rubric.objects.filter(versions__rounds__aggregates__isnull=False)
        .distinct()
        .order_by("slug")
    )


def rubric_trend(rubric: Rubric) -> Trend:
    """Both populations' points, oldest round first, in one query."""
    rows = (
        RoundAggregate.objects.filter(rubric=rubric)
        .select_related("round__rubric_version")
        .order_by("round__opens_at", "round__key")
    )
    points: dict[str, list[Point]] = {"all": [], "cohort": []}
    for row in rows:
        points[row.population].append(
            Point(
                round=row.round.key,
                version=row.round.rubric_version.label,
                n=row.n,
                mean=row.mean,
                median=row.median,
                p25=row.p25,
                p75=row.p75,
                area_means={
                    key: None if value is None else Decimal(value)
                    for key, value in row.area_means.items()
                },
                bands=row.band_counts,
                binding=row.binding_counts,
            )
        )
    return Trend(rubric=rubric, all=points["all"], cohort=points["cohort"])
