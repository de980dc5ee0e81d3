"""Question numbers (DATA-3): one rule, in Python for pages and charts and in SQL for the
exports the database writes, giving the same text."""

import pytest

from apps.rubrics.models import Question, question_number, question_number_expression
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def test_the_database_writes_the_same_numbers_as_python():
    version = make_version()
    rows = (
        Question.objects.filter(version=version)
        .select_related("area")
        .annotate(written=question_number_expression("area__key", "order"))
    )
    pairs = [(q.number, q.written) for q in rows]
    assert sorted(pairs) == [("DATA-1",) * 2, ("DATA-2",) * 2, ("MONITORING-1",) * 2]
    assert question_number("infra", 6) == "INFRA-7"
