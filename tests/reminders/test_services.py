"""Reminders by e-mail, received by a real SMTP server: whom, what, in which language, once a
day whatever sends them, and what happens when mail cannot be delivered."""

import gettext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from apps.accounts.models import Preference
from apps.reminders import services
from apps.reminders.models import Reminder, ReminderMail
from apps.surveys.models import Response
from config.mail import email_settings
from tests.factories import ProductFactory
from tests.reminders.conftest import mails

pytestmark = pytest.mark.django_db
LOCALE = Path(settings.BASE_DIR) / "locale"


def closing_in(survey_round, days: int) -> None:
    """Move the round's deadline to `days` days from today (at 23:59, organisation's time)."""
    day = timezone.localdate() + timedelta(days=days)
    survey_round.closes_at = timezone.make_aware(datetime(day.year, day.month, day.day, 23, 59))
    survey_round.save(update_fields=["closes_at"])


def test_each_member_gets_one_mail_listing_their_teams_products_with_links_and_deadline(
    smtp_server, org
):
    report = services.remind(survey_round=org.round, triggered_by=org.bob)

    assert (report.delivered, report.failed, report.skipped) == (2, 1, 0)  # carol: no address
    assert sorted(r for mail in smtp_server.received for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    alice = smtp_server.to("alice@example.com")[0]
    assert alice.sender == "maturity@localhost"
    assert alice.subject == "Reminder: 3 products to assess for MLOpsScore 2030-04 by " + (
        timezone.localtime(org.round.closes_at).strftime("%Y-%m-%d")
    )
    body = alice.body
    assert "Hello Alice," in body
    for name, team, slug in (("Bidder", "Ads", "bidder"), ("Ranker", "Search", "ranker")):
        assert f"- {name} ({team}): not started" in body
        assert f"https://maturity.example.com/assess/2030-04/{slug}/" in body
    assert "- Speller (Search): draft, 1 of 3 questions answered" in body
    assert "Indexer" not in body  # submitted
    deadline = timezone.localtime(org.round.closes_at, timezone.get_default_timezone())
    assert f"Deadline: {deadline:%Y-%m-%d %H:%M} (Asia/Tokyo)" in body
    bob = smtp_server.to("bob@example.com")[0]
    assert "Bidder" not in bob.body and "Ranker" in bob.body  # not a member of ads


def test_the_deadline_is_in_the_organisations_time_zone(smtp_server, org):
    org.round.closes_at = datetime(2030, 6, 30, 15, 0, tzinfo=UTC)
    org.round.save(update_fields=["closes_at"])
    services.remind(survey_round=org.round, teams=[org.search.pk])
    assert "Deadline: 2030-07-01 00:00 (Asia/Tokyo)" in smtp_server.received[0].body


def test_a_japanese_user_gets_the_mail_in_japanese(smtp_server, org):
    Preference.objects.create(user=org.bob, language="ja")
    services.remind(survey_round=org.round, teams=[org.search.pk])
    catalogue = gettext.translation("django", localedir=LOCALE, languages=["ja"])
    bob = smtp_server.to("bob@example.com")[0]
    assert bob.subject.startswith(
        "リマインダー: MLOpsScore 2030-04 で回答が必要なプロダクトが 2 件"
    )
    assert catalogue.gettext("not started") in bob.body and "未着手" in bob.body
    assert "https://maturity.example.com/assess/2030-04/ranker/" in bob.body
    alice = smtp_server.to("alice@example.com")[0]
    assert alice.subject.startswith("Reminder:")
    assert ReminderMail.objects.get(recipient=org.bob).language == "ja"


def test_chosen_products_only(smtp_server, org):
    ranker = org.search.products.get(slug="ranker")
    services.remind(survey_round=org.round, products=[ranker.pk])
    assert sorted(r for mail in smtp_server.received for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert all("Speller" not in mail.body for mail in smtp_server.received)
    assert set(Reminder.objects.values_list("product__slug", flat=True)) == {"ranker"}


def test_nobody_is_reminded_twice_of_a_product_on_the_same_day_whatever_sends_it(
    smtp_server, org, settings
):
    settings.REMINDER_DAYS = [7, 3, 1]
    closing_in(org.round, 3)
    [scheduled] = services.send_scheduled_reminders()
    assert (scheduled.delivered, len(smtp_server.received)) == (2, 2)

    manual = services.remind(survey_round=org.round, triggered_by=org.alice)
    again = services.send_scheduled_reminders()
    # Carol has no address: her mail fails each time, which does not count as reminded.
    assert (manual.delivered, manual.failed, manual.skipped) == (0, 1, 2)
    assert [(report.delivered, report.skipped) for report in again] == [(0, 2)]
    assert len(smtp_server.received) == 2
    # A product that newly needs answering is still reminded the same day, alone.
    ProductFactory(slug="tagger", name="Tagger", team=org.search)
    services.remind(survey_round=org.round, teams=[org.search.pk], triggered_by=org.alice)
    latest = smtp_server.received[2:]
    assert sorted(r for mail in latest for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert all("Tagger" in mail.body and "Ranker" not in mail.body for mail in latest)
    # The next day, everything is due again.
    Reminder.objects.update(day=timezone.localdate() - timedelta(days=1))
    services.remind(survey_round=org.round)
    assert len(smtp_server.received) == 6


def test_the_database_holds_the_same_day_rule(org):
    mail = ReminderMail.objects.create(
        round=org.round, recipient=org.bob, address="bob@example.com", language="en", kind="manual"
    )
    ranker = org.search.products.get(slug="ranker")
    fields = {"round": org.round, "user": org.bob, "product": ranker, "day": timezone.localdate()}
    Reminder.objects.create(mail=mail, failed=True, **fields)  # a failure does not count
    Reminder.objects.create(mail=mail, **fields)
    with pytest.raises(IntegrityError):
        Reminder.objects.create(mail=mail, **fields)


def test_a_submitted_product_is_no_longer_reminded(smtp_server, org):
    speller = org.search.products.get(slug="speller")
    Response.objects.filter(product=speller).update(
        status=Response.Status.SUBMITTED, submitted_at=timezone.now()
    )
    services.remind(survey_round=org.round, teams=[org.search.pk])
    assert all("Speller" not in mail.body for mail in smtp_server.received)


def test_scheduled_reminders_go_only_on_reminder_days(smtp_server, org, settings):
    settings.REMINDER_DAYS = [7, 3, 1]
    closing_in(org.round, 5)
    assert services.send_scheduled_reminders() == []
    closing_in(org.round, 7)
    assert [r.delivered for r in services.send_scheduled_reminders()] == [2]


def test_an_unreachable_smtp_server_is_recorded_and_the_next_run_retries(smtp_down, org, settings):
    settings.REMINDER_DAYS = [7]
    closing_in(org.round, 7)
    [report] = services.send_scheduled_reminders()

    assert (report.delivered, report.failed) == (0, 3)
    failed = mails(status="failed")
    assert len(failed) == 3
    assert any("Connection refused" in mail.error for mail in failed if mail.address)
    assert not Reminder.objects.filter(failed=False).exists()  # not "sent today"
    assert services.remind(survey_round=org.round, teams=[org.ads.pk]).failed == 2


def test_the_next_run_delivers_what_failed_even_on_a_day_without_reminders(
    smtp_down, org, settings, request
):
    settings.REMINDER_DAYS = [7]
    closing_in(org.round, 7)
    services.send_scheduled_reminders()
    closing_in(org.round, 6)  # the next day: no reminder is due, the failed ones are retried
    inbox = request.getfixturevalue("smtp_server")
    [report] = services.send_scheduled_reminders()
    assert (report.delivered, report.failed) == (2, 1)  # carol has no address still
    assert sorted(r for mail in inbox.received for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    closing_in(org.round, 5)
    assert [r.delivered for r in services.send_scheduled_reminders()] == [0]


def test_a_user_without_an_email_address_is_recorded_and_the_others_get_theirs(smtp_server, org):
    report = services.remind(survey_round=org.round, teams=[org.ads.pk])
    assert (report.delivered, report.failed) == (1, 1)
    carol = ReminderMail.objects.get(recipient=org.carol)
    assert (carol.status, carol.address, carol.error) == (
        "failed",
        "",
        "NoAddress: no e-mail address",
    )
    assert list(carol.reminders.values_list("product__slug", "failed")) == [("bidder", True)]
    assert [mail.recipients for mail in smtp_server.received] == [["alice@example.com"]]


@pytest.mark.parametrize("url", ["nonsense://mail.example.com", "smtp://mail.example.com:port"])
def test_a_bad_email_url_fails_each_mail_with_the_reason_and_nothing_else(settings, org, url):
    for name, value in email_settings(url).items():
        setattr(settings, name, value)
    report = services.remind(survey_round=org.round)
    assert (report.delivered, report.failed) == (0, 3)
    addressed = mails(status="failed", address__gt="")
    assert addressed and all("EMAIL_URL" in mail.error for mail in addressed)


def test_a_good_email_url_is_read(settings):
    assert email_settings("smtp+tls://me:secret@mail.example.com:587") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "me",
        "EMAIL_HOST_PASSWORD": "secret",
        "EMAIL_FILE_PATH": "",
        "EMAIL_USE_TLS": True,
        "EMAIL_URL_ERROR": "",
    }
    assert email_settings("consolemail://")["EMAIL_BACKEND"].endswith("console.EmailBackend")


def test_a_mail_left_sending_by_a_killed_run_is_released(org):
    mail = ReminderMail.objects.create(
        round=org.round,
        recipient=org.bob,
        address="bob@example.com",
        language="en",
        kind="scheduled",
        created_at=timezone.now() - timedelta(hours=1),
    )
    ranker = org.search.products.get(slug="ranker")
    Reminder.objects.create(
        mail=mail, round=org.round, user=org.bob, product=ranker, day=timezone.localdate()
    )
    assert services.release_stale_mails() == 1
    mail.refresh_from_db()
    assert (mail.status, mail.error) == ("failed", "interrupted while sending")
    assert Reminder.objects.get().failed


def test_only_open_rounds_are_reminded(org):
    org.round.state = "closed"
    org.round.save(update_fields=["state"])
    with pytest.raises(services.ReminderError):
        services.remind(survey_round=org.round)
    assert services.send_scheduled_reminders() == []


def test_inactive_accounts_are_not_written_to(smtp_server, org):
    org.bob.is_active = False
    org.bob.save()
    services.remind(survey_round=org.round, teams=[org.search.pk])
    assert [mail.recipients for mail in smtp_server.received] == [["alice@example.com"]]
