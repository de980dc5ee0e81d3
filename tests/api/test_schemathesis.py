"""Property-based API tests from the OpenAPI schema (schemathesis), as a member and as a
viewer: no request, however odd, gets a 5xx, and every answer conforms to the schema."""

import pytest
import schemathesis
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from apps.accounts.models import VIEWERS_GROUP
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def tokens(db):
    version = make_version()
    closed = SurveyRoundFactory(key="2021-10", rubric_version=version, state="closed")
    SurveyRoundFactory(key="2022-04", rubric_version=version, state="open")
    team = TeamFactory(slug="ours")
    product = ProductFactory(slug="mine", team=team)
    answer_all(
        ResponseFactory(round=closed, product=product),
        {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5},
    )
    member = UserFactory(username="member")
    team.members.add(member)
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return {user.username: Token.objects.create(user=user).key for user in (member, viewer)}


@pytest.fixture
def keep_connection():
    """Calls go straight to the WSGI app, which would close the test's database connection at
    the end of each request (Django's test client avoids this the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(tokens, keep_connection):
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json",
        application,
        headers={"Authorization": f"Token {tokens['viewer']}"},
    )


BOUNDED = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def exercise(api_schema, token: str) -> int:
    """Run every operation of the schema with generated data; return how many ran."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @BOUNDED
        def run(case):
            case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

        run()
    return len(operations)


NUL = "bad\x00input"
DEEP = 500  # nested arrays; deeper bodies are in tests/test_bad_input.py (the client's encoder
# would give up at about 1,000 itself)


def hostile_cases(operation):
    """Cases every operation must refuse with a 4xx: a NUL in each path and query parameter
    and in a JSON body, and a JSON body nested far deeper than any document."""
    path = {parameter.name: "1" for parameter in operation.path_parameters}
    for name in path:
        yield operation.Case(path_parameters={**path, name: NUL})
    for parameter in operation.query:
        yield operation.Case(path_parameters=path, query={parameter.name: NUL})
    if any(body.media_type == "application/json" for body in operation.body):
        deep: list = []
        for _level in range(DEEP):
            deep = [deep]
        for body in ({"key": NUL, "question": NUL, "name": NUL}, {"document": deep}):
            yield operation.Case(path_parameters=path, body=body, media_type="application/json")


def refuse_hostile_input(api_schema, token: str) -> int:
    """Send every operation its hostile cases; return how many were sent."""
    sent = 0
    for result in api_schema.get_all_operations():
        for case in hostile_cases(result.ok()):
            response = case.call(headers={"Authorization": f"Token {token}"})
            case.validate_response(response, checks=[checks.not_a_server_error])
            assert 400 <= response.status_code < 500, (case.method, case.formatted_path)
            sent += 1
    return sent


def test_api_as_a_member(api_schema, tokens):
    assert exercise(api_schema, tokens["member"]) > 20


def test_api_as_a_viewer(api_schema, tokens):
    assert exercise(api_schema, tokens["viewer"]) > 20


def test_api_refuses_nul_bytes_and_deep_json_with_a_4xx(api_schema, tokens):
    assert refuse_hostile_input(api_schema, tokens["member"]) > 40
