"""The heatmap's rows carry the question numbers people cite (DATA-3), from the rubric."""

import pytest

from apps.dashboards import figures
from apps.dashboards.selectors import rubric_questions
from tests.dashboards.plotted import plotted
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def test_heatmap_rows_are_numbered_from_the_latest_version(django_assert_num_queries):
    version = make_version()
    with django_assert_num_queries(1):
        rows = rubric_questions(version.rubric)
    assert [(row.key, row.number) for row in rows] == [
        ("data-schema", "DATA-1"),
        ("data-features", "DATA-2"),
        ("monitoring-staleness", "MONITORING-1"),
    ]
    built = plotted(figures.question_heatmap([], [], rows))
    assert list(built.layout.yaxis.ticktext) == [
        "DATA-1 Is there a schema?",
        "DATA-2 Is every feature useful?",
        "MONITORING-1 Is model staleness watched?",
    ]
    assert list(built.data[0].y) == ["data-schema", "data-features", "monitoring-staleness"]


def test_a_question_no_longer_asked_has_no_number():
    from tests.factories import rubric_document

    make_version()
    document = rubric_document(version="2")
    document["areas"][0]["questions"].pop(0)  # data-schema retired: data-features is DATA-1
    make_version(**document)
    from apps.rubrics.models import Rubric

    rows = {row.key: row.number for row in rubric_questions(Rubric.objects.get(slug="tiny"))}
    assert rows == {
        "data-features": "DATA-1",
        "monitoring-staleness": "MONITORING-1",
        "data-schema": "",
    }
