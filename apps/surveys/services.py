"""Writes of survey rounds (responses and answers follow in the survey issue)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.rubrics.models import RubricVersion
from apps.surveys.models import SurveyRound, round_key_validator


class RoundError(Exception):
    """A round that cannot be created as asked; the message says why."""


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
        return SurveyRound.objects.create(
            key=key,
            title=title or f"{version.rubric} {key}",
            rubric_version=version,
            opens_at=opens_at,
            closes_at=closes_at,
            state=state,
        )
