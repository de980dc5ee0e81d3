"""The API's rate limits: per signed-in user and per client address; 429 past the rate."""

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/teams/"


@pytest.fixture
def rates(settings):
    """Low rates (each test clears the counts it relies on: the cache outlives tests)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
    }
    return


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def fresh_user(username: str):
    user = UserFactory(username=username)
    cache.delete(f"throttle_user_{user.pk}")
    return user


def test_a_user_past_the_rate_gets_429_with_retry_after(rates):
    api = api_for(fresh_user("ann"))
    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(URL)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in refused.json()["detail"].lower()


def test_another_user_is_not_throttled_by_the_first(rates):
    ann, bob = api_for(fresh_user("ann")), api_for(fresh_user("bob"))
    for _ in range(4):
        ann.get(URL)
    assert ann.get(URL).status_code == 429
    assert bob.get(URL).status_code == 200


class Open(APIView):
    """A view anyone may call (the app has none: every endpoint needs a signed-in user)."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


def test_anonymous_calls_are_throttled_per_address(rates):
    factory = APIRequestFactory()
    view = Open.as_view()
    cache.delete_many(
        [f"throttle_{scope}_192.0.2.{n}" for scope in ("anon", "user") for n in (1, 2)]
    )

    def status(address: str, **headers) -> int:
        return view(factory.get("/open/", REMOTE_ADDR=address, **headers)).status_code

    assert [status("192.0.2.1") for _ in range(2)] == [200, 200]
    assert status("192.0.2.1") == 429
    # A made-up X-Forwarded-For from an untrusted peer does not give a fresh address.
    assert status("192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.1") == 429
    assert status("192.0.2.2") == 200


def test_a_cache_outage_lets_calls_through(rates, monkeypatch):
    unreachable = RedisCache("redis://127.0.0.1:1/0", {})  # nothing listens there
    monkeypatch.setattr(SimpleRateThrottle, "cache", unreachable)
    response = api_for(UserFactory(username="ann")).get(URL)
    assert response.status_code == 200
