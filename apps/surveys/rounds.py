"""A survey round's life: created, then planned → open → closed, and closed → open again
when an administrator reopens it (with a reason, e.g. to take late answers), its deadline
moved on the way. Each transition is one service with its guard, used by the admin, the API
and the commands alike; each writes a RoundEvent (who, when, why) and a log line, and is
safe to repeat: asking for the state a round is already in changes nothing. At most one
round of a rubric is open at a time (a partial unique index holds it too)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.rubrics.models import Rubric, RubricVersion
from apps.surveys import signals
from apps.surveys.models import RoundEvent, SurveyRound, round_key_validator

logger = logging.getLogger(__name__)
State = SurveyRound.State


class RoundError(Exception):
    """A round that cannot be created or changed as asked; the message says why."""


def _locked(survey_round: SurveyRound) -> SurveyRound:
    return SurveyRound.objects.select_for_update().select_related("rubric").get(pk=survey_round.pk)


def _record(
    survey_round: SurveyRound, action: str, before: str, *, user, reason: str = ""
) -> RoundEvent:
    event = RoundEvent.objects.create(
        round=survey_round,
        action=action,
        from_state=before,
        to_state=survey_round.state,
        closes_at=survey_round.closes_at,
        reason=reason,
        user=user if getattr(user, "pk", None) else None,
    )
    logger.info(
        "Round %s %s by %s (%s → %s, deadline %s)%s",
        survey_round.key,
        action,
        user or "the system",
        before,
        survey_round.state,
        survey_round.closes_at.isoformat(),
        f": {reason}" if reason else "",
    )
    return event


def _refuse_second_open_round(rubric_id: int, rubric: Rubric, *, besides: int | None = None):
    other = (
        SurveyRound.objects.filter(rubric_id=rubric_id, state=State.OPEN)
        .exclude(pk=besides)
        .values_list("key", flat=True)
        .first()
    )
    if other is not None:
        raise RoundError(
            _("Round %(other)s of %(rubric)s is open: close it first (one open round per rubric).")
            % {"other": other, "rubric": rubric}
        )


def _save_state(survey_round: SurveyRound, fields: list[str]) -> None:
    try:
        with transaction.atomic():
            survey_round.save(update_fields=fields)
    except IntegrityError:  # another round of the rubric was opened meanwhile
        _refuse_second_open_round(
            survey_round.rubric_id, survey_round.rubric, besides=survey_round.pk
        )
        raise


def open_round(*, survey_round: SurveyRound, user=None, reason: str = "") -> SurveyRound:
    """Open a planned round: its products' teams can answer it from now on."""
    with transaction.atomic():
        survey_round = _locked(survey_round)
        if survey_round.state == State.OPEN:
            return survey_round
        if survey_round.state != State.PLANNED:
            raise RoundError(
                _("Round %(round)s is closed: reopen it instead.") % {"round": survey_round}
            )
        if survey_round.closes_at <= timezone.now():
            raise RoundError(
                _("The deadline %(deadline)s has passed: move it before opening the round.")
                % {
                    "deadline": timezone.localtime(survey_round.closes_at).strftime(
                        "%Y-%m-%d %H:%M"
                    )
                }
            )
        _refuse_second_open_round(survey_round.rubric_id, survey_round.rubric)
        survey_round.state = State.OPEN
        _save_state(survey_round, ["state"])
        _record(survey_round, RoundEvent.Action.OPENED, State.PLANNED, user=user, reason=reason)
        signals.round_opened.send(sender=SurveyRound, round_id=survey_round.pk, user=user)
    return survey_round


def close_round(*, survey_round: SurveyRound, user=None, reason: str = "") -> SurveyRound:
    """Close an open round and queue the recompute of its scores (and of the cohort)."""
    with transaction.atomic():
        survey_round = _locked(survey_round)
        if survey_round.state == State.CLOSED:
            return survey_round
        if survey_round.state != State.OPEN:
            raise RoundError(_("Round %(round)s is not open.") % {"round": survey_round})
        survey_round.state = State.CLOSED
        survey_round.save(update_fields=["state"])
        _record(survey_round, RoundEvent.Action.CLOSED, State.OPEN, user=user, reason=reason)
        signals.round_closed.send(sender=SurveyRound, round_id=survey_round.pk, user=user)
    return survey_round


