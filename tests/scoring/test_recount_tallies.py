"""`manage.py recount_tallies`: tallies that drifted from the answers (a restore that skipped
the triggers, a trigger dropped by hand) are found by `--check` and counted again, after
which the scores are those of the answers."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.scoring import scores
from apps.scoring.models import AreaTally, ResponseScore
from tests.factories import ProductFactory, ResponseFactory, answer_all
from tests.scoring.test_area_tally import assert_tallies_are_the_answers, small_round

pytestmark = pytest.mark.django_db


def recount(*args: str) -> str:
    out = StringIO()
    call_command("recount_tallies", *args, stdout=out)
    return out.getvalue()


@pytest.mark.postgresql(reason="the tallies are kept by PostgreSQL triggers")
def test_drifted_tallies_are_found_and_counted_again_from_the_answers():
    version, survey_round = small_round()
    values = {
        "data-0": "1",
        "data-1": "0.5",
        "data-2": "na",
        "model-0": "1",
        "model-1": "0",
        "model-2": "0.5",
    }
    responses = [
        answer_all(ResponseFactory(round=survey_round, product=ProductFactory()), values)
        for _ in range(3)
    ]
    scores.score_round(round_id=survey_round.pk)
    right = {row.response_id: row.overall for row in ResponseScore.objects.all()}
    assert len(right) == 3
    assert "matches" in recount("--check")
    first, second, third = responses
    draft = answer_all(
        ResponseFactory(round=survey_round, product=ProductFactory()), {"data-0": "1"}, False
    )
    # drift as a restore with triggers off would leave it: a sum off, a tally missing, counts
    # off, and a tally of an area the response never answered
    AreaTally.objects.filter(response=first, area__key="data").update(total=Decimal("2.5"))
    AreaTally.objects.filter(response=second, area__key="model").delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_areatally SET answered = answered + 1, not_applicable = 1"
            " WHERE response_id = %s AND area_id = (SELECT area_id FROM scoring_areatally"
            " WHERE response_id = %s LIMIT 1)",
            [third.pk, third.pk],
        )
        cursor.execute(
            "INSERT INTO scoring_areatally (response_id, area_id, answered, not_applicable, total)"
            " SELECT %s, id, 1, 0, 1 FROM rubrics_area WHERE key = 'model' AND version_id = %s",
            [draft.pk, version.pk],
        )
    with pytest.raises(CommandError, match="4 area tallies differ"):
        recount("--check")
    assert AreaTally.objects.filter(response=first, area__key="data").get().total == Decimal(
        "2.5"
    )  # --check wrote nothing
    assert "Counted 4 area tallies again" in recount()
    assert_tallies_are_the_answers()
    assert "matches" in recount("--check")
    scores.score_round(round_id=survey_round.pk)
    assert {row.response_id: row.overall for row in ResponseScore.objects.all()} == right


def test_a_database_without_tallies_says_so():
    if connection.vendor == "postgresql":
        assert "matches" in recount("--check")
    else:  # SQLite scores from the answers: nothing to check or count
        assert "keeps no area tallies" in recount("--check")
        assert "keeps no area tallies" in recount()
