"""The round page: participation and reminders for the MLOps team, results per role."""

import copy
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.template.defaultfilters import date
from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import template_localtime

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.dashboards import selectors, views
from apps.dashboards.templatetags.dashboards import _minute
from apps.demo.services import seed_demo
from apps.products.models import Product
from apps.scoring import scores
from apps.scoring.models import ResponseScore
from apps.scoring.rules import quantize
from apps.surveys.models import Answer, SurveyRound
from apps.surveys.selectors import LaggardRows, describe_laggards, round_laggards
from tests.factories import (
    SMALL_RUBRIC,
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    seed_demo(products=40, rounds=3, seed=2)
    return SurveyRound.objects.order_by("opens_at")


def viewer():
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return user


def test_viewer_sees_participation_reminders_and_every_result(client, demo):
    client.force_login(viewer())
    open_round = demo.last()
    page = client.get(reverse("round", args=[open_round.key]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Participation by team" in html and "@example.com" in html  # whom to remind
    scored = open_round.responses.filter(status="submitted").count()
    assert len(page.context["results"]) == scored > 0
    assert "results.csv" in html and "answers.csv" in html


def test_results_have_the_change_since_the_previous_round_and_sort(client, demo):
    client.force_login(viewer())
    second = demo[1]
    rows = client.get(reverse("round", args=[second.key]), {"sort": "change"}).context["rows"]
    changes = [row.change for row in rows if row.change is not None]
    assert changes and changes == sorted(changes, reverse=True)
    assert rows[-1].change is None or len(changes) == len(rows)  # products new to it: last
    top = rows[0]
    now, before = (
        ResponseScore.objects.get(round=r, product__slug=top.product).overall
        for r in (second, demo[0])
    )
    assert top.change == now - before
    ascending = client.get(
        reverse("round", args=[second.key]), {"sort": "overall", "dir": "asc"}
    ).context["rows"]
    overall = [row.overall for row in ascending]
    assert overall == sorted(overall)


def test_member_sees_only_their_teams_results_and_no_reminders(client, demo):
    member = UserFactory(username="member")
    first = demo.first()
    team = first.responses.first().product.team
    team.members.add(member)
    client.force_login(member)
    page = client.get(reverse("round", args=[first.key]))
    assert {row.team for row in page.context["rows"]} == {team.name}
    assert "Participation by team" not in page.content.decode()


def test_team_filter_and_unknown_round(client, demo):
    client.force_login(viewer())
    first = demo.first()
    team = first.responses.first().product.team
    rows = client.get(reverse("round", args=[first.key]), {"team": team.slug}).context["rows"]
    assert rows and {row.team for row in rows} == {team.name}
    assert client.get(reverse("round", args=["1999-01"])).status_code == 404


def test_round_page_queries_are_bounded(client, demo, django_assert_max_num_queries):
    client.force_login(viewer())
    url = reverse("round", args=[demo.last().key])
    client.get(url)  # reads the round's version's areas, remembered from then on
    # The same whatever the number of products: session, user, round, roles; results' count
    # and page; teams, participation and members; laggards (described in their query); the
    # round's log; the reminders' section (its log, and the permission to remind: the user's
    # and their groups' permissions).
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200


def test_results_count_what_they_list(client, demo):
    """The results' count is taken on the scores alone (no join): it must be the number of
    rows the pages list, for every role and filter."""
    survey_round = demo.last()
    team = survey_round.responses.first().product.team
    member = UserFactory(username="member")
    team.members.add(member)
    url = reverse("round", args=[survey_round.key])
    for user, query in ((viewer(), {}), (viewer(), {"team": team.slug}), (member, {})):
        client.force_login(user)
        counted = client.get(url, query).context["results"].paginator
        listed = [
            row.product
            for number in counted.page_range
            for row in client.get(url, {**query, "page": number}).context["rows"]
        ]
        assert counted.count == len(set(listed)) == len(listed) > 0
    assert counted.count < ResponseScore.objects.filter(round=survey_round).count()


# Overall = mean of three area means on a 0–2–4 scale: thirds, which no float holds exactly.
THIRDS = {
    "scale": [
        {"value": 0, "label": "None"},
        {"value": 2, "label": "Some"},
        {"value": 4, "label": "All"},
    ],
    "scoring": {"area": "mean", "not_applicable": "exclude", "overall": "mean"},
    "bands": [{"max": 2, "label": "Basic"}, {"label": "Strong"}],
    "areas": [
        *copy.deepcopy(SMALL_RUBRIC["areas"]),
        {
            "key": "model",
            "title": "Model",
            "questions": [
                {
                    "key": "model-tests",
                    "text": "Is the model tested?",
                    "criteria": ["No", "By hand", "In CI"],
                }
            ],
        },
    ],
}
# Answers giving an overall of n/3: (data mean + monitoring + model) / 3.
ONE_THIRD = {"data-schema": 2, "data-features": 0, "monitoring-staleness": 0, "model-tests": 0}
TWO_THIRDS = {"data-schema": 2, "data-features": 2, "monitoring-staleness": 0, "model-tests": 0}
SEVEN_THIRDS = {"data-schema": 4, "data-features": 2, "monitoring-staleness": 4, "model-tests": 0}
EIGHT_THIRDS = {"data-schema": 4, "data-features": 4, "monitoring-staleness": 4, "model-tests": 0}


def scored_in_two_rounds(answers: dict[str, tuple[dict, dict]]) -> SurveyRound:
    """Products (slug → answers before, answers after) scored in two rounds; the second."""
    version = make_version(**THIRDS)
    now = timezone.now()
    first, second = (
        SurveyRoundFactory(
            rubric_version=version,
            state="closed",
            opens_at=now - timedelta(days=days),
            closes_at=now - timedelta(days=days - 20),
        )
        for days in (200, 30)
    )
    for slug, (before, after) in answers.items():
        product = ProductFactory(slug=slug)
        answer_all(ResponseFactory(round=first, product=product), before)
        answer_all(ResponseFactory(round=second, product=product), after)
    scores.score_all()
    return second


def test_change_since_the_previous_round_is_shown_with_two_decimals(client):
    second = scored_in_two_rounds(
        {
            "riser": (SEVEN_THIRDS, EIGHT_THIRDS),
            "steady": (SEVEN_THIRDS, SEVEN_THIRDS),
            "faller": (EIGHT_THIRDS, SEVEN_THIRDS),
        }
    )
    assert str(ResponseScore.objects.get(round=second, product__slug="riser").overall) == "2.6667"
    client.force_login(viewer())
    page = client.get(reverse("round", args=[second.key]), {"sort": "change"})
    html = page.content.decode()
    # 2.6667 − 2.3333: the last cell of each row, largest change first, in the pages'
    # one number format (two decimals); the rows keep the exact change
    assert re.findall(r'<td class="num">([^<]*)</td></tr>', html) == ["+0.33", "0.00", "-0.33"]
    assert [str(row.change) for row in page.context["rows"]] == ["0.3334", "0.0000", "-0.3334"]
    assert not re.search(r"\d\.\d{6,}", html)


def test_equal_changes_tie_and_break_by_product(client):
    # 0.6667 − 0.3333 and 2.6667 − 2.3333 are both 0.3334, but not as floats (SQLite).
    second = scored_in_two_rounds(
        {"a-small": (ONE_THIRD, TWO_THIRDS), "b-large": (SEVEN_THIRDS, EIGHT_THIRDS)}
    )
    client.force_login(viewer())
    rows = client.get(reverse("round", args=[second.key]), {"sort": "change"}).context["rows"]
    assert [(row.product, str(row.change)) for row in rows] == [
        ("a-small", "0.3334"),
        ("b-large", "0.3334"),
    ]


def laggard_rows(page) -> dict[str, str]:
    """{product slug: its row's text} of the page's "Not submitted yet" table."""
    html = page.content.decode()
    table = html[html.index('id="laggards"') : html.index("</table>", html.index('id="laggards"'))]
    return {
        slug: re.sub(r"<[^>]+>", " ", row)
        for slug, row in re.findall(r'<tr data-product="([^"]+)">(.*?)</tr>', table, re.S)
    }


def test_laggards_are_listed_by_name_with_status_answers_and_owners(client):
    survey_round = SurveyRoundFactory(key="2030-01")
    team = ProductFactory().team
    owner = UserFactory(username="owner", first_name="Aiko", last_name="Sato")
    team.members.add(owner)
    idle = ProductFactory(slug="idle", team=team)
    busy = ProductFactory(slug="busy", team=team)
    done = ProductFactory(slug="done", team=team)
    answer_all(ResponseFactory(round=survey_round, product=busy), {"data-schema": 1}, False)
    answer_all(ResponseFactory(round=survey_round, product=done), {"data-schema": 1})
    client.force_login(viewer())
    url = reverse("round", args=["2030-01"])
    rows = laggard_rows(client.get(url))
    assert "idle" in rows and "busy" in rows and "done" not in rows
    assert "Not started" in rows["idle"] and " 0/3 " in rows["idle"]
    assert "Draft" in rows["busy"] and " 1/3 " in rows["busy"] and "Aiko Sato" in rows["busy"]
    assert set(laggard_rows(client.get(url, {"status": "draft"}))) == {"busy"}
    assert set(laggard_rows(client.get(url, {"status": "not_started"}))) >= {"idle"}
    assert idle.team.slug and "Response rate" in client.get(url).content.decode()


def test_members_see_only_their_teams_laggards_and_csv_rows(client):
    survey_round = SurveyRoundFactory(key="2030-01")
    mine, theirs = ProductFactory(slug="mine"), ProductFactory(slug="theirs")
    member = UserFactory(username="member")
    mine.team.members.add(member)
    client.force_login(member)
    rows = laggard_rows(client.get(reverse("round", args=[survey_round.key])))
    assert set(rows) == {"mine"} and theirs.slug not in rows
    csv_text = b"".join(
        client.get(reverse("round-laggards-csv", args=[survey_round.key])).streaming_content
    ).decode("utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0].startswith("round,product,product_name,team,status,answered,questions")
    assert (
        len(lines) == 2 and lines[1].startswith("2030-01,mine,") and ",not_started,0,3," in lines[1]
    )


def test_laggard_pages_count_what_they_list(client, demo):
    """The viewer's unfiltered list takes its count from the round's progress (one query
    fewer); it must be the count of the rows it pages through, as the filtered lists'."""
    survey_round = demo.last()
    client.force_login(viewer())
    url = reverse("round", args=[survey_round.key])
    unfiltered = client.get(url).context["laggards"].paginator
    listed = set()
    for number in unfiltered.page_range:
        listed |= set(laggard_rows(client.get(url, {"lpage": number})))
    assert unfiltered.count == len(listed) > 0
    drafts = client.get(url, {"status": "draft"}).context["laggards"].paginator.count
    not_started = client.get(url, {"status": "not_started"}).context["laggards"].paginator.count
    assert drafts + not_started == unfiltered.count


def test_round_page_lists_owners_and_participation_members(client):
    survey_round = SurveyRoundFactory(key="2030-01")
    team = ProductFactory(slug="idle").team
    team.members.add(
        UserFactory(username="zed", first_name="", last_name="", email=""),
        UserFactory(username="aiko", first_name="Aiko", last_name="Sato", email="a@example.com"),
    )
    client.force_login(viewer())
    page = client.get(reverse("round", args=[survey_round.key]))
    assert "Aiko Sato, zed" in laggard_rows(page)["idle"]
    (row,) = page.context["participation"]
    assert row.members == ["a@example.com", "zed"]


def test_names_in_both_tables_are_escaped(client):
    """Product, team and owner names are text, never markup, in the laggards' and the results'
    rows (written in Python, not by the template)."""
    survey_round = SurveyRoundFactory(key="2030-01", state="closed")
    nasty = '<b>"Q&A"</b>'
    team = ProductFactory().team
    team.name = nasty
    team.save()
    team.members.add(UserFactory(username="owner", first_name="<i>", last_name="O'Neil"))
    waiting = ProductFactory(slug="waiting", name=nasty, team=team)
    scored = ProductFactory(slug="scored", name=nasty, team=team)
    values = {"data-schema": 1, "data-features": 0.5, "monitoring-staleness": 1}
    answer_all(ResponseFactory(round=survey_round, product=scored), values)
    scores.score_round(round_id=survey_round.pk)
    client.force_login(viewer())
    html = client.get(reverse("round", args=[survey_round.key])).content.decode()
    escaped = "&lt;b&gt;&quot;Q&amp;A&quot;&lt;/b&gt;"
    assert nasty not in html and "<i>" not in html
    assert html.count(escaped) >= 4  # each product's name and team, in its table
    assert "&lt;i&gt; O&#x27;Neil" in html
    assert waiting.slug in laggard_rows(client.get(reverse("round", args=[survey_round.key])))


@pytest.mark.parametrize("sort", ["overall", "change", "product", "team"])
@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_results_pages_follow_the_sort(client, demo, monkeypatch, sort, direction):
    """Each page sorts the round's narrow rows, then reads its own rows whole: the pages,
    one after another, are the whole round in the sort's order, ties broken by product."""
    monkeypatch.setattr(views, "PAGE_SIZE", 7)
    survey_round = demo[1]
    client.force_login(viewer())
    url = reverse("round", args=[survey_round.key])
    query = {"sort": sort, "dir": direction}
    paginator = client.get(url, query).context["results"].paginator
    assert paginator.num_pages > 2
    listed = [
        row
        for number in paginator.page_range
        for row in client.get(url, {**query, "page": number}).context["rows"]
    ]
    before = {
        score.product_id: score.overall
        for score in ResponseScore.objects.filter(round=demo[0]).exclude(overall=None)
    }
    scored = ResponseScore.objects.filter(round=survey_round).select_related("product__team")
    key = {
        "overall": lambda s: s.overall,
        "change": lambda s: (
            s.overall - before[s.product_id]
            if s.overall is not None and s.product_id in before
            else None
        ),
        "product": lambda s: s.product.name,
        "team": lambda s: s.product.team.name,
    }[sort]
    present = sorted((s for s in scored if key(s) is not None), key=lambda s: s.product.slug)
    present.sort(key=key, reverse=direction == "desc")  # stable: ties stay by slug
    expected = present + sorted((s for s in scored if key(s) is None), key=lambda s: s.product.slug)
    assert [row.product for row in listed] == [s.product.slug for s in expected]
    assert [row.overall for row in listed] == [s.overall for s in expected]


@pytest.mark.parametrize("team", ["", "first"])
@pytest.mark.parametrize("members", [False, True])
def test_results_read_every_column_as_the_orm_does(demo, team, members):
    """The results' hand-written query gives each column as the ORM reads the stored score:
    area scores and N/A counts decoded, decimals of the scores' places (not SQLite's
    floats), the band's labels, and the change since the previous round; only the rows the
    filters keep."""
    survey_round = demo[1]
    first = ResponseScore.objects.filter(round=survey_round).order_by("pk").first()
    team = team and first.product.team.slug
    products = None
    if members:  # a member of the first row's team and of one other
        other = Product.objects.exclude(team=first.product.team).first().team
        products = Product.objects.filter(team__in=[first.product.team, other]).values("pk")
    results = selectors.round_results(survey_round, products=products, team=team)
    read = {row[0]: row for row in results[0 : len(results)]}
    before = dict(ResponseScore.objects.filter(round=demo[0]).values_list("product_id", "overall"))
    scores = ResponseScore.objects.filter(round=survey_round).select_related(
        "product__team", "band"
    )
    if products is not None:
        scores = scores.filter(product__in=products)
    if team:
        scores = scores.filter(product__team__slug=team)
    expected = {
        s.product.slug: (
            s.product.slug,
            s.product.name,
            s.product.team.name,
            s.area_scores,
            s.overall,
            s.band and s.band.label_en,
            s.band and s.band.label_ja,
            None
            if s.overall is None or before.get(s.product_id) is None
            else quantize(s.overall - before[s.product_id]),
            s.area_not_applicable,
            s.not_applicable_policy,
        )
        for s in scores
    }
    assert read == expected and len(results) == len(expected) > 0
    assert all(
        str(row[4]).count(".") == 0 or len(str(row[4]).split(".")[1]) == 4
        for row in read.values()
        if row[4] is not None
    )
    assert any(row[7] is not None for row in read.values())


@pytest.fixture
def laggards_round():
    """A round with laggards of every kind in two teams, beside products it leaves out."""
    survey_round = SurveyRoundFactory(key="2030-01")
    ours, theirs = TeamFactory(slug="ours", name="Ours"), TeamFactory(slug="theirs", name="B")
    busy, blank, done = (
        ProductFactory(slug=slug, name=slug.title(), team=ours)
        for slug in ("busy", "blank", "done")
    )
    for slug in ("idle", "idle-too"):
        ProductFactory(slug=slug, name="Same name", team=theirs)  # a tie broken by id
    # stored after the other now (PostgreSQL writes a new row version): the tie is the id's
    Product.objects.filter(slug="idle").update(description="Moved.")
    opened = timezone.localdate(survey_round.opens_at)
    ProductFactory(slug="retired", team=ours, retired_at=opened)
    ProductFactory(slug="later", team=ours, active_from=opened + timedelta(days=1))
    answer_all(ResponseFactory(round=survey_round, product=busy), {"data-schema": 1}, False)
    answer_all(
        ResponseFactory(
            round=survey_round, product=ProductFactory(slug="na", name="Zeta", team=theirs)
        ),
        {"data-schema": 0, "data-features": "na"},
        False,
    )
    ResponseFactory(round=survey_round, product=blank)  # a draft with no answer yet
    answer_all(ResponseFactory(round=survey_round, product=done), {"data-schema": 1})
    return survey_round


@pytest.mark.parametrize("status", ["", "not_started", "draft"])
@pytest.mark.parametrize("team", ["", "ours"])
@pytest.mark.parametrize("visible", [None, "theirs"])
def test_laggard_rows_are_round_laggards_described(laggards_round, status, team, visible):
    """The round page's hand-written query (LaggardRows) lists what round_laggards lists, in
    its order, page after page, each row as describe_laggards (the CSV's, the reminders')
    describes it; and counts the same."""
    products = None if visible is None else Product.objects.filter(team__slug=visible).values("pk")
    filters = {"products": products, "team": team, "status": status}
    expected = describe_laggards(laggards_round, round_laggards(laggards_round, **filters))
    rows = LaggardRows(laggards_round, **filters)
    pages = [row for start in range(0, 9, 2) for row in rows[start : start + 2]]
    assert rows.count() == len(expected) == len(pages)
    assert pages == [
        (
            laggard.product.pk,
            laggard.product.slug,
            laggard.product.name,
            laggard.product.team_id,
            laggard.product.team.name,
            laggard.status,
            laggard.answered,
            laggard.last_activity,
        )
        for laggard in expected
    ]


def test_laggard_rows_describe_each_kind(laggards_round):
    rows = LaggardRows(laggards_round)[0:50]
    assert [(row.slug, row.status, row.answered) for row in rows] == [
        ("idle", "not_started", 0),  # team B first; the same name: by id
        ("idle-too", "not_started", 0),
        ("na", "draft", 2),  # N/A counts as answered
        ("blank", "draft", 0),
        ("busy", "draft", 1),
    ]
    busy = rows[-1]
    saved = Answer.objects.filter(response__product__slug="busy").get().updated_at
    assert busy.last_activity == saved and busy.last_activity.tzinfo is not None
    assert rows[0].last_activity is None and rows[3].last_activity is None


def test_participation_counts_the_active_products_of_each_team(laggards_round):
    """Per team, in the teams' order: products active when the round opened (not the retired
    one, not the one active from the next day), submitted, draft and not started; and the
    members by username."""
    ours = Team.objects.get(slug="ours")
    for username in ("zoe", "amy"):
        ours.members.add(UserFactory(username=username, email=f"{username}@example.com"))
    rows = selectors.round_participation(laggards_round)
    assert [(r.team, r.active, r.not_started, r.draft, r.submitted) for r in rows] == [
        ("B", 3, 2, 1, 0),
        ("Ours", 3, 0, 2, 1),
    ]
    assert [person.username for person in rows[1].people] == ["amy", "zoe"]
    assert rows[1].members == ["amy@example.com", "zoe@example.com"] and rows[0].people == []


def test_members_see_their_teams_owners(client):
    """A member's page has no participation table to take the owners from: they are read
    for the listed products' teams."""
    survey_round = SurveyRoundFactory(key="2030-01")
    team = ProductFactory(slug="idle").team
    member = UserFactory(username="member", first_name="Aiko", last_name="Sato")
    team.members.add(member)
    client.force_login(member)
    page = client.get(reverse("round", args=[survey_round.key]))
    assert page.context["participation"] == []
    assert "Aiko Sato" in laggard_rows(page)["idle"]


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC", "America/St_Johns"])
def test_last_activity_reads_as_the_date_filter_wrote_it(zone):
    """The laggards' last activity, written in Python, is what date:"Y-m-d H:i" wrote, in the
    current time zone (a half-hour zone too), across a day and a year boundary."""
    moments = [
        datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC),
        datetime(2026, 12, 31, 15, 0, tzinfo=UTC),
        datetime(2027, 1, 1, 2, 30, 5, 999999, tzinfo=UTC),
    ]
    with timezone.override(zone):
        for moment in moments:
            assert _minute(moment) == date(template_localtime(moment), "Y-m-d H:i")
    assert _minute(None) == "–"
