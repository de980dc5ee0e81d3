"""Writes of survey rounds, responses and answers: the one place their rules live, called by
the pages, the API, the admin and the commands alike."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_create_with_history

from apps.products.models import Product
from apps.rubrics.models import Criterion, Question, RubricVersion
from apps.rubrics.selectors import answer_rules
from apps.surveys import signals
from apps.surveys.models import Answer, Response, SurveyRound
from apps.surveys.selectors import person_name

logger = logging.getLogger(__name__)


class SubmitError(Exception):
    """A response that cannot be submitted; `unanswered` lists the question keys left,
    `unconfirmed` those whose carried-over answer no team member has confirmed yet, and
    `stale` says the answers changed since the review the submit was confirmed from."""

    def __init__(
        self,
        message: str,
        unanswered: list[str] | None = None,
        unconfirmed: list[str] | None = None,
        stale: bool = False,
    ):
        super().__init__(message)
        self.unanswered = unanswered or []
        self.unconfirmed = unconfirmed or []
        self.stale = stale


def review_token(answers: Iterable[Answer]) -> str:
    """A fingerprint of what a review showed: every answer's question, value, N/A and its
    reason, evidence, link and whether it is a carried-over answer not confirmed yet. A
    submit confirmed from a review sends it back, and is refused when the answers differ by
    then (someone saved or confirmed meanwhile), so what is submitted is what was reviewed.
    Saving the same content again leaves it unchanged."""
    rows = sorted(
        [
            answer.question_id,
            None if answer.value is None else format(answer.value.normalize(), "f"),
            answer.not_applicable,
            answer.not_applicable_reason,
            answer.evidence,
            answer.evidence_url,
            answer.carried_over_from_id,
        ]
        for answer in answers
    )
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()[:32]


def unanswered_questions(response: Response) -> list[str]:
    """Keys of the questions of the response's version with no value and no N/A."""
    answered = set(
        response.answers.filter(Q(value__isnull=False) | Q(not_applicable=True)).values_list(
            "question_id", flat=True
        )
    )
    questions = response.round.rubric_version.questions.order_by("area__order", "order")
    return [key for pk, key in questions.values_list("pk", "key") if pk not in answered]


def unconfirmed_questions(response: Response) -> list[str]:
    """Keys of the questions whose answer prefill carried over and nobody has confirmed."""
    return list(
        response.answers.filter(carried_over_from__isnull=False)
        .order_by("question__area__order", "question__order")
        .values_list("question__key", flat=True)
    )


def submit_response(*, response: Response, user, reviewed: str | None = None) -> Response:
    """Mark a complete response of an open round submitted and queue its scoring. With
    `reviewed` (the review_token of the review the user confirmed), a response whose answers
    changed since is refused: nothing changes."""
    with transaction.atomic():
        response = (
            Response.objects.select_for_update()
            .select_related("round__rubric_version")
            .get(pk=response.pk)
        )
        if response.round.state != SurveyRound.State.OPEN:
            raise SubmitError(_("Round %(round)s is not open.") % {"round": response.round})
        if response.status == Response.Status.SUBMITTED:
            raise SubmitError(_("This response is already submitted."))
        # The response's row is locked, and every save locks it first: no save slips in
        # between this check and the submit.
        if reviewed is not None and review_token(response.answers.order_by()) != reviewed:
            raise SubmitError(
                _(
                    "Not submitted: the answers changed after you reviewed them (someone "
                    "saved meanwhile). Check the current answers and confirm again."
                ),
                stale=True,
            )
        missing = unanswered_questions(response)
        unconfirmed = unconfirmed_questions(response)
        if missing or unconfirmed:
            reasons = []
            if missing:
                reasons.append(
                    ngettext(
                        "%(count)d question is not answered yet.",
                        "%(count)d questions are not answered yet.",
                        len(missing),
                    )
                    % {"count": len(missing)}
                )
            if unconfirmed:
                reasons.append(
                    ngettext(
                        "%(count)d carried-over answer is not confirmed yet.",
                        "%(count)d carried-over answers are not confirmed yet.",
                        len(unconfirmed),
                    )
                    % {"count": len(unconfirmed)}
                )
            raise SubmitError(" ".join(reasons), missing, unconfirmed)
        response.status = Response.Status.SUBMITTED
        response.submitted_by = user
        response.submitted_at = timezone.now()
        response._history_user = user
        response.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
        signals.response_submitted.send(sender=Response, response_id=response.pk, user=user)
    return response


