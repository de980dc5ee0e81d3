"""The REST API: permissions for every endpoint and role, writes through the services."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.models import ADMINS_GROUP, VIEWERS_GROUP
from apps.scoring import scores as scoring
from apps.surveys.models import Answer
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
TREND_STATISTICS = ("overall_mean", "overall_median", "overall_p25", "overall_p75")


@pytest.fixture
def world():
    """An open round with two teams' products; users for every role."""
    version = make_version()
    closed = SurveyRoundFactory(key="2021-10", rubric_version=version, state="closed")
    open_round = SurveyRoundFactory(key="2022-04", rubric_version=version, state="open")
    ours, theirs = TeamFactory(slug="ours"), TeamFactory(slug="theirs")
    mine = ProductFactory(slug="mine", team=ours)
    other = ProductFactory(slug="other", team=theirs)
    for product in (mine, other):
        answer_all(ResponseFactory(round=closed, product=product), FULL)
    scoring.score_round(round_id=closed.pk)
    member, outsider = UserFactory(username="member"), UserFactory(username="outsider")
    ours.members.add(member)
    TeamFactory(slug="elsewhere").members.add(outsider)
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    admin_group = UserFactory(username="admin-group")  # an administrator by the group alone
    admin_group.groups.add(Group.objects.get(name=ADMINS_GROUP))
    staff = UserFactory(username="staff", is_staff=True)  # admin site access, no rights
    return {
        "version": version,
        "open": open_round,
        "closed": closed,
        "mine": mine,
        "other": other,
        "users": {
            "member": member,
            "outsider": outsider,
            "viewer": viewer,
            "admin": admin,
            "admin-group": admin_group,
            "staff": staff,
        },
    }


def client_for(world, role) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        token = Token.objects.create(user=world["users"][role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


READS = [
    "/api/v1/teams/",
    "/api/v1/products/",
    "/api/v1/products/mine/",
    "/api/v1/rubrics/",
    "/api/v1/rubrics/tiny/",
    "/api/v1/rubric-versions/",
    "/api/v1/rounds/",
    "/api/v1/rounds/2021-10/",
    "/api/v1/rounds/2021-10/results/",
    "/api/v1/rubrics/tiny/trends/",
    "/api/v1/responses/",
    "/api/schema/",
]


@pytest.mark.parametrize(
    "role", ["anonymous", "outsider", "member", "viewer", "admin", "admin-group", "staff"]
)
def test_reads_need_a_login_and_nothing_more(world, role):
    client = client_for(world, role)
    for url in READS:
        expected = 401 if role == "anonymous" else 200
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize(
    ("role", "seen"),
    [
        ("outsider", set()),
        ("member", {"mine"}),
        ("viewer", {"mine", "other"}),
        ("admin", {"mine", "other"}),
        ("admin-group", {"mine", "other"}),
    ],
)
def test_responses_and_results_show_only_what_the_role_may_see(world, role, seen):
    client = client_for(world, role)
    responses = client.get("/api/v1/responses/", {"round": "2021-10"}).json()["results"]
    assert {r["product"] for r in responses} == seen
    results = client.get("/api/v1/rounds/2021-10/results/").json()
    assert {r["product"] for r in results} == seen
    other = world["other"].responses.get()
    expected = 200 if "other" in seen else 404
    assert client.get(f"/api/v1/responses/{other.pk}/").status_code == expected
    assert client.get(f"/api/v1/responses/{other.pk}/answers/").status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("outsider", 403),
        ("viewer", 403),
        ("admin-group", 403),
        ("member", 201),
        ("admin", 201),
    ],
)
def test_only_team_members_start_and_answer_their_products_response(world, role, expected):
    client = client_for(world, role)
    started = client.post("/api/v1/responses/", {"round": "2022-04", "product": "mine"})
    assert started.status_code == expected
    if expected != 201:
        assert not world["mine"].responses.filter(round=world["open"]).exists()
        return
    response_id = started.json()["id"]
    saved = client.post(
        f"/api/v1/responses/{response_id}/answers/",
        {"question": "data-schema", "value": "0.5", "evidence": "weekly check"},
    )
    assert saved.status_code == 200 and saved.json()["revision"] == 1


