"""CSV exports: exact columns, RFC 4180 quoting, BOM for Excel, permissions, flat streaming."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import VIEWERS_GROUP
from apps.exchange.exports import answer_rows, number, result_rows
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
FULL = {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5}


@pytest.fixture
def scored_round():
    opens = timezone.now() - timedelta(days=60)
    survey_round = SurveyRoundFactory(
        key="2021-10",
        rubric_version=make_version(),
        state="closed",
        opens_at=opens,
        closes_at=opens + timedelta(days=30),
    )
    team = TeamFactory(name="Search, Ranking")
    done = ProductFactory(slug="a-ranker", name="検索ランキング", team=team)
    answer_all(ResponseFactory(round=survey_round, product=done), FULL)
    done.responses.get().answers.filter(question__key="data-schema").update(
        evidence='Checked in CI, see "schema.yml"\nand the wiki', evidence_url="https://x.example/a"
    )
    draft = ProductFactory(slug="b-draft", name="Draft product")
    answer_all(ResponseFactory(round=survey_round, product=draft), {"data-schema": 0}, False)
    ProductFactory(slug="c-idle", name="Idle product")  # active, never started
    scores.score_round(round_id=survey_round.pk)
    return survey_round


def export(*args) -> bytes:
    out = io.BytesIO()
    call_command(*args, stdout=_BinaryStdout(out))
    return out.getvalue()


class _BinaryStdout(StringIO):
    def __init__(self, target):
        super().__init__()
        self.buffer = target


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_results_csv_has_one_row_per_product_with_scores(scored_round, tmp_path):
    path = tmp_path / "results.csv"
    call_command("export_round", "--round", "2021-10", "--format", "results", "-o", str(path))
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    header, *rows = rows_of(data)
    assert header == [
        "round",
        "product",
        "product_name",
        "team",
        "status",
        "submitted_at",
        "rubric",
        "rubric_version",
        "area_data",
        "na_data",
        "area_monitoring",
        "na_monitoring",
        "overall",
        "band",
    ]
    assert [row[1] for row in rows] == ["a-ranker", "b-draft", "c-idle"]
    ranker, draft, idle = rows
    assert ranker[2:5] == ["検索ランキング", "Search, Ranking", "submitted"]
    # exact values: data 2 (1 + an N/A, rescaled), 1 N/A; monitoring 0.5, none
    assert ranker[6:] == ["tiny", "1", "2", "1", "0.5", "0", "0.5", "Basic"]
    assert ranker[5].startswith("20")
    assert draft[4] == "draft" and draft[8:] == ["", "", "", "", "", ""]
    assert idle[4] == "not_started" and idle[5] == ""


def test_answers_csv_quotes_evidence_and_marks_not_applicable(scored_round):
    data = export("export_round", "--round", "2021-10", "--format", "answers", "--bom")
    assert data.startswith(b"\xef\xbb\xbf")
    assert b'"Checked in CI, see ""schema.yml""\r\nand the wiki"' not in data  # newline kept as is
    assert b'"Checked in CI, see ""schema.yml""\nand the wiki"' in data
    header, *rows = rows_of(data)
    assert header == [
        "round",
        "product",
        "area",
        "question",
        "question_number",
        "value",
        "not_applicable",
        "evidence",
        "evidence_url",
        "product_name",
        "team",
        "not_applicable_reason",
        "carried_over_from",
    ]
    assert [row[3] for row in rows] == ["data-schema", "data-features", "monitoring-staleness"]
    assert [row[4] for row in rows] == ["DATA-1", "DATA-2", "MONITORING-1"]
    schema, features, staleness = rows
    assert schema[5:7] == ["1", "false"]
    assert schema[7] == 'Checked in CI, see "schema.yml"\nand the wiki'
    team = scored_round.responses.get(product__slug="a-ranker").product.team
    assert schema[8:] == ["https://x.example/a", "検索ランキング", team.slug, "", ""]
    assert features[5:7] == ["", "true"]
    assert features[11:] == ["Does not apply to this product.", ""]  # submitted: confirmed
    assert staleness[5] == "0.5"


def test_trends_csv_has_all_and_cohort_per_round(scored_round):
    data = export("export_trends", "--rubric", "tiny")
    header, *rows = rows_of(data)
    assert header == [
        "round",
        "population",
        "n",
        "overall_mean",
        "overall_median",
        "overall_p25",
        "overall_p75",
        "area_data_mean",
        "area_monitoring_mean",
        "provisional",
        "cohort_from",
        "churn_previous",
        "joined",
        "stayed",
        "left_retired",
        "left_skipped",
        "area_data_na_share",
        "area_monitoring_na_share",
        "like_for_like",
        "questions_compared",
        "left_out",
    ]
    provisional = str(scored_round.state == "open").lower()
    statistics = ["1", "0.5", "0.5", "0.5", "0.5", "2", "0.5", provisional]
    # The first round: no churn; one of the two data answers is N/A (rescaled to 2).
    assert rows == [
        ["2021-10", "all", *statistics, "", "", "", "", "", "", "0.5", "0", "false", "", ""],
        [
            *("2021-10", "cohort", *statistics, "2021-10", "", "", "", "", ""),
            *("0.5", "0", "false", "", ""),
        ],
    ]


def test_unknown_round_and_rubric_are_clear_errors():
    with pytest.raises(CommandError, match="No round 'nope'"):
        call_command("export_round", "--round", "nope", "--format", "results")
    with pytest.raises(CommandError, match="No rubric 'nope'"):
        call_command("export_trends", "--rubric", "nope")


def test_download_needs_a_login(client, scored_round):
    response = client.get(reverse("round-results-csv", args=["2021-10"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_viewer_downloads_every_row_with_a_bom(client, scored_round):
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(viewer)
    response = client.get(reverse("round-results-csv", args=["2021-10"]))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="2021-10-results.csv"' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")
    assert len(rows_of(data)) == 4


def test_member_downloads_only_their_teams_rows(client, scored_round):
    member = UserFactory(username="member")
    ranker_team = scored_round.responses.get(product__slug="a-ranker").product.team
    ranker_team.members.add(member)
    client.force_login(member)
    for name in ("round-results-csv", "round-answers-csv"):
        data = b"".join(client.get(reverse(name, args=["2021-10"])).streaming_content)
        products = {row[1] for row in rows_of(data)[1:]}
        assert products == {"a-ranker"}
    outsider = UserFactory(username="outsider")
    client.force_login(outsider)
    data = b"".join(client.get(reverse("round-answers-csv", args=["2021-10"])).streaming_content)
    assert rows_of(data) == [rows_of(data)[0]]  # the header only


def test_unknown_round_download_is_404(admin_client):
    assert admin_client.get(reverse("round-results-csv", args=["1999-01"])).status_code == 404


def test_export_queries_do_not_grow_with_products(scored_round, django_assert_max_num_queries):
    for _ in range(20):
        answer_all(ResponseFactory(round=scored_round, product=ProductFactory()), FULL)
    scores.score_round(round_id=scored_round.pk)

    with django_assert_max_num_queries(8):
        assert len(list(result_rows(scored_round))) == 24
    with django_assert_max_num_queries(4):
        assert len(list(answer_rows(scored_round))) == 1 + 21 * 3


def test_numbers_have_up_to_four_places():
    assert [number(Decimal(v)) for v in ("2.0000", "4.6667", "0.5000", "0", "10")] == [
        "2",
        "4.6667",
        "0.5",
        "0",
        "10",
    ]
    assert number(None) == ""