class AnswerError(Exception):
    """An answer that cannot be saved; `field` names the offending input."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class AnswerConflict(Exception):
    """Someone saved this answer after the revision the caller started from."""

    def __init__(self, current: Answer):
        super().__init__(
            _("%(who)s changed this answer at %(when)s; review it and save again.")
            % {
                "who": person_name(current.updated_by) or _("Someone"),
                "when": date_format(timezone.localtime(current.updated_at), "Y-m-d H:i"),
            }
        )
        self.current = current


def start_response(*, survey_round: SurveyRound, product: Product) -> Response:
    """The product's draft response to an open round, created on first use."""
    if survey_round.state != SurveyRound.State.OPEN:
        raise AnswerError(_("Round %(round)s is not open.") % {"round": survey_round}, "round")
    response, _created = Response.objects.get_or_create(round=survey_round, product=product)
    return response


def save_answer(
    *,
    response: Response,
    question_key: str,
    value: Decimal | None,
    not_applicable: bool = False,
    not_applicable_reason: str = "",
    evidence: str = "",
    evidence_url: str | None = "",
    base_revision: int | None = None,
    user=None,
    carried_over_from: SurveyRound | None = None,
) -> Answer:
    """Save one answer of a draft response in an open round, on its own (teammates answering
    other questions never collide). An existing answer changes only when the caller says
    which revision it started from and nobody saved it since: nothing is silently lost.
    A save confirms a carried-over answer; only prefill passes `carried_over_from`.

    `evidence_url=None` keeps the stored link (the page sends that when the typed link is
    invalid, so the level and evidence still save); a save that then changes nothing writes
    nothing."""
    with transaction.atomic():
        response = _locked_draft(response)
        survey_round = response.round
        rules = answer_rules(survey_round.rubric_version)
        question = rules.questions.get(question_key)
        if question is None:
            raise AnswerError(
                _("%(question)s is not a question of %(version)s.")
                % {"question": repr(question_key), "version": survey_round.rubric_version},
                "question",
            )
        check_answer(
            question=question,
            levels=rules.levels,
            value=value,
            not_applicable=not_applicable,
            not_applicable_reason=not_applicable_reason,
            evidence_url=evidence_url or "",
        )
        # Read after the response's lock, so it is the latest revision. Only this row is
        # locked: with the model's ordering the query would join (and lock) the question and
        # its area, which every save of that area in the round would then wait for.
        answer = (
            Answer.objects.select_for_update(of=("self",))
            .filter(response=response, question=question)
            .order_by()
            .first()
        )
        if answer is not None and base_revision != answer.revision:
            raise AnswerConflict(answer)
        value = None if not_applicable else value
        if answer is None:
            if evidence_url is None and value is None and not not_applicable and not evidence:
                raise AnswerError(_("Nothing to save but an invalid link."), "evidence_url")
            answer = Answer(response=response, question=question, revision=0)
        elif evidence_url is None and (
            answer.value,
            answer.not_applicable,
            answer.not_applicable_reason,
            answer.evidence,
            answer.carried_over_from_id,
        ) == (
            value,
            not_applicable,
            not_applicable_reason.strip() if not_applicable else "",
            evidence,
            carried_over_from.pk if carried_over_from else None,
        ):
            return answer  # only the (invalid, not saved) link changed
        answer.value = value
        answer.not_applicable = not_applicable
        # A reason belongs to an N/A answer only (the database holds N/A ⇒ reason).
        answer.not_applicable_reason = not_applicable_reason.strip() if not_applicable else ""
        answer.evidence = evidence
        if evidence_url is not None:
            answer.evidence_url = evidence_url
        answer.carried_over_from = carried_over_from
        answer.revision += 1
        answer.updated_by = user
        answer._history_user = user
        answer.save()
        return answer


def _locked_draft(response: Response) -> Response:
    """The response, locked, if its answers may change: a draft in an open round before its
    deadline; AnswerError otherwise."""
    response = (
        Response.objects.select_for_update(of=("self",))
        .select_related("round__rubric_version")
        .get(pk=response.pk)
    )
    survey_round = response.round
    if survey_round.state != SurveyRound.State.OPEN or timezone.now() >= survey_round.closes_at:
        raise AnswerError(
            _("Round %(round)s is closed: answers can no longer change.") % {"round": survey_round}
        )
    if response.status != Response.Status.DRAFT:
        raise AnswerError(_("This response is submitted: it is read-only."))
    return response


