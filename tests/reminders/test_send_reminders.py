"""manage.py send_reminders [--round KEY] [--dry-run]."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.reminders.models import ReminderMail

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("send_reminders", *args, stdout=out)
    return out.getvalue()


def test_dry_run_prints_who_would_get_what_and_sends_nothing(org, smtp_server):
    out = run("--round", "2030-04", "--dry-run")
    assert "Round 2030-04 (deadline " in out and "3 people" in out
    assert "  alice <alice@example.com> [en]: Bidder, Ranker, Speller" in out
    assert "  bob <bob@example.com> [en]: Ranker, Speller" in out
    assert "  carol (no e-mail address) [en]: Bidder" in out
    assert out.rstrip().endswith("Dry run: nothing was sent.")
    assert smtp_server.received == [] and not ReminderMail.objects.exists()


def test_dry_run_of_the_schedule_marks_who_was_reminded_today(org, smtp_server, settings):
    settings.REMINDER_DAYS = [30]
    org.round.closes_at = timezone.now() + timedelta(days=30)
    org.round.save(update_fields=["closes_at"])
    assert "bob <bob@example.com>" in run("--dry-run")
    with pytest.raises(CommandError, match="not delivered"):  # carol has no address
        run()
    out = run("--dry-run")
    assert "  bob <bob@example.com> [en]: Ranker (reminded today), Speller (reminded today)" in out
    assert len(smtp_server.received) == 2
    settings.REMINDER_DAYS = [7]  # no reminder is due: only the undelivered are retried
    out = run("--dry-run")
    assert "1 person\n  carol (no e-mail address) [en]: Bidder\nDry run" in out
    org.carol.email = "carol@example.com"
    org.carol.save()
    run()
    assert run("--dry-run").startswith("No reminders are due today.")


def test_a_round_is_reminded_now_and_the_undelivered_make_it_fail(org, smtp_server):
    out = StringIO()
    with pytest.raises(CommandError, match="next run retries"):
        call_command("send_reminders", "--round", "2030-04", stdout=out)
    assert "Round 2030-04: 2 mails delivered, 1 not delivered" in out.getvalue()
    assert len(smtp_server.received) == 2
    org.carol.email = "carol@example.com"
    org.carol.save()
    assert "1 mails delivered, 0 not delivered, 2 people already reminded" in run(
        "--round", "2030-04"
    )


def test_unknown_and_closed_rounds_are_refused(org):
    with pytest.raises(CommandError, match="No round"):
        run("--round", "1999-01")
    org.round.state = "closed"
    org.round.save(update_fields=["state"])
    with pytest.raises(CommandError, match="only open rounds"):
        run("--round", "2030-04", "--dry-run")
