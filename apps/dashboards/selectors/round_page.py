"""Read queries for a round's page: participation by team and the scored results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db.models import (
    Count,
    DecimalField,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Round
from django.utils.translation import get_language

from apps.accounts.models import Team
from apps.rubrics.models import SCORE_FIELD, Rubric
from apps.rubrics.numbers import format_score, format_signed_score
from apps.scoring.explain import area_score_text
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.rules import quantize
from apps.surveys.models import SurveyRound
from apps.surveys.selectors import RoundProgress, active_counts, active_products


class Member(NamedTuple):
    """A team member as the round page names them."""

    username: str
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class TeamParticipation:
    """A team's products in the round and how far their responses are."""

    team: str
    active: int
    not_started: int
    draft: int
    submitted: int
    members: list[str]  # addresses (or usernames), sorted
    team_id: int
    people: list[Member]  # by username, for owner_names


@dataclass(frozen=True)
class ResultRow:
    """A product's scores in the round, with the change since its previous round."""

    product: str
    product_name: str
    team: str
    areas: dict[str, Decimal | None]
    overall: Decimal | None
    band: str
    change: Decimal | None
    # what the table prints, computed once here (a template filter per cell cost a third of
    # the page): (area key, "4.08 / 7 · 1 N/A, rescaled") in the areas' order, the overall
    # and the change
    cells: list[tuple[str, str]] = field(default_factory=list)
    overall_text: str = "–"
    change_text: str = "–"


# Sort key → column; ties are broken by product, so pages are stable.
SORTS = {
    "product": "product__name",
    "team": "product__team__name",
    "overall": "overall",
    "change": "change",
}
# The change is computed in the database, to sort by it. SQLite subtracts the decimals as
# floats (0.333399999…): rounded there, equal changes stay equal (a tie breaks by product),
# and the value read back is quantized to the scores' places (result_rows).
CHANGE_FIELD = DecimalField(
    max_digits=SCORE_FIELD["max_digits"] + 1, decimal_places=SCORE_FIELD["decimal_places"]
)


def rounds_for_page() -> QuerySet[SurveyRound]:
    """Rounds with their version and rubric, for the round page: one query. (The version's
    number of questions comes with its areas: scoring's areas_with_maxima.)"""
    return SurveyRound.objects.select_related("rubric_version__rubric")


class TeamName(NamedTuple):
    """A team as the round page's filters and participation name it."""

    pk: int
    slug: str
    name: str


def teams_by_name() -> list[TeamName]:
    """Every team, by name in the database's collation (as the page's other lists), in one
    query."""
    return [
        TeamName(*row)
        for row in Team.objects.order_by("name", "pk").values_list("pk", "slug", "name")
    ]


def round_participation(
    survey_round: SurveyRound, teams: list[TeamName] | None = None
) -> list[TeamParticipation]:
    """Per team, in the order of `teams` (teams_by_name, read here if not given): products
    active when the round opened, and how far their responses are (the counts in one query,
    their members in another)."""
    teams = teams_by_name() if teams is None else teams
    # One LEFT JOIN to the round's responses (at most one per product), counted by status.
    counts = {
        row["team_id"]: row
        for row in active_products(survey_round)
        .annotate(
            this_round=FilteredRelation("responses", condition=Q(responses__round=survey_round))
        )
        .values("team_id")
        .annotate(
            active=Count("pk"),
            submitted=Count("pk", filter=Q(this_round__status="submitted")),
            draft=Count("pk", filter=Q(this_round__status="draft")),
        )
        .order_by()
    }
    people = team_members(counts)
    return [
        TeamParticipation(
            team=team.name,
            active=row["active"],
            not_started=row["active"] - row["submitted"] - row["draft"],
            draft=row["draft"],
            submitted=row["submitted"],
            members=sorted(member.email or member.username for member in people[team.pk]),
            team_id=team.pk,
            people=people[team.pk],
        )
        for team in teams
        if (row := counts.get(team.pk))
    ]


def team_members(team_ids: Iterable[int]) -> dict[int, list[Member]]:
    """Each of these teams' members, by username (one query)."""
    members: dict[int, list[Member]] = {pk: [] for pk in team_ids}
    for team_id, *person in (
        Team.members.through.objects.filter(team_id__in=list(members))
        .order_by("team_id", "user__username")
        .values_list(
            "team_id", "user__username", "user__email", "user__first_name", "user__last_name"
        )
    ):
        members[team_id].append(Member(*person))
    return members


def owner_names(
    team_ids: Iterable[int], known: dict[int, list[Member]] | None = None
) -> dict[int, str]:
    """Each team's members as the round page lists them ("Full Name, username"): from
    `known` (team_members' lists, which round_participation has read) where it has the team,
    the others in one query."""
    team_ids = set(team_ids)
    known = known or {}
    missing = team_ids - known.keys()
    members = {**known, **(team_members(missing) if missing else {})}
    names = {
        team_id: ", ".join(
            f"{person.first_name} {person.last_name}".strip() or person.username
            for person in members[team_id]
        )
        for team_id in team_ids
    }
    return {team_id: text for team_id, text in names.items() if text}