def check_answer(
    *,
    question: Question,
    levels: Collection[Decimal],
    value: Decimal | None,
    not_applicable: bool,
    not_applicable_reason: str = "",
    evidence_url: str = "",
) -> None:
    """The rules every answer follows, however it arrives (page, API, prefill, CSV import,
    admin): a level of the version's scale or N/A where the question allows it, never both;
    an N/A says why (it lifts a rescaled area score, so it must be justified); an http(s)
    evidence link of at most 500 characters. Raises AnswerError naming the field."""
    if not_applicable:
        if not question.na_allowed:
            raise AnswerError(
                _("%(question)s cannot be answered N/A.") % {"question": question.key},
                "not_applicable",
            )
        if value is not None:
            raise AnswerError(_("An answer is either a value or N/A, not both."), "value")
        if not not_applicable_reason.strip():
            raise AnswerError(
                _("Say why %(question)s does not apply to this product.")
                % {"question": question.key},
                "not_applicable_reason",
            )
    elif value is not None and (not value.is_finite() or value not in levels):
        shown = ", ".join(str(level.normalize()) for level in sorted(levels))
        raise AnswerError(
            _("%(value)s is not on the scale (%(scale)s).") % {"value": value, "scale": shown},
            "value",
        )
    problem = evidence_link_error(evidence_url)
    if problem:
        raise AnswerError(problem, "evidence_url")


def evidence_link_error(evidence_url: str) -> str:
    """Why an evidence link cannot be stored ("" when it can, or when there is none): it
    must be an http(s) URL of at most 500 characters."""
    if not evidence_url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(evidence_url)
    except ValidationError:
        return _("The evidence link must be an http(s) URL.")
    if len(evidence_url) > 500:
        return _("The evidence link is longer than 500 characters.")
    return ""


@dataclass(frozen=True)
class Prefill:
    copied: int
    flagged: list[str]  # question keys to review: new, reworded, or not copyable
    source: SurveyRound  # the round the answers came from


def previous_response(response: Response) -> Response | None:
    """The product's latest response in an earlier round of the same rubric."""
    return (
        Response.objects.filter(
            product_id=response.product_id,
            round__rubric_version__rubric_id=response.round.rubric_version.rubric_id,
            round__opens_at__lt=response.round.opens_at,
        )
        .select_related("round__rubric_version")
        .order_by("-round__opens_at")
        .first()
    )


def review_flags(response: Response, previous: Response | None = None) -> dict[str, str]:
    """Questions to review after a prefill: new in this version, or whose criteria changed
    since the previous response's version ({key: reason})."""
    previous = previous or previous_response(response)
    if previous is None or previous.round.rubric_version_id == response.round.rubric_version_id:
        return {}
    old = _criteria_by_key(previous.round.rubric_version_id)
    new = _criteria_by_key(response.round.rubric_version_id)
    flags = {}
    for key, criteria in new.items():
        if key not in old:
            flags[key] = "new"
        elif criteria != old[key]:
            flags[key] = "changed"
    return flags


def _criteria_by_key(version_id: int) -> dict[str, tuple]:
    criteria: dict[str, list] = {}
    for key, level, text, na in (
        Criterion.objects.filter(question__version_id=version_id)
        .order_by("question_id", "level__order")
        .values_list("question__key", "level__value", "text_en", "question__na_criterion_en")
    ):
        criteria.setdefault(key, [na]).append((level, text))
    return {key: tuple(items) for key, items in criteria.items()}


def prefill_from_previous(*, response: Response, user=None) -> Prefill:
    """Copy the previous round's answers into a draft, question by question where the key
    exists in both versions and the old answer is valid in the new one; questions already
    answered here are kept. New or reworded questions are flagged for review, not trusted."""
    previous = previous_response(response)
    if previous is None:
        raise AnswerError(_("There is no earlier response of this product to copy from."))
    flags = review_flags(response)
    done = set(response.answers.values_list("question__key", flat=True))
    copied, flagged = 0, set(flags)
    for answer in previous.answers.select_related("question"):
        key = answer.question.key
        if key in done or not (answer.value is not None or answer.not_applicable):
            continue
        try:
            save_answer(
                response=response,
                question_key=key,
                value=answer.value,
                not_applicable=answer.not_applicable,
                not_applicable_reason=answer.not_applicable_reason,
                evidence=answer.evidence,
                evidence_url=answer.evidence_url,
                user=user,
                carried_over_from=previous.round,
            )
        except AnswerError:  # gone from this version, or no longer a valid answer
            flagged.add(key)
            continue
        copied += 1
    current = set(response.round.rubric_version.questions.values_list("key", flat=True))
    return Prefill(copied=copied, flagged=sorted(flagged & current), source=previous.round)


