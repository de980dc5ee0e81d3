"""Read the stored round aggregates for the dashboards (never the answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, OuterRef, QuerySet, Subquery

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
    # question key → {"mean", "answered", "na"}: stored for the whole organisation only
    questions: dict[str, dict] = field(default_factory=dict)


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
    )


def aggregates_stamp(rubric: Rubric) -> str:
    """When the rubric's aggregates last changed (part of the dashboard's cache key)."""
    from django.db.models import Count, Max

    stamp = RoundAggregate.objects.filter(rubric=rubric).aggregate(
        latest=Max("computed_at"), n=Count("id")
    )
    return f"{stamp['latest'] and stamp['latest'].timestamp()}-{stamp['n']}"


def rubric_trend(rubric: Rubric) -> Trend:
    """Both populations' points, oldest round first, in one query."""
    rows = (
        RoundAggregate.objects.filter(rubric=rubric)
        .select_related("round__rubric_version")
        .order_by("round__opens_at", "round__key")
    )
    points: dict[str, list[Point]] = {"all": [], "cohort": []}
    for row in rows:
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
        }
        points[row.population].append(_point(row.round, stats))
    return Trend(rubric=rubric, all=points["all"], cohort=points["cohort"])


@dataclass(frozen=True)
class TeamParticipation:
    team: str
    active: int
    not_started: int
    draft: int
    submitted: int
    members: list[str]


def round_participation(survey_round) -> list[TeamParticipation]:
    """Per team: products active when the round opened, and how far their responses are."""
    from collections import Counter, defaultdict

    from django.db.models import Q

    from apps.accounts.models import Team
    from apps.products.models import Product
    from apps.surveys.models import Response

    opened = survey_round.opens_at.date()
    active = Counter(
        Product.objects.filter(active_from__lte=opened)
        .filter(Q(retired_at__isnull=True) | Q(retired_at__gt=opened))
        .values_list("team_id", flat=True)
    )
    statuses: dict[int, Counter] = defaultdict(Counter)
    for team_id, status in Response.objects.filter(round=survey_round).values_list(
        "product__team_id", "status"
    ):
        statuses[team_id][status] += 1
    teams = Team.objects.filter(pk__in=set(active) | set(statuses)).prefetch_related("members")
    rows = []
    for team in teams.order_by("name"):
        counts = statuses[team.pk]
        started = counts["draft"] + counts["submitted"]
        rows.append(
            TeamParticipation(
                team=team.name,
                active=active[team.pk],
                not_started=max(active[team.pk] - started, 0),
                draft=counts["draft"],
                submitted=counts["submitted"],
                members=sorted(member.email or member.username for member in team.members.all()),
            )
        )
    return rows


@dataclass(frozen=True)
class ResultRow:
    product: str
    product_name: str
    team: str
    areas: dict[str, Decimal | None]
    overall: Decimal | None
    band: str
    change: Decimal | None


# Sort key → column; ties are broken by product, so pages are stable.
SORTS = {
    "product": "product__name",
    "team": "product__team__name",
    "overall": "overall",
    "change": "change",
}


def round_results(
    survey_round, *, products=None, team: str = "", sort: str = "overall", descending: bool = True
) -> QuerySet:
    """Scored responses of the round with the change since the product's previous round,
    sorted in the database: a page of it is read, not the whole round."""
    from apps.scoring.models import ResponseScore
    from apps.surveys.models import SurveyRound

    scores = ResponseScore.objects.filter(round=survey_round)
    if products is not None:
        scores = scores.filter(product__in=products)
    if team:
        scores = scores.filter(product__team__slug=team)
    previous = (
        SurveyRound.objects.filter(
            rubric_version__rubric_id=survey_round.rubric_version.rubric_id,
            opens_at__lt=survey_round.opens_at,
        )
        .order_by("-opens_at")
        .first()
    )
    before = ResponseScore.objects.filter(round=previous, product_id=OuterRef("product_id"))
    column = F(SORTS.get(sort, "overall"))
    return (
        scores.select_related("product__team", "band")
        .annotate(change=F("overall") - Subquery(before.values("overall")[:1]))
        .order_by(
            column.desc(nulls_last=True) if descending else column.asc(nulls_last=True),
            "product__slug",
        )
    )


