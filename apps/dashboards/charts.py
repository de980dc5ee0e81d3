"""Cached reads: the organisation overview's charts, built from the stored aggregates and
cached until the aggregates change; warmed by a task after each scoring job (requested in
apps.py) so a viewer rarely builds them."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils import translation

from apps.dashboards import figures, selectors
from apps.rubrics.models import Area, Rubric, ScaleLevel

CACHE_SECONDS = 24 * 3600
# Part of the cache key: raise it when the cached value's shape changes, so a deploy never
# reads values cached by the code before it.
CACHE_FORMAT = 2


class Overview(NamedTuple):
    """The overview's charts and the smallest n of their points (a warning below SMALL_N)."""

    charts: list[figures.Chart]
    smallest: int


def overview_cache_key(
    rubric: Rubric, *, target: float | None, team: str = "", characteristic: str = ""
) -> str:
    """Figures change only when scores do: the key carries the aggregates' stamp."""
    return (
        f"dashboard:{CACHE_FORMAT}:{rubric.pk}:{translation.get_language()}:{target}:"
        f"{team}:{characteristic}:{selectors.aggregates_stamp(rubric)}"
    )


def overview_charts(
    rubric: Rubric, *, target: float | None, team: str = "", characteristic: str = ""
) -> Overview:
    """The overview's charts in the active language, and the smallest n of its points."""
    key = overview_cache_key(rubric, target=target, team=team, characteristic=characteristic)
    cached = cache.get(key)
    if cached is None:
        if team or characteristic:
            trend = selectors.filtered_trend(rubric, team=team, characteristic=characteristic)
        else:
            trend = selectors.rubric_trend(rubric)
        smallest = min((p.n for p in trend.all), default=0)
        cached = Overview(_charts(rubric, trend, target), smallest)
        cache.set(key, cached, timeout=CACHE_SECONDS)
    return cached


def _charts(rubric: Rubric, trend: selectors.Trend, target: float | None) -> list[figures.Chart]:
    # Area titles in the active language; a later version's wording wins.
    titles = {
        area.key: area.tr("title")
        for area in Area.objects.filter(version__rubric=rubric).order_by("version_id")
    }
    areas = [figures.AreaTitle(key, titles.get(key, key)) for key in trend.area_keys]
    built = {
        "overall": figures.overall_trend(trend.all, trend.cohort, target),
        "areas": figures.area_trends(trend.all, trend.cohort, areas),
        "binding": figures.binding_areas(trend.all, areas),
        "bands": figures.band_distribution(trend.all),
    }
    if any(point.questions for point in trend.all):  # stored for the whole organisation only
        top = ScaleLevel.objects.filter(version__rubric=rubric).aggregate(top=Max("value"))["top"]
        built["questions"] = figures.question_heatmap(
            trend.all, trend.cohort, selectors.rubric_questions(rubric), float(top or 1)
        )
    return figures.embed(built)


def warm_overview(*, rubric_id: int) -> int:
    """Build and cache the rubric's default overview (no filter, the default target) in every
    language; returns how many were built."""
    rubric = Rubric.objects.filter(pk=rubric_id).first()
    if rubric is None:
        return 0
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            overview_charts(rubric, target=settings.DASHBOARD_TARGET)
    return len(settings.LANGUAGES)