def reopen_round(
    *, survey_round: SurveyRound, reason: str, closes_at: datetime | None = None, user=None
) -> SurveyRound:
    """Open a closed round again (e.g. to take late answers), with a reason and, when its
    deadline has passed, a new one; its scores and aggregates are recomputed (the cohort no
    longer counts it while it is open)."""
    if not reason.strip():
        raise RoundError(_("Say why the round is reopened."))
    with transaction.atomic():
        survey_round = _locked(survey_round)
        if survey_round.state == State.OPEN:  # reopened already: only the deadline may move
            if closes_at is None or closes_at == survey_round.closes_at:
                return survey_round
            return extend_deadline(
                survey_round=survey_round, closes_at=closes_at, user=user, reason=reason
            )
        if survey_round.state != State.CLOSED:
            raise RoundError(_("Round %(round)s is not closed.") % {"round": survey_round})
        deadline = closes_at or survey_round.closes_at
        _check_deadline(survey_round, deadline)
        _refuse_second_open_round(survey_round.rubric_id, survey_round.rubric)
        survey_round.state, survey_round.closes_at = State.OPEN, deadline
        _save_state(survey_round, ["state", "closes_at"])
        _record(survey_round, RoundEvent.Action.REOPENED, State.CLOSED, user=user, reason=reason)
        signals.round_reopened.send(sender=SurveyRound, round_id=survey_round.pk, user=user)
    return survey_round


def extend_deadline(
    *, survey_round: SurveyRound, closes_at: datetime, user=None, reason: str = ""
) -> SurveyRound:
    """Move the deadline of a planned or open round (the last moment answers are taken)."""
    with transaction.atomic():
        survey_round = _locked(survey_round)
        if survey_round.state == State.CLOSED:
            raise RoundError(
                _("Round %(round)s is closed: reopen it with a new deadline.")
                % {"round": survey_round}
            )
        if survey_round.closes_at == closes_at:
            return survey_round
        _check_deadline(survey_round, closes_at)
        survey_round.closes_at = closes_at
        survey_round.save(update_fields=["closes_at"])
        _record(
            survey_round, RoundEvent.Action.EXTENDED, survey_round.state, user=user, reason=reason
        )
    return survey_round


def _check_deadline(survey_round: SurveyRound, closes_at: datetime) -> None:
    if closes_at <= survey_round.opens_at:
        raise RoundError(_("The round must close after it opens."))
    if closes_at <= timezone.now():
        raise RoundError(
            _("The deadline %(deadline)s has passed: choose a later one.")
            % {"deadline": timezone.localtime(closes_at).strftime("%Y-%m-%d %H:%M")}
        )


def create_round(
    *,
    key: str,
    rubric_slug: str,
    version_label: str,
    title: str = "",
    opens_at: datetime,
    closes_at: datetime,
    state: str = SurveyRound.State.PLANNED,
    user=None,
    reason: str = "",
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
                survey_round = SurveyRound.objects.create(
                    key=key,
                    title=title or f"{version.rubric} {key}",
                    rubric_version=version,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    state=State.PLANNED,
                )
        except IntegrityError:  # created by someone else meanwhile
            raise RoundError(f"A round with key {key!r} already exists.") from None
        # Another state is reached by its transition (logged, guarded, announced); a round
        # created closed is a past one, to import answers into: logged as closed at once.
        if state == State.OPEN:
            survey_round = open_round(survey_round=survey_round, user=user, reason=reason)
        elif state == State.CLOSED:
            survey_round.state = State.CLOSED
            survey_round.save(update_fields=["state"])
            _record(
                survey_round,
                RoundEvent.Action.CLOSED,
                State.PLANNED,
                user=user,
                reason=reason or "created closed (a past round)",
            )
        return survey_round
