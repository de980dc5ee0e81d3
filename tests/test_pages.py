"""Login, the rounds page and the admin render for the demo roles."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from apps.demo.services import seed_demo

pytestmark = pytest.mark.django_db
# django-axes checks every password login against the lockout, so it needs the request.
LOGIN_REQUEST = RequestFactory().post("/accounts/login/")


@pytest.fixture
def demo():
    return seed_demo(products=20, rounds=4, seed=7)


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_demo_member_logs_in_and_sees_their_assessments(
    client, demo, django_assert_max_num_queries
):
    response = client.post(reverse("login"), {"username": "demo-member", "password": "demo"})
    assert response.status_code == 302
    with django_assert_max_num_queries(10):
        page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200 and "My assessments" in html
    assert page.context["assignments"]  # products of their two teams in the open round
    assert not page.context["rounds"]  # the rounds table is for the MLOps team


def test_viewer_sees_every_round(client, demo):
    client.login(username="demo-viewer", password="demo", request=LOGIN_REQUEST)
    html = client.get("/").content.decode()
    for key in ("2021-10", "2022-04", "2022-10", "2023-04"):
        assert key in html
    assert "MLOpsScore v2" in html and "Open" in html


def test_wrong_password_is_refused(client, demo):
    response = client.post(reverse("login"), {"username": "demo-member", "password": "nope"})
    assert response.status_code == 200
    assert "didn" in response.content.decode()


def test_japanese_ui(client, demo):
    client.login(username="demo-viewer", password="demo", request=LOGIN_REQUEST)
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    page = client.get("/")
    assert page.status_code == 200 and 'lang="ja"' in page.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "accounts_team",
        "products_product",
        "rubrics_rubric",
        "rubrics_rubricversion",
        "rubrics_question",
        "surveys_surveyround",
        "surveys_response",
        "surveys_answer",
    ],
)
def test_admin_lists_render_in_bounded_queries(
    admin_client, demo, name, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15):
        response = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200


def test_admin_change_pages_render(admin_client, demo):
    from apps.rubrics.models import Question, RubricVersion
    from apps.surveys.models import Response

    version = RubricVersion.objects.get(rubric__slug="mlopsscore", label="v2")
    page = admin_client.get(reverse("admin:rubrics_rubricversion_change", args=[version.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "monitoring" in html  # areas and questions inline
    question = Question.objects.filter(version=version).first()
    assert (
        admin_client.get(reverse("admin:rubrics_question_change", args=[question.pk])).status_code
        == 200
    )
    response = Response.objects.filter(status="submitted").first()
    page = admin_client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    assert page.status_code == 200


def test_viewer_and_member_cannot_open_the_admin(client, demo):
    for username in ("demo-viewer", "demo-member"):
        client.login(username=username, password="demo", request=LOGIN_REQUEST)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
