"""CSV formula injection (OWASP): every export writes a text cell starting with = + - @, tab or
carriage return after an apostrophe, so a spreadsheet shows it as text; numbers stay numbers."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import VIEWERS_GROUP
from apps.exchange.exports import Number, cell, number, stream, text_cell
from apps.scoring import scores
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db
NAME = '=HYPERLINK("http://x.example","click")'
EVIDENCE = {"data-schema": "@SUM(A1)", "data-features": "-2+3", "monitoring-staleness": "\tcmd"}


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),  # already quoted by hand: one more, so the import gives it back
        ("plain", "plain"),
        ("'plain", "'plain"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_text_cells_that_read_as_formulas_get_an_apostrophe_and_the_import_takes_it_off(
    text, written
):
    assert cell(text) == written
    assert text_cell(cell(text)) == text


def test_numeric_columns_are_numbers_whatever_their_sign():
    data = b"".join(stream([[number(Decimal("-0.5000")), "-0.5000", 3, Number("")]], bom=False))
    assert data == b"-0.5,'-0.5000,3,\r\n"


@pytest.fixture
def evil_round():
    """A scored round whose product name, team name and evidence texts read as formulas."""
    opens = timezone.now() - timedelta(days=60)
    survey_round = SurveyRoundFactory(
        key="2021-10",
        rubric_version=make_version(),
        state="closed",
        opens_at=opens,
        closes_at=opens + timedelta(days=30),
    )
    product = ProductFactory(slug="evil", name=NAME, team=TeamFactory(name="+1+1"))
    response = ResponseFactory(round=survey_round, product=product)
    answer_all(response, {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5})
    for key, evidence in EVIDENCE.items():
        response.answers.filter(question__key=key).update(evidence=evidence)
    scores.score_round(round_id=survey_round.pk)
    return survey_round


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def assert_results_neutralised(data: bytes) -> None:
    (row,) = rows_of(data)
    assert row["product_name"] == "'" + NAME
    assert row["team"] == "'+1+1"
    assert (row["area_data"], row["area_monitoring"], row["overall"]) == ("2", "0.5", "0.5")
    assert b"\r\n2021-10,evil," in data  # the round and slug are left as they are


def assert_answers_neutralised(data: bytes) -> None:
    rows = rows_of(data)
    assert {r["question"]: r["evidence"] for r in rows} == {
        key: "'" + text for key, text in EVIDENCE.items()
    }
    assert [r["value"] for r in rows] == ["1", "", "0.5"]
    assert {r["product_name"] for r in rows} == {"'" + NAME}


def export(*args) -> bytes:
    out = io.BytesIO()
    stdout = StringIO()
    stdout.buffer = out
    call_command(*args, stdout=stdout)
    return out.getvalue()


def test_export_round_neutralises_text_cells(evil_round):
    assert_results_neutralised(export("export_round", "--round", "2021-10", "--format", "results"))
    assert_answers_neutralised(export("export_round", "--round", "2021-10", "--format", "answers"))


def test_round_page_downloads_neutralise_text_cells(client, evil_round):
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(viewer)
    results = client.get(reverse("round-results-csv", args=["2021-10"]))
    assert_results_neutralised(b"".join(results.streaming_content))
    answers = client.get(reverse("round-answers-csv", args=["2021-10"]))
    assert_answers_neutralised(b"".join(answers.streaming_content))


def test_api_csv_neutralises_text_cells_and_json_keeps_them(evil_round):
    client = APIClient()
    client.force_authenticate(UserFactory(username="admin", is_superuser=True, is_staff=True))
    reply = client.get("/api/v1/rounds/2021-10/results/", {"format": "csv"})
    assert_results_neutralised(b"".join(reply.streaming_content))
    (record,) = client.get("/api/v1/rounds/2021-10/results/").json()
    assert (record["product_name"], record["team"]) == (NAME, "+1+1")  # JSON is no spreadsheet


def test_export_trends_neutralises_text_cells(evil_round):
    # Keys are validated as letters, digits, dots, hyphens and underscores in forms and the
    # API; one written past them (a data migration, the shell) is still neutralised.
    type(evil_round).objects.filter(pk=evil_round.pk).update(key="-1+1")
    rows = rows_of(export("export_trends", "--rubric", "tiny"))
    assert [(r["round"], r["n"], r["overall_mean"]) for r in rows] == [
        ("'-1+1", "1", "0.5"),
        ("'-1+1", "1", "0.5"),
    ]
    client = APIClient()
    client.force_authenticate(UserFactory(username="admin", is_superuser=True, is_staff=True))
    reply = client.get("/api/v1/rubrics/tiny/trends/", {"format": "csv"})
    assert rows_of(b"".join(reply.streaming_content))[0]["round"] == "'-1+1"
