"""Scoring follows the surveys: every submit, reopen, close and import records a scoring
job in the sender's transaction (connected in ScoringConfig.ready)."""

from apps.scoring.jobs import request_scoring
from apps.scoring.models import ScoringJob
from apps.surveys import signals


def score_response(sender, *, response_id: int, user=None, **kwargs) -> None:
    """A response submitted or reopened: (re)score it, or withdraw its score."""
    request_scoring(kind=ScoringJob.Kind.RESPONSE, response_id=response_id, requested_by=user)


def score_round(sender, *, round_id: int, user=None, **kwargs) -> None:
    """A round closed or imported into: recompute it (and the cohort)."""
    request_scoring(kind=ScoringJob.Kind.ROUND, round_id=round_id, requested_by=user)


def connect() -> None:
    signals.response_submitted.connect(score_response, dispatch_uid="scoring-submitted")
    signals.response_reopened.connect(score_response, dispatch_uid="scoring-reopened")
    signals.round_closed.connect(score_round, dispatch_uid="scoring-round-closed")
    signals.round_reopened.connect(score_round, dispatch_uid="scoring-round-reopened")
    signals.answers_imported.connect(score_round, dispatch_uid="scoring-answers-imported")
