"""The rubric admin: drafts are published by an action, published versions stay read-only."""

import pytest
from django.urls import reverse

from apps.rubrics.models import RubricVersion
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def test_publish_action_publishes_a_draft(admin_client):
    version = make_version(publish=False)
    response = admin_client.post(
        reverse("admin:rubrics_rubricversion_changelist"),
        {"action": "publish", "_selected_action": [version.pk], "index": 0},
        follow=True,
    )
    assert "Published tiny 1." in response.content.decode()
    version.refresh_from_db()
    assert version.is_published


def test_published_version_change_page_has_no_editable_fields(admin_client):
    version = make_version()
    page = admin_client.get(reverse("admin:rubrics_rubricversion_change", args=[version.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="overall_rule"' not in html
    assert 'name="questions-0-text_en"' not in html
    assert "Is there a schema?" in html  # the content is shown, read-only


def test_posting_to_a_published_version_changes_nothing(admin_client):
    version = make_version()
    admin_client.post(
        reverse("admin:rubrics_rubricversion_change", args=[version.pk]),
        {"label": "1", "overall_rule": "mean"},
    )
    assert RubricVersion.objects.get(pk=version.pk).overall_rule == "min"


def test_draft_change_page_lists_areas_and_questions_inline(
    admin_client, django_assert_max_num_queries
):
    version = make_version(publish=False)
    with django_assert_max_num_queries(25):
        page = admin_client.get(reverse("admin:rubrics_rubricversion_change", args=[version.pk]))
    html = page.content.decode()
    assert 'name="areas-0-key"' in html and 'name="questions-2-key"' in html