@pytest.mark.parametrize("role", ["outsider", "viewer"])
def test_others_cannot_write_answers_of_an_existing_response(world, role):
    from apps.surveys.services import start_response

    response = start_response(survey_round=world["open"], product=world["mine"])
    client = client_for(world, role)
    reply = client.post(
        f"/api/v1/responses/{response.pk}/answers/", {"question": "data-schema", "value": "1"}
    )
    assert reply.status_code == (403 if role == "viewer" else 404)
    assert client.post(f"/api/v1/responses/{response.pk}/submit/").status_code in (403, 404)
    assert not Answer.objects.filter(response=response).exists()


def test_answer_errors_and_conflicts(world):
    from apps.surveys.services import start_response

    response = start_response(survey_round=world["open"], product=world["mine"])
    client = client_for(world, "member")
    url = f"/api/v1/responses/{response.pk}/answers/"
    bad = client.post(url, {"question": "data-schema", "value": "0.7"})
    assert bad.status_code == 400 and bad.json()["field"] == "value"
    first = client.post(url, {"question": "data-schema", "value": "0"}).json()
    client.post(url, {"question": "data-schema", "value": "1", "revision": first["revision"]})
    stale = client.post(url, {"question": "data-schema", "value": "0.5", "revision": 1})
    assert stale.status_code == 409 and stale.json()["current"]["value"] == "1.0000"
    unanswered = client.post(f"/api/v1/responses/{response.pk}/submit/")
    assert unanswered.status_code == 400
    assert unanswered.json()["unanswered"] == ["data-features", "monitoring-staleness"]


