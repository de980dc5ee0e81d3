"""Small groups (k-anonymity). A trend point summarises the scores of a group of products; when
only a few of them are outside a user's teams, its mean, quartiles, area means, bands and
binding areas tell that user those products' scores (a filter down to one product of another
team shows its exact score). So a point resting on at least one but fewer than
DASHBOARD_MIN_GROUP products the user may not read is hidden from them. A point whose
products are all their own is shown, and so is everything to viewers and administrators.

A point is named by its round's key and its population ("all" or "cohort"), as the
aggregates are; its size is its n, the products with an overall score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from apps.scoring.models import CohortMember, ResponseScore, RoundAggregate
from apps.surveys.models import SurveyRound

PointKey = tuple[str, str]  # (round key, population)


def hidden_points(
    sizes: Mapping[PointKey, int], readable: Mapping[PointKey, int]
) -> frozenset[PointKey]:
    """The points whose products outside the user's reach (their size less the products the
    user may read) are at least one but fewer than DASHBOARD_MIN_GROUP."""
    smallest_group = settings.DASHBOARD_MIN_GROUP
    return frozenset(
        point for point, n in sizes.items() if 0 < n - readable.get(point, 0) < smallest_group
    )


def scored_counts(
    rubric_id: int, products: QuerySet, start_ids: list[int] | None = None
) -> Counter[PointKey]:
    """How many of these products have an overall score in each round of the rubric, among
    all products and among the rubric's continuous cohort from a start round (`start_ids`:
    the defining rounds up to it, where a member's run may begin), in one query."""
    members = CohortMember.objects.filter(rubric_id=rubric_id)
    if start_ids is not None:
        members = members.filter(since_id__in=start_ids)
    cohort = members.values("product_id")
    # The rubric's rounds by id, not through a join: the planner, misjudging the join of the
    # user's products with the rubric's versions, looked the scores up product by product
    # (70 ms for a member of two teams of 5,000 products; 3 ms this way).
    keys = dict(SurveyRound.objects.filter(rubric_id=rubric_id).values_list("pk", "key"))
    rows = (
        ResponseScore.objects.filter(
            round_id__in=list(keys), overall__isnull=False, product__in=products.values("pk")
        )
        .order_by()
        .values("round_id")
        .annotate(everyone=Count("pk"), in_cohort=Count("pk", filter=Q(product__in=cohort)))
    )
    counts: Counter[PointKey] = Counter()
    for row in rows:
        counts[keys[row["round_id"]], RoundAggregate.Population.ALL] = row["everyone"]
        counts[keys[row["round_id"]], RoundAggregate.Population.COHORT] = row["in_cohort"]
    return counts


def stored_sizes(
    rubric_id: int, start_id: int | None, *, like_for_like: bool = False
) -> dict[PointKey, int]:
    """The n of each stored aggregate of the rubric (the cohort from the start round; scored
    or like-for-like), by round key and population."""
    shown = Q(population=RoundAggregate.Population.ALL) | Q(cohort_from_id=start_id)
    return {
        (key, population): n
        for key, population, n in RoundAggregate.objects.filter(
            shown, rubric_id=rubric_id, like_for_like=like_for_like
        ).values_list("round__key", "population", "n")
    }


def start_ids_up_to(start_ids: list[int], start_id: int | None) -> list[int] | None:
    """The start rounds at or before `start_id` (all of them when it is None)."""
    if start_id is None or start_id not in start_ids:
        return None
    return start_ids[: start_ids.index(start_id) + 1]


def hidden_stored_points(
    rubric_id: int,
    readable: QuerySet | None,
    start_ids: list[int],
    start_id: int | None,
    *,
    like_for_like: bool = False,
) -> frozenset[PointKey]:
    """The rubric's stored points (the cohort from `start_id`, one of the `start_ids`, oldest
    first) hidden from a user who may read only the `readable` products (None: every
    product, so nothing is hidden)."""
    if readable is None:
        return frozenset()
    return hidden_points(
        stored_sizes(rubric_id, start_id, like_for_like=like_for_like),
        scored_counts(rubric_id, readable, start_ids_up_to(start_ids, start_id)),
    )
