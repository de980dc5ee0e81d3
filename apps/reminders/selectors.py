"""Read queries for the reminders: whom to write to about which products, what was sent."""

from collections import defaultdict
from datetime import date
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet

from apps.accounts.models import Team
from apps.accounts.services import language_of
from apps.products.models import Product
from apps.reminders.models import Reminder, ReminderMail
from apps.surveys.models import SurveyRound
from apps.surveys.selectors import describe_laggards, round_laggards


class Recipient(NamedTuple):
    """A person to write to about a round, with the products of their teams to name (each
    with its `response_status` and `answered`, from describe_laggards)."""

    user: object
    products: list[Product]

    @property
    def address(self) -> str:
        return self.user.email

    @property
    def language(self) -> str:
        return language_of(self.user)


def recipients(survey_round: SurveyRound, *, products=None) -> list[Recipient]:
    """The active members of the teams with an active product not submitted yet in the round,
    each with those products (only `products`, ids, when given), in five queries."""
    by_team: dict[int, list[Product]] = defaultdict(list)
    laggards = round_laggards(survey_round, products=products)
    for product, status, answered, _last in describe_laggards(survey_round, laggards):
        # What the mail says of each product (as round_laggards once annotated it).
        product.response_status = None if status == "not_started" else status
        product.answered = answered
        by_team[product.team_id].append(product)
    teams_of: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in Team.members.through.objects.filter(
        team_id__in=list(by_team), user__is_active=True
    ).values_list("user_id", "team_id"):
        teams_of[user_id].append(team_id)
    users = (
        get_user_model()
        .objects.filter(pk__in=teams_of)
        .select_related("preference")
        .order_by("username")
    )
    return [
        Recipient(
            user,
            sorted(
                (product for team_id in teams_of[user.pk] for product in by_team[team_id]),
                key=lambda product: (product.team.name, product.name, product.pk),
            ),
        )
        for user in users
    ]


def only(people: list[Recipient], pairs: set[tuple[int, int]]) -> list[Recipient]:
    """The recipients keeping only their (user id, product id) `pairs`, and only those left
    with a product."""
    kept = [
        Recipient(person.user, [p for p in person.products if (person.user.pk, p.pk) in pairs])
        for person in people
    ]
    return [person for person in kept if person.products]


def reminded_on(survey_round: SurveyRound, day: date) -> set[tuple[int, int]]:
    """(user id, product id) of the round reminded on `day`: delivered, or being sent."""
    return set(
        Reminder.objects.filter(round=survey_round, day=day, failed=False).values_list(
            "user_id", "product_id"
        )
    )


def failed_last(survey_round: SurveyRound) -> set[tuple[int, int]]:
    """(user id, product id) of the round whose latest reminder was not delivered."""
    latest: dict[tuple[int, int], bool] = {}
    for user_id, product_id, failed in (
        Reminder.objects.filter(round=survey_round)
        .order_by("pk")
        .values_list("user_id", "product_id", "failed")
    ):
        latest[user_id, product_id] = failed
    return {pair for pair, failed in latest.items() if failed}


def round_mails(survey_round: SurveyRound) -> QuerySet[ReminderMail]:
    """The round's reminder mails, newest first, with recipient, sender and products."""
    return (
        ReminderMail.objects.filter(round=survey_round)
        .select_related("recipient", "triggered_by")
        .prefetch_related(
            Prefetch("reminders", Reminder.objects.select_related("product").order_by("pk"))
        )
        .order_by("-created_at", "-pk")
    )


def count_mails(survey_round: SurveyRound) -> tuple[int, int]:
    """How many reminder mails the round has, and how many of them were not delivered."""
    counts = ReminderMail.objects.filter(round=survey_round).aggregate(
        total=Count("pk"), failed=Count("pk", filter=Q(status=ReminderMail.Status.FAILED))
    )
    return counts["total"], counts["failed"]


class RemindableTeam(NamedTuple):
    """A team with products not submitted yet in a round."""

    pk: int
    name: str
    products: int


def remindable_teams(survey_round: SurveyRound) -> list[RemindableTeam]:
    """The teams with an active product not submitted yet in the round, by name, with how
    many (one query)."""
    return [
        RemindableTeam(*row)
        for row in round_laggards(survey_round)
        .order_by()
        .values("team_id", "team__name")
        .annotate(n=Count("pk"))
        .order_by("team__name")
        .values_list("team_id", "team__name", "n")
    ]
