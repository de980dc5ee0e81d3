"""On PostgreSQL the answers and results exports are written by the database (COPY): byte for
byte what the Python writer writes for the same rows, whatever the cells hold."""

from datetime import timedelta
from itertools import cycle

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.exchange import database_csv
from apps.exchange.exports import (
    answer_csv,
    answer_rows,
    formatted_by_database,
    result_csv,
    result_rows,
    stream,
)
from apps.products.selectors import visible_product_ids
from apps.scoring import scores
from apps.surveys.models import Answer, SurveyRound
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgresql(reason="compares PostgreSQL's COPY with the Python CSV writer"),
]

NASTY = [
    "=1+1",
    "+1",
    "-x",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "'=1",
    "''-2",
    "'plain",
    "'",
    "''",
    "-",
    "plain",
    "a=1",
    'say "hi"',
    '"',
    "a,b",
    ",",
    "line\nbreak",
    "crlf\r\nend",
    "\n",
    "\r",
    "検索ランキング、品質",
    "",
    " lead space",
    "trailing ",
    "\\.",
    "a\tb",
    "emoji 😀",
    "NULL",
    "1.5",
]
VALUES = [
    {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5},
    {"data-schema": 0, "data-features": 0.5, "monitoring-staleness": 1},
    {"data-schema": 0.5, "data-features": 1, "monitoring-staleness": 0},
]


@pytest.fixture
def nasty_round() -> SurveyRound:
    """A scored round whose every text (names, teams, evidence, URLs, the band, the round's
    key) is one of NASTY: submitted, draft, unscored and not started products."""
    opens = timezone.now() - timedelta(days=60)
    survey_round = SurveyRoundFactory(
        key="2021-10",
        rubric_version=make_version(
            bands=[
                {"max": 0, "label": "-1 research"},
                {"max": 1, "label": "=Basic, or not"},
                {"label": '"Strong"'},
            ]
        ),
        state="closed",
        opens_at=opens,
        closes_at=opens + timedelta(days=30),
    )
    texts = cycle(NASTY)
    for index, name in enumerate(NASTY):
        team = TeamFactory(name=next(texts), slug=("-" if index % 3 == 0 else "") + f"t{index}")
        slug = ("=" if index % 4 == 0 else "") + f"p{index:02d}"
        product = ProductFactory(slug=slug, name=name, team=team)
        if index % 5 == 4:
            continue  # never started
        response = ResponseFactory(round=survey_round, product=product)
        answer_all(response, VALUES[index % 3], submitted=index % 7 != 6)
        for answer in response.answers.all():
            answer.evidence, answer.evidence_url = next(texts), next(texts)
            answer.save(update_fields=["evidence", "evidence_url"])
        if index % 2:  # no microseconds (isoformat leaves them out)
            response.submitted_at = response.submitted_at and response.submitted_at.replace(
                microsecond=0
            )
            response.save(update_fields=["submitted_at"])
    scores.score_round(round_id=survey_round.pk)
    SurveyRound.objects.filter(pk=survey_round.pk).update(key="-1+1")
    return SurveyRound.objects.select_related("rubric_version__rubric").get(pk=survey_round.pk)


def python_bytes(rows, *, bom: bool = True) -> bytes:
    return b"".join(stream(rows, bom=bom))


def test_the_database_writes_the_exports_on_postgresql():
    assert connection.vendor == "postgresql" and formatted_by_database()


@pytest.mark.parametrize("bom", [True, False])
def test_answers_copy_writes_the_python_writers_bytes(nasty_round, bom):
    data = b"".join(answer_csv(nasty_round, bom=bom))
    assert data == python_bytes(answer_rows(nasty_round), bom=bom)
    assert data.startswith(b"\xef\xbb\xbf") == bom
    assert data.count(b"\r\n") >= 1 + Answer.objects.filter(response__status="submitted").count()
    # The cells are really there, neutralised and quoted.
    for written in (b"'=1+1", b"'''-2", b'"say ""hi"""', b'"line\nbreak"', b"'-1+1,'=p00,"):
        assert written in data, written
    assert "検索ランキング、品質".encode() in data


@pytest.mark.parametrize("bom", [True, False])
def test_results_copy_writes_the_python_writers_bytes(nasty_round, bom):
    data = b"".join(result_csv(nasty_round, bom=bom))
    assert data == python_bytes(result_rows(nasty_round), bom=bom)
    assert b',"\'=Basic, or not"\r\n' in data  # the band: neutralised, then quoted
    assert b",not_started,," in data
    assert b"+00:00" in data and b".000000+" not in data


def test_a_members_copy_has_only_their_teams_rows(nasty_round, client):
    member = UserFactory(username="member")
    product = nasty_round.responses.filter(status="submitted").order_by("product__slug").first()
    product.product.team.members.add(member)
    products = visible_product_ids(member)
    answers = b"".join(answer_csv(nasty_round, products, bom=True))
    results = b"".join(result_csv(nasty_round, products, bom=True))
    assert answers == python_bytes(answer_rows(nasty_round, products))
    assert results == python_bytes(result_rows(nasty_round, products))
    assert answers.count(b"\r\n'-1+1,") == product.answers.count()
    client.force_login(member)
    download = client.get(reverse("round-answers-csv", args=["-1+1"]))
    assert b"".join(download.streaming_content) == answers


def test_a_download_closed_early_leaves_the_connection_usable(nasty_round, monkeypatch):
    monkeypatch.setattr(database_csv, "ROWS_PER_CHUNK", 2)
    chunks = answer_csv(nasty_round, bom=True)
    header, first = next(chunks), next(chunks)  # the client reads two chunks and leaves
    chunks.close()
    assert header.startswith(b"\xef\xbb\xbfround,") and first.count(b"'-1+1,") == 2
    assert Answer.objects.filter(response__round=nasty_round).count() > 2
