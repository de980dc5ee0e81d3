"""The trends API and export_trends with the cohort from a start round."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.exchange.test_exports import export, rows_of
from tests.factories import UserFactory
from tests.scoring.test_cohort import history, version  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/rubrics/tiny/trends/"


@pytest.fixture
def client():
    client = APIClient()
    user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_cohort_from_a_later_round_in_json_and_csv(client, history):  # noqa: F811
    records = client.get(URL, {"cohort_from": "2023-04"}).json()
    cohort = [
        (r["round"], r["n"], r["cohort_from"]) for r in records if r["population"] == "cohort"
    ]
    assert cohort == [("2023-04", 3, "2023-04"), ("2023-10", 1, "2023-04")]
    assert len([r for r in records if r["population"] == "all"]) == 5
    joined = {r["round"]: r["churn"] for r in records if r["population"] == "all"}
    assert joined["2023-04"] == {"joined": 2, "stayed": 1, "left_retired": 0, "left_skipped": 0}
    assert records[0]["not_applicable"] == {"data": "0", "monitoring": "0"}
    reply = client.get(URL, {"cohort_from": "2023-04", "format": "csv"})
    header, *rows = csv.reader(io.StringIO(b"".join(reply.streaming_content).decode("utf-8-sig")))
    position = header.index("cohort_from")
    assert [row[position] for row in rows if row[1] == "cohort"] == ["2023-04", "2023-04"]


def test_the_default_start_is_the_first_round(client, history):  # noqa: F811
    records = client.get(URL).json()
    assert {r["cohort_from"] for r in records if r["population"] == "cohort"} == {"2021-10"}
    assert client.get(URL, {"cohort_from": "2021-10"}).json() == records


@pytest.mark.parametrize("key", ["nope", "2022-10", "2023-10", "x" * 300])
def test_an_unknown_start_round_is_a_400(client, history, key):  # noqa: F811
    for params in ({"cohort_from": key}, {"cohort_from": key, "format": "csv"}):
        reply = client.get(URL, params)
        assert reply.status_code == 400
        assert reply.json() == {"detail": "No cohort of this rubric starts from that round."}


def test_export_trends_from_a_start_round(history):  # noqa: F811
    header, *rows = rows_of(export("export_trends", "--rubric", "tiny", "--cohort-from", "2022-04"))
    cohort = [row for row in rows if row[1] == "cohort"]
    assert [row[0] for row in cohort] == ["2022-04", "2022-10", "2023-04", "2023-10"]
    assert {row[header.index("cohort_from")] for row in cohort} == {"2022-04"}
    columns = slice(header.index("joined"), header.index("left_skipped") + 1)
    churn = {row[0]: row[columns] for row in rows if row[1] == "all"}
    assert churn["2023-04"] == ["2", "1", "0", "0"]


def test_export_trends_refuses_an_unknown_start_round(history):  # noqa: F811
    with pytest.raises(CommandError, match="starts from '2022-10'; start rounds: 2021-10, 2022"):
        call_command("export_trends", "--rubric", "tiny", "--cohort-from", "2022-10")
