"""A round that opens invites its teams: by a task queued once the opening has committed, so
the mail server never holds up or undoes the opening."""

import logging

import pytest

from apps.reminders import services
from apps.reminders.models import ReminderMail
from apps.surveys.models import RoundEvent, SurveyRound
from apps.surveys.rounds import open_round
from tests.surveys.test_broker_down import broker_down  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(org):
    SurveyRound.objects.filter(pk=org.round.pk).update(state=SurveyRound.State.PLANNED)
    org.round.refresh_from_db()
    return org


def test_opening_a_round_invites_its_teams_once_committed(
    planned, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        opened = open_round(survey_round=planned.round, user=planned.bob)
        assert smtp_server.received == [] and not ReminderMail.objects.exists()
    for callback in callbacks:
        callback()

    assert sorted(r for mail in smtp_server.received for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    alice = smtp_server.to("alice@example.com")[0]
    assert alice.subject.startswith("MLOpsScore 2030-04 is open: 3 products to assess by ")
    assert 'The maturity assessment round "MLOpsScore 2030-04" is open.' in alice.body
    assert "https://maturity.example.com/assess/2030-04/bidder/" in alice.body
    assert set(ReminderMail.objects.values_list("kind", "triggered_by__username")) == {
        ("invitation", "bob")
    }
    # The same day, a reminder adds nothing.
    assert services.remind(survey_round=opened).delivered == 0
    assert len(smtp_server.received) == 2


def test_an_unreachable_mail_server_neither_delays_nor_breaks_the_opening(
    planned, smtp_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        open_round(survey_round=planned.round, user=None)
    planned.round.refresh_from_db()
    assert planned.round.state == "open"
    assert RoundEvent.objects.filter(round=planned.round, action="opened").exists()
    assert set(ReminderMail.objects.values_list("kind", "status")) == {("invitation", "failed")}


@pytest.mark.usefixtures("broker_down")
def test_with_the_broker_down_the_opening_stands_and_the_loss_is_logged(
    planned, django_capture_on_commit_callbacks, caplog
):
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        open_round(survey_round=planned.round, user=None)
    planned.round.refresh_from_db()
    assert planned.round.state == "open" and not ReminderMail.objects.exists()
    assert "invitations of round" in caplog.text


def test_opening_an_open_round_again_invites_nobody(
    org, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        open_round(survey_round=org.round, user=None)
    assert smtp_server.received == []