def progress_of(participation: list[TeamParticipation]) -> RoundProgress:
    """The round's progress: the sum of its teams'."""
    return RoundProgress(
        sum(t.active for t in participation),
        sum(t.submitted for t in participation),
        sum(t.draft for t in participation),
        sum(t.not_started for t in participation),
    )


def round_results_count(survey_round: SurveyRound, *, products=None, team: str = "") -> int:
    """How many rows round_results has, counted on the scores alone (its joins to products,
    teams and bands neither add nor drop a row)."""
    scores = ResponseScore.objects.filter(round=survey_round)
    if products is not None:
        scores = scores.filter(product__in=products)
    if team:
        scores = scores.filter(product__team__slug=team)
    return scores.count()


class RoundResults:
    """Scored responses of a round, sorted in the database, for a Paginator: a slice is one
    query that sorts the round's narrow rows (id and sort keys) and reads the wide ones
    (area scores, band, names) of that page only. Reading every row's area scores into the
    sort took half the query's time. Slices are plain tuples (RESULT_COLUMNS), for
    result_rows."""

    ordered = True  # for Paginator: the order is the sort's, then the product's slug

    def __init__(self, scores: QuerySet, order: tuple, change: Round, count: int):
        self.scores, self.order, self.change, self.count = scores, order, change, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, page: slice) -> list[tuple]:
        top = self.scores.order_by(*self.order).values("pk")[page]
        return list(
            ResponseScore.objects.filter(pk__in=top)
            .annotate(change=self.change)
            .order_by(*self.order)
            .values_list(*RESULT_COLUMNS)
        )


def round_results(
    survey_round: SurveyRound,
    *,
    products=None,
    team: str = "",
    sort: str = "overall",
    descending: bool = True,
) -> RoundResults:
    """Scored responses of the round with the change since the product's previous round,
    sorted in the database (a page of it is read, not the whole round), and counted
    (round_results_count)."""
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
        .values("pk")[:1]
    )
    before = ResponseScore.objects.filter(
        round=Subquery(previous), product_id=OuterRef("product_id")
    )
    change = Round(
        F("overall") - Subquery(before.values("overall")[:1]),
        SCORE_FIELD["decimal_places"],
        output_field=CHANGE_FIELD,
    )
    if sort == "change":  # the sort needs it for every row; otherwise only the page's
        scores = scores.annotate(change=change)
    column = F(SORTS.get(sort, "overall"))
    order = (
        column.desc(nulls_last=True) if descending else column.asc(nulls_last=True),
        "product__slug",
    )
    count = round_results_count(survey_round, products=products, team=team)
    return RoundResults(scores, order, change, count)


RESULT_COLUMNS = (
    "product__slug",
    "product__name",
    "product__team__name",
    "area_scores",
    "overall",
    "band__label_en",
    "band__label_ja",
    "change",
    "area_not_applicable",
    "not_applicable_policy",
)


def result_rows(
    scores: Iterable[tuple], maxima: dict[str, Decimal] | None = None
) -> list[ResultRow]:
    """Table rows for (a page of) round_results; `maxima` (scoring's area_maxima, in the
    areas' order) adds each area's maximum to its text ("4.08 / 7 · 1 N/A, rescaled")."""
    japanese = (get_language() or "en").startswith("ja")
    maxima = maxima or {}
    rows = []
    for (
        slug,
        name,
        team,
        area_scores,
        overall,
        label_en,
        label_ja,
        change,
        not_applicable,
        policy,
    ) in scores:
        texts = {
            key: area_score_text(value, maxima.get(key), not_applicable.get(key, 0), policy)
            for key, value in area_scores.items()
        }
        change = None if change is None else quantize(change)
        rows.append(
            ResultRow(
                product=slug,
                product_name=name,
                team=team,
                areas={k: None if v is None else Decimal(v) for k, v in area_scores.items()},
                overall=overall,
                band=(japanese and label_ja) or label_en or "",
                change=change,
                cells=[(key, texts.get(key) or "–") for key in maxima],
                overall_text=format_score(overall) or "–",
                change_text=format_signed_score(change) or "–",
            )
        )
    return rows


class RoundParticipation(NamedTuple):
    """One round's response rate, for the overview's participation table."""

    round: SurveyRound
    active: int  # products active when the round opened
    submitted: int  # their scored (submitted, complete) responses, from the stored aggregate

    @property
    def response_rate(self) -> float | None:
        return self.submitted / self.active if self.active else None


def participation_by_round(rubric: Rubric) -> list[RoundParticipation]:
    """Every opened round of the rubric, oldest first, with its response rate: the scored
    responses stored in its aggregate over the products active when it opened (three small
    queries: never the responses themselves)."""
    rounds = list(
        SurveyRound.objects.filter(rubric=rubric)
        .exclude(state=SurveyRound.State.PLANNED)
        .order_by("opens_at", "key")
    )
    active = active_counts(rounds)
    scored = dict(
        RoundAggregate.objects.filter(
            round__in=rounds, population=RoundAggregate.Population.ALL, like_for_like=False
        )
        .order_by()
        .values_list("round_id", "n")
    )
    return [RoundParticipation(r, active[r.pk], scored.get(r.pk, 0)) for r in rounds]
