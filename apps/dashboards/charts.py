"""Cached reads: the organisation overview's charts, built from the stored aggregates and
cached until the aggregates change; warmed by a task after each scoring job (requested in
apps.py) so a viewer rarely builds them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.utils import translation

from apps.dashboards import figures, selectors
from apps.rubrics.models import Area, Rubric, ScaleLevel
from apps.scoring import disclosure

CACHE_SECONDS = 24 * 3600
# Part of the cache key: raise it when the cached value's shape changes, so a deploy never
# reads values cached by the code before it.
CACHE_FORMAT = 3


class Overview(NamedTuple):
    """The overview's charts, the smallest n of their shown points (a warning below SMALL_N),
    the n of every point (round key, population) before any was hidden, and how many points
    are hidden (too few products outside the user's teams: apps.scoring.disclosure)."""

    charts: list[figures.Chart]
    smallest: int
    sizes: dict[tuple[str, str], int]
    hidden: int = 0


def overview_cache_key(
    rubric: Rubric, *, target: float | None, team: str = "", characteristic: str = ""
) -> str:
    """Figures change only when scores do: the key carries the aggregates' stamp."""
    return (
        f"dashboard:{CACHE_FORMAT}:{rubric.pk}:{translation.get_language()}:{target}:"
        f"{team}:{characteristic}:{selectors.aggregates_stamp(rubric)}"
    )


def overview_charts(
    rubric: Rubric,
    *,
    target: float | None,
    team: str = "",
    characteristic: str = "",
    readable: QuerySet | None = None,
) -> Overview:
    """The overview's charts in the active language for a user who may read the `readable`
    products (None: every product), with the points resting on too few others hidden."""
    key = overview_cache_key(rubric, target=target, team=team, characteristic=characteristic)
    full = _cached(key, lambda: _overview(rubric, target, team, characteristic, frozenset()))
    if readable is None:
        return full
    theirs = selectors.filtered_products(team=team, characteristic=characteristic).filter(
        pk__in=readable
    )
    hidden = disclosure.hidden_points(full.sizes, disclosure.scored_counts(rubric.pk, theirs))
    if not hidden:
        return full  # nothing to hide: the view everyone shares
    # Users who are hidden the same points see the same page: they share its key.
    digest = hashlib.sha256(repr(sorted(hidden)).encode()).hexdigest()[:16]
    return _cached(
        f"{key}:hidden:{digest}",
        lambda: _overview(rubric, target, team, characteristic, hidden),
    )


def _cached(key: str, build: Callable[[], Overview]) -> Overview:
    """The overview cached under `key`, built and cached if missing."""
    cached = cache.get(key)
    if cached is None:
        cached = build()
        cache.set(key, cached, timeout=CACHE_SECONDS)
    return cached


def _overview(
    rubric: Rubric,
    target: float | None,
    team: str,
    characteristic: str,
    hidden: frozenset[tuple[str, str]],
) -> Overview:
    """Build the overview, these points (round key, population) hidden."""
    if team or characteristic:
        trend = selectors.filtered_trend(rubric, team=team, characteristic=characteristic)
    else:
        trend = selectors.rubric_trend(rubric)
    sizes = selectors.point_sizes(trend)
    trend = selectors.hide_points(trend, hidden)
    smallest = min((p.n for p in trend.all if not p.hidden), default=figures.SMALL_N)
    return Overview(_charts(rubric, trend, target), smallest, sizes, len(hidden))


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
