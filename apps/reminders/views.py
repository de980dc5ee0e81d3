import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.accounts.roles import can_remind
from apps.reminders import services, tasks
from apps.surveys.models import SurveyRound

logger = logging.getLogger(__name__)


def _ids(request: HttpRequest, name: str) -> list[int]:
    return sorted({int(value) for value in request.POST.getlist(name) if value.isdigit()})


@login_required
@require_POST
def remind(request: HttpRequest, key: str) -> HttpResponse:
    """The round page's Remind: administrators who may change rounds mail the members of the
    chosen teams and products not submitted yet (sent by a worker, logged on the page)."""
    if not can_remind(request.user):
        raise PermissionDenied
    survey_round = get_object_or_404(SurveyRound, key=key)
    back = redirect(reverse("round", args=[key]) + "#reminders")
    teams, products = _ids(request, "team"), _ids(request, "product")
    if survey_round.state != SurveyRound.State.OPEN:
        messages.error(request, _("Round %(round)s is not open.") % {"round": survey_round})
        return back
    if not (teams or products):
        messages.error(request, _("Choose the teams or products to remind."))
        return back
    people = services.chosen_recipients(survey_round, teams=teams, products=products)
    if not people:
        messages.warning(
            request, _("Nobody to remind: those products are submitted or have no team members.")
        )
        return back
    try:
        tasks.send_reminders.delay(survey_round.pk, request.user.pk, teams, products)
    except (KombuOperationalError, ConnectionError, OSError):
        logger.warning("Broker unreachable: reminders of round %s not queued", survey_round.key)
        messages.error(request, _("The reminders could not be queued: try again later."))
        return back
    products_named = len({product.pk for person in people for product in person.products})
    messages.success(
        request,
        ngettext(
            "Sending reminders to %(people)d person (products: %(products)d); nobody is "
            "reminded twice of a product on the same day. Each mail appears in the log below.",
            "Sending reminders to %(people)d people (products: %(products)d); nobody is "
            "reminded twice of a product on the same day. Each mail appears in the log below.",
            len(people),
        )
        % {"people": len(people), "products": products_named},
    )
    return back
