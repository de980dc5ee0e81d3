"""Closing a round, seen before it happens: how many products answered and what the
continuous cohort would become. A close that would tell the trend little (no scored
response) or shrink the cohort by more than `CLOSE_CONFIRM_COHORT_DROP` needs an explicit
confirmation; the admin, the API and `close_round` all go through `close_with_impact`."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from apps.scoring import cohort
from apps.scoring.models import ScoringJob
from apps.surveys import rounds
from apps.surveys.models import SurveyRound
from apps.surveys.selectors import RoundProgress, round_progress


class CloseImpact(NamedTuple):
    """What closing the round changes, and why it needs a confirmation (if it does)."""

    progress: RoundProgress
    scored: int  # submitted responses with a score
    cohort_before: int
    cohort_after: int
    warnings: list[str]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.warnings)


class ConfirmationNeeded(rounds.RoundError):
    """The close was not confirmed; `impact` says what it would change."""

    def __init__(self, impact: CloseImpact):
        super().__init__(" ".join(impact.warnings))
        self.impact = impact


def close_impact(survey_round: SurveyRound) -> CloseImpact:
    """Counts of the round's responses and the cohort before and after closing it."""
    progress = round_progress(survey_round)
    all_rounds = cohort.rubric_rounds(survey_round.rubric_id)
    scored = cohort.scored_count(survey_round)
    before = len(cohort.cohort_product_ids(cohort.defining_round_ids(all_rounds)))
    after_rounds = cohort.defining_round_ids(all_rounds, closing=survey_round)
    after = len(cohort.cohort_product_ids(after_rounds))
    warnings = []
    if scored == 0:
        warnings.append(
            _("Round %(round)s has no scored response: closing it tells the trend nothing.")
            % {"round": survey_round}
        )
    waiting = (
        ScoringJob.objects.filter(state__in=[ScoringJob.State.QUEUED, ScoringJob.State.RUNNING])
        .filter(Q(round=survey_round) | Q(response__round=survey_round))
        .count()
    )
    if waiting:
        warnings.append(
            _(
                "%(count)d scoring jobs of this round have not finished: the scored counts "
                "and the cohort shown may still change."
            )
            % {"count": waiting}
        )
    drop = settings.CLOSE_CONFIRM_COHORT_DROP
    if before and (before - after) / before > drop:
        warnings.append(
            _(
                "The continuous cohort would shrink from %(before)d to %(after)d products "
                "(more than %(drop)d %%)."
            )
            % {"before": before, "after": after, "drop": round(drop * 100)}
        )
    return CloseImpact(progress, scored, before, after, warnings)


def close_with_impact(
    *, survey_round: SurveyRound, user=None, confirmed: bool = False, reason: str = ""
) -> tuple[SurveyRound, CloseImpact]:
    """Close the round (queuing its recompute) unless its impact needs a confirmation that
    was not given; raises ConfirmationNeeded then, with nothing changed."""
    impact = close_impact(survey_round)
    if survey_round.state == SurveyRound.State.OPEN and impact.needs_confirmation and not confirmed:
        raise ConfirmationNeeded(impact)
    closed = rounds.close_round(survey_round=survey_round, user=user, reason=reason)
    return closed, impact
