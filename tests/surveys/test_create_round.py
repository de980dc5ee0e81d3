"""manage.py create_round."""

import re
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from apps.surveys.models import SurveyRound
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def create(*args) -> str:
    out = StringIO()
    call_command("create_round", *args, stdout=out)
    return out.getvalue()


def test_creates_a_round_on_a_published_version(settings):
    make_version()
    output = create(
        "2021-10",
        "--rubric",
        "tiny",
        "--version",
        "1",
        "--title",
        "First round",
        "--opens",
        "2021-10-01",
        "--closes",
        "2021-11-15",
        "--state",
        "closed",  # a past round, to import its answers into
    )
    assert (
        "Created round 2021-10 (First round) on tiny 1, closed, 2021-10-01 to 2021-11-15" in output
    )
    survey_round = SurveyRound.objects.get(key="2021-10")
    tokyo = ZoneInfo(settings.TIME_ZONE)
    assert survey_round.opens_at == datetime(2021, 10, 1, tzinfo=tokyo)
    assert survey_round.closes_at == datetime(2021, 11, 16, tzinfo=tokyo)  # end of the 15th
    assert survey_round.state == "closed"
    assert survey_round.events.get().action == "closed"  # logged like any other close


def test_a_round_created_open_goes_through_opening_and_its_deadline_must_be_ahead():
    make_version()
    with pytest.raises(CommandError, match="has passed: move it before opening"):
        create(
            "2021-10",
            "--rubric",
            "tiny",
            "--version",
            "1",
            "--opens",
            "2021-10-01",
            "--closes",
            "2021-11-15",
            "--state",
            "open",
        )
    assert not SurveyRound.objects.exists()  # nothing half-created
    create("2030-01", "--rubric", "tiny", "--version", "1", "--state", "open")
    assert SurveyRound.objects.get().events.get().action == "opened"


def test_defaults_title_dates_and_state():
    make_version()
    create("2022-04", "--rubric", "tiny", "--version", "1")
    survey_round = SurveyRound.objects.get()
    assert survey_round.title == "Tiny rubric 2022-04"
    assert survey_round.state == "planned"
    assert (survey_round.closes_at - survey_round.opens_at).days == 31


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rubric", "nope", "--version", "1"], "Unknown rubric 'nope'"),
        (["--rubric", "tiny", "--version", "9"], "has no version '9' (it has: 1)"),
        (["--rubric", "tiny", "--version", "1", "--opens", "2021-13-01"], "Invalid date"),
        (
            [
                "--rubric",
                "tiny",
                "--version",
                "1",
                "--opens",
                "2021-10-02",
                "--closes",
                "2021-09-01",
            ],
            "must close after it opens",
        ),
    ],
)
def test_bad_arguments_are_clear_errors_and_create_nothing(args, message):
    make_version()
    with pytest.raises(CommandError, match=re.escape(message)):
        create("2021-10", *args)
    assert not SurveyRound.objects.exists()


def test_duplicate_key_is_refused():
    make_version()
    create("2021-10", "--rubric", "tiny", "--version", "1")
    with pytest.raises(CommandError, match="already exists"):
        create("2021-10", "--rubric", "tiny", "--version", "1")
    assert SurveyRound.objects.count() == 1


def test_draft_version_is_refused():
    make_version(publish=False)
    with pytest.raises(CommandError, match="is a draft"):
        create("2021-10", "--rubric", "tiny", "--version", "1")


def test_bad_key_is_refused():
    make_version()
    with pytest.raises(CommandError, match="Invalid round key"):
        create("2021 10", "--rubric", "tiny", "--version", "1")
