"""Cached reads: the organisation overview's charts, built from the stored aggregates and
cached until the aggregates change; warmed by a task after each scoring job (requested in
apps.py) so a viewer rarely builds them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from apps.dashboards import figures, selectors
from apps.rubrics.models import Area, Band, Rubric, RubricVersion, ScaleLevel
from apps.scoring import cohort, disclosure
from apps.surveys.models import SurveyRound

CACHE_SECONDS = 24 * 3600
# Part of the cache key: raise it when the cached value's shape changes, so a deploy never
# reads values cached by the code before it.
CACHE_FORMAT = 5


class ChurnRow(NamedTuple):
    """A round's churn (all products against the previous defining round); None: hidden."""

    round: str
    previous: str
    joined: int | None
    stayed: int | None
    retired: int | None
    skipped: int | None
    provisional: bool


class Overview(NamedTuple):
    """The overview's charts, the smallest n of their shown points (a warning below SMALL_N),
    the n of every point (round key, population) before any was hidden, how many points are
    hidden (too few products outside the user's teams: apps.scoring.disclosure), the churn
    per round and how the latest rubric version counts N/A (one sentence)."""

    charts: list[figures.Chart]
    smallest: int
    sizes: dict[tuple[str, str], int]
    hidden: int = 0
    churn: list[ChurnRow] = []
    not_applicable_rule: str = ""
    # like-for-like: what was compared (RoundAggregate.comparison); None: as scored
    comparison: dict | None = None


def overview_cache_key(
    rubric: Rubric,
    *,
    target: float | None,
    team: str = "",
    characteristic: str = "",
    cohort_from: str = "",
    like_for_like: bool = False,
) -> str:
    """Figures change only when scores do: the key carries the aggregates' stamp, and the
    start round of the cohort (a stored start round's key, never raw input)."""
    return (
        f"dashboard:{CACHE_FORMAT}:{rubric.pk}:{translation.get_language()}:{target}:"
        f"{team}:{characteristic}:{cohort_from}:{int(like_for_like)}:"
        f"{selectors.aggregates_stamp(rubric)}"
    )


def overview_charts(
    rubric: Rubric,
    *,
    target: float | None,
    team: str = "",
    characteristic: str = "",
    readable: QuerySet | None = None,
    start: SurveyRound | None = None,
    starts: Sequence[SurveyRound] = (),
    like_for_like: bool = False,
) -> Overview:
    """The overview's charts in the active language, the cohort from the `start` round (one
    of the rubric's `starts`), for a user who may read the `readable` products (None: every
    product), with the points resting on too few others hidden."""
    cohort_from = start.key if start else ""
    key = overview_cache_key(
        rubric,
        target=target,
        team=team,
        characteristic=characteristic,
        cohort_from=cohort_from,
        like_for_like=like_for_like,
    )
    full = _cached(
        key,
        lambda: _overview(rubric, target, team, characteristic, start, frozenset(), like_for_like),
    )
    if readable is None:
        return full
    theirs = selectors.filtered_products(team=team, characteristic=characteristic).filter(
        pk__in=readable
    )
    hidden = _hidden(key, full, rubric, theirs, starts, start)
    if not hidden:
        return full  # nothing to hide: the view everyone shares
    # Users who are hidden the same points see the same page: they share its key.
    digest = hashlib.sha256(repr(sorted(hidden)).encode()).hexdigest()[:16]
    return _cached(
        f"{key}:hidden:{digest}",
        lambda: _overview(rubric, target, team, characteristic, start, hidden, like_for_like),
    )


