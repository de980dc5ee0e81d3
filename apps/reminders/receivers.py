"""Reminders follow the surveys: a round that opens invites its teams (connected in
RemindersConfig.ready). The mails are sent by a worker once the opening has committed, so a
slow or broken mail server never holds up or undoes the opening."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.reminders import tasks
from apps.surveys import signals

logger = logging.getLogger(__name__)


def invite_on_open(sender, *, round_id: int, user=None, **kwargs) -> None:
    """A round opened: queue its invitations once the transaction commits."""
    user_id = user.pk if getattr(user, "pk", None) else None
    transaction.on_commit(lambda: queue_invitations(round_id, user_id), robust=True)


def queue_invitations(round_id: int, user_id: int | None) -> None:
    """Hand the invitations to a worker; with the broker down they are only logged as lost
    (`manage.py send_reminders --round KEY` sends them)."""
    try:
        tasks.send_invitations.delay(round_id, user_id)
    except (KombuOperationalError, ConnectionError, OSError):
        logger.warning("Broker unreachable: the invitations of round %s were not sent", round_id)


def connect() -> None:
    signals.round_opened.connect(invite_on_open, dispatch_uid="reminders-round-opened")
