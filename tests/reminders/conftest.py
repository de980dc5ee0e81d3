"""A real SMTP server on localhost (aiosmtpd) that keeps every message it receives, and a
small organisation with an open round to remind."""

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import NamedTuple

import pytest
from aiosmtpd.controller import Controller

from apps.reminders.models import ReminderMail
from tests.factories import ProductFactory, SurveyRoundFactory, TeamFactory, UserFactory


class Received(NamedTuple):
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()  # Django folds a long encoded one

    @property
    def body(self) -> str:
        return self.message.get_content()


class Inbox:
    """aiosmtpd's handler: every message delivered to the server, in order."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_smtp(settings, port: int) -> None:
    """Send the app's mail by SMTP to 127.0.0.1:port (the test settings keep it in memory)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free local port, which the app's mail goes to."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(settings, controller.port)
    settings.SITE_URL = "https://maturity.example.com"
    settings.TIME_ZONE = "Asia/Tokyo"
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_down(settings):
    """The app's mail goes to a local port nobody listens on."""
    use_smtp(settings, free_port())


class Organisation(NamedTuple):
    round: object
    alice: object  # member of search and ads
    bob: object  # member of search
    carol: object  # member of ads, no e-mail address
    search: object  # team: ranker (not started), speller (draft), indexer (submitted)
    ads: object  # team: bidder (not started)


@pytest.fixture
def org(db) -> Organisation:
    from tests.factories import ResponseFactory, answer_all

    survey_round = SurveyRoundFactory(key="2030-04", title="MLOpsScore 2030-04")
    search, ads = TeamFactory(slug="search", name="Search"), TeamFactory(slug="ads", name="Ads")
    alice = UserFactory(username="alice", email="alice@example.com", first_name="Alice")
    bob = UserFactory(username="bob", email="bob@example.com")
    carol = UserFactory(username="carol", email="")
    search.members.add(alice, bob)
    ads.members.add(alice, carol)
    ProductFactory(slug="ranker", name="Ranker", team=search)
    speller = ProductFactory(slug="speller", name="Speller", team=search)
    indexer = ProductFactory(slug="indexer", name="Indexer", team=search)
    ProductFactory(slug="bidder", name="Bidder", team=ads)
    answer_all(ResponseFactory(round=survey_round, product=speller), {"data-schema": 1}, False)
    answer_all(
        ResponseFactory(round=survey_round, product=indexer),
        {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1},
    )
    return Organisation(survey_round, alice, bob, carol, search, ads)


def mails(**filters) -> list[ReminderMail]:
    return list(ReminderMail.objects.filter(**filters).order_by("pk"))
