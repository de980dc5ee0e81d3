"""Read queries for the overview page: the rubric's stored round aggregates as trends (all
products, and the cohort from a chosen start round)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from apps.products.models import Product
from apps.rubrics.models import Question, Rubric
from apps.scoring import cohort as scoring_cohort
from apps.scoring import selectors as scoring_selectors
from apps.scoring.aggregates import (
    SCORED_PRODUCT_FIELDS,
    ScoredProduct,
    not_applicable_share,
    summarize,
)
from apps.scoring.models import CohortMember, ResponseScore, RoundAggregate
from apps.surveys.models import SurveyRound


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
    # question key → {"mean", "answered", "na"}: stored for the whole organisation only
    questions: dict[str, dict] = field(default_factory=dict)
    # hidden from this user (too few products outside their teams): no statistics at all
    hidden: bool = False
    # the round is still open: its n are the products that have submitted so far
    provisional: bool = False
    # area key → share of N/A among the answers (None: no answers), and the counts it comes
    # from ({"answered", "na"}); stored for the whole organisation only
    not_applicable: dict[str, Decimal | None] = field(default_factory=dict)
    not_applicable_counts: dict[str, dict] = field(default_factory=dict)
    # all products: against the previous defining round ({"previous", "joined", "stayed",
    # "retired", "skipped"}); empty for the first round and for the cohort
    churn: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Trend:
    """A rubric's points, oldest round first, for all products and for the cohort from a
    start round (its points from that round on)."""

    rubric: Rubric
    all: list[Point]
    cohort: list[Point]
    cohort_from: str = ""  # the start round's key
    # like-for-like: what was compared (RoundAggregate.comparison); None: as scored
    comparison: dict | None = None

    @property
    def area_keys(self) -> list[str]:
        """Areas in the order they first appear over the rounds."""
        return list(dict.fromkeys(key for point in self.all for key in point.area_means))


@dataclass(frozen=True)
class QuestionRow:
    """A question of the heatmap: its key, wording and area title."""

    key: str
    label: str  # in the active language; the latest version's wording
    area: str
    number: str = ""  # DATA-3, in the latest version that asks it


def rubrics_with_rounds() -> list[Rubric]:
    """Rubrics that have aggregates to show, for the selector."""
    return list(
        Rubric.objects.filter(versions__rounds__aggregates__isnull=False)
        .distinct()
        .order_by("slug")
    )


def _point(survey_round, stats: dict) -> Point:
    """A chart point from round statistics (stored aggregates or scoring's summarize)."""
    return Point(
        round=survey_round.key,
        version=survey_round.rubric_version.label,
        n=stats["n"],
        mean=stats["mean"],
        median=stats["median"],
        p25=stats["p25"],
        p75=stats["p75"],
        area_means={
            key: None if value is None else Decimal(value)
            for key, value in stats["area_means"].items()
        },
        bands=stats["band_counts"],
        binding=stats["binding_counts"],
        questions=stats.get("question_means", {}),
        provisional=survey_round.state == SurveyRound.State.OPEN,
        not_applicable={
            key: not_applicable_share(counts)
            for key, counts in stats.get("area_not_applicable", {}).items()
        },
        not_applicable_counts=stats.get("area_not_applicable", {}),
        churn=stats.get("churn", {}),
    )


def aggregates_stamp(rubric: Rubric) -> str:
    """When the rubric's aggregates last changed, and which of their rounds is open (part of
    the dashboard's cache key: a round closing or reopening changes how its points look)."""
    stamp = RoundAggregate.objects.filter(rubric=rubric).aggregate(
        latest=Max("computed_at"),
        n=Count("id"),
        open=Max("round_id", filter=Q(round__state=SurveyRound.State.OPEN)),
    )
    return f"{stamp['latest'] and stamp['latest'].timestamp()}-{stamp['n']}-{stamp['open']}"


def rubric_trend(
    rubric: Rubric, start: SurveyRound | None, *, like_for_like: bool = False
) -> Trend:
    """All products' points and those of the cohort from the start round, oldest round
    first, in one query; scored as answered or like-for-like (the common questions only)."""
    rows = (
        RoundAggregate.objects.filter(
            Q(population=RoundAggregate.Population.ALL) | Q(cohort_from=start),
            rubric=rubric,
            like_for_like=like_for_like,
        )
        .select_related("round__rubric_version")
        .order_by("round__opens_at", "round__key")
    )
    points: dict[str, list[Point]] = {"all": [], "cohort": []}
    comparison = None
    for row in rows:
        if like_for_like:
            comparison = row.comparison
        stats = {
            "n": row.n,
            "mean": row.mean,
            "median": row.median,
            "p25": row.p25,
            "p75": row.p75,
            "area_means": row.area_means,
            "band_counts": row.band_counts,
            "binding_counts": row.binding_counts,
            "question_means": row.question_means,
            "area_not_applicable": row.area_not_applicable,
            "churn": row.churn,
        }
        points[row.population].append(_point(row.round, stats))
    return Trend(
        rubric=rubric,
        all=points["all"],
        cohort=points["cohort"],
        cohort_from=start.key if start else "",
        comparison=comparison if like_for_like else None,
    )


def rubric_questions(rubric: Rubric) -> list[QuestionRow]:
    """The rubric's questions over all its versions, in the latest version's area and
    question order; questions no longer asked come after those of their area."""
    latest: dict[str, tuple] = {}
    newest_version = None
    for question in (
        Question.objects.filter(version__rubric=rubric)
        .select_related("area", "version")
        .order_by("version__created_at", "version_id")
    ):
        latest[question.key] = (question.version_id, question)
        newest_version = question.version_id  # versions come oldest first
    area_order: dict[str, int] = {}
    for version, question in latest.values():
        if version == newest_version:
            area_order.setdefault(question.area.key, question.area.order)

    def place(item: tuple) -> tuple:
        version, question = item
        retired = version != newest_version
        return (area_order.get(question.area.key, 99), retired, question.area.order, question.order)

    # Numbers are positions in the latest version: a question no longer asked has none (its
    # old number may now be another question's).
    return [
        QuestionRow(
            question.key,
            question.tr("text"),
            question.area.tr("title"),
            question.number if version == newest_version else "",
        )
        for version, question in sorted(latest.values(), key=place)
    ]


def filtered_products(*, team: str = "", characteristic: str = "") -> QuerySet:
    """The products of a team and with a use-case characteristic (either may be blank)."""
    products = Product.objects.all()
    if team:
        products = products.filter(team__slug=team)
    if characteristic:
        products = products.filter(characteristics__key=characteristic)
    return products


def filtered_trend(
    rubric: Rubric,
    *,
    team: str = "",
    characteristic: str = "",
    start: SurveyRound | None = None,
) -> Trend:
    """The trend of a subset of products (a team, a use-case characteristic), summarised from
    the stored score rows (one per response, never the answers): all of them, and those of
    the cohort from the start round, with the churn among them."""
    products = filtered_products(team=team, characteristic=characteristic)
    rounds = scoring_cohort.rubric_rounds(rubric.pk)
    starts = [r.pk for r in scoring_cohort.start_rounds(rubric.pk)]
    chosen = set(products.values_list("pk", flat=True))
    cohort: set[int] = set()
    if start is not None and start.pk in starts:
        runs = dict(
            CohortMember.objects.filter(rubric=rubric, product_id__in=chosen).values_list(
                "product_id", "since_id"
            )
        )
        cohort = scoring_cohort.members_from(runs, starts, start.pk)
    rows: dict[int, list[ScoredProduct]] = {r.pk: [] for r in rounds}
    for round_id, *row in ResponseScore.objects.filter(
        round__in=rounds, product_id__in=chosen
    ).values_list("round_id", *SCORED_PRODUCT_FIELDS):
        rows[round_id].append(ScoredProduct(*row))
    shapes = {
        version_id: scoring_selectors.version_shape(version_id)
        for version_id in {r.rubric_version_id for r in rounds}
    }
    churns = _filtered_churn(rounds, starts, rows)
    populations: dict[str, list[Point]] = {"all": [], "cohort": []}
    started = False
    for survey_round in rounds:
        shape = shapes[survey_round.rubric_version_id]
        stats = summarize(shape, rows[survey_round.pk])
        populations["all"].append(
            _point(survey_round, {**stats, "churn": churns.get(survey_round.pk, {})})
        )
        started = started or (start is not None and survey_round.pk == start.pk)
        if started:
            members = [row for row in rows[survey_round.pk] if row.product_id in cohort]
            populations["cohort"].append(_point(survey_round, summarize(shape, members)))
    return Trend(
        rubric=rubric,
        all=populations["all"],
        cohort=populations["cohort"],
        cohort_from=start.key if start else "",
    )


def _filtered_churn(
    rounds: list[SurveyRound], starts: list[int], rows: dict[int, list[ScoredProduct]]
) -> dict[int, dict]:
    """Each round's churn among the filtered products against the defining round before it
    (the retired ones read in one query)."""
    scored = {
        round_id: {row.product_id for row in found if row.overall is not None}
        for round_id, found in rows.items()
    }
    retired_on = dict(
        Product.objects.filter(retired_at__isnull=False).values_list("pk", "retired_at")
    )
    keys = {r.pk: r.key for r in rounds}
    churns, previous = {}, None
    for survey_round in rounds:
        if previous is not None:
            opened = timezone.localdate(survey_round.opens_at)
            retired = {p for p, day in retired_on.items() if day <= opened}
            churns[survey_round.pk] = {
                "previous": keys[previous],
                **scoring_cohort.churn(scored[previous], scored[survey_round.pk], retired),
            }
        if survey_round.pk in starts:
            previous = survey_round.pk
    return churns


def point_sizes(trend: Trend) -> dict[tuple[str, str], int]:
    """The n of every point, by round key and population."""
    return {
        (point.round, population): point.n
        for population, points in (("all", trend.all), ("cohort", trend.cohort))
        for point in points
    }


def hide_points(trend: Trend, hidden: frozenset[tuple[str, str]]) -> Trend:
    """The trend with these points (round key, population) replaced by points that say
    nothing but their round, version and area keys."""
    if not hidden:
        return trend

    def shown(point: Point, population: str) -> Point:
        if (point.round, population) not in hidden:
            return point
        return Point(
            round=point.round,
            version=point.version,
            n=0,
            mean=None,
            median=None,
            p25=None,
            p75=None,
            area_means=dict.fromkeys(point.area_means),
            hidden=True,
            provisional=point.provisional,
            # which round it is compared with, not the counts
            churn={"previous": point.churn["previous"]} if point.churn else {},
        )

    return Trend(
        rubric=trend.rubric,
        all=[shown(point, "all") for point in trend.all],
        cohort=[shown(point, "cohort") for point in trend.cohort],
        cohort_from=trend.cohort_from,
        comparison=trend.comparison,
    )
