"""A published rubric version is immutable in the model layer; drafts are editable."""

import pytest

from apps.rubrics.models import (
    Area,
    Band,
    Criterion,
    PublishedVersionError,
    Question,
    RubricVersion,
    ScaleLevel,
)
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def test_published_version_fields_cannot_be_saved():
    version = make_version()
    version.overall_rule = "mean"
    with pytest.raises(PublishedVersionError):
        version.save()
    assert RubricVersion.objects.get().overall_rule == "min"


def test_published_version_cannot_be_deleted():
    version = make_version()
    with pytest.raises(PublishedVersionError):
        version.delete()
    with pytest.raises(PublishedVersionError):
        RubricVersion.objects.all().delete()
    assert RubricVersion.objects.count() == 1


@pytest.mark.parametrize("model", [ScaleLevel, Band, Area, Question, Criterion])
def test_content_of_a_published_version_cannot_change(model):
    make_version()
    row = model.objects.first()
    with pytest.raises(PublishedVersionError):
        row.save()
    with pytest.raises(PublishedVersionError):
        row.delete()
    with pytest.raises(PublishedVersionError):
        model.objects.all().update(pk=row.pk)
    with pytest.raises(PublishedVersionError):
        model.objects.all().delete()
    assert model.objects.filter(pk=row.pk).exists()


def test_draft_content_is_editable_and_deletable():
    version = make_version(publish=False)
    question = Question.objects.get(key="data-schema")
    question.text_en = "Is there a written schema?"
    question.save()
    Criterion.objects.filter(question=question).update(text_ja="更新")
    assert Question.objects.get(pk=question.pk).text_en == "Is there a written schema?"
    version.delete()
    assert not Question.objects.exists()


def test_localized_text_falls_back_to_english():
    from django.utils import translation

    make_version()
    area = Area.objects.get(key="monitoring")  # title given in English only
    data = Area.objects.get(key="data")
    with translation.override("ja"):
        assert area.tr("title") == "Monitoring"
        assert str(data) == "データ"
    with translation.override("en"):
        assert str(data) == "Data"
