"""The continuous cohort of a rubric: the products with a scored response in every round
that defines it from a start round on (the first, by default), the same products at every
point, so a trend shows improvement and not products joining or leaving. Stored per rubric as
each product's unbroken run (CohortMember.since), with the rounds that defined it
(CohortState), so it is recomputed only when those change; churn counts who joined and left
between defining rounds."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import NamedTuple

from django.db.models import Count, Exists, OuterRef

from apps.scoring.models import CohortMember, CohortState, ResponseScore, RoundAggregate
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


def cohort_runs(defining: list[int]) -> dict[int, int]:
    """product → the first defining round of its unbroken run of scored responses up to the
    latest defining round (products not scored in the latest are in no cohort). The cohort
    from a start round is then the products whose run began at or before it: a product that
    skipped a round is back in every cohort that starts after the skip. One query."""
    if not defining:
        return {}
    scored: dict[int, set[int]] = {round_id: set() for round_id in defining}
    for round_id, product_id in ResponseScore.objects.filter(
        round_id__in=defining, overall__isnull=False
    ).values_list("round_id", "product_id"):
        scored[round_id].add(product_id)
    since: dict[int, int] = {}
    running = scored[defining[-1]]
    for round_id in reversed(defining):
        running = running & scored[round_id]
        since.update(dict.fromkeys(running, round_id))
    return since


def members_from(runs: dict[int, int], defining: list[int], start_id: int) -> set[int]:
    """The products of the cohort from the start round (a defining round), given the runs."""
    allowed = set(defining[: defining.index(start_id) + 1])
    return {product_id for product_id, since in runs.items() if since in allowed}


def stored_runs(rubric_id: int) -> dict[int, int]:
    """The cohort runs (product → since) as last stored for the rubric."""
    return dict(
        CohortMember.objects.filter(rubric_id=rubric_id).values_list("product_id", "since_id")
    )


def start_rounds(rubric_id: int) -> list[SurveyRound]:
    """The rounds a stored cohort of the rubric starts from (its defining rounds when the
    aggregates were built), oldest first, in one query."""
    return list(
        SurveyRound.objects.filter(
            pk__in=RoundAggregate.objects.filter(
                rubric_id=rubric_id, population=RoundAggregate.Population.COHORT
            ).values("cohort_from_id")
        ).order_by("opens_at", "key")
    )


def start_round(rubric_id: int, key: str | None) -> SurveyRound | None:
    """The start round named by `key` (the first start round when blank), or None when the
    rubric has no stored cohort starting there: a round of another rubric, an open or empty
    round and a typo all look the same."""
    starts = start_rounds(rubric_id)
    if not key:
        return starts[0] if starts else None
    return next((r for r in starts if r.key == key), None)


def source_digest(*names: str) -> str:
    """A digest of the source of these modules of apps/scoring: what a stored result records
    of the code that computed it, so that a fix of that code has it computed again."""
    digest = hashlib.sha256()
    for name in names:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:32]


@functools.cache
def code_basis() -> str:
    """The digest of this module, which decides the cohort: the stored runs are computed
    again when it changes (CohortState.basis)."""
    return source_digest("cohort.py")


class CohortUpdate(NamedTuple):
    runs: dict[int, int] | None  # product id → since round id (cohort_runs); None: unread
    defining: list[int]  # the defining round ids, oldest first: the possible start rounds
    checked: bool  # recomputed from the stored scores (else read as stored)
    changed: bool  # differs from what was stored
    rounds: list[SurveyRound]  # the rubric's opened rounds (rubric_rounds), read under the lock


def update_cohort(*, rubric_id: int, force: bool) -> CohortUpdate:
    """The rubric's cohort runs, recomputed from the scores (and stored if different) when its
    defining rounds or the cohort code (code_basis) changed, or `force` says a closed round's
    scores may have. Runs inside the caller's transaction; the state row is locked, so
    concurrent recomputes of one rubric are serialised, the first build too."""
    state = CohortState.objects.select_for_update().filter(rubric_id=rubric_id).first()
    if state is None:  # the rubric's first build
        CohortState.objects.get_or_create(rubric_id=rubric_id)
        state = CohortState.objects.select_for_update().get(rubric_id=rubric_id)
    # Read after taking the lock: which rounds define the cohort depends on their scores,
    # which a concurrent job may just have committed.
    rounds = rubric_rounds(rubric_id)
    defining = defining_round_ids(rounds)
    if not force and state.defining_round_ids == defining and state.basis == code_basis():
        # as stored: the caller reads the runs (stored_runs) only if it needs them
        return CohortUpdate(None, defining, checked=False, changed=False, rounds=rounds)
    stored = stored_runs(rubric_id)
    fresh = cohort_runs(defining)
    changed = fresh != stored or state.defining_round_ids != defining
    if fresh != stored:
        CohortMember.objects.filter(rubric_id=rubric_id).delete()
        CohortMember.objects.bulk_create(
            CohortMember(rubric_id=rubric_id, product_id=product_id, since_id=since)
            for product_id, since in fresh.items()
        )
    state.defining_round_ids = defining
    state.basis = code_basis()
    state.save()
    return CohortUpdate(fresh, defining, checked=True, changed=changed, rounds=rounds)


def churn(previous: set[int], current: set[int], retired: set[int]) -> dict[str, int]:
    """Products scored in a round against the defining round before it: those that joined,
    stayed, and left, either retired (by the day the round opened) or skipped it."""
    left = previous - current
    return {
        "joined": len(current - previous),
        "stayed": len(current & previous),
        "retired": len(left & retired),
        "skipped": len(left - retired),
    }
