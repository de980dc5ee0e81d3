"""The survey pages: my assessments, the questionnaire (autosaving each answer), submit."""

from contextlib import nullcontext
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.accounts.roles import can_answer_for, can_reopen, sees_everything
from apps.products.models import Product
from apps.surveys import selectors, services
from apps.surveys.models import Response, SurveyRound


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My products × open rounds, my past scores, and (for the MLOps team) every round."""
    context = {
        "assignments": selectors.my_assignments(request.user),
        "rounds": selectors.rounds_with_progress() if sees_everything(request.user) else [],
    }
    return render(request, "surveys/home.html", context)


def _target(request: HttpRequest, key: str, slug: str) -> tuple[SurveyRound, Product, bool]:
    """The round and product, and whether the user may edit; 404 for anyone who may not see."""
    survey_round = get_object_or_404(
        SurveyRound.objects.select_related("rubric_version__rubric"), key=key
    )
    product = get_object_or_404(Product.objects.select_related("team"), slug=slug)
    editor = can_answer_for(request.user, product)
    if not editor and not sees_everything(request.user):
        raise Http404
    return survey_round, product, editor


@login_required
def questionnaire(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """The product's questionnaire in the round. Opening it writes nothing: a product not
    started yet is shown as an empty draft, and its first save (or prefill) creates it."""
    survey_round, product, editor = _target(request, key, slug)
    response = Response.objects.filter(round=survey_round, product=product).first()
    if response is None:
        if not editor or survey_round.state != SurveyRound.State.OPEN:
            raise Http404
        response = Response(round=survey_round, product=product)  # not saved
    sections = selectors.questionnaire(survey_round, response)
    editable = (
        editor
        and response.status == Response.Status.DRAFT
        and survey_round.state == SurveyRound.State.OPEN
    )
    previous = services.previous_response(response) if editable else None
    submitted = response.status == Response.Status.SUBMITTED
    refused = editable and "unanswered" in request.GET
    context = {
        "round": survey_round,
        "product": product,
        "response": response,
        "sections": sections,
        "editable": editable,
        "answered": sum(section["answered"] for section in sections),
        "carried": sum(section["carried"] for section in sections),
        "flags": services.review_flags(response, previous) if previous else {},
        "can_prefill": previous is not None,
        # Last round's answer beside each question, while the team answers this one.
        "previous_round": previous.round if previous else None,
        "previous_answers": selectors.previous_answers(previous) if previous else {},
        "total": sum(len(section["questions"]) for section in sections),
        # After a refused submit: the questions left, and the carried-over answers nobody
        # confirmed, each linking to its form.
        "unanswered": selectors.unanswered(sections) if refused else [],
        "unconfirmed": selectors.unconfirmed(sections) if refused else [],
        "can_reopen": submitted
        and survey_round.state == SurveyRound.State.OPEN
        and can_reopen(request.user),
    }
    return render(request, "surveys/questionnaire.html", context)


def _editable_response(request: HttpRequest, key: str, slug: str) -> Response:
    """The product's response in the round for a member of its team (started by this POST
    if it was not yet); 404 for anyone else, or when the round has no place for it."""
    survey_round, product, editor = _target(request, key, slug)
    if not editor:
        raise Http404
    existing = Response.objects.filter(round=survey_round, product=product).first()
    if existing is not None:
        return existing
    try:
        return services.start_response(survey_round=survey_round, product=product)
    except services.AnswerError:
        raise Http404 from None


@login_required
@require_POST
def save_answer(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """Save one answer (JSON for the autosaving page; a redirect for a plain form post)."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    # The common case, a team member saving into a started response, in one query; anything
    # else (not started yet, a superuser, no such round or product) goes the long way.
    response = selectors.member_response(request.user, key=key, slug=slug)
    target = _target(request, key, slug) if response is None else None
    if target is not None and not target[2]:
        return _answer_error(request, wants_json, _("Only the product's team can answer."), 403)
    choice = request.POST.get("value", "")
    revision = request.POST.get("revision", "")
    # An invalid link never blocks the level and evidence: they save, the stored link stays,
    # and the reply names the link's own problem (the page keeps the typed text, unsaved).
    link = request.POST.get("evidence_url", "").strip()
    link_error = services.evidence_link_error(link)
    try:
        value = None if choice in ("", "na") else Decimal(choice)
        base = int(revision) if revision else None
    except (InvalidOperation, ValueError):
        return _answer_error(request, wants_json, _("That is not a valid answer."), 400)
    try:
        # A refused first save starts no response either (a started one needs no savepoint).
        with transaction.atomic() if target is not None else nullcontext():
            if target is not None:
                survey_round, product, _editor = target
                response = Response.objects.filter(round=survey_round, product=product).first()
                if response is None:  # the first save starts the response
                    response = services.start_response(survey_round=survey_round, product=product)
            answer = services.save_answer(
                response=response,
                question_key=request.POST.get("question", ""),
                value=value,
                not_applicable=choice == "na",
                not_applicable_reason=request.POST.get("not_applicable_reason", ""),
                evidence=request.POST.get("evidence", ""),
                evidence_url=None if link_error else link,
                base_revision=base,
                user=request.user,
            )
    except services.AnswerConflict as conflict:
        current = conflict.current
        payload = {
            "error": str(conflict),
            "current": {
                "value": "na" if current.not_applicable else _plain(current.value),
                "label": selectors.answer_label(current),
                "evidence": current.evidence,
                "evidence_url": current.evidence_url,
                "not_applicable_reason": current.not_applicable_reason,
                "revision": current.revision,
                "updated_by": selectors.person_name(current.updated_by),
                "updated_at": date_format(timezone.localtime(current.updated_at), "Y-m-d H:i"),
            },
        }
        if wants_json:
            return JsonResponse(payload, status=409)
        messages.error(request, payload["error"])
        return redirect("questionnaire", key=key, slug=slug)
    except services.AnswerError as error:
        return _answer_error(request, wants_json, str(error), 400, field=error.field)
    if not wants_json:
        if link_error:
            messages.error(request, _("Saved, except the link: %(error)s") % {"error": link_error})
        else:
            messages.success(request, _("Saved."))
        return redirect("questionnaire", key=key, slug=slug)
    # The page counts its answered questions itself: no count over the response here.
    reply = {"revision": answer.revision, "saved_at": answer.updated_at}
    if link_error:
        reply["errors"] = {"evidence_url": link_error}
    return JsonResponse(reply)


