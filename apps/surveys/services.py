"""Writes of survey rounds and responses (the questionnaire's answer saving follows)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.rubrics.models import RubricVersion
from apps.scoring.models import ScoringJob
from apps.scoring.services import request_scoring
from apps.surveys.models import Response, SurveyRound, round_key_validator


class RoundError(Exception):
    """A round that cannot be created as asked; the message says why."""


class SubmitError(Exception):
    """A response that cannot be submitted; `unanswered` lists the question keys left."""

    def __init__(self, message: str, unanswered: list[str] | None = None):
        super().__init__(message)
        self.unanswered = unanswered or []


def unanswered_questions(response: Response) -> list[str]:
    """Keys of the questions of the response's version with no value and no N/A."""
    answered = set(
        response.answers.filter(Q(value__isnull=False) | Q(not_applicable=True)).values_list(
            "question_id", flat=True
        )
    )
    questions = response.round.rubric_version.questions.order_by("area__order", "order")
    return [key for pk, key in questions.values_list("pk", "key") if pk not in answered]


def submit_response(*, response: Response, user) -> Response:
    """Mark a complete response of an open round submitted and queue its scoring."""
    with transaction.atomic():
        response = (
            Response.objects.select_for_update()
            .select_related("round__rubric_version")
            .get(pk=response.pk)
        )
        if response.round.state != SurveyRound.State.OPEN:
            raise SubmitError(f"Round {response.round} is not open.")
        if response.status == Response.Status.SUBMITTED:
            raise SubmitError("This response is already submitted.")
        missing = unanswered_questions(response)
        if missing:
            raise SubmitError(f"{len(missing)} question(s) are not answered yet.", missing)
        response.status = Response.Status.SUBMITTED
        response.submitted_by = user
        response.submitted_at = timezone.now()
        response.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
        request_scoring(kind=ScoringJob.Kind.RESPONSE, response_id=response.pk, requested_by=user)
    return response


def close_round(*, survey_round: SurveyRound, user=None) -> SurveyRound:
    """Close an open round and queue the recompute of its scores (and of the cohort)."""
    with transaction.atomic():
        closed = SurveyRound.objects.filter(
            pk=survey_round.pk, state=SurveyRound.State.OPEN
        ).update(state=SurveyRound.State.CLOSED)
        if not closed:
            raise RoundError(f"Round {survey_round} is not open.")
        survey_round.state = SurveyRound.State.CLOSED
        request_scoring(kind=ScoringJob.Kind.ROUND, round_id=survey_round.pk, requested_by=user)
    return survey_round


def create_round(
    *,
    key: str,
    rubric_slug: str,
    version_label: str,
    title: str = "",
    opens_at: datetime,
    closes_at: datetime,
    state: str = SurveyRound.State.PLANNED,
) -> SurveyRound:
    """Create a survey round on a published rubric version."""
    try:
        round_key_validator(key)
    except ValidationError as error:
        raise RoundError(f"Invalid round key {key!r}: {' '.join(error.messages)}") from None
    if state not in SurveyRound.State.values:
        raise RoundError(
            f"Unknown state {state!r}: use one of {', '.join(SurveyRound.State.values)}."
        )
    version = (
        RubricVersion.objects.select_related("rubric")
        .filter(rubric__slug=rubric_slug, label=version_label)
        .first()
    )
    if version is None:
        known = list(
            RubricVersion.objects.filter(rubric__slug=rubric_slug).values_list("label", flat=True)
        )
        if not known:
            raise RoundError(f"Unknown rubric {rubric_slug!r}: load it first with load_rubric.")
        raise RoundError(
            f"Rubric {rubric_slug!r} has no version {version_label!r} (it has: {', '.join(known)})."
        )
    if not version.is_published:
        raise RoundError(f"{version} is a draft: publish it before opening a round on it.")
    if closes_at <= opens_at:
        raise RoundError("The round must close after it opens.")
    with transaction.atomic():
        if SurveyRound.objects.select_for_update().filter(key=key).exists():
            raise RoundError(f"A round with key {key!r} already exists.")
        try:
            with transaction.atomic():
                return SurveyRound.objects.create(
                    key=key,
                    title=title or f"{version.rubric} {key}",
                    rubric_version=version,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    state=state,
                )
        except IntegrityError:  # created by someone else meanwhile
            raise RoundError(f"A round with key {key!r} already exists.") from None
