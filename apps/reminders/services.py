"""Reminding the teams of a round's products not submitted yet, by e-mail: an invitation
when the round opens, the scheduled reminders before its deadline (REMINDER_DAYS), and the
reminders an administrator sends from the round page or `send_reminders`.

Each person gets one mail listing their teams' products, and is reminded of a product at
most once a day whatever sends it: before writing, a run claims each (person, product) for
the day in the database (a unique index), so two runs never mail the same thing twice. A mail
that cannot be delivered (no address, a bad EMAIL_URL, an unreachable server) is logged and
recorded as not delivered, which releases its claims: the next run tries it again."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.products.models import Product
from apps.reminders import mails, selectors
from apps.reminders.models import Reminder, ReminderMail
from apps.reminders.selectors import Recipient
from apps.surveys.models import SurveyRound

logger = logging.getLogger(__name__)
Kind = ReminderMail.Kind

# A mail still "sending" after this long was cut off (a killed worker): released for a retry.
STALE_SENDING = timedelta(minutes=30)


class ReminderError(Exception):
    """Reminders that cannot be sent as asked; the message says why."""


class Report(NamedTuple):
    """What one run did for one round: mails delivered and not, and the people skipped
    because they were reminded of every one of their products today already."""

    round: SurveyRound
    delivered: int
    failed: int
    skipped: int


class NoAddress(Exception):
    """The recipient has no e-mail address."""


def remind(
    *,
    survey_round: SurveyRound,
    kind: str = Kind.MANUAL,
    triggered_by=None,
    teams: list[int] | None = None,
    products: list[int] | None = None,
) -> Report:
    """Remind now the members of the teams with products not submitted yet in an open round:
    all of them, or only those of `teams` and `products` (ids) when either is given."""
    if survey_round.state != SurveyRound.State.OPEN:
        raise ReminderError(_("Round %(round)s is not open.") % {"round": survey_round})
    people = chosen_recipients(survey_round, teams=teams, products=products)
    return deliver(survey_round=survey_round, people=people, kind=kind, triggered_by=triggered_by)


def chosen_recipients(
    survey_round: SurveyRound, *, teams: list[int] | None = None, products: list[int] | None = None
) -> list[Recipient]:
    """Whom a reminder of the round would go to, about which products: every laggard's
    members, or only for the products of `teams` and the `products` (ids) when either is
    given."""
    chosen = None
    if teams or products:
        chosen = Product.objects.filter(
            Q(team_id__in=teams or []) | Q(pk__in=products or [])
        ).values("pk")
    return selectors.recipients(survey_round, products=chosen)


def invite(*, survey_round: SurveyRound, triggered_by=None) -> Report | None:
    """Invite the teams of a round that has just opened (nothing if it is no longer open)."""
    if survey_round.state != SurveyRound.State.OPEN:
        return None
    return remind(survey_round=survey_round, kind=Kind.INVITATION, triggered_by=triggered_by)


def organisation_today() -> date:
    """Today in the organisation's time zone (TIME_ZONE): the day of the same-day rule."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def days_left(survey_round: SurveyRound, today: date) -> int:
    """Days from `today` to the round's deadline day, in the organisation's time zone."""
    deadline = timezone.localdate(survey_round.closes_at, timezone.get_default_timezone())
    return (deadline - today).days


def scheduled_plan(*, today: date | None = None) -> list[tuple[SurveyRound, list[Recipient]]]:
    """What the daily run would send: for each open round whose deadline is REMINDER_DAYS
    days away, every laggard's members; for the other open rounds, the reminders whose last
    try was not delivered."""
    today = today or organisation_today()
    plan = []
    for survey_round in SurveyRound.objects.filter(
        state=SurveyRound.State.OPEN, closes_at__gt=timezone.now()
    ).order_by("closes_at", "key"):
        people = selectors.recipients(survey_round)
        if days_left(survey_round, today) not in settings.REMINDER_DAYS:
            people = selectors.only(people, selectors.failed_last(survey_round))
        if people:
            plan.append((survey_round, people))
    return plan


def send_scheduled_reminders(*, today: date | None = None) -> list[Report]:
    """The daily run (Celery beat): send the scheduled reminders and the retries."""
    release_stale_mails()
    return [
        deliver(survey_round=survey_round, people=people, kind=Kind.SCHEDULED)
        for survey_round, people in scheduled_plan(today=today)
    ]


