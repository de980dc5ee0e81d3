"""A published version cannot change, so scoring remembers its shape and what it has in common
with other versions (a rescore then asks the database for neither); a draft is read again
every time, and so is a version that reused a published one's id."""

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.rubrics.models import Band, Criterion
from apps.rubrics.services import publish_version
from apps.scoring import selectors
from apps.scoring.aggregates import common_questions
from tests.factories import make_version
from tests.scoring.test_like_for_like import second_version

pytestmark = pytest.mark.django_db


def test_a_published_versions_shape_is_read_once(django_assert_num_queries):
    version = make_version()
    first = selectors.version_shape(version)
    with django_assert_num_queries(0):
        again = selectors.version_shape(version)
    assert again == first and again.questions_per_area == {"data": 2, "monitoring": 1}
    again.area_ids.clear()  # the caller's copy: what is remembered stays whole
    with django_assert_num_queries(1):  # the version itself, given its id
        assert list(selectors.version_shape(version.pk).area_ids) == ["data", "monitoring"]


def test_a_version_that_reused_an_id_is_not_taken_for_the_one_remembered(
    django_assert_num_queries,
):
    version = make_version()
    selectors.version_shape(version)
    version.published_at += timedelta(seconds=1)  # another version, under the same id
    with django_assert_num_queries(2):  # its areas with the top level, its bands
        selectors.version_shape(version)


def test_a_drafts_shape_is_read_every_time():
    version = make_version(publish=False)
    assert selectors.version_shape(version).rule.band_maxima[0] == Decimal(0)
    band = Band.objects.filter(version=version).order_by("order").first()
    band.upper_bound = Decimal("0.25")
    band.save()
    assert selectors.version_shape(version).rule.band_maxima[0] == Decimal("0.25")
    publish_version(version=version)  # from now on, read once
    assert selectors.version_shape(version).rule.band_maxima[0] == Decimal("0.25")


def test_a_published_versions_areas_with_maxima_are_read_once(django_assert_num_queries):
    version = make_version()
    first = selectors.areas_with_maxima(version)
    with django_assert_num_queries(0):
        again = selectors.areas_with_maxima(version)
    assert [(a.key, a.maximum, a.tr("title")) for a in again] == [
        (a.key, a.maximum, a.tr("title")) for a in first
    ]
    assert [a.maximum for a in again] == [Decimal(2), Decimal(1)]  # questions × top level
    again[0].maximum = Decimal(99)  # the caller's copy
    assert selectors.area_maxima(version) == {"data": Decimal(2), "monitoring": Decimal(1)}
    version.published_at += timedelta(seconds=1)  # another version under the same id
    with django_assert_num_queries(1):
        selectors.areas_with_maxima(version)


def test_a_drafts_areas_with_maxima_are_read_every_time():
    version = make_version(publish=False)
    assert selectors.area_maxima(version) == {"data": Decimal(2), "monitoring": Decimal(1)}
    question = version.questions.get(key="monitoring-staleness")
    question.pk, question.key, question.order = None, "monitoring-alerts", question.order + 1
    question.save()
    assert selectors.area_maxima(version)["monitoring"] == Decimal(2)


def test_common_questions_of_published_versions_are_read_once(django_assert_num_queries):
    v1, v2 = make_version(), second_version()
    first = common_questions([v1.pk, v2.pk])
    with django_assert_num_queries(1):  # the versions' publication times
        again = common_questions([v1.pk, v2.pk])
    assert again == first and again.stored["questions"] == ["data-schema", "data-features"]
    again.areas["data"].append("data-lineage")  # the caller's copy
    assert common_questions([v1.pk, v2.pk]).areas == {"data": ["data-schema", "data-features"]}
    # the order says which version is the newest: another comparison
    assert common_questions([v2.pk, v1.pk]).rule_version_id == v1.pk


def test_common_questions_with_a_draft_are_read_every_time():
    v1, v2 = make_version(), second_version(publish=False)
    assert common_questions([v1.pk, v2.pk]).stored["questions"] == [
        "data-schema",
        "data-features",
    ]
    reworded = Criterion.objects.get(
        question__version=v2, question__key="data-features", level__order=1
    )
    reworded.text_en = "Features are listed nowhere"
    reworded.save()
    assert common_questions([v1.pk, v2.pk]).stored["questions"] == ["data-schema"]