def test_submit_with_if_match_is_refused_when_the_answers_changed(world):
    from apps.surveys.services import start_response

    response = start_response(survey_round=world["open"], product=world["mine"])
    client = client_for(world, "member")
    url = f"/api/v1/responses/{response.pk}/answers/"
    client.post(url, {"question": "data-schema", "value": "1"})
    client.post(
        url,
        {"question": "data-features", "not_applicable": True, "not_applicable_reason": "Images"},
    )
    last = client.post(url, {"question": "monitoring-staleness", "value": "1"}).json()
    etag = client.get(url)["ETag"]
    client.post(
        url, {"question": "monitoring-staleness", "value": "0", "revision": last["revision"]}
    )
    stale = client.post(f"/api/v1/responses/{response.pk}/submit/", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and "changed" in stale.json()["detail"]
    response.refresh_from_db()
    assert response.status == "draft"
    fresh = client.get(url)["ETag"]
    assert fresh != etag
    done = client.post(f"/api/v1/responses/{response.pk}/submit/", HTTP_IF_MATCH=fresh)
    assert done.status_code == 200 and done.json()["status"] == "submitted"


def test_submit_through_the_api_scores_the_response(world, django_capture_on_commit_callbacks):
    from apps.surveys.services import start_response

    response = start_response(survey_round=world["open"], product=world["mine"])
    client = client_for(world, "member")
    url = f"/api/v1/responses/{response.pk}/answers/"
    client.post(url, {"question": "data-schema", "value": "1"})
    client.post(
        url,
        {"question": "data-features", "not_applicable": True, "not_applicable_reason": "Batch."},
    )
    client.post(url, {"question": "monitoring-staleness", "value": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(f"/api/v1/responses/{response.pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    response.refresh_from_db()
    assert str(response.score.overall) == "1.0000"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("outsider", 403),
        ("member", 403),
        ("viewer", 403),
        ("staff", 403),  # staff status opens the admin site; writes need the permissions
        ("admin-group", 201),
        ("admin", 201),
    ],
)
def test_only_admins_write_products_teams_rounds_and_rubrics(world, role, expected):
    from tests.factories import rubric_document

    client = client_for(world, role)
    product = {"slug": "new", "name": "New", "team": "ours", "active_from": "2024-01-01"}
    assert client.post("/api/v1/products/", product, format="json").status_code == expected
    assert client.post("/api/v1/teams/", {"slug": "t2", "name": "T2"}).status_code == expected
    round_body = {
        "key": "2030-04",
        "rubric": "tiny",
        "rubric_version": "1",
        "opens_at": "2030-04-01T00:00Z",
        "closes_at": "2030-05-01T00:00Z",
    }
    assert client.post("/api/v1/rounds/", round_body, format="json").status_code == expected
    document = rubric_document(version="2")
    reply = client.post("/api/v1/rubric-versions/", {"document": document}, format="json")
    assert reply.status_code == expected
    changed = 200 if expected == 201 else expected
    patch = client.patch("/api/v1/products/mine/", {"name": "Renamed"}, format="json")
    assert patch.status_code == changed
    assert client.delete("/api/v1/teams/elsewhere/").status_code in (
        (204,) if expected == 201 else (expected,)
    )


def test_admin_write_errors_are_clear(world):
    client = client_for(world, "admin")
    in_use = client.delete("/api/v1/teams/ours/")
    assert in_use.status_code == 409 and "still used by 1 record" in in_use.json()["detail"]
    reply = client.post(
        "/api/v1/rounds/",
        {
            "key": "2021-10",
            "rubric": "tiny",
            "rubric_version": "1",
            "opens_at": "2030-04-01T00:00Z",
            "closes_at": "2030-05-01T00:00Z",
        },
        format="json",
    )
    assert reply.status_code == 400 and "already exists" in reply.json()["detail"]
    bad = client.post("/api/v1/rubric-versions/", {"document": {"rubric": "x"}}, format="json")
    assert bad.status_code == 400 and bad.json()["problems"]
    retired = client.post(
        "/api/v1/products/",
        {
            "slug": "p",
            "name": "P",
            "team": "ours",
            "active_from": "2024-01-01",
            "retired_at": "2023-01-01",
        },
        format="json",
    )
    assert retired.status_code == 400 and "retired_at" in retired.json()


def test_results_and_trends_as_csv_by_content_negotiation(world):
    client = client_for(world, "viewer")
    csv_reply = client.get("/api/v1/rounds/2021-10/results/", HTTP_ACCEPT="text/csv")
    data = b"".join(csv_reply.streaming_content)
    assert csv_reply["Content-Type"].startswith("text/csv")
    assert data.startswith(b"\xef\xbb\xbfround,product,")
    trends = client.get("/api/v1/rubrics/tiny/trends/", {"format": "csv"})
    assert b"2021-10,cohort,2" in b"".join(trends.streaming_content)
    rows = client.get("/api/v1/rubrics/tiny/trends/").json()
    assert rows[0]["areas"] == {"data": "2", "monitoring": "0.5"}


def trends_of(client) -> tuple[list[dict], list[list[str]]]:
    """The trends as JSON records and as CSV rows (header first)."""
    reply = client.get("/api/v1/rubrics/tiny/trends/", {"format": "csv"})
    text = b"".join(reply.streaming_content).decode("utf-8-sig")
    return client.get("/api/v1/rubrics/tiny/trends/").json(), list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("role", ["member", "outsider"])
def test_trends_hide_points_resting_on_too_few_products_outside_your_teams(world, role):
    records, (header, *rows) = trends_of(client_for(world, role))
    # The open round has no scores yet: n=0 says nothing about anyone, and is shown.
    assert [(r["round"], r["population"], r["hidden"], r["n"]) for r in records] == [
        ("2021-10", "all", True, None),
        ("2021-10", "cohort", True, None),
        ("2022-04", "all", False, 0),
        ("2022-04", "cohort", False, 0),
    ]
    for record in records[:2]:
        assert {record[f] for f in TREND_STATISTICS} == {""}
        assert set(record["areas"].values()) == {""}
    assert header[:3] == ["round", "population", "n"]
    # after the provisional flag: the cohort's start, the churn (5), the N/A shares (2 areas),
    # and the like-for-like columns (not like-for-like: nothing compared, nothing left out)
    assert rows[:2] == [
        ["2021-10", "all", *[""] * 7, "false", "", *[""] * 7, "false", "", ""],
        ["2021-10", "cohort", *[""] * 7, "false", "2021-10", *[""] * 7, "false", "", ""],
    ]
    assert records[0]["churn"] == dict.fromkeys(
        ("joined", "stayed", "left_retired", "left_skipped")
    )
    assert set(records[0]["not_applicable"].values()) == {""}
    assert rows[2][:3] == ["2022-04", "all", "0"]


@pytest.mark.parametrize("role", ["viewer", "admin", "admin-group"])
def test_viewers_and_administrators_read_every_trend_point(world, role):
    records, (_header, *rows) = trends_of(client_for(world, role))
    assert [(r["hidden"], r["n"], r["overall_mean"]) for r in records[:2]] == [
        (False, 2, "0.5"),
        (False, 2, "0.5"),
    ]
    assert rows[0][:4] == ["2021-10", "all", "2", "0.5"]


def test_trend_points_resting_on_enough_products_outside_your_teams_are_shown(world):
    for _ in range(4):  # five products of other teams, and the member's own
        product = ProductFactory(team=world["other"].team)
        answer_all(ResponseFactory(round=world["closed"], product=product), FULL)
    scoring.score_round(round_id=world["closed"].pk)
    records, (_header, *rows) = trends_of(client_for(world, "member"))
    assert [(r["hidden"], r["n"], r["overall_mean"]) for r in records[:2]] == [
        (False, 6, "0.5"),
        (False, 6, "0.5"),
    ]
    assert rows[0][:4] == ["2021-10", "all", "6", "0.5"]


def test_filters_and_pagination(world):
    client = client_for(world, "viewer")
    assert [
        p["slug"] for p in client.get("/api/v1/products/", {"team": "ours"}).json()["results"]
    ] == ["mine"]
    page = client.get("/api/v1/products/").json()
    assert page["count"] == 2 and "next" in page
    assert client.get("/api/v1/responses/", {"status": "nope"}).status_code == 400


def test_rubric_version_detail_has_the_whole_rubric(world, django_assert_max_num_queries):
    client = client_for(world, "member")
    with django_assert_max_num_queries(12):
        detail = client.get(f"/api/v1/rubric-versions/{world['version'].pk}/").json()
    assert [a["key"] for a in detail["areas"]] == ["data", "monitoring"]
    assert len(detail["areas"][0]["questions"][0]["criteria"]) == 3


def test_session_login_works_and_docs_are_served_locally(world, client):
    client.force_login(world["users"]["member"])
    assert client.get("/api/v1/rounds/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_a_responses_answers_are_a_plain_list_as_the_schema_says(world):
    client = client_for(world, "viewer")
    response = world["mine"].responses.get()
    answers = client.get(f"/api/v1/responses/{response.pk}/answers/").json()
    assert [a["question"] for a in answers] == list(FULL)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/responses/{id}/answers/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"


def test_publishing_through_the_api_needs_the_change_permission(world):
    from django.contrib.auth.models import Permission

    from apps.rubrics.models import RubricVersion
    from tests.factories import rubric_document

    loader = UserFactory(username="loader")  # may add draft versions, not change them
    loader.user_permissions.add(Permission.objects.get(codename="add_rubricversion"))
    world["users"]["loader"] = loader
    client = client_for(world, "loader")
    body = {"document": rubric_document(version="3"), "publish": True}
    reply = client.post("/api/v1/rubric-versions/", body, format="json")
    assert reply.status_code == 403 and "change permission" in str(reply.json())
    assert not RubricVersion.objects.filter(label="3").exists()
    body["publish"] = False
    assert client.post("/api/v1/rubric-versions/", body, format="json").status_code == 201
    assert RubricVersion.objects.get(label="3").state == "draft"


def test_an_api_url_no_route_matches_is_a_json_404(world):
    reply = client_for(world, "viewer").patch("/api/v1/no-such-collection/x.y/", {})
    assert reply.status_code == 404 and reply.json() == {"detail": "Not found."}
    assert reply["Content-Type"] == "application/json"