@login_required
def review(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """What Submit would send, for the team to check before confirming: the answers by area,
    what changed since the previous round, N/A, missing evidence, and the provisional score.
    Reading it writes nothing."""
    survey_round, product, editor = _target(request, key, slug)
    if not editor:
        raise Http404
    response = Response.objects.filter(round=survey_round, product=product).first()
    if response is None:
        response = Response(round=survey_round, product=product)  # not started: not saved
    if response.status != Response.Status.DRAFT or survey_round.state != SurveyRound.State.OPEN:
        return redirect("questionnaire", key=key, slug=slug)
    return _render_review(request, survey_round, product, response)


def _render_review(request, survey_round, product, response, error: str = "", status=200):
    sections = selectors.questionnaire(survey_round, response)
    previous = services.previous_response(response) if response.pk else None
    flags = services.review_flags(response, previous) if previous else {}
    answers = [item["answer"] for section in sections for item in section["questions"]]
    token = services.review_token(answer for answer in answers if answer is not None)
    context = {
        "round": survey_round,
        "product": product,
        "response": response,
        "review": selectors.review(sections, previous, flags, token),
        "error": error,
    }
    return render(request, "surveys/review.html", context, status=status)


@login_required
@require_POST
def submit(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """Confirm a review: submit the response if its answers are still those reviewed. A post
    without the review's token (a stale form, a script) is shown the review first."""
    response = _editable_response(request, key, slug)
    reviewed = request.POST.get("reviewed", "")
    if not reviewed:
        return redirect("review-response", key=key, slug=slug)
    try:
        services.submit_response(response=response, user=request.user, reviewed=reviewed)
    except services.SubmitError as error:
        if error.stale:  # the fresh review, nothing changed
            survey_round, product = response.round, response.product
            return _render_review(request, survey_round, product, response, str(error), 409)
        # The service says how many questions are left, in the user's language.
        messages.error(request, _("Not submitted: %(reason)s") % {"reason": error})
        if error.unanswered or error.unconfirmed:
            url = reverse("questionnaire", kwargs={"key": key, "slug": slug})
            anchor = "unanswered" if error.unanswered else "unconfirmed"
            return redirect(f"{url}?unanswered#{anchor}")
    else:
        messages.success(request, _("Submitted. The scores appear here once computed."))
    return redirect("questionnaire", key=key, slug=slug)


def _answer_error(request, wants_json: bool, message: str, status: int, field: str = ""):
    if wants_json:
        return JsonResponse({"error": message, "field": field}, status=status)
    messages.error(request, message)
    return redirect(request.path.rsplit("/answer", 1)[0] + "/")


def _plain(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


@login_required
@require_POST
def prefill(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """Copy the previous round's answers into this draft; flag what needs a fresh look."""
    response = _editable_response(request, key, slug)
    try:
        result = services.prefill_from_previous(response=response, user=request.user)
    except services.AnswerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _prefill_message(result))
    return redirect("questionnaire", key=key, slug=slug)


def _prefill_message(result: services.Prefill) -> str:
    """“Copied 28 answers from 2023-10; none needs review” (or “3 need review”)."""
    copied = ngettext(
        "Copied %(count)d answer from %(round)s",
        "Copied %(count)d answers from %(round)s",
        result.copied,
    ) % {"count": result.copied, "round": result.source.key}
    flagged = len(result.flagged)
    if flagged:
        review = ngettext(
            "%(count)d needs review (marked “review”)",
            "%(count)d need review (marked “review”)",
            flagged,
        ) % {"count": flagged}
    else:
        review = _("none needs review")
    return _("%(copied)s; %(review)s. Confirm each carried-over answer before submitting.") % {
        "copied": copied,
        "review": review,
    }


@login_required
@require_POST
def confirm_area(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """Confirm every carried-over answer of one area as it stands (“Confirm all in this
    area”), then back to that area."""
    response = _editable_response(request, key, slug)
    area = request.POST.get("area", "")
    try:
        confirmed = services.confirm_carried_over(response=response, area=area, user=request.user)
    except services.AnswerError as error:
        messages.error(request, str(error))
        return redirect("questionnaire", key=key, slug=slug)
    messages.success(
        request,
        ngettext(
            "Confirmed %(count)d carried-over answer.",
            "Confirmed %(count)d carried-over answers.",
            confirmed,
        )
        % {"count": confirmed},
    )
    url = reverse("questionnaire", kwargs={"key": key, "slug": slug})
    return redirect(f"{url}#area-{area}")


@login_required
@require_POST
def reopen(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    """An administrator reopens a submitted response: a draft again, its score withdrawn."""
    survey_round, product, _editor = _target(request, key, slug)
    if not can_reopen(request.user):
        raise PermissionDenied
    response = get_object_or_404(Response, round=survey_round, product=product)
    try:
        services.reopen_response(response=response, user=request.user)
    except services.SubmitError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Reopened: the team can change and submit it again; its score is withdrawn.")
        )
    return redirect("questionnaire", key=key, slug=slug)


@login_required
def question_history(request: HttpRequest, key: str, slug: str, question: str) -> HttpResponse:
    """A question's saved answers, newest first, in this round and the product's earlier
    rounds of the rubric (a fragment the questionnaire loads; a page without JavaScript)."""
    survey_round, product, _editor = _target(request, key, slug)
    entries = selectors.question_history(survey_round, product, question)
    if entries is None:
        raise Http404
    context = {"round": survey_round, "product": product, "question": question, "entries": entries}
    fragment = request.headers.get("X-Requested-With") == "fetch"
    name = "history_entries" if fragment else "question_history"
    return render(request, f"surveys/{name}.html", context)
