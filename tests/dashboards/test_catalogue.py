"""The product catalogue: who sees which products, search, filters, stored scores, queries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import ADMINS_GROUP, VIEWERS_GROUP
from apps.dashboards.selectors import CatalogueScore
from apps.dashboards.sparklines import sparkline
from apps.products.models import Characteristic
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

LOW = {"data-schema": 0, "data-features": 0.5, "monitoring-staleness": 0.5}  # overall 0.5
MID = {"data-schema": 1, "data-features": 0.5, "monitoring-staleness": 1}  # overall 1
HIGH = {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1}  # overall 1 (min)


@pytest.fixture
def org():
    """Two teams; two closed rounds and an open one of the small rubric, scored."""
    version = make_version()
    now = timezone.now()
    rounds = [
        SurveyRoundFactory(
            key=key,
            rubric_version=version,
            state=state,
            opens_at=now - timedelta(days=days),
            closes_at=now - timedelta(days=days - 30),
        )
        for key, state, days in [
            ("2030-01", "closed", 400),
            ("2030-07", "closed", 200),
            ("2031-01", "open", 10),
        ]
    ]
    ours, theirs = TeamFactory(name="Search team"), TeamFactory(name="Fraud team")
    online = Characteristic.objects.get(key="online-serving")
    forecast = ProductFactory(name="Demand forecast", slug="demand-forecast", team=ours)
    forecast.characteristics.add(online)
    japanese = ProductFactory(name="需要予測モデル", slug="juyo-yosoku", team=ours)
    ranker = ProductFactory(
        name="Fraud ranker", slug="fraud-ranker", team=theirs, retired_at=date(2031, 2, 1)
    )
    ranker.characteristics.add(online)
    ProductFactory(name="需要検知", slug="fraud-demand", team=theirs)  # never scored
    for survey_round, product, values in [
        (rounds[0], forecast, LOW),
        (rounds[1], forecast, MID),
        (rounds[2], forecast, HIGH),
        (rounds[0], japanese, MID),
        (rounds[1], ranker, HIGH),
    ]:
        answer_all(ResponseFactory(round=survey_round, product=product), values)
    scores.score_all()
    member = UserFactory(username="member")
    ours.members.add(member)
    return {"rounds": rounds, "ours": ours, "theirs": theirs, "member": member}


def viewer():
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return user


def shown(page) -> list[str]:
    return [row.product.slug for row in page.context["rows"]]


def get(client, **params):
    return client.get(reverse("catalogue"), params)


def test_anonymous_is_sent_to_log_in(client, org):
    page = get(client)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


def test_member_sees_only_their_teams_products(client, org):
    client.force_login(org["member"])
    page = get(client)
    assert page.status_code == 200
    assert shown(page) == ["demand-forecast", "juyo-yosoku"]
    html = page.content.decode()
    assert "Fraud ranker" not in html and "Fraud team" not in html  # not even in the filter


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_viewers_and_administrators_see_every_product(client, org, role):
    if role == "viewer":
        client.force_login(viewer())
    else:
        user = UserFactory(username="mlops-admin")
        user.groups.add(Group.objects.get_or_create(name=ADMINS_GROUP)[0])
        client.force_login(user)
    page = get(client)
    assert shown(page) == ["demand-forecast", "fraud-ranker", "juyo-yosoku", "fraud-demand"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("FORECAST", ["demand-forecast"]),  # any case
        ("ＦＯＲＥＣＡＳＴ", ["demand-forecast"]),  # full-width letters
        ("需要", ["juyo-yosoku", "fraud-demand"]),  # Japanese
        ("予測", ["juyo-yosoku"]),
        ("yosoku", ["juyo-yosoku"]),  # the slug
        ("demand", ["demand-forecast", "fraud-demand"]),  # name or slug
        ("fraud  ranker", ["fraud-ranker"]),  # every word
        ("ranker forecast", []),
    ],
)
def test_search_by_name_or_slug(client, org, query, found):
    client.force_login(viewer())
    page = get(client, q=query)
    assert page.status_code == 200
    assert shown(page) == found


def test_member_search_never_finds_other_teams_products(client, org):
    client.force_login(org["member"])
    assert shown(get(client, q="fraud")) == []
    assert shown(get(client, q="需要")) == ["juyo-yosoku"]  # not 需要検知 of the other team
    assert shown(get(client, characteristic="online-serving")) == ["demand-forecast"]


def test_filters_by_team_use_case_and_status(client, org):
    client.force_login(viewer())
    assert shown(get(client, team=org["theirs"].slug)) == ["fraud-ranker", "fraud-demand"]
    assert shown(get(client, characteristic="online-serving")) == [
        "demand-forecast",
        "fraud-ranker",
    ]
    assert shown(get(client, status="retired")) == ["fraud-ranker"]
    assert shown(get(client, status="active", team=org["theirs"].slug)) == ["fraud-demand"]
    assert shown(get(client, q="fraud", characteristic="online-serving")) == ["fraud-ranker"]


def test_member_filtering_by_another_team_gets_400_and_no_product(client, org):
    client.force_login(org["member"])
    page = get(client, team=org["theirs"].slug)
    assert page.status_code == 400
    assert shown(page) == []
    assert "Select a valid choice" in page.content.decode()


@pytest.mark.parametrize(
    "params",
    [{"characteristic": "no-such-use-case"}, {"status": "lost"}, {"q": "x" * 101}],
)
def test_bad_filters_get_400_with_the_reason(client, org, params):
    client.force_login(viewer())
    page = get(client, **params)
    assert page.status_code == 400
    assert shown(page) == []
    assert 'role="alert"' in page.content.decode()


def test_latest_score_is_the_latest_closed_rounds_and_the_open_one_is_provisional(client, org):
    client.force_login(viewer())
    rows = {row.product.slug: row for row in get(client).context["rows"]}
    forecast = rows["demand-forecast"]
    assert forecast.latest == CatalogueScore("2030-07", Decimal("1.0000"), "Basic", "", False)
    assert forecast.provisional.round == "2031-01" and forecast.provisional.overall == 1
    assert forecast.provisional.band == "Basic"
    assert [(s.round, s.overall) for s in forecast.trend] == [
        ("2030-01", Decimal("0.5")),
        ("2030-07", Decimal(1)),
        ("2031-01", Decimal(1)),
    ]
    assert rows["juyo-yosoku"].latest.round == "2030-01"  # scored only in the first round
    assert rows["juyo-yosoku"].provisional is None
    assert rows["fraud-demand"].latest is None and rows["fraud-demand"].sparkline is None


def test_rows_show_score_band_open_round_and_sparkline(client, org):
    client.force_login(viewer())
    html = get(client, q="demand forecast").content.decode()
    assert 'href="/products/demand-forecast/"' in html
    assert '<strong data-score="latest">1.00</strong>' in html and "2030-07" in html
    assert "2031-01 (open): 1.00 so far" in html
    assert '<svg class="sparkline"' in html and 'class="provisional"' in html
    assert "2030-01: 0.50, 2030-07: 1.00, 2031-01: 1.00 (open, so far)" in html  # text alternative


def test_japanese_page(client, org):
    client.force_login(viewer())
    client.cookies["django_language"] = "ja"
    html = get(client, q="需要").content.decode()
    assert "<h1>プロダクト</h1>" in html and "名前またはスラッグ" in html
    assert "需要予測モデル" in html
    html = get(client, q="forecast").content.decode()
    assert "オンライン推論" in html  # its use case in Japanese
    assert "2031-01（受付中）: 暫定 1" in html


def test_queries_do_not_grow_with_the_products_on_the_page(client, org):
    client.force_login(viewer())
    get(client)
    with CaptureQueriesContext(connection) as few:
        assert len(get(client).context["rows"]) == 4
    for _index in range(30):
        product = ProductFactory(team=org["theirs"])
        product.characteristics.add(Characteristic.objects.get(key="batch-serving"))
        for survey_round in org["rounds"]:
            answer_all(ResponseFactory(round=survey_round, product=product), MID)
    scores.score_all()
    with CaptureQueriesContext(connection) as unfiltered:
        assert len(get(client).context["rows"]) == 34
    assert len(unfiltered) == len(few)
    with CaptureQueriesContext(connection) as many:
        page = get(client, team=org["theirs"].slug, characteristic="batch-serving")
        assert len(page.context["rows"]) == 30
        assert all(len(row.trend) == 3 for row in page.context["rows"])
    # The two filters each read their choice once; nothing is read per product.
    assert len(many) == len(few) + 2
    assert len(few) <= 8
    # The page's rows carry the count of them all: no query of its own.
    assert not [q for q in few if "COUNT(*)" in q["sql"]], few.captured_queries


def test_pages_keep_the_search_and_filters(client, org, settings):
    client.force_login(viewer())
    for index in range(60):
        ProductFactory(name=f"Forecast {index:02d}", team=org["ours"])
    page = get(client, q="forecast", team=org["ours"].slug)
    assert len(page.context["rows"]) == 50 and page.context["page"].paginator.count == 61
    html = page.content.decode()
    assert f"?q=forecast&amp;team={org['ours'].slug}&amp;page=2" in html
    second = get(client, q="forecast", team=org["ours"].slug, page=2)
    assert len(second.context["rows"]) == 11


@pytest.mark.parametrize(
    ("asked", "number"),
    [
        (None, 1),
        ("2", 2),
        (" 2 ", 2),
        ("abc", 1),  # not a whole number: the first page, as Paginator.get_page reads it
        ("2.5", 1),
        ("3", 2),  # past the end, below 1 or beyond any offset: the last page
        ("0", 2),
        ("-1", 2),
        ("9" * 30, 2),
    ],
)
def test_page_numbers_are_read_as_django_reads_them(client, org, asked, number):
    client.force_login(viewer())
    for index in range(60):
        ProductFactory(name=f"Forecast {index:02d}", team=org["ours"])
    everything = shown(get(client)) + shown(get(client, page=2))
    page = get(client) if asked is None else get(client, page=asked)
    assert page.status_code == 200
    assert page.context["page"].number == number
    assert page.context["page"].paginator.count == 64
    assert shown(page) == everything[(number - 1) * 50 : number * 50]
    assert len(set(everything)) == 64


def test_a_search_finding_nothing_is_one_query_for_its_rows_and_count(client, org):
    client.force_login(viewer())
    with CaptureQueriesContext(connection) as queries:
        page = get(client, q="zzz-nothing")
    assert page.context["page"].paginator.count == 0 and page.context["rows"] == []
    assert "No product matches these filters." in page.content.decode()
    assert len([q for q in queries if "products_product" in q["sql"]]) == 1


def test_header_links_to_the_catalogue(client, org):
    client.force_login(org["member"])
    assert f'href="{reverse("catalogue")}"' in client.get(reverse("home")).content.decode()


def test_sparkline_from_known_points():
    points = [
        CatalogueScore("2030-01", Decimal(0), "", "", False),
        CatalogueScore("2030-07", None, "", "", False),  # every area N/A: a gap
        CatalogueScore("2031-01", Decimal(2), "", "", False),
        CatalogueScore("2031-07", Decimal(1), "", "", True),
    ]
    line = sparkline(points, Decimal(2))
    # x from 3 to 93 in three steps of 30; y from 21 (score 0) to 3 (the top, 2).
    assert line.line == "3.0,21.0 63.0,3.0"
    assert line.provisional_line == "63.0,3.0 93.0,12.0"
    assert [d.provisional for d in line.dots] == [False, False, True]
    assert line.label == "2030-01: 0.00, 2030-07: –, 2031-01: 2.00, 2031-07: 1.00 (open, so far)"
    assert sparkline(points[2:3], Decimal(4)).label == "2031-01: 2.00"
    svg = str(line.svg())
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 2
    assert sparkline(points[1:2], Decimal(2)) is None


def test_sparkline_label_is_escaped():
    line = sparkline([CatalogueScore("<b>", Decimal(1), "", "", False)], Decimal(1))
    assert "<b>" not in str(line.svg()) and "&lt;b&gt;" in str(line.svg())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (Decimal("1.0000"), "1.00"),
        (Decimal("0.5"), "0.50"),
        (Decimal("1.2500"), "1.25"),
    ],
)
def test_scores_print_as_the_templates_print_them(value, text):
    from apps.dashboards.sparklines import score_text
    from apps.rubrics.templatetags.numbers import score

    assert score_text(value) == text
    assert value is None or score(value) == text
