"""Read queries for a round's page: participation by team and the scored results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils.translation import get_language

from apps import database
from apps.accounts.models import Team
from apps.rubrics.models import SCORE_FIELD, Rubric
from apps.rubrics.numbers import format_score, format_signed_score
from apps.scoring.explain import area_score_text
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.rules import quantize
from apps.surveys.models import Response, SurveyRound
from apps.surveys.selectors import (
    RoundProgress,
    active_counts,
    active_products_sql,
    product_filters_sql,
)


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


# Per team: its active products, and how many of them submitted or have a draft (one LEFT
# JOIN to the round's responses, at most one per product).
PARTICIPATION_SQL = """
SELECT p.team_id, COUNT(*),
    COUNT(CASE WHEN r.status = %s THEN 1 END),
    COUNT(CASE WHEN r.status = %s THEN 1 END)
FROM products_product p
LEFT JOIN surveys_response r ON r.product_id = p.id AND r.round_id = %s
WHERE {active}
GROUP BY p.team_id"""


def round_participation(
    survey_round: SurveyRound, teams: list[TeamName] | None = None
) -> list[TeamParticipation]:
    """Per team, in the order of `teams` (teams_by_name, read here if not given): products
    active when the round opened, and how far their responses are (the counts in one
    hand-written query, their members in another: apps.database; their querysets cost more
    to build than to run)."""
    teams = teams_by_name() if teams is None else teams
    active, active_params = active_products_sql(survey_round)
    counts = {
        team_id: (active_count, submitted, draft)
        for team_id, active_count, submitted, draft in database.fetch(
            PARTICIPATION_SQL.format(active=active),
            [Response.Status.SUBMITTED, Response.Status.DRAFT, survey_round.pk, *active_params],
        )
    }
    people = team_members(counts)
    participation = []
    for team in teams:
        if team.pk not in counts:
            continue
        active_count, submitted, draft = counts[team.pk]
        participation.append(
            TeamParticipation(
                team=team.name,
                active=active_count,
                not_started=active_count - submitted - draft,
                draft=draft,
                submitted=submitted,
                members=sorted(member.email or member.username for member in people[team.pk]),
                team_id=team.pk,
                people=people[team.pk],
            )
        )
    return participation


def team_members(team_ids: Iterable[int]) -> dict[int, list[Member]]:
    """Each of these teams' members, by username (one query)."""
    members: dict[int, list[Member]] = {pk: [] for pk in team_ids}
    if not members:
        return members
    rows = database.fetch(
        "SELECT m.team_id, u.username, u.email, u.first_name, u.last_name"
        " FROM accounts_team_members m JOIN auth_user u ON u.id = m.user_id"
        f" WHERE m.team_id IN ({', '.join(['%s'] * len(members))})"
        " ORDER BY m.team_id, u.username",
        list(members),
    )
    for team_id, *person in rows:
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


# A page of a round's results, the columns result_rows reads. The inner query sorts the
# round's narrow rows (id, sort key, slug) and keeps the page's; the outer reads their wide
# rows (area scores, band, names): carrying every row's area scores through the sort took
# half the query's time.
RESULTS_PAGE_SQL = """
SELECT p.slug, p.name, t.name, s.area_scores, s.overall, b.label_en, b.label_ja,
    {change}, s.area_not_applicable, s.not_applicable_policy
FROM (
    SELECT s.id, {key} AS sort_key, p.slug
    FROM scoring_responsescore s
    JOIN products_product p ON p.id = s.product_id{team_join}
    WHERE s.round_id = %s{filters}
    ORDER BY sort_key {direction} NULLS LAST, p.slug
    LIMIT %s OFFSET %s
) page
JOIN scoring_responsescore s ON s.id = page.id
JOIN products_product p ON p.id = s.product_id
JOIN accounts_team t ON t.id = p.team_id
LEFT JOIN rubrics_band b ON b.id = s.band_id
ORDER BY page.sort_key {direction} NULLS LAST, page.slug"""
# The change since the product's previous round of the rubric (the round opened last before
# this one), rounded to the scores' places: SQLite subtracts the decimals as floats
# (0.333399999…), and rounded there, equal changes stay equal (a tie breaks by product).
CHANGE_SQL = """ROUND(s.overall - (
    SELECT before.overall FROM scoring_responsescore before
    WHERE before.product_id = s.product_id AND before.round_id = (
        SELECT earlier.id FROM surveys_surveyround earlier
        JOIN rubrics_rubricversion version ON version.id = earlier.rubric_version_id
        WHERE version.rubric_id = %s AND earlier.opens_at < %s
        ORDER BY earlier.opens_at DESC LIMIT 1)
    LIMIT 1), {places})"""
# How many rows RESULTS_PAGE_SQL pages through, counted on the scores alone (its joins to
# products, teams and bands neither add nor drop a row), with the same filters.
RESULTS_COUNT_SQL = """
SELECT COUNT(*) FROM scoring_responsescore s{team_join}
WHERE s.round_id = %s{filters}"""
# Sort key → its SQL; ties are broken by product, so pages are stable.
SORT_KEYS = {"product": "p.name", "team": "t.name", "overall": "s.overall", "change": "{change}"}


class RoundResults:
    """Scored responses of a round, sorted in the database, for a Paginator: a slice is one
    hand-written query (RESULTS_PAGE_SQL, apps.database): building and compiling the same
    queryset had cost more than running it. Slices are plain tuples, for result_rows."""

    def __init__(self, sql: str, params: list, count: int):
        self.sql, self.params, self.count = sql, params, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, page: slice) -> list[tuple]:
        score = ResponseScore._meta.get_field
        json = database.converter(score("area_scores"))
        decimal = database.converter(score("overall"))
        return database.fetch(
            self.sql,
            [*self.params, page.stop - page.start, page.start],
            {3: json, 4: decimal, 7: decimal, 8: database.converter(score("area_not_applicable"))},
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
    (RESULTS_COUNT_SQL, with the same filters)."""
    change = CHANGE_SQL.format(places=SCORE_FIELD["decimal_places"])
    change_params = [
        survey_round.rubric_version.rubric_id,
        database.datetime_param(survey_round.opens_at),
    ]
    filters, filter_params = product_filters_sql("s.product_id", products, team)
    key = SORT_KEYS.get(sort, SORT_KEYS["overall"]).format(change=change)
    # the teams only when the sort or a filter needs them: a join fewer halves the sort's time
    team_join = "\n    JOIN accounts_team t ON t.id = p.team_id" if team or sort == "team" else ""
    sql = RESULTS_PAGE_SQL.format(
        change=change,
        key=key,
        team_join=team_join,
        filters=filters,
        direction="DESC" if descending else "ASC",
    )
    # the placeholders in the order they appear: the outer change, the inner sort key (the
    # change's, when sorting by it), the round, the filters
    key_params = change_params if sort == "change" else []
    params = [*change_params, *key_params, survey_round.pk, *filter_params]
    count_join = (
        "\nJOIN products_product p ON p.id = s.product_id JOIN accounts_team t ON t.id = p.team_id"
        if team
        else ""
    )
    count_sql = RESULTS_COUNT_SQL.format(team_join=count_join, filters=filters)
    count = database.fetch(count_sql, [survey_round.pk, *filter_params])[0][0]
    return RoundResults(sql, params, count)


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