def confirm_carried_over(*, response: Response, area: str, user=None) -> int:
    """A team member confirms every carried-over answer in one area of a draft (area key) as
    it stands: one UPDATE, and a history row per answer. Returns how many were confirmed.

    The revision stays: the answer's content is unchanged, so a teammate's page holding it
    may still save over it without a conflict."""
    with transaction.atomic():
        response = _locked_draft(response)
        if not response.round.rubric_version.areas.filter(key=area).exists():
            raise AnswerError(
                _("%(area)s is not an area of %(version)s.")
                % {"area": repr(area), "version": response.round.rubric_version},
                "area",
            )
        carried = Answer.objects.filter(
            response=response, question__area__key=area, carried_over_from__isnull=False
        ).order_by()
        answers = list(carried.select_for_update(of=("self",)))
        if not answers:
            return 0
        now = timezone.now()
        Answer.objects.filter(pk__in=[a.pk for a in answers]).update(
            carried_over_from=None, updated_by=user, updated_at=now
        )
        for answer in answers:
            answer.carried_over_from, answer.updated_by, answer.updated_at = None, user, now
        # A queryset update sends no signals: the history rows are written here, as the
        # import writes its own with bulk_create_with_history.
        Answer.history.bulk_history_create(
            answers, update=True, default_user=user, default_date=now
        )
    logger.info(
        "confirmed %d carried-over answers in %s of response %s", len(answers), area, response.pk
    )
    return len(answers)


def reopen_response(*, response: Response, user=None) -> Response:
    """An administrator reopens a submitted response of an open round: it becomes an editable
    draft again and its score is withdrawn (the rescoring job removes it and updates the
    aggregates)."""
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("round")
            .get(pk=response.pk)
        )
        if response.status != Response.Status.SUBMITTED:
            raise SubmitError(_("Only a submitted response can be reopened."))
        if response.round.state != SurveyRound.State.OPEN:
            raise SubmitError(
                _("Round %(round)s is not open: reopen the round first.")
                % {"round": response.round}
            )
        response.status, response.submitted_at, response.submitted_by = "draft", None, None
        response._history_user = user
        response.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
        signals.response_reopened.send(sender=Response, response_id=response.pk, user=user)
    return response


class ImportedAnswer(NamedTuple):
    """One answer of an imported response (a row of the answers CSV, already parsed)."""

    question: Question
    value: Decimal | None
    not_applicable: bool
    evidence: str
    evidence_url: str
    not_applicable_reason: str = ""


def _check_imported(
    version: RubricVersion, answers: Mapping[Product, Sequence[ImportedAnswer]]
) -> None:
    """Each product answers every question of the version once, by the answer rules."""
    levels = set(version.levels.values_list("value", flat=True))
    expected = set(version.questions.values_list("pk", flat=True))
    for product, rows in answers.items():
        if {row.question.pk for row in rows} != expected or len(rows) != len(expected):
            raise AnswerError(
                _("%(product)s: every question of %(version)s needs exactly one answer.")
                % {"product": product, "version": version}
            )
        for row in rows:
            check_answer(
                question=row.question,
                levels=levels,
                value=row.value,
                not_applicable=row.not_applicable,
                not_applicable_reason=row.not_applicable_reason,
                evidence_url=row.evidence_url,
            )


def import_submitted_responses(
    *,
    survey_round: SurveyRound,
    answers: Mapping[Product, Sequence[ImportedAnswer]],
    user=None,
) -> list[Response]:
    """Store complete answer sets (a past round from a spreadsheet) as submitted responses of
    the round, in one transaction, each answer checked by the same rules as a saved one and
    given its history row, then tell scoring the round changed."""
    _check_imported(survey_round.rubric_version, answers)
    submitted_at = min(survey_round.closes_at, timezone.now())
    with transaction.atomic():
        responses = bulk_create_with_history(
            [
                Response(
                    round=survey_round,
                    product=product,
                    status=Response.Status.SUBMITTED,
                    submitted_at=submitted_at,
                    submitted_by=user,
                )
                for product in answers
            ],
            Response,
            default_user=user,
        )
        bulk_create_with_history(
            [
                Answer(
                    response=response,
                    question=row.question,
                    value=None if row.not_applicable else row.value,
                    not_applicable=row.not_applicable,
                    not_applicable_reason=row.not_applicable_reason.strip()
                    if row.not_applicable
                    else "",
                    evidence=row.evidence,
                    evidence_url=row.evidence_url,
                    updated_by=user,
                )
                for response, rows in zip(responses, answers.values(), strict=True)
                for row in rows
            ],
            Answer,
            default_user=user,
        )
        if responses:
            signals.answers_imported.send(sender=Response, round_id=survey_round.pk, user=user)
    return responses
