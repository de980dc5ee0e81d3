"""The continuous cohort of a rubric: the products with a scored response in every round
that defines it, the same products at every point, so a trend shows improvement and not
products joining or leaving. Stored per rubric (CohortMember) with the rounds that defined it
(CohortState), so it is recomputed only when those change."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import Count, Exists, OuterRef

from apps.scoring.models import CohortMember, CohortState, ResponseScore
from apps.surveys.models import SurveyRound


def rubric_rounds(rubric_id: int) -> list[SurveyRound]:
    """The rubric's rounds that have opened, oldest first."""
    return list(
        SurveyRound.objects.filter(rubric_version__rubric_id=rubric_id)
        .exclude(state=SurveyRound.State.PLANNED)
        .order_by("opens_at", "key")
    )


def scored_round_ids(rounds: list[SurveyRound]) -> set[int]:
    """Those of the rounds with at least one scored response."""
    # One EXISTS per round stops at its first scored row (a DISTINCT read every score).
    scored = ResponseScore.objects.filter(round_id=OuterRef("pk"), overall__isnull=False)
    return set(
        SurveyRound.objects.filter(pk__in=[r.pk for r in rounds])
        .filter(Exists(scored))
        .values_list("pk", flat=True)
    )


def scored_count(survey_round: SurveyRound) -> int:
    """The round's responses with a score."""
    return ResponseScore.objects.filter(round=survey_round, overall__isnull=False).count()


def defining_round_ids(
    rounds: list[SurveyRound], *, closing: SurveyRound | None = None
) -> list[int]:
    """The rounds that decide the cohort: the closed ones with a scored response (or all the
    rounds with one, while none is closed). A round without any scored response carries no
    information about who stayed, so it never empties the cohort. `closing`: the rounds as
    they would be once that round is closed (the impact of a close, shown before it)."""
    scored = scored_round_ids(rounds)
    closed = [
        r.pk
        for r in rounds
        if r.pk in scored
        and (r.state == SurveyRound.State.CLOSED or (closing is not None and r.pk == closing.pk))
    ]
    return closed or [r.pk for r in rounds if r.pk in scored]


def cohort_product_ids(defining: list[int]) -> set[int]:
    """Products with a scored response in every defining round, from the first on: the same
    products at every point, so the trend shows improvement and not membership change."""
    if not defining:
        return set()
    rows = (
        ResponseScore.objects.filter(round_id__in=defining, overall__isnull=False)
        .values("product_id")
        .annotate(n=Count("pk"))  # one score per product and round: no DISTINCT needed
        .filter(n=len(defining))
        .values_list("product_id", flat=True)
    )
    return set(rows)


def stored_cohort(rubric_id: int) -> set[int]:
    """The cohort as last stored for the rubric."""
    return set(
        CohortMember.objects.filter(rubric_id=rubric_id).values_list("product_id", flat=True)
    )


class CohortUpdate(NamedTuple):
    members: set[int]  # product ids
    checked: bool  # recomputed from the stored scores (else read as stored)
    changed: bool  # differs from what was stored


def update_cohort(*, rubric_id: int, rounds: list[SurveyRound], force: bool) -> CohortUpdate:
    """The rubric's cohort, recomputed from the scores (and stored if different) when its
    defining rounds changed or `force` says a closed round's scores may have. Runs inside the
    caller's transaction; the state row is locked, so concurrent recomputes of one rubric are
    serialised, the first build too."""
    CohortState.objects.get_or_create(rubric_id=rubric_id)
    state = CohortState.objects.select_for_update().get(rubric_id=rubric_id)
    # Read after taking the lock: which rounds define the cohort depends on their scores,
    # which a concurrent job may just have committed.
    defining = defining_round_ids(rubric_rounds(rubric_id))
    stored = stored_cohort(rubric_id)
    if not force and state.defining_round_ids == defining:
        return CohortUpdate(stored, checked=False, changed=False)
    fresh = cohort_product_ids(defining)
    if fresh != stored:
        CohortMember.objects.filter(rubric_id=rubric_id).delete()
        CohortMember.objects.bulk_create(
            CohortMember(rubric_id=rubric_id, product_id=product_id) for product_id in fresh
        )
    state.defining_round_ids = defining
    state.save()
    return CohortUpdate(fresh, checked=True, changed=fresh != stored)
