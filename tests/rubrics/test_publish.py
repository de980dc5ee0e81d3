"""Publishing a draft checks it is a whole, valid rubric."""

import pytest

from apps.rubrics.models import Criterion, RubricVersion
from apps.rubrics.services import RubricContentError, publish_version
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def test_publishing_a_draft_fixes_it():
    version = make_version(publish=False)
    publish_version(version=version)
    version.refresh_from_db()
    assert version.state == RubricVersion.State.PUBLISHED and version.published_at


def test_a_draft_with_a_missing_criterion_cannot_be_published():
    version = make_version(publish=False)
    Criterion.objects.filter(question__key="data-schema", level__order=2).delete()
    with pytest.raises(RubricContentError, match="2 criteria given, but the scale has 3 levels"):
        publish_version(version=version)
    version.refresh_from_db()
    assert version.state == RubricVersion.State.DRAFT
