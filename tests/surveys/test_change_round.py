"""manage.py change_round: the round transitions from the command line, same guards."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.surveys.models import SurveyRound
from tests.factories import SurveyRoundFactory, make_version

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("change_round", *args, stdout=out)
    return out.getvalue()


def test_open_reopen_and_move_the_deadline(django_capture_on_commit_callbacks):
    version = make_version()
    SurveyRoundFactory(key="2024-04", rubric_version=version, state="planned")
    assert "Round 2024-04 is open" in run("open", "2024-04")
    later = (timezone.localdate() + timedelta(days=20)).isoformat()
    assert f"answers until {(timezone.localdate() + timedelta(days=21)).isoformat()} 00:00" in run(
        "deadline", "2024-04", "--closes", later, "--reason", "exam week"
    )
    SurveyRound.objects.filter(key="2024-04").update(state="closed")
    with pytest.raises(CommandError, match="Say why"):
        run("reopen", "2024-04")
    with django_capture_on_commit_callbacks(execute=False):
        assert "is open" in run("reopen", "2024-04", "--reason", "late team")
    actions = list(
        SurveyRound.objects.get(key="2024-04")
        .events.order_by("at")
        .values_list("action", flat=True)
    )
    assert actions == ["opened", "extended", "reopened"]


def test_bad_input_is_a_clear_error_and_changes_nothing():
    SurveyRoundFactory(key="2024-04", rubric_version=make_version(), state="open")
    with pytest.raises(CommandError, match="No round 'nope'"):
        run("open", "nope")
    with pytest.raises(CommandError, match="Invalid date '31/12'"):
        run("deadline", "2024-04", "--closes", "31/12")
    with pytest.raises(CommandError, match="must close after it opens"):
        run("deadline", "2024-04", "--closes", "2001-01-01")
    with pytest.raises(CommandError, match="--closes"):
        run("deadline", "2024-04")
    assert not SurveyRound.objects.get(key="2024-04").events.exists()