def result_rows(scores) -> list[ResultRow]:
    """Table rows for (a page of) round_results."""
    return [
        ResultRow(
            product=score.product.slug,
            product_name=score.product.name,
            team=score.product.team.name,
            areas={k: None if v is None else Decimal(v) for k, v in score.area_scores.items()},
            overall=score.overall,
            band=score.band.tr("label") if score.band else "",
            change=score.change,
        )
        for score in scores
    ]


@dataclass(frozen=True)
class ProductRound:
    round: str
    overall: Decimal | None
    areas: dict[str, Decimal | None]
    org_median: Decimal | None
    org_area_means: dict[str, Decimal | None]


def product_history(product) -> list[ProductRound]:
    """The product's scores per round beside the organisation's (all products) in 2 queries."""
    from apps.scoring.models import ResponseScore

    scores = list(
        ResponseScore.objects.filter(product=product)
        .select_related("round")
        .order_by("round__opens_at")
    )
    org = {
        row.round_id: row
        for row in RoundAggregate.objects.filter(
            round__in=[s.round_id for s in scores], population="all"
        )
    }
    history = []
    for score in scores:
        aggregate = org.get(score.round_id)
        history.append(
            ProductRound(
                round=score.round.key,
                overall=score.overall,
                areas={k: None if v is None else Decimal(v) for k, v in score.area_scores.items()},
                org_median=aggregate.median if aggregate else None,
                org_area_means={
                    k: None if v is None else Decimal(v)
                    for k, v in (aggregate.area_means if aggregate else {}).items()
                },
            )
        )
    return history


def answer_changes(previous, latest) -> list[tuple[str, str, str]]:
    """(question text, before, after) for answers that differ between two responses."""

    def shown(answer) -> str:
        if answer is None or not answer.is_answered:
            return "–"
        return "N/A" if answer.not_applicable else format(answer.value.normalize(), "f")

    before = {a.question.key: a for a in previous.answers.select_related("question")}
    changes = []
    for answer in latest.answers.select_related("question").order_by(
        "question__area__order", "question__order"
    ):
        old = before.get(answer.question.key)
        if shown(old) != shown(answer):
            changes.append((answer.question.tr("text"), shown(old), shown(answer)))
    return changes


@dataclass(frozen=True)
class QuestionRow:
    key: str
    label: str  # in the active language; the latest version's wording
    area: str


def rubric_questions(rubric: Rubric) -> list[QuestionRow]:
    """The rubric's questions over all its versions, in the latest version's area and
    question order; questions no longer asked come after those of their area."""
    from apps.rubrics.models import Question

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

    return [
        QuestionRow(question.key, question.tr("text"), question.area.tr("title"))
        for _version, question in sorted(latest.values(), key=place)
    ]


def filtered_trend(rubric: Rubric, *, team: str = "", characteristic: str = "") -> Trend:
    """The trend of a subset of products (a team, a use-case characteristic), summarised from
    the stored score rows (one per response, never the answers), both populations."""
    from apps.products.models import Product
    from apps.scoring import cohort as scoring_cohort
    from apps.scoring import selectors as scoring_selectors
    from apps.scoring.aggregates import SCORED_PRODUCT_FIELDS, ScoredProduct, summarize
    from apps.scoring.models import CohortMember, ResponseScore

    products = Product.objects.all()
    if team:
        products = products.filter(team__slug=team)
    if characteristic:
        products = products.filter(characteristics__key=characteristic)
    rounds = scoring_cohort.rubric_rounds(rubric.pk)
    chosen = set(products.values_list("pk", flat=True))
    cohort = chosen & set(
        CohortMember.objects.filter(rubric=rubric).values_list("product_id", flat=True)
    )
    rows: dict[int, list[ScoredProduct]] = {r.pk: [] for r in rounds}
    for round_id, *row in ResponseScore.objects.filter(
        round__in=rounds, product_id__in=chosen
    ).values_list("round_id", *SCORED_PRODUCT_FIELDS):
        rows[round_id].append(ScoredProduct(*row))
    shapes = {
        version_id: scoring_selectors.version_shape(version_id)
        for version_id in {r.rubric_version_id for r in rounds}
    }
    populations: dict[str, list[Point]] = {"all": [], "cohort": []}
    for survey_round in rounds:
        shape = shapes[survey_round.rubric_version_id]
        for population, members in (
            ("all", rows[survey_round.pk]),
            ("cohort", [row for row in rows[survey_round.pk] if row.product_id in cohort]),
        ):
            stats = summarize(shape, members)
            populations[population].append(_point(survey_round, stats))
    return Trend(rubric=rubric, all=populations["all"], cohort=populations["cohort"])