def release_stale_mails() -> int:
    """Record as not delivered the mails left "sending" by a run that was cut off, so that
    their products may be reminded again."""
    with transaction.atomic():
        stale = list(
            ReminderMail.objects.filter(
                status=ReminderMail.Status.SENDING,
                created_at__lt=timezone.now() - STALE_SENDING,
            ).values_list("pk", flat=True)
        )
        Reminder.objects.filter(mail__in=stale).update(failed=True)
        ReminderMail.objects.filter(pk__in=stale).update(
            status=ReminderMail.Status.FAILED, error="interrupted while sending"
        )
    return len(stale)


def deliver(
    *, survey_round: SurveyRound, people: list[Recipient], kind: str, triggered_by=None
) -> Report:
    """Mail each person the products listed for them, leaving out those they were reminded
    of today; each mail's outcome is recorded, none stops the others."""
    today = organisation_today()
    reminded = selectors.reminded_on(survey_round, today)
    questions = survey_round.rubric_version.questions.count()
    counts: Counter[str] = Counter()
    with Outbox() as outbox:
        for person in people:
            products = [p for p in person.products if (person.user.pk, p.pk) not in reminded]
            claim = products and _claim(survey_round, person, products, kind, triggered_by, today)
            if not claim:
                counts["skipped"] += 1
                continue
            mail, claimed = claim
            delivered = _send(mail, survey_round, claimed, questions=questions, outbox=outbox)
            counts["delivered" if delivered else "failed"] += 1
    report = Report(survey_round, counts["delivered"], counts["failed"], counts["skipped"])
    logger.info(
        "Round %s %s reminders by %s: %s delivered, %s not delivered, %s already reminded",
        survey_round.key,
        kind,
        triggered_by or "the system",
        *report[1:],
    )
    return report


def _claim(
    survey_round: SurveyRound,
    person: Recipient,
    products: list[Product],
    kind: str,
    triggered_by,
    today: date,
) -> tuple[ReminderMail, list[Product]] | None:
    """Record the mail and claim its products for today; those another run claimed first are
    left out (the unique index decides), and with none left there is no mail."""
    with transaction.atomic():
        mail = ReminderMail.objects.create(
            round=survey_round,
            recipient=person.user,
            address=person.address,
            language=person.language,
            kind=kind,
            triggered_by=triggered_by if getattr(triggered_by, "pk", None) else None,
        )
        Reminder.objects.bulk_create(
            [
                Reminder(mail=mail, round=survey_round, user=person.user, product=p, day=today)
                for p in products
            ],
            ignore_conflicts=True,
        )
        claimed = set(Reminder.objects.filter(mail=mail).values_list("product_id", flat=True))
        if not claimed:
            mail.delete()
            return None
    return mail, [product for product in products if product.pk in claimed]


def _send(
    mail: ReminderMail,
    survey_round: SurveyRound,
    products: list[Product],
    *,
    questions: int,
    outbox: Outbox,
) -> bool:
    """Send one claimed mail and record how it went."""
    try:
        if not mail.address:
            raise NoAddress("no e-mail address")
        outbox.send(mails.compose(mail, survey_round, products, questions=questions))
    except Exception as error:  # whatever the mail system says, only this mail fails
        mail.error = f"{type(error).__name__}: {error}"[:2000]
        logger.warning(
            "Round %s: reminder to %s not delivered: %s", survey_round.key, mail.recipient, error
        )
        with transaction.atomic():
            ReminderMail.objects.filter(pk=mail.pk).update(
                status=ReminderMail.Status.FAILED, error=mail.error
            )
            Reminder.objects.filter(mail=mail).update(failed=True)
        mail.status = ReminderMail.Status.FAILED
        return False
    ReminderMail.objects.filter(pk=mail.pk).update(status=ReminderMail.Status.SENT)
    mail.status = ReminderMail.Status.SENT
    return True


class Outbox:
    """One connection to the mail server for a run. Once it cannot be opened (a bad
    EMAIL_URL, a server down), every later mail of the run fails with that error at once
    instead of waiting for the server again."""

    def __init__(self) -> None:
        self.connection = None
        self.broken: Exception | None = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self._close()

    def send(self, message: EmailMessage) -> None:
        if self.broken is not None:
            raise self.broken
        if self.connection is None:
            try:
                self.connection = get_connection(fail_silently=False)
                self.connection.open()
            except Exception as error:
                self.broken, self.connection = error, None
                raise
        try:
            self.connection.send_messages([message])
        except Exception:
            self._close()  # the next mail opens a fresh connection
            raise

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.debug("Closing the mail connection failed", exc_info=True)
