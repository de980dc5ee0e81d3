"""The three roles: team member, viewer and administrator (the "MLOps admins" group, or a
superuser). Who may reopen a response (page and admin action), manage the assessments in the
admin site, and read or write the survey pages."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from apps.accounts.models import ADMINS_GROUP, VIEWERS_GROUP
from apps.scoring.models import ResponseScore
from apps.surveys.models import Answer, Response, SurveyRound
from apps.surveys.services import start_response, submit_response
from tests.factories import (
    ProductFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
)

pytestmark = pytest.mark.django_db
ROLES = ["anonymous", "outsider", "member", "viewer", "staff", "admin", "admin-staff", "superuser"]


def user_for(role: str, team=None):
    """A user in the given role; "staff" is is_staff with no group (the admin site, no rights)."""
    if role == "anonymous":
        return None
    user = UserFactory(
        username=role,
        is_staff=role in ("staff", "admin-staff", "superuser"),
        is_superuser=role == "superuser",
    )
    if role == "member":
        team.members.add(user)
    if role == "viewer":
        user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    if role in ("admin", "admin-staff"):
        user.groups.add(Group.objects.get(name=ADMINS_GROUP))  # made by the migration
    if role == "staff":  # may look at responses in the admin site, nothing more
        user.user_permissions.add(Permission.objects.get(codename="view_response"))
    return user


@pytest.fixture
def submitted(django_capture_on_commit_callbacks):
    """A scored, submitted response of product "ranker" in the open round 2030-01."""
    team = TeamFactory()
    product = ProductFactory(slug="ranker", team=team)
    response = start_response(survey_round=SurveyRoundFactory(key="2030-01"), product=product)
    answer_all(
        response, {"data-schema": 1, "data-features": 0, "monitoring-staleness": 1}, submitted=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit_response(response=response, user=None)
    assert ResponseScore.objects.filter(response=response).exists()
    return response


def log_in(client, role, team=None):
    user = user_for(role, team)
    if user is not None:
        client.force_login(user)
    return user


def test_the_admins_group_holds_the_rights_to_manage_the_assessments():
    granted = set(
        Group.objects.get(name=ADMINS_GROUP).permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    for model in ("team", "product", "rubric", "rubricversion", "question", "surveyround"):
        app = {"team": "accounts", "product": "products", "surveyround": "surveys"}.get(
            model, "rubrics"
        )
        assert {(app, f"{action}_{model}") for action in ("add", "change", "delete")} <= granted
    assert ("surveys", "reopen_response") in granted
    assert ("surveys", "change_answer") not in granted  # answers change through the survey
    assert not any(app == "auth" for app, _codename in granted)  # accounts stay with superusers


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("outsider", 404),
        ("member", 403),
        ("viewer", 403),
        ("staff", 403),
        ("admin", 302),
        ("superuser", 302),
    ],
)
def test_only_administrators_reopen_on_the_page(
    client, submitted, role, status, django_capture_on_commit_callbacks
):
    log_in(client, role, submitted.product.team)
    url = reverse("reopen-response", args=["2030-01", "ranker"])
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(url)
    assert reply.status_code == status
    submitted.refresh_from_db()
    reopened = role in ("admin", "superuser")
    assert submitted.status == ("draft" if reopened else "submitted")
    assert ResponseScore.objects.filter(response=submitted).exists() is not reopened
    if role == "anonymous":
        assert reply["Location"].startswith(reverse("login"))
    if reopened:
        assert reply["Location"] == reverse("questionnaire", args=["2030-01", "ranker"])


@pytest.mark.parametrize("role", ["member", "viewer", "admin", "superuser"])
def test_the_reopen_button_is_shown_to_administrators_only(client, submitted, role):
    log_in(client, role, submitted.product.team)
    page = client.get(reverse("questionnaire", args=["2030-01", "ranker"]))
    assert page.status_code == 200 and "Read-only" in page.content.decode()
    shown = b"Reopen for changes" in page.content
    assert shown is (role in ("admin", "superuser"))


def test_a_response_of_a_closed_round_is_not_reopened(client, submitted):
    SurveyRound.objects.filter(key="2030-01").update(state="closed")
    log_in(client, "admin")
    page = client.post(reverse("reopen-response", args=["2030-01", "ranker"]), follow=True)
    assert "is not open: reopen the round first" in page.content.decode()
    assert b"Reopen for changes" not in page.content
    assert Response.objects.get().status == "submitted"


@pytest.mark.parametrize(
    ("role", "reopened"),
    [
        ("anonymous", False),
        ("member", False),
        ("viewer", False),
        ("admin", False),  # in the group but not staff: no admin site
        ("staff", False),  # the admin site, but not the permission
        ("admin-staff", True),
        ("superuser", True),
    ],
)
def test_the_reopen_admin_action_needs_the_reopen_permission(
    client, submitted, role, reopened, django_capture_on_commit_callbacks
):
    log_in(client, role, submitted.product.team)
    changelist = reverse("admin:surveys_response_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(
            changelist, {"action": "reopen", "_selected_action": [submitted.pk], "index": 0}
        )
    submitted.refresh_from_db()
    assert submitted.status == ("draft" if reopened else "submitted")
    if role in ("anonymous", "member", "viewer", "admin"):
        assert reply.status_code == 302 and reply["Location"].startswith(reverse("admin:login"))
    if role == "staff":  # the list opens, without the action
        page = client.get(changelist)
        assert page.status_code == 200 and b'value="reopen"' not in page.content


def test_staff_without_rights_cannot_close_a_round_by_its_admin_action(client):
    survey_round = SurveyRoundFactory()
    user = log_in(client, "staff")
    user.user_permissions.add(Permission.objects.get(codename="view_surveyround"))
    client.post(
        reverse("admin:surveys_surveyround_changelist"),
        {"action": "close_rounds", "_selected_action": [survey_round.pk], "index": 0},
    )
    survey_round.refresh_from_db()
    assert survey_round.state == "open"


@pytest.mark.parametrize(
    "page",
    [
        "admin:accounts_team_add",
        "admin:products_product_add",
        "admin:rubrics_rubricversion_add",
        "admin:surveys_surveyround_add",
    ],
)
@pytest.mark.parametrize(("role", "status"), [("admin-staff", 200), ("staff", 403)])
def test_the_admins_group_manages_teams_products_rubrics_and_rounds(client, page, role, status):
    log_in(client, role)
    assert client.get(reverse(page)).status_code == status


def test_an_administrator_adds_a_product_in_the_admin_site_but_not_users(client):
    team = TeamFactory(slug="ours")
    log_in(client, "admin-staff")
    reply = client.post(
        reverse("admin:products_product_add"),
        {"name": "Ranker", "slug": "ranker", "team": team.pk, "active_from": "2024-01-01"},
    )
    assert reply.status_code == 302
    assert team.products.get().slug == "ranker"
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


@pytest.mark.parametrize(
    ("role", "reads", "writes"),
    [
        ("outsider", 404, 404),
        ("member", 200, 200),
        ("viewer", 200, 403),
        ("admin", 200, 403),  # administrators read every response; teams answer them
        ("superuser", 200, 200),
    ],
)
def test_who_reads_and_answers_a_draft(client, role, reads, writes):
    team = TeamFactory()
    product = ProductFactory(slug="ranker", team=team)
    start_response(survey_round=SurveyRoundFactory(key="2030-01"), product=product)
    log_in(client, role, team)
    assert client.get(reverse("questionnaire", args=["2030-01", "ranker"])).status_code == reads
    reply = client.post(
        reverse("save-answer", args=["2030-01", "ranker"]),
        {"question": "data-schema", "value": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert reply.status_code == writes
    assert Answer.objects.exists() is (writes == 200)


@pytest.mark.parametrize(("role", "everything"), [("member", False), ("admin", True)])
def test_administrators_see_every_round_on_my_assessments(client, role, everything):
    SurveyRoundFactory(key="2030-01", title="Spring round")
    log_in(client, role, TeamFactory())
    page = client.get(reverse("home"))
    assert (b"Spring round" in page.content) is everything


def test_the_viewers_group_exists_after_migrate_and_reads_everything():
    from apps.accounts.models import VIEWERS_GROUP
    from apps.accounts.roles import sees_everything
    from apps.products.selectors import visible_product_ids

    group = Group.objects.get(name=VIEWERS_GROUP)  # made by the migration, no rights needed
    assert not group.permissions.exists()
    viewer = UserFactory(username="viewer-by-migration")
    assert not sees_everything(viewer)
    viewer.groups.add(group)
    viewer = type(viewer).objects.get(pk=viewer.pk)  # a fresh request's user
    assert sees_everything(viewer) and visible_product_ids(viewer) is None


def test_reopening_a_draft_says_why_and_changes_nothing(client):
    team = TeamFactory()
    product = ProductFactory(slug="ranker", team=team)
    draft = start_response(survey_round=SurveyRoundFactory(key="2030-01"), product=product)
    before = Response.objects.filter(pk=draft.pk).values().get()
    client.force_login(user_for("admin"))
    page = client.post(reverse("reopen-response", args=["2030-01", "ranker"]), follow=True)
    assert page.status_code == 200
    assert "Only a submitted response can be reopened." in page.content.decode()
    assert Response.objects.filter(pk=draft.pk).values().get() == before