def _hidden(
    key: str,
    full: Overview,
    rubric: Rubric,
    theirs: QuerySet,
    starts: Sequence[SurveyRound],
    start: SurveyRound | None,
) -> frozenset[tuple[str, str]]:
    """The points of the overview cached under `key` hidden from a user who may read `theirs`
    (products). How many of those have a score in each round is cached under `key` and the
    products' ids: counting read thousands of score rows on every visit (21 ms for a member
    of two teams of 5,000 products); listing the ids takes one index scan. The key holds the
    aggregates' stamp, so a scoring job renews it, and the ids, so a product moving team or
    a member joining one does; the threshold is applied on every visit."""
    ids = theirs.order_by("pk").values_list("pk", flat=True)
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    counts_key = f"{key}:readable:{digest}"
    counts = cache.get(counts_key)
    if counts is None:
        start_ids = disclosure.start_ids_up_to([r.pk for r in starts], start.pk if start else None)
        counts = disclosure.scored_counts(rubric.pk, theirs, start_ids)
        cache.set(counts_key, counts, timeout=CACHE_SECONDS)
    return disclosure.hidden_points(full.sizes, counts)


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
    start: SurveyRound | None,
    hidden: frozenset[tuple[str, str]],
    like_for_like: bool = False,
) -> Overview:
    """Build the overview, these points (round key, population) hidden; like-for-like reads
    the stored like-for-like aggregates (never with a team or use-case filter: the view
    refuses that combination)."""
    if like_for_like:
        trend = selectors.rubric_trend(rubric, start, like_for_like=True)
    elif team or characteristic:
        trend = selectors.filtered_trend(
            rubric, team=team, characteristic=characteristic, start=start
        )
    else:
        trend = selectors.rubric_trend(rubric, start)
    sizes = selectors.point_sizes(trend)
    trend = selectors.hide_points(trend, hidden)
    smallest = min((p.n for p in trend.all if not p.hidden), default=figures.SMALL_N)
    version = (
        RubricVersion.objects.filter(rounds__rubric=rubric).order_by("-rounds__opens_at").first()
    )
    return Overview(
        _charts(rubric, trend, target, version),
        smallest,
        sizes,
        len(hidden),
        _churn_rows(trend.all),
        not_applicable_rule(version) if version else "",
        trend.comparison,
    )


def _churn_rows(points: Sequence[selectors.Point]) -> list[ChurnRow]:
    """The churn table's rows: the rounds with a previous defining round (counts None when
    the point is hidden)."""
    return [
        ChurnRow(
            point.round,
            point.churn["previous"],
            *(None if point.hidden else point.churn.get(field) for field in CHURN_FIELDS),
            point.provisional,
        )
        for point in points
        if point.churn
    ]


CHURN_FIELDS = ("joined", "stayed", "retired", "skipped")


def not_applicable_rule(version: RubricVersion) -> str:
    """One sentence on how the version's rule counts N/A answers (rules.area_score)."""
    if version.area_aggregation == RubricVersion.AreaAggregation.MEAN:
        return _(
            "N/A answers are left out: an area's score is the mean of its applicable answers;"
            " an area with every question N/A has no score."
        )
    if version.not_applicable_policy == RubricVersion.NotApplicablePolicy.RESCALE:
        return _(
            "N/A answers are left out and the area's sum is scaled up to the whole area (sum ×"
            " questions ÷ applicable questions), so a product is not penalised for questions"
            " that do not apply; an area with every question N/A has no score."
        )
    return _(
        "N/A answers are left out: an area's score is the sum of its applicable answers, so"
        " N/A counts like a question without points; an area with every question N/A has"
        " no score."
    )


def _charts(
    rubric: Rubric,
    trend: selectors.Trend,
    target: float | None,
    version: RubricVersion | None,
) -> list[figures.Chart]:
    # Area titles in the active language; a later version's wording wins.
    titles = {
        area.key: area.tr("title")
        for area in Area.objects.filter(version__rubric=rubric).order_by("version_id")
    }
    areas = [figures.AreaTitle(key, titles.get(key, key)) for key in trend.area_keys]
    maxima = (
        list(Band.objects.filter(version=version).values_list("upper_bound", flat=True))
        if version
        else []
    )
    built = {
        "overall": figures.overall_trend(
            trend.all, trend.cohort, target, maxima, cohort_from=trend.cohort_from
        ),
        "areas": figures.area_trends(trend.all, trend.cohort, areas, trend.cohort_from),
        "binding": figures.binding_areas(trend.all, areas),
        "bands": figures.band_distribution(trend.all),
    }
    if any(point.not_applicable for point in trend.all):  # stored for the organisation only
        built["na"] = figures.not_applicable_shares(trend.all, areas)
    if any(point.questions for point in trend.all):  # stored for the whole organisation only
        top = ScaleLevel.objects.filter(version__rubric=rubric).aggregate(top=Max("value"))["top"]
        questions = selectors.rubric_questions(rubric)
        if trend.comparison is not None:  # like-for-like: the common questions only
            common = set(trend.comparison.get("questions", []))
            questions = [q for q in questions if q.key in common]
        built["questions"] = figures.question_heatmap(
            trend.all, trend.cohort, questions, float(top or 1)
        )
    return figures.embed(built)


def warm_overview(*, rubric_id: int) -> int:
    """Build and cache the rubric's default overview (no filter, the default target, the
    cohort from the first round) in every language; returns how many were built."""
    rubric = Rubric.objects.filter(pk=rubric_id).first()
    if rubric is None:
        return 0
    starts = cohort.start_rounds(rubric.pk)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            overview_charts(
                rubric,
                target=settings.DASHBOARD_TARGET,
                start=starts[0] if starts else None,
                starts=starts,
            )
    return len(settings.LANGUAGES)
