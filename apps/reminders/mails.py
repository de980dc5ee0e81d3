"""The reminder e-mail itself: written in the recipient's language, with the deadline in the
organisation's time zone and absolute links to each product's questionnaire."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from apps.products.models import Product
from apps.reminders.models import ReminderMail
from apps.surveys.models import SurveyRound


def questionnaire_url(survey_round: SurveyRound, product: Product) -> str:
    """The absolute address of a product's questionnaire in a round (SITE_URL)."""
    return settings.SITE_URL + reverse("questionnaire", args=[survey_round.key, product.slug])


def compose(
    mail: ReminderMail, survey_round: SurveyRound, products: list[Product], *, questions: int
) -> EmailMessage:
    """The message of a reminder mail (or invitation) naming `products`, each with its
    progress out of the round's `questions`."""
    zone = timezone.get_default_timezone()
    context = {
        "mail": mail,
        "name": mail.recipient.get_full_name() or mail.recipient.get_username(),
        "round": survey_round,
        "invitation": mail.kind == ReminderMail.Kind.INVITATION,
        "deadline": timezone.localtime(survey_round.closes_at, zone),
        "zone": zone.key,
        "products": [(product, questionnaire_url(survey_round, product)) for product in products],
        "count": len(products),
        "questions": questions,
        "site_url": settings.SITE_URL,
    }
    with translation.override(mail.language), timezone.override(zone):
        subject = render_to_string("reminders/mail_subject.txt", context)
        body = render_to_string("reminders/mail_body.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.address],
    )
