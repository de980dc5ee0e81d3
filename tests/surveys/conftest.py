"""What the questionnaire tests share: round 2030-01, the product `ranker` of a team, and
`member` (Kim Lee) of that team."""

import pytest

from tests.factories import ProductFactory, SurveyRoundFactory, TeamFactory, UserFactory


@pytest.fixture
def setup():
    survey_round = SurveyRoundFactory(key="2030-01")
    team = TeamFactory()
    product = ProductFactory(slug="ranker", team=team)
    member = UserFactory(username="member", first_name="Kim", last_name="Lee")
    team.members.add(member)
    return survey_round, product, member
